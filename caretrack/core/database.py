"""Database engine settings that make SQLite behave like the production database where it matters."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, request
from sqlalchemy import Table, any_, bindparam, event, insert, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine

from caretrack.extensions import db


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the pysqlite driver, open transactions, so SAVEPOINTs work
        # (SQLAlchemy's documented recipe), and enforce foreign keys as PostgreSQL does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # Write-ahead logging lets the web workers, an import's progress updates and the scheduler read while
        # another connection writes; without it one open read transaction blocks every commit.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # A long writer (an import) asks for IMMEDIATE: it takes the write lock at once, so another
        # connection's commit cannot invalidate its snapshot half-way (SQLite would refuse its first write).
        connection.exec_driver_sql(f"BEGIN {connection.get_execution_options().get('sqlite_begin', '')}".strip())


def begin_writing() -> None:
    """Start the session's next transaction as a writer (BEGIN IMMEDIATE on SQLite; nothing elsewhere)."""
    db.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


@contextmanager
def append_only_suspended(table: Table) -> Iterator[None]:
    """Let this transaction rewrite rows of an append-only table (its `append_only_triggers` info): the key
    rotation re-encrypting the frozen archive, the same plaintext under a new key.

    The trigger is dropped and recreated from its own stored text on SQLite, disabled and enabled on PostgreSQL;
    both are transactional, so a failure inside rolls the suspension back with the rest. Other connections
    never see the table unguarded (PostgreSQL locks it until the commit; SQLite holds the write lock).
    """
    triggers = table.info.get("append_only_triggers")
    if not triggers:
        yield
        return
    connection = db.session.connection()
    name = triggers[connection.dialect.name]
    if connection.dialect.name == "sqlite":
        definition = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)).scalar_one()
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
        yield
        connection.exec_driver_sql(definition)
    else:
        connection.exec_driver_sql(f'ALTER TABLE "{table.name}" DISABLE TRIGGER "{name}"')
        yield
        connection.exec_driver_sql(f'ALTER TABLE "{table.name}" ENABLE TRIGGER "{name}"')


def init_app(app: Flask) -> None:
    """Attach dialect-specific settings to the engine when it is first made."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, app.config.get("SQLITE_BUSY_TIMEOUT_MS", 15000))
            app.before_request(_post_writes_from_the_start)


def _post_writes_from_the_start() -> None:
    # A SQLite transaction that has read cannot wait for the write lock: when two saves overlap, the second
    # would fail at once ("database is locked") instead of reading the first one's result. A POST takes the
    # lock before its first read, so saves queue, and the second one sees the version the first one wrote.
    if request.method == "POST":
        begin_writing()


def among(column, values: list):
    """`column IN (values)` in one statement, for any number of values the code computed itself (ids, blind
    indexes; never text from a file). On PostgreSQL the list is one array parameter (`= ANY`): the driver sends
    one value, and the planner plans for the list's length, a hash over a long one. Elsewhere the values are
    written into the statement, which SQLite looks up in a temporary index of them.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(bindparam(None, list(values), expanding=True, literal_execute=True))


INSERT_CHUNK = 1000


def insert_rows(table: Table, rows: list[dict], returning: tuple[str, ...] = ()) -> list[tuple]:
    """Insert many rows; the `returning` columns of each inserted row (the new "id" among them).

    On PostgreSQL the rows go in one COPY, which the driver writes in C, a row at a time, with no placeholder to
    bind (a multi-row INSERT has the driver bind 17,000 of them per thousand students); the new ids are taken
    from the table's sequence first, in one statement. Elsewhere it is the dialect's executemany (with RETURNING,
    the dialect's batched "insertmanyvalues", a chunk of INSERT_CHUNK per statement). Every row must give the same
    keys; columns left out get their Python default once per call (a timestamp is the call's, not the row's).
    The returned rows come in no promised order: return a key to match them on.
    """
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        statement = insert(table)
        if not returning:
            db.session.execute(statement, rows)
            return []
        statement = statement.returning(*(table.c[name] for name in returning))
        return [tuple(row) for start in range(0, len(rows), INSERT_CHUNK)
                for row in db.session.execute(statement, rows[start:start + INSERT_CHUNK])]
    if "id" in returning:
        ids = db.session.scalars(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                      "FROM generate_series(1, :n)"), {"table": table.name, "n": len(rows)}).all()
        rows = [{**row, "id": new_id} for row, new_id in zip(rows, ids, strict=True)]
    _copy(connection, table, rows)
    return [tuple(row[name] for name in returning) for row in rows] if returning else []


def _copy(connection, table: Table, rows: list[dict]) -> None:
    """COPY the rows into the table, the values processed as SQLAlchemy binds them (a UTC datetime's type)."""
    dialect = connection.dialect
    columns = list(rows[0])
    defaults = {}
    for column in table.columns:
        default = column.default
        if column.name not in columns and default is not None and (default.is_scalar or default.is_callable):
            defaults[column.name] = default.arg if default.is_scalar else default.arg(None)
    names = columns + list(defaults)

    def processor(name):
        return table.c[name].type._cached_bind_processor(dialect)

    processors = [(n, processor(name)) for n, name in enumerate(columns) if processor(name) is not None]
    tail = [value if processor(name) is None else processor(name)(value) for name, value in defaults.items()]
    quote = dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor:
        # Told to the engine's listeners like any statement, so that statement counts include it.
        connection.dispatch.before_cursor_execute(connection, cursor, sql, (), None, False)
        with cursor.copy(sql) as copy:
            for row in rows:
                values = [row[name] for name in columns]
                values.extend(tail)
                for n, process in processors:
                    values[n] = process(values[n])
                copy.write_row(values)
