"""identification notes and student status notes encrypted at rest, like the care records' text

An identification's note says why the family was found in difficulty (an illness, a debt, a death); a status
note why a student left or paused school. Both are as sensitive as a care record: each column becomes binary,
every existing value encrypted with the configured key and bound to its column (core.migrating); the downgrade
decrypts them back. A database that remembers another key's fingerprint is refused.

Revision ID: d4a7c2e9b160
Revises: c7e2a9d4b813
Create Date: 2026-12-01 20:30:00.000000

"""
import sqlalchemy as sa

from caretrack.core.migrating import decrypt_columns, encrypt_columns

# revision identifiers, used by Alembic.
revision = 'd4a7c2e9b160'
down_revision = 'c7e2a9d4b813'
branch_labels = None
depends_on = None

# table: (column, its type before, nullable)
COLUMNS = {
    "identifications": [("note", sa.Text(), True)],
    "students": [("status_note", sa.String(length=200), True)],
}


def upgrade():
    encrypt_columns(COLUMNS)


def downgrade():
    decrypt_columns(COLUMNS)
