"""A wrong CARETRACK_DATA_KEY: the app refuses to start and says why (the key's fingerprint is in the database)."""

import subprocess
import sys

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from caretrack import create_app
from caretrack.core import crypto, keyring
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db
from tests.conftest import database_url, make_app
from tests.faults import TEST_DATA_KEY, process_env

pytestmark = pytest.mark.no_transaction

OTHER_KEY = "another-installations-key-0123456789abcdef"


@pytest.fixture
def database(tmp_path_factory, tmp_path, monkeypatch):
    """A fresh database, migrated by an app with the test key (which remembers that key at its next start)."""
    url = database_url(tmp_path_factory, "datakey")
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", str(tmp_path / "instance"))
    application = make_app(url, tmp_path / "instance")  # a new, empty database: nothing to check yet
    with application.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    if url.startswith("postgresql"):
        admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


def _app(url: str, key: str, previous: str | None = None):
    application = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "s",
                              "CARETRACK_DATA_KEY": key, "CARETRACK_DATA_KEY_PREVIOUS": previous})
    with application.app_context():
        db.engine.dispose()
    return application


def test_the_first_start_remembers_the_key_and_a_wrong_key_is_refused_naming_the_problem(database):
    first = _app(database, TEST_DATA_KEY)
    with first.app_context():
        assert keyring.get_setting(keyring.FINGERPRINT) == crypto.fingerprint(TEST_DATA_KEY)
        db.engine.dispose()
    with pytest.raises(keyring.DataKeyError, match="CARETRACK_DATA_KEY is not the key this database"):
        _app(database, OTHER_KEY)


def test_the_fingerprint_reveals_nothing_of_the_key(database):
    _app(database, TEST_DATA_KEY)
    print_ = crypto.fingerprint(TEST_DATA_KEY)
    assert TEST_DATA_KEY not in print_
    assert print_ != crypto.fingerprint(OTHER_KEY)
    assert len(print_) == 32


def test_during_a_rotation_the_new_key_starts_with_the_old_one_as_previous(database):
    _app(database, TEST_DATA_KEY)
    _app(database, OTHER_KEY, previous=TEST_DATA_KEY)  # does not raise


def _another_process_stores_its_key_right_after_this_one_looked(monkeypatch, url: str, key: str):
    """Processes started together on a new database (web workers, the scheduler) all find no fingerprint; one
    commits its own between another's read and that one's insert.
    """
    read = keyring.get_setting

    def read_then_the_other_process_commits(name):
        found = read(name)
        monkeypatch.setattr(keyring, "get_setting", read)
        other = create_engine(url)
        with other.begin() as connection:
            connection.execute(keyring.InstanceSetting.__table__.insert().values(
                name=keyring.FINGERPRINT, value=crypto.fingerprint(key), updated_at=utcnow()))
        other.dispose()
        return found

    monkeypatch.setattr(keyring, "get_setting", read_then_the_other_process_commits)


def _new_database_app(url: str):
    """An app on the migrated database with no fingerprint stored yet, as at the very first start.

    PostgreSQL only: on SQLite the starts take the write lock before they read, so none can slip in between.
    """
    if not url.startswith("postgresql"):
        pytest.skip("the start-up race is PostgreSQL's (SQLite serializes the starts)")
    application = _app(url, TEST_DATA_KEY)
    with application.app_context():
        keyring.set_setting(keyring.FINGERPRINT, None)
        db.session.commit()
    return application


def test_processes_starting_together_all_start_when_another_stored_the_same_key_first(database, monkeypatch):
    with _new_database_app(database).app_context():
        _another_process_stores_its_key_right_after_this_one_looked(monkeypatch, database, TEST_DATA_KEY)
        keyring.remember_data_key()  # its insert fails on the primary key: not an error, the key is the same
        db.session.commit()  # the transaction goes on after the failed insert
        assert keyring.get_setting(keyring.FINGERPRINT) == crypto.fingerprint(TEST_DATA_KEY)
        db.engine.dispose()


def test_a_process_that_lost_the_race_to_another_key_is_refused(database, monkeypatch):
    with _new_database_app(database).app_context():
        _another_process_stores_its_key_right_after_this_one_looked(monkeypatch, database, OTHER_KEY)
        with pytest.raises(keyring.DataKeyError, match="CARETRACK_DATA_KEY is not the key this database"):
            keyring.remember_data_key()
        db.session.rollback()
        db.engine.dispose()


def test_a_real_process_with_a_wrong_key_exits_with_the_reason(database, tmp_path):
    _app(database, TEST_DATA_KEY)
    env = process_env(database, tmp_path / "instance", CARETRACK_DATA_KEY=OTHER_KEY)
    finished = subprocess.run([sys.executable, "-m", "flask", "caretrack", "init"], env=env,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode != 0
    assert "CARETRACK_DATA_KEY is not the key this database was encrypted with" in finished.stderr
    assert OTHER_KEY not in finished.stderr
    assert TEST_DATA_KEY not in finished.stderr


def test_flask_db_upgrade_on_a_new_database_runs_whatever_the_key(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    env = process_env(url, tmp_path / "instance", CARETRACK_DATA_KEY=OTHER_KEY)
    finished = subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], env=env,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    init = subprocess.run([sys.executable, "-m", "flask", "caretrack", "init"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr[-2000:]
    wrong = subprocess.run([sys.executable, "-m", "flask", "caretrack", "init"],
                           env={**env, "CARETRACK_DATA_KEY": TEST_DATA_KEY}, capture_output=True, text=True,
                           timeout=120)
    assert wrong.returncode != 0
    assert "CARETRACK_DATA_KEY is not the key" in wrong.stderr
