"""instance settings (the data key's fingerprint, a key rotation's progress), digest emails, purged students

The audit log stays append-only, except that a row older than three years may be deleted (the retention job):
the triggers refuse every UPDATE, and a DELETE of anything younger.

Revision ID: a17d5e0c9b21
Revises: e4f3719470b2
Create Date: 2026-12-01 12:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a17d5e0c9b21'
down_revision = 'e4f3719470b2'
branch_labels = None
depends_on = None


OLD_TRIGGERS = {
    "sqlite": ["DROP TRIGGER IF EXISTS audit_events_no_delete"],
    "postgresql": ["DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
                   "DROP FUNCTION IF EXISTS audit_events_append_only()"],
}
RETENTION_TRIGGERS = {
    "sqlite": [
        # UTCDateTime stores 'YYYY-MM-DD HH:MM:SS[.ffffff]+00:00', which compares as text with datetime()'s form.
        """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
           WHEN OLD.at >= datetime('now', '-3 years')
           BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    ],
    "postgresql": [
        """CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
           BEGIN
             IF TG_OP = 'DELETE' AND OLD.at < now() - interval '3 years' THEN RETURN OLD; END IF;
             RAISE EXCEPTION 'audit_events is append-only';
           END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
           FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    ],
}
APPEND_ONLY_TRIGGERS = {
    "sqlite": ["""CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
                  BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"""],
    "postgresql": [
        """CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
           FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    ],
}


def _run_for_dialect(statements):
    for statement in statements.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def upgrade():
    _run_for_dialect(OLD_TRIGGERS)
    _run_for_dialect(RETENTION_TRIGGERS)
    op.create_table('instance_settings',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_instance_settings'))
    )
    op.create_table('digest_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('notification_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_digest_emails_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_emails')),
    sa.UniqueConstraint('message_id', name=op.f('uq_digest_emails_message_id'))
    )
    op.create_index(op.f('ix_digest_emails_user_id'), 'digest_emails', ['user_id'], unique=False)
    with op.batch_alter_table('students') as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    _run_for_dialect(OLD_TRIGGERS)
    _run_for_dialect(APPEND_ONLY_TRIGGERS)
    with op.batch_alter_table('students') as batch_op:
        batch_op.drop_column('purged_at')
    op.drop_index(op.f('ix_digest_emails_user_id'), table_name='digest_emails')
    op.drop_table('digest_emails')
    op.drop_table('instance_settings')
