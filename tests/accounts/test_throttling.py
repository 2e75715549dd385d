"""Login throttling per address (Flask-Limiter, in memory and in Redis) and the client address behind proxies.

The rest of the suite runs with the address limit off (tests/conftest.py); these tests switch it on.
"""

import uuid

import pytest
from sqlalchemy import select

from caretrack import create_app
from caretrack.accounts.models import LoginAttempt
from caretrack.accounts.sessions import limiter
from caretrack.core.access import Role
from caretrack.extensions import db
from tests.conftest import skip_or_fail
from tests.factories import PASSWORD, make_user

# A database of its own on the shared Redis; the tests delete only the keys of their own addresses.
REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def address_limit(app, monkeypatch):
    """Three failed logins per minute per address, counted from zero."""
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_LIMIT", "3 per minute")
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def redis_storage(app, monkeypatch):
    """The limiter counting in Redis."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis at {REDIS_URL} not reachable: {exc}")
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", REDIS_URL)
    limiter.init_app(app)
    yield redis.Redis.from_url(REDIS_URL)
    monkeypatch.undo()
    limiter.init_app(app)  # back to memory


def browser_at(app, address: str):
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


def fail_from(browser, times: int) -> list[int]:
    return [browser.post("/login", data={"username": f"guess{n}", "password": "wrong"}).status_code
            for n in range(times)]


def assert_address_throttled(app, city, address: str = "203.0.113.7"):
    make_user(Role.CLASS_TEACHER, city.class_a, username="liu")
    attacker = browser_at(app, address)
    assert fail_from(attacker, 4) == [401, 401, 401, 429]
    refused = attacker.post("/login", data={"username": "liu", "password": PASSWORD})
    assert refused.status_code == 429
    assert "该网络地址登录失败次数过多" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0
    elsewhere = browser_at(app, "198.51.100.1")
    assert elsewhere.post("/login", data={"username": "liu", "password": PASSWORD}).status_code == 302


def test_an_address_that_fails_too_often_is_throttled_in_memory(city, app, address_limit):
    assert_address_throttled(app, city)


def test_the_address_limit_counts_in_redis_when_configured(city, app, address_limit, redis_storage):
    address = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    try:
        assert_address_throttled(app, city, address)
        assert redis_storage.keys(f"*/{address}/accounts.login/*"), "the limiter did not count in Redis"
    finally:
        for key in redis_storage.keys(f"*/{address}/*"):
            redis_storage.delete(key)


def test_successful_logins_do_not_count_against_an_address(city, app, address_limit):
    users = [make_user(Role.CLASS_TEACHER, city.class_a) for _n in range(5)]
    school = browser_at(app, "203.0.113.9")
    for user in users:
        assert school.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
        school.post("/logout")
    assert fail_from(school, 3) == [401, 401, 401]


def test_the_login_page_itself_is_never_throttled(city, app, address_limit):
    attacker = browser_at(app, "203.0.113.8")
    fail_from(attacker, 4)
    assert attacker.get("/login").status_code == 200


def test_without_trusted_proxies_a_forwarded_address_is_ignored(city, app):
    browser = browser_at(app, "10.0.0.1")
    browser.post("/login", data={"username": "x", "password": "wrong"},
                 headers={"X-Forwarded-For": "198.51.100.23"})
    assert db.session.scalar(select(LoginAttempt.address)) == "10.0.0.1"


def test_behind_one_trusted_proxy_the_forwarded_client_address_is_used(city, app):
    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1})
    try:
        browser = proxied.test_client()
        browser.environ_base["REMOTE_ADDR"] = "10.0.0.1"
        browser.post("/login", data={"username": "x", "password": "wrong"},
                     headers={"X-Forwarded-For": "203.0.113.50, 198.51.100.23"})
        assert db.session.scalar(select(LoginAttempt.address)) == "198.51.100.23"
    finally:
        limiter.init_app(app)
