"""care records' and follow-ups' free text encrypted at rest (AES-GCM under CARETRACK_DATA_KEY)

Each column becomes binary and every existing row is encrypted with the configured key, bound to its column
(context b"<table>.<column>", as core.models.EncryptedText does); the downgrade decrypts them back to text. The
columns are swapped rather than altered (core.migrating).

A database that remembers another key's fingerprint (core.keyring) is refused: its rows would be encrypted under
a key the app will not start with.

Revision ID: c7e2a9d4b813
Revises: c3d8e1f20a74
Create Date: 2026-12-01 13:00:00.000000

"""
import sqlalchemy as sa

from caretrack.core.migrating import check_data_key, decrypt_columns, encrypt_columns

# revision identifiers, used by Alembic.
revision = 'c7e2a9d4b813'
down_revision = 'c3d8e1f20a74'
branch_labels = None
depends_on = None

# table: (column, its type before, nullable)
COLUMNS = {
    "support_records": [("summary", sa.Text(), False), ("outcome", sa.Text(), True),
                        ("next_step", sa.String(length=200), True), ("delete_reason", sa.String(length=200), True)],
    "followups": [("note", sa.Text(), True), ("cancel_reason", sa.String(length=200), True)],
}
_check_key = check_data_key  # the name the key-refusal test reaches


def upgrade():
    encrypt_columns(COLUMNS)


def downgrade():
    decrypt_columns(COLUMNS)
