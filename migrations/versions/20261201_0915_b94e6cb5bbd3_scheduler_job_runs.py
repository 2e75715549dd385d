"""scheduler job runs: the latest fire time of each scheduled job that a scheduler claimed

Revision ID: b94e6cb5bbd3
Revises: 321df773028b
Create Date: 2026-12-01 09:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b94e6cb5bbd3'
down_revision = '321df773028b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_runs',
    sa.Column('job_id', sa.String(length=100), nullable=False),
    sa.Column('fire_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_job_runs'))
    )


def downgrade():
    op.drop_table('job_runs')
