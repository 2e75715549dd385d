"""Chinese by default, English on request; dates and money in each language's form."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from flask import render_template_string
from flask_babel import force_locale, gettext

from caretrack.core.access import Role
from tests.conftest import log_in
from tests.factories import make_user


def text_of(response) -> str:
    return response.get_data(as_text=True)


def render(app, source: str, locale: str = "zh_CN", **values) -> str:
    """Render a template snippet in a fresh request of the given language."""
    with app.app_context(), app.test_request_context(), force_locale(locale):
        return render_template_string(source, **values)


def english_login_title(app) -> str:
    with app.app_context(), app.test_request_context(), force_locale("en"):
        return gettext("登录")


def test_pages_are_chinese_by_default(client):
    page = text_of(client.get("/login"))
    assert '<html lang="zh-CN">' in page
    assert "<title>登录 · 学生资助一生一档</title>" in page
    assert 'name="locale" value="en"' in page  # the switch offers English


def test_the_language_switch_keeps_english_for_the_rest_of_the_session(app, city, client):
    response = client.post("/language", data={"locale": "en", "next": "/login"})
    assert response.location == "/login"
    login_page = text_of(client.get("/login"))
    assert '<html lang="en">' in login_page
    assert 'name="locale" value="zh_CN"' in login_page  # and now offers Chinese
    title = english_login_title(app)
    if title != "登录":  # once the English catalog is translated, the page says so in English
        assert f"<title>{title} · " in login_page
    log_in(client, make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert '<html lang="en">' in text_of(client.get("/units/"))  # the choice outlives the new session of login


def test_switching_back_to_chinese(client):
    client.post("/language", data={"locale": "en"})
    client.post("/language", data={"locale": "zh_CN"})
    assert '<html lang="zh-CN">' in text_of(client.get("/login"))


def test_an_unknown_language_is_ignored(client):
    response = client.post("/language", data={"locale": "fr"})
    assert response.location == "/"
    assert '<html lang="zh-CN">' in text_of(client.get("/login"))


def test_the_switch_returns_to_the_page_it_was_pressed_on(client):
    assert client.post("/language", data={"locale": "en", "next": "/login?next=%2Fusers"}).location == \
        "/login?next=%2Fusers"


@pytest.mark.parametrize("target", ["//evil.example.com/x", "https://evil.example.com/", "/\\evil.example.com/"])
def test_the_switch_never_returns_to_another_site(client, target):
    assert client.post("/language", data={"locale": "en", "next": target}).location == "/"


def test_dates_render_the_chinese_way(app):
    assert render(app, "{{ day|date }}", day=date(2025, 9, 1)) == "2025年9月1日"
    assert render(app, "{{ day|date }}", "en", day=date(2025, 9, 1)) == "1 Sep 2025"
    assert render(app, "{{ nothing|date }}", nothing=None) == ""


def test_times_render_in_beijing_time(app):
    late_utc = datetime(2025, 9, 1, 16, 30, tzinfo=timezone.utc)
    assert render(app, "{{ at|datetime }}", at=late_utc) == "2025年9月2日 00:30"
    assert render(app, "{{ at|date }}", at=late_utc) == "2025年9月2日"


@pytest.mark.parametrize(("amount", "shown"), [
    (1250, "¥1,250.00"),
    (Decimal("1250"), "¥1,250.00"),
    (Decimal("1234567.005"), "¥1,234,567.01"),
    (Decimal("0.5"), "¥0.50"),
    (None, ""),
])
def test_money_renders_with_the_yuan_sign_and_two_decimals(app, amount, shown):
    assert render(app, "{{ amount|money }}", amount=amount) == shown
