"""A fresh, migrated database for one benchmark run: a SQLite temp file, or caretrack_bench on PostgreSQL."""

import os
import sqlite3
import tempfile
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from caretrack import create_app
from caretrack.extensions import db

BENCH_DATABASE = os.environ.get("CARETRACK_BENCH_DATABASE", "caretrack_bench")


def fresh_database_url(url: str | None, workdir: Path) -> str:
    """A SQLite file in `workdir` when no URL is given; else the server's caretrack_bench, dropped and recreated."""
    if url is None:
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    base = make_url(url)
    if not base.drivername.startswith("postgresql"):
        raise SystemExit(f"unsupported database: {base.drivername} (give a postgresql+psycopg:// URL or none)")
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    admin.dispose()
    return base.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


# The benchmark's app, in this process and under gunicorn (tests/perf/serve.py): the same keys for both.
BENCH_CONFIG = {
    "SECRET_KEY": "benchmark-secret-key",
    "CARETRACK_DATA_KEY": "benchmark-data-key-0123456789abcdef012345",
    "WTF_CSRF_ENABLED": False,
    "CARETRACK_QUEUE_IMMEDIATE": True,  # each task runs at once, in the benchmark
    "LOG_LEVEL": "WARNING",  # the import audits every class it creates; keep the output to the results
    "RATELIMIT_ENABLED": False,  # the load generator logs in from loopback again and again
}


def bench_app(url: str, workdir: Path) -> Flask:
    """The app on that database, migrated with the project's migrations, CSRF off for the test client."""
    os.environ["CARETRACK_INSTANCE_PATH"] = str(workdir / "instance")  # keep generated keys out of instance/
    app = create_app({**BENCH_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
    return app


def analyze(app: Flask) -> None:
    """On PostgreSQL, refresh the planner's statistics, as autovacuum does within a minute of a large import
    (SQLite keeps none unless told, and the app never tells it).
    """
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()


def database_label(app: Flask) -> tuple[str, str]:
    """The dialect name and a label with the server version, such as ("sqlite", "SQLite 3.40.1")."""
    with app.app_context():
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            return dialect, f"SQLite {sqlite3.sqlite_version}"
        version = db.session.scalar(text("SHOW server_version"))
        return dialect, f"PostgreSQL {version.split()[0]}"


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="caretrack-bench-"))
