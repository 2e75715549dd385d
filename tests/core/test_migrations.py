"""Migrations build the schema from nothing, step back and forward again, and match the models."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from caretrack.extensions import db
from tests.conftest import fresh_postgres_database, make_app


@pytest.fixture
def empty_app(tmp_path, monkeypatch):
    """An app on a database of its own, with no tables at all."""
    test_url = os.environ.get("CARETRACK_TEST_DATABASE_URL")
    url = fresh_postgres_database(test_url, "migrations") if test_url else f"sqlite:///{tmp_path / 'm.sqlite3'}"
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", str(tmp_path / "instance"))  # make_app sets it; undo afterwards
    application = make_app(url, tmp_path / "instance")
    with application.app_context():
        yield application
        db.engine.dispose()
    if test_url:
        drop_database(url)


def drop_database(url: str) -> None:
    base = make_url(url)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{base.database}" WITH (FORCE)'))
    admin.dispose()


def tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def schema() -> dict[str, set[str]]:
    """Each table with its columns and its indexes (a migration may add only an index)."""
    inspector = inspect(db.engine)
    return {name: {column["name"] for column in inspector.get_columns(name)}
            | {f"index {index['name']}" for index in inspector.get_indexes(name)} for name in tables()}


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def scripts(app) -> ScriptDirectory:
    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


@pytest.mark.no_transaction
def test_upgrade_from_empty_then_one_step_down_and_up_again(empty_app):
    assert tables() == set()
    upgrade()
    head = scripts(empty_app).get_revision(scripts(empty_app).get_current_head())
    assert current_revision() == head.revision
    at_head = tables()
    assert {"units", "users", "role_assignments", "audit_events", "terms", "leases"} <= at_head
    assert at_head == set(db.metadata.tables)
    schema_at_head = schema()
    downgrade(revision="-1")
    assert current_revision() == head.down_revision
    assert schema() != schema_at_head  # the last step undone, whether it made tables, columns or indexes
    upgrade()
    assert current_revision() == head.revision
    assert schema() == schema_at_head


@pytest.mark.no_transaction
def test_every_migration_downgrades_to_an_empty_database(empty_app):
    upgrade()
    downgrade(revision="base")
    assert current_revision() is None
    assert tables() == set()


@pytest.mark.no_transaction
def test_the_audit_trigger_survives_a_downgrade_and_upgrade(empty_app):
    upgrade()
    downgrade(revision="base")
    upgrade()
    with db.engine.begin() as connection:
        connection.execute(text("INSERT INTO audit_events (at, action) VALUES (CURRENT_TIMESTAMP, 'login')"))
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events"))


@pytest.mark.no_transaction
def test_the_models_match_the_migrations(empty_app):
    upgrade()
    options = empty_app.extensions["migrate"].configure_args
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": options.get("compare_type", True)})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "the models differ from the migrations; add a migration (flask db migrate)"
