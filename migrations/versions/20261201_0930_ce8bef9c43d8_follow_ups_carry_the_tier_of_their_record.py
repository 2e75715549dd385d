"""follow-ups carry the tier of the record they were derived from

Revision ID: ce8bef9c43d8
Revises: 5b2e8c41d7a3
Create Date: 2026-12-01 09:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ce8bef9c43d8'
down_revision = '5b2e8c41d7a3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sa.String(length=10), server_default='normal', nullable=False))
        batch_op.add_column(sa.Column('source_record_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_followups_source_record_id'), ['source_record_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_followups_source_record_id_support_records'), 'support_records',
                                    ['source_record_id'], ['id'])
    # Follow-ups made before from a confidential record's next step hold its text: they take its tier. Which
    # record a next step came from was not kept, so every next-step follow-up of a student with a confidential
    # record holding the same next step takes the confidential tier.
    op.execute("""
        UPDATE followups SET tier = 'restricted'
        WHERE source = 'next_step' AND EXISTS (
            SELECT 1 FROM support_records r
            WHERE r.student_id = followups.student_id AND r.tier = 'restricted' AND r.next_step = followups.note)
    """)


def downgrade():
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_followups_source_record_id_support_records'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_followups_source_record_id'))
        batch_op.drop_column('source_record_id')
        batch_op.drop_column('tier')
