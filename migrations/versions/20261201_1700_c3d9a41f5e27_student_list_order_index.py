"""the student list's order as an index: students (school_id, class_id, student_no)

The list pages through a school's students ordered by class and 学号; with this index the database reads the
first page in order instead of sorting every visible student. It replaces the index on (school_id, class_id),
which it covers.

Revision ID: c3d9a41f5e27
Revises: c3a9e6d2f4b1
Create Date: 2026-12-01 17:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3d9a41f5e27'
down_revision = 'c3a9e6d2f4b1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.create_index('ix_students_school_class_no', ['school_id', 'class_id', 'student_no'], unique=False)
        batch_op.drop_index('ix_students_school_class')


def downgrade():
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.create_index('ix_students_school_class', ['school_id', 'class_id'], unique=False)
        batch_op.drop_index('ix_students_school_class_no')
