"""Languages: Chinese by default, English on request; dates and money in each language's form."""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale, gettext

from caretrack.core.timeutil import to_local


def select_locale() -> str:
    """The language chosen with the switch, else the configured default (zh_CN)."""
    chosen = session.get("locale") if has_request_context() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def is_chinese() -> bool:
    return str(get_locale() or "zh_CN").startswith("zh")


def format_date(value: date | datetime | None) -> str:
    """2025年9月1日 in Chinese, 1 Sep 2025 in English."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    if is_chinese():
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {value:%b} {value.year}"


def format_datetime(value: datetime | None) -> str:
    """The local date and time to the minute."""
    if value is None:
        return ""
    local = to_local(value)
    return f"{format_date(local.date())} {local:%H:%M}"


def format_money(value) -> str:
    """Yuan with two decimals and thousands separators: ¥1,250.00."""
    if value is None:
        return ""
    amount = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"¥{amount:,.2f}"


def translated(text: str) -> str:
    """A name kept as data (a seeded rule's name) in the user's language, when the catalog has it.

    Not `_()` in a template: Jinja's `_` %-formats what it translates, so a name holding "%" would fail the page.
    """
    return gettext(text) if text else text


def init_app(app: Flask, babel) -> None:
    """Bind Flask-Babel and register the formatting filters."""
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(app.root_path + "/translations"))
    app.jinja_env.filters.update(date=format_date, datetime=format_datetime, money=format_money,
                                 translated=translated)

    @app.context_processor
    def language_context():
        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"],
                "request_path": request.full_path if request else "/"}
