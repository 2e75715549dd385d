"""care records' and follow-ups' free text encrypted at rest (AES-GCM under CARETRACK_DATA_KEY)

Each column becomes binary and every existing row is encrypted with the configured key, bound to its column
(context b"<table>.<column>", as core.models.EncryptedText does); the downgrade decrypts them back to text. The
columns are swapped rather than altered (add the new one, fill it, drop the old, rename), the same on SQLite and
PostgreSQL: SQLite cannot change a column's type without rebuilding the table, and rebuilding support_records with
its foreign keys on would cascade to its attachments.

A database that remembers another key's fingerprint (core.keyring) is refused: its rows would be encrypted under
a key the app will not start with.

Revision ID: c7e2a9d4b813
Revises: c3d8e1f20a74
Create Date: 2026-12-01 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from flask import current_app


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
BATCH = 500


def _check_key(bind) -> None:
    from caretrack.core import crypto

    settings = sa.table("instance_settings", sa.column("name", sa.String), sa.column("value", sa.Text))
    stored = bind.scalar(sa.select(settings.c.value).where(settings.c.name == "data_key_fingerprint"))
    if stored and stored not in {crypto.fingerprint(secret) for secret in crypto.configured_secrets()}:
        raise RuntimeError("CARETRACK_DATA_KEY is not the key this database was encrypted with: set the right key "
                           "before upgrading (the care records would be encrypted under a key the app refuses)")


def _swap(table_name: str, column: str, old_type, new_type, nullable: bool, transform) -> None:
    """Replace `column` by one of `new_type` holding transform(value) of every row."""
    bind = op.get_bind()
    temporary = f"{column}_swap"
    # SQLite adds a NOT NULL column only with a default; every row gets its value below.
    op.add_column(table_name, sa.Column(temporary, new_type, nullable=nullable,
                                        server_default=None if nullable else sa.text("''")))
    table = sa.table(table_name, sa.column("id", sa.Integer), sa.column(column, old_type),
                     sa.column(temporary, new_type))
    statement = (sa.update(table).where(table.c.id == sa.bindparam("row_id"))
                 .values({temporary: sa.bindparam("new_value")}))
    last = 0
    while True:
        rows = bind.execute(sa.select(table.c.id, table.c[column])
                            .where(table.c.id > last, table.c[column].is_not(None))
                            .order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            break
        bind.execute(statement, [{"row_id": row_id, "new_value": transform(value)} for row_id, value in rows])
        last = rows[-1][0]
    op.drop_column(table_name, column)
    op.execute(f'ALTER TABLE "{table_name}" RENAME COLUMN "{temporary}" TO "{column}"')
    if not nullable and bind.dialect.name == "postgresql":
        op.alter_column(table_name, column, server_default=None)


def upgrade():
    from caretrack.core import crypto

    _check_key(op.get_bind())
    secret = current_app.config["CARETRACK_DATA_KEY"]
    for table_name, columns in COLUMNS.items():
        for column, old_type, nullable in columns:
            context = f"{table_name}.{column}".encode()
            _swap(table_name, column, old_type, sa.LargeBinary(), nullable,
                  lambda text, context=context: crypto.encrypt(text, context, secret=secret) if text else b"")


def downgrade():
    from caretrack.core import crypto

    for table_name, columns in COLUMNS.items():
        for column, old_type, nullable in columns:
            context = f"{table_name}.{column}".encode()
            _swap(table_name, column, sa.LargeBinary(), old_type, nullable,
                  lambda blob, context=context: crypto.decrypt(bytes(blob), context))
