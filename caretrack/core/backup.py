"""One consistent snapshot of the database and the instance's attachments in a file, and its restore.

The file is a zip: `manifest.json` (format, schema revision, row counts, each attachment's SHA-256), one JSON-lines
file per table, and the attachment files. It is a logical export the app reads back, the same on SQLite and
PostgreSQL (a SQLite installation can move to PostgreSQL with it):

- every table is read in ONE read-only transaction: REPEATABLE READ on PostgreSQL, a WAL read transaction on
  SQLite, so the rows agree with each other whatever the web workers write meanwhile;
- encrypted columns are copied as they are stored (ID numbers, and the care records' and follow-ups' text, of
  type core.models.EncryptedText, stay AES-GCM ciphertext): the file reveals nothing the database would not, and
  needs the same CARETRACK_DATA_KEY to be of any use;
- attachments are written under a temporary name and renamed after their row commits (ledger.services), so a file
  in the folder that no row of the snapshot names is one saved after it: it is left out, and swept later.

A restore goes into an empty instance only (a migrated database with no rows but what the migrations seed, and
no attachments): it never merges into or overwrites a live installation.
"""

import base64
import hashlib
import json
import logging
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from alembic.migration import MigrationContext
from sqlalchemy import Connection, LargeBinary, delete, func, insert, select, text

from caretrack.core.models import as_stored
from caretrack.extensions import db

log = logging.getLogger(__name__)

FORMAT = "caretrack-backup/1"
# Folders of the instance holding files that rows point to (care-record attachments, activity photos).
FILE_FOLDERS = ("attachments", "activity_photos", "duty_files")
# The tables naming those files, and the column holding the stored name.
FILE_COLUMNS = {"attachments": ("attachments", "stored_name"), "activity_photos": ("activity_photos", "stored_name"),
                "duty_files": ("duty_files", "stored_name")}
BATCH = 1000


class BackupError(RuntimeError):
    """The file is not a backup this instance can restore, or the instance is not empty."""


def _encode(value):
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decoder(column):
    column_type = getattr(column.type, "impl_instance", column.type)  # a TypeDecorator: the type it stores as
    try:
        python_type = column_type.python_type
    except NotImplementedError:  # SQLAlchemy's answer for a type with no Python type of its own (JSON, say)
        return lambda value: value
    if isinstance(column_type, LargeBinary) or python_type is bytes:
        return base64.b64decode
    if python_type is datetime:
        return datetime.fromisoformat
    if python_type is date:
        return date.fromisoformat
    if python_type is Decimal:
        return Decimal
    return lambda value: value


def _tables():
    return db.metadata.sorted_tables


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _snapshot_connection() -> Connection:
    engine = db.engine
    if engine.dialect.name == "postgresql":
        connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        connection.begin()
        connection.execute(text("SET TRANSACTION READ ONLY"))
        return connection
    connection = engine.connect()
    connection.begin()
    return connection


def _referenced_files(connection: Connection) -> dict[str, set[str]]:
    names = {}
    for folder, (table_name, column) in FILE_COLUMNS.items():
        table = db.metadata.tables.get(table_name)
        names[folder] = set(connection.scalars(select(table.c[column]))) if table is not None else set()
    return names


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_backup(target: Path, instance: Path) -> dict:
    """Write the snapshot to `target`; return its manifest."""
    manifest = {"format": FORMAT, "created_at": datetime.now().astimezone().isoformat(), "tables": {},
                "files": {}, "missing_files": []}
    connection = _snapshot_connection()
    try:
        manifest["revision"] = _revision(connection)
        manifest["dialect"] = connection.dialect.name
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for table in _tables():
                manifest["tables"][table.name] = _write_table(archive, connection, table)
            for folder, names in _referenced_files(connection).items():
                for name in sorted(names):
                    path = instance / folder / name
                    if not path.is_file():
                        manifest["missing_files"].append(f"{folder}/{name}")
                        continue
                    archive.write(path, f"files/{folder}/{name}")
                    manifest["files"][f"{folder}/{name}"] = _sha256(path)
            archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    finally:
        connection.rollback()
        connection.close()
    return manifest


def _write_table(archive: zipfile.ZipFile, connection: Connection, table) -> int:
    table = as_stored(table)
    order = list(table.primary_key.columns) or list(table.columns)
    count = 0
    with archive.open(f"tables/{table.name}.jsonl", "w") as stream:
        for row in connection.execute(select(table).order_by(*order)).mappings():
            stream.write(json.dumps({key: _encode(value) for key, value in row.items()},
                                    ensure_ascii=False).encode() + b"\n")
            count += 1
    return count


