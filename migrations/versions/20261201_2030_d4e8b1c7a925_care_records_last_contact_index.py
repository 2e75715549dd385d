"""the last contact of a student as an index: support_records (student_id, happened_on) of records not removed

The caseload orders a university's identified students by their last contact, the latest care record not removed
of each. With this partial index the database finds it for each student in the index alone (one look-up per
student, no record row read, removed records never walked over).

Revision ID: d4e8b1c7a925
Revises: d4a7c2e9b160
Create Date: 2026-12-01 20:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e8b1c7a925'
down_revision = 'd4a7c2e9b160'
branch_labels = None
depends_on = None

NOT_REMOVED = sa.text("deleted_at IS NULL")


def upgrade():
    op.create_index("ix_support_records_student_last", "support_records", ["student_id", "happened_on"],
                    postgresql_where=NOT_REMOVED, sqlite_where=NOT_REMOVED)


def downgrade():
    op.drop_index("ix_support_records_student_last", table_name="support_records")
