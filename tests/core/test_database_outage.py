"""The database going away: a 503 page in the user's language, with Retry-After, made without the database.

In-process apps point at a database that is not there (a closed port, a missing directory); a real gunicorn
reaches PostgreSQL through a proxy the test cuts and mends, and serves again without a restart.
"""

import pytest
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from caretrack.extensions import db
from tests.conftest import database_url, free_port, make_app
from tests.faults import CuttableProxy, fetch, process_env, start_gunicorn, stop

pytestmark = pytest.mark.no_transaction

FEED = "/calendar/" + "x" * 40 + ".ics"  # reads the database without a login (the token is the credential)


def _dead_url(tmp_path, tmp_path_factory) -> str:
    url = database_url(tmp_path_factory)
    if url.startswith("postgresql"):
        return make_url(url).set(host="127.0.0.1", port=free_port()).render_as_string(hide_password=False)
    return f"sqlite:///{tmp_path / 'gone' / 'caretrack.sqlite3'}"  # a directory that does not exist


@pytest.fixture
def dead_app(tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", str(tmp_path / "instance"))
    application = make_app(_dead_url(tmp_path, tmp_path_factory), tmp_path / "instance")
    yield application
    with application.app_context():
        db.engine.dispose()


def test_a_dead_database_gives_a_503_in_the_browsers_language_with_retry_after(dead_app):
    client = dead_app.test_client()
    english = client.get(FEED, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert english.status_code == 503
    assert english.headers["Retry-After"] == "30"
    page = english.get_data(as_text=True)
    assert "The system is temporarily unavailable" in page
    assert "Internal Server Error" not in page
    assert "Traceback" not in page
    chinese = client.get(FEED, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert chinese.status_code == 503
    assert "系统暂时无法使用" in chinese.get_data(as_text=True)


def test_the_language_chosen_in_the_session_wins_over_the_browsers(dead_app):
    client = dead_app.test_client()
    with client.session_transaction() as session:
        session["locale"] = "en"
    response = client.get(FEED, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 503
    assert "The system is temporarily unavailable" in response.get_data(as_text=True)


def test_a_logged_in_page_without_the_database_is_the_same_503_and_not_the_navigation(dead_app):
    dead_app.login_manager.session_protection = None  # a cookie made by hand, not from a login
    client = dead_app.test_client()
    with client.session_transaction() as session:  # a user's cookie: loading the user needs the database
        session.update({"_user_id": "1:token", "key": "k"})
    response = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 503
    assert "系统暂时无法使用" in response.get_data(as_text=True)
    assert "navbar-nav" not in response.get_data(as_text=True)


def test_on_sqlite_the_same_app_serves_again_once_the_database_file_is_back(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    url = f"sqlite:///{folder / 'caretrack.sqlite3'}"
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", str(tmp_path / "instance"))
    application = make_app(url, tmp_path / "instance")
    client = application.test_client()
    assert client.get(FEED).status_code == 503
    folder.mkdir()
    with application.app_context():
        upgrade()
    assert client.get(FEED).status_code == 404  # the token is unknown: the database answered
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def postgres_url(tmp_path_factory):
    url = database_url(tmp_path_factory, "outage")
    if not url.startswith("postgresql"):
        pytest.skip("the proxy outage runs on PostgreSQL (CARETRACK_TEST_DATABASE_URL)")
    return url


def test_a_real_gunicorn_gives_503_while_postgresql_is_cut_off_and_serves_again_after(
        postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", str(tmp_path / "instance"))
    migrator = make_app(postgres_url, tmp_path / "instance")
    with migrator.app_context():
        upgrade()
        db.engine.dispose()
    target = make_url(postgres_url)
    proxy = CuttableProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.mend()
    proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    process, base = start_gunicorn(process_env(proxied, tmp_path / "instance"), tmp_path / "gunicorn.log")
    try:
        assert fetch(base + FEED)[0] == 404
        proxy.cut()
        statuses = [fetch(base + FEED, {"Accept-Language": "en"}) for _ in range(3)]
        for status, headers, body in statuses:
            assert status == 503, body[:300]
            assert headers["Retry-After"] == "30"
            assert "The system is temporarily unavailable" in body
        proxy.mend()
        assert fetch(base + FEED)[0] == 404
        assert process.poll() is None  # the same process: no restart
    finally:
        stop(process)
        proxy.cut()
