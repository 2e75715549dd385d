"""Database engine settings that make SQLite behave like the production database where it matters."""

from flask import Flask, request
from sqlalchemy import Table, event, insert, text
from sqlalchemy.engine import Engine

from caretrack.extensions import db


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the pysqlite driver, open transactions, so SAVEPOINTs work
        # (SQLAlchemy's documented recipe), and enforce foreign keys as PostgreSQL does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
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


def init_app(app: Flask) -> None:
    """Attach dialect-specific settings to the engine when it is first made."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
            app.before_request(_post_writes_from_the_start)


def _post_writes_from_the_start() -> None:
    # A SQLite transaction that has read cannot wait for the write lock: when two saves overlap, the second
    # would fail at once ("database is locked") instead of reading the first one's result. A POST takes the
    # lock before its first read, so saves queue, and the second one sees the version the first one wrote.
    if request.method == "POST":
        begin_writing()


INSERT_CHUNK = 1000


def insert_rows(table: Table, rows: list[dict], returning: tuple[str, ...] = ()) -> list[tuple]:
    """Insert many rows, a chunk of INSERT_CHUNK per statement; the `returning` columns of each inserted row.

    On PostgreSQL a chunk is one `INSERT … SELECT * FROM unnest(column arrays) RETURNING …`: one parameter per
    column (an array the driver packs in C) instead of one per value, which a multi-row VALUES list would have the
    driver rewrite and bind one by one. Elsewhere it is the dialect's executemany (with RETURNING, the
    dialect's batched "insertmanyvalues"). Every row must give the same keys; columns left out get their Python
    default once per chunk (a timestamp is the chunk's, not the row's). The returned rows come in no promised
    order: return a key to match them on.
    """
    if not rows:
        return []
    columns = list(rows[0])
    defaults = {column.name: column.default for column in table.columns
                if column.name not in columns and column.default is not None and not column.primary_key
                and (column.default.is_scalar or column.default.is_callable)}
    dialect = db.session.connection().dialect
    if dialect.name != "postgresql":
        statement = insert(table)
        if returning:
            statement = statement.returning(*(table.c[name] for name in returning))
            return [tuple(row) for start in range(0, len(rows), INSERT_CHUNK)
                    for row in db.session.execute(statement, rows[start:start + INSERT_CHUNK])]
        db.session.execute(statement, rows)
        return []
    names = columns + list(defaults)
    quote = dialect.identifier_preparer.quote
    casts = ", ".join(f"CAST(:c{n} AS {table.c[name].type.compile(dialect=dialect)}[])" for n, name in enumerate(names))
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) SELECT * FROM unnest({casts})"
           + (f" RETURNING {', '.join(quote(name) for name in returning)}" if returning else ""))
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
    found = []
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start:start + INSERT_CHUNK]
        fixed = {name: default.arg if default.is_scalar else default.arg(None) for name, default in defaults.items()}
        arrays = [[row[name] for row in chunk] for name in columns] + [[fixed[name]] * len(chunk) for name in defaults]
        parameters = {f"c{n}": values if process is None else [process(value) for value in values]
                      for n, (values, process) in enumerate(zip(arrays, processors, strict=True))}
        result = db.session.execute(text(sql), parameters)
        if returning:
            found += [tuple(row) for row in result]
    return found
