"""Fresh databases of their own for the operations tests (backup, rotation, retention), SQLite or PostgreSQL."""

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from caretrack.extensions import db
from tests.conftest import database_url, make_app


def _drop(url: str) -> None:
    if url.startswith("postgresql"):
        admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def fresh_instance(tmp_path_factory, tmp_path, monkeypatch):
    """Make migrated, empty instances (an app on a database and an instance folder of its own), by name."""
    made = []

    def make(name: str, **config):
        url = database_url(tmp_path_factory, f"ops_{name}")
        application = make_app(url, tmp_path / name)
        application.config.update(config)
        with application.app_context():
            upgrade()
        made.append((application, url))
        return application

    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", str(tmp_path / "instance"))
    yield make
    for application, url in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        _drop(url)


def invoke(application, *args):
    result = application.test_cli_runner().invoke(args=["caretrack", *args])
    return result