def read_manifest(source: Path) -> dict:
    try:
        with zipfile.ZipFile(source) as archive:
            manifest = json.loads(archive.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise BackupError(f"{source} is not a caretrack backup ({type(error).__name__})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is a backup of format {manifest.get('format')!r}, not {FORMAT}")
    return manifest


def _seeded_by_migrations() -> set[str]:
    """Tables a fresh instance fills by itself: the migrations seed the activity themes, coverage goals and duty
    types, and the first start stores its key's fingerprint (core.keyring). The backup's rows replace them.
    """
    return {"instance_settings", "activity_themes", "coverage_goals", "duty_types"}


def instance_problems(connection: Connection, instance: Path) -> list[str]:
    """Why this instance is not empty; nothing when a restore may go ahead."""
    problems = [f"table {table.name} has rows" for table in _tables()
                if table.name not in _seeded_by_migrations()
                and connection.scalar(select(func.count()).select_from(table))]
    problems += [f"folder {folder} holds files" for folder in FILE_FOLDERS
                 if (instance / folder).is_dir() and any((instance / folder).iterdir())]
    return problems


def restore_backup(source: Path, instance: Path) -> dict:
    """Load the backup into this empty instance, in one transaction; return its manifest."""
    manifest = read_manifest(source)
    with db.engine.connect() as connection, connection.begin():
        revision = _revision(connection)
        if revision != manifest["revision"]:
            raise BackupError(f"the backup is of schema revision {manifest['revision']}, this database is at "
                              f"{revision}: run `flask db upgrade` (or check out the matching version) first")
        problems = instance_problems(connection, instance)
        if problems:
            raise BackupError("refusing to restore into an instance that is not empty: " + "; ".join(problems[:5]))
        for table in reversed(_tables()):
            if table.name in _seeded_by_migrations():
                connection.execute(delete(table))
        with zipfile.ZipFile(source) as archive:
            for table in _tables():
                _load_table(archive, connection, table, manifest["tables"].get(table.name, 0))
            _check_key(connection)
            _reset_sequences(connection)
            _restore_files(archive, manifest, instance)
    return manifest


def _load_table(archive: zipfile.ZipFile, connection: Connection, table, expected: int) -> None:
    table = as_stored(table)
    decoders = {column.name: _decoder(column) for column in table.columns}
    batch, loaded = [], 0
    try:
        stream = archive.open(f"tables/{table.name}.jsonl")
    except KeyError:
        raise BackupError(f"the backup has no table {table.name}") from None
    with stream:
        for line in stream:
            row = json.loads(line)
            batch.append({key: (None if value is None else decoders[key](value)) for key, value in row.items()})
            if len(batch) >= BATCH:
                connection.execute(insert(table), batch)
                loaded, batch = loaded + len(batch), []
    if batch:
        connection.execute(insert(table), batch)
        loaded += len(batch)
    if loaded != expected:
        raise BackupError(f"table {table.name}: {loaded} rows in the file, the manifest says {expected}")


def _check_key(connection: Connection) -> None:
    """Refuse (and so roll back) a backup whose ID numbers this instance's CARETRACK_DATA_KEY cannot read."""
    from caretrack.core import crypto, keyring

    table = keyring.InstanceSetting.__table__
    stored = connection.scalar(select(table.c.value).where(table.c.name == keyring.FINGERPRINT))
    if stored and stored not in {crypto.fingerprint(secret) for secret in crypto.configured_secrets()}:
        raise BackupError("the backup was made under another CARETRACK_DATA_KEY: set that key to restore it")


def _reset_sequences(connection: Connection) -> None:
    """PostgreSQL: the next id of each table follows the restored ones (SQLite takes max(id) + 1 by itself)."""
    if connection.dialect.name != "postgresql":
        return
    for table in _tables():
        key = list(table.primary_key.columns)
        if len(key) != 1 or not key[0].autoincrement or key[0].type.python_type is not int:
            continue
        sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:table, :column)"),
                                     {"table": table.name, "column": key[0].name})
        if sequence:
            connection.execute(text(f'SELECT setval(:sequence, COALESCE((SELECT MAX("{key[0].name}") FROM '
                                    f'"{table.name}"), 0) + 1, false)'), {"sequence": sequence})


def _restore_files(archive: zipfile.ZipFile, manifest: dict, instance: Path) -> None:
    for name, digest in manifest["files"].items():
        target = instance / name
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".restoring")
        temporary.write_bytes(archive.read(f"files/{name}"))
        if _sha256(temporary) != digest:
            temporary.unlink()
            raise BackupError(f"attachment {name} in the backup does not match its checksum")
        temporary.replace(target)
