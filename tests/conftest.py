"""Test fixtures: the app on SQLite or PostgreSQL, one rolled-back transaction per test, clients that log in.

The database is CARETRACK_TEST_DATABASE_URL (default: a fresh SQLite file). With CARETRACK_REQUIRE_ALL=1 a test
that would be skipped for a missing database or browser fails instead.
"""

import os
import socket

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from caretrack import create_app
from caretrack.extensions import db
from tests import factories

REQUIRE_ALL = os.environ.get("CARETRACK_REQUIRE_ALL") == "1"
DEMO_PASSWORD = factories.PASSWORD


def skip_or_fail(reason: str):
    """Skip a test for a missing service, or fail it when CARETRACK_REQUIRE_ALL=1."""
    if REQUIRE_ALL:
        pytest.fail(f"required but unavailable: {reason}")
    pytest.skip(reason)


def database_url(tmp_path_factory, name: str = "test") -> str:
    url = os.environ.get("CARETRACK_TEST_DATABASE_URL")
    if url:
        return url if name == "test" else fresh_postgres_database(url, name)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / f'{name}.sqlite3'}"


def fresh_postgres_database(url: str, suffix: str) -> str:
    """A new, empty database beside the test database, for tests that need committed data (e2e, processes)."""
    base = make_url(url)
    name = f"{base.database}_{suffix}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def reset_schema(app) -> None:
    """Start from an empty database so migrations run from the beginning on every session."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in an app context of its own, as it does in production.

    Without this a request reuses the test's app context, so `g` (Flask-Login's loaded user, the access
    scope cache) and the SQLAlchemy session would carry over from one request, and one client, to the next.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.flush()  # the request's own session must see what the test wrote
        response = super().open(*args, **kwargs)
        if has_app_context():
            db.session.expire_all()  # and the test must see what the request wrote
        return response

    def run_wsgi_app(self, environ, buffered=False):
        # Each request, redirects followed included, gets a fresh app context and so a fresh session and `g`.
        with self.application.app_context():
            return super().run_wsgi_app(environ, buffered=buffered)


def make_app(url: str, instance_path) -> "object":
    os.environ["CARETRACK_INSTANCE_PATH"] = str(instance_path)
    application = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key",
        "CARETRACK_DATA_KEY": "test-data-key-0123456789abcdef0123456789",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        "CARETRACK_QUEUE_IMMEDIATE": True,  # each task runs at once, in the test
        # Every test logs in from 127.0.0.1; tests/accounts/test_throttling.py switches the limit on.
        "LOGIN_ADDRESS_LIMIT": "",
        # Each view counts its totals (tests/core/test_totals.py switches the minute's memory on).
        "HOME_TOTALS_SECONDS": 0,
    })
    application.test_client_class = IsolatedClient
    return application


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Hash passwords with a cheap KDF in tests: scrypt takes a fifth of a second, and most tests make users.

    tests/accounts/test_models.py checks that the app itself hashes with scrypt.
    """
    from werkzeug.security import generate_password_hash

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("caretrack.accounts.models.generate_password_hash",
                      lambda password: generate_password_hash(password, method="pbkdf2:sha256:1000"))
        yield


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = database_url(tmp_path_factory)
    if url.startswith("postgresql"):
        try:
            create_engine(url).connect().close()
        except Exception as exc:  # noqa: BLE001 - any failure means the server is not there
            skip_or_fail(f"PostgreSQL at {make_url(url).host} not reachable: {exc}")
    application = make_app(url, tmp_path_factory.mktemp("instance"))
    reset_schema(application)
    with application.app_context():
        upgrade()
    return application


class ConnectionBoundSession(FlaskSession):
    """A session that always uses the test's connection.

    Flask-SQLAlchemy's session picks the app's engine for every statement, ignoring a `bind` given to it, so a
    view's commit would open a connection of its own and really commit.
    """

    def get_bind(self, *args, **kwargs):
        return self.bind


@pytest.fixture
def remembering(app, monkeypatch):
    """The slow-moving totals remembered for a minute, as in production (the suite counts afresh each view)."""
    from caretrack.core import totals

    monkeypatch.setitem(app.config, "HOME_TOTALS_SECONDS", 60)
    totals.forget_all()
    yield
    totals.forget_all()


@pytest.fixture(autouse=True)
def _transaction(request, app):
    """Run each test inside a transaction rolled back at the end; views' commits become SAVEPOINT releases."""
    if "no_transaction" in request.keywords:
        yield
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session({
            "bind": connection, "join_transaction_mode": "create_savepoint", "class_": ConnectionBoundSession,
        })
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def city(app):
    """A small organisation: city, two districts, schools, colleges and classes (see factories.build_city)."""
    return factories.build_city()


def log_in(client, user, password: str = DEMO_PASSWORD):
    """Log a user in on a test client; fail the test when the login is refused."""
    response = client.post("/login", data={"username": user.username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def login(client):
    """Log a user in on the test client."""
    return lambda user, password=DEMO_PASSWORD: log_in(client, user, password)


@pytest.fixture
def client_for(app):
    """A new test client (another browser) logged in as the given user."""
    return lambda user, password=DEMO_PASSWORD: log_in(app.test_client(), user, password)


class QueryCounter:
    """Counts the SQL statements a block runs."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _count(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    with app.app_context():
        engine = db.engine
    return lambda: QueryCounter(engine)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pytest_configure(config):
    config.addinivalue_line("markers", "no_transaction: the test manages its own database state")
