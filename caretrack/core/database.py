"""Database engine settings that make SQLite behave like the production database where it matters."""

from flask import Flask, request
from sqlalchemy import event
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
