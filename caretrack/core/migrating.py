"""What the migrations that encrypt free-text columns share: the key check and the column swap.

A column is swapped rather than altered (add the new one, fill it row by row, drop the old, rename), the same on
SQLite and PostgreSQL: SQLite cannot change a column's type without rebuilding the table, and rebuilding a table
with foreign keys on would cascade to the rows that refer to it. Each migration names its columns as
{table: [(column, its type before, nullable)]}; a ciphertext is bound to its column (context b"<table>.<column>",
as core.models.EncryptedText does).
"""

import json
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from flask import current_app

from caretrack.core import crypto

Columns = dict[str, list[tuple[str, sa.types.TypeEngine, bool]]]
BATCH = 500


def check_data_key(bind) -> None:
    """Refuse a database that remembers another key's fingerprint: its rows would be encrypted under a key the
    app will not start with (core.keyring).
    """
    settings = sa.table("instance_settings", sa.column("name", sa.String), sa.column("value", sa.Text))
    stored = bind.scalar(sa.select(settings.c.value).where(settings.c.name == "data_key_fingerprint"))
    if stored and stored not in {crypto.fingerprint(secret) for secret in crypto.configured_secrets()}:
        raise RuntimeError("CARETRACK_DATA_KEY is not the key this database was encrypted with: set the right key "
                           "before upgrading (the texts would be encrypted under a key the app refuses)")


def encrypt_columns(columns: Columns) -> None:
    """Make each column binary, every existing value encrypted with the configured key (the empty text as b"").

    A JSON column's document is encrypted as its compact JSON text (core.models.EncryptedJSON reads it back).
    """
    check_data_key(op.get_bind())
    secret = current_app.config["CARETRACK_DATA_KEY"]
    for table_name, listed in columns.items():
        for column, old_type, nullable in listed:
            context = f"{table_name}.{column}".encode()
            as_text = _json_text if isinstance(old_type, sa.JSON) else str

            def encrypted(value, context=context, as_text=as_text):
                text = as_text(value)
                return crypto.encrypt(text, context, secret=secret) if text else b""

            swap_column(table_name, column, old_type, sa.LargeBinary(), nullable, encrypted)


def decrypt_columns(columns: Columns) -> None:
    """The downgrade of encrypt_columns: each column back to its type, holding the plain text (or document)."""
    for table_name, listed in columns.items():
        for column, old_type, nullable in listed:
            context = f"{table_name}.{column}".encode()
            from_text = json.loads if isinstance(old_type, sa.JSON) else str
            swap_column(table_name, column, sa.LargeBinary(), old_type, nullable,
                        lambda blob, context=context, from_text=from_text:
                        from_text(crypto.decrypt(bytes(blob), context)))


def _json_text(document) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def swap_column(table_name: str, column: str, old_type, new_type, nullable: bool,
                transform: Callable) -> None:
    """Replace `column` by one of `new_type` holding transform(value) of every row (NULL stays NULL)."""
    bind = op.get_bind()
    temporary = f"{column}_swap"
    # SQLite adds a NOT NULL column only with a default; every row gets its value below. PostgreSQL adds it
    # nullable and makes it NOT NULL once filled ('' is no JSON document, so it cannot be the default there).
    sqlite = bind.dialect.name == "sqlite"
    op.add_column(table_name, sa.Column(temporary, new_type, nullable=nullable or not sqlite,
                                        server_default=sa.text("''") if sqlite and not nullable else None))
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
    if not nullable and not sqlite:
        op.alter_column(table_name, column, nullable=False)
