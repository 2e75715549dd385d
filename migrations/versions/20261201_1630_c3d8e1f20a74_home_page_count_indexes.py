"""indexes for the home pages' counts: the students by status, school and stage, the identifications of a year

The home page of a district or the city counts its active students, and joins the year's identifications to
them by stage and school (identified students by stage and category, the required grants' coverage, the themed
activities' coverage). Both indexes carry every column those joins read, so PostgreSQL answers them from the
indexes alone instead of reading every (wide, encrypted-ID) student row.

Revision ID: c3d8e1f20a74
Revises: c3d9a41f5e27
Create Date: 2026-12-01 16:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3d8e1f20a74'
down_revision = 'c3d9a41f5e27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_students_status_school_stage", "students", ["status", "school_id", "stage", "id"])
    op.create_index("ix_identifications_year_student", "identifications", ["academic_year_id", "student_id", "id"])


def downgrade():
    op.drop_index("ix_identifications_year_student", table_name="identifications")
    op.drop_index("ix_students_status_school_stage", table_name="students")
