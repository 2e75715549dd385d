"""Languages: Chinese by default, English on request; dates and money in each language's form."""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_translations, gettext
from jinja2 import pass_eval_context
from markupsafe import Markup

from caretrack.core.timeutil import to_local


def select_locale() -> str:
    """The language chosen with the switch, else the configured default (zh_CN)."""
    chosen = session.get("locale") if has_request_context() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def is_chinese() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "zh"


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


def current_translations():
    """Flask-Babel's catalog for the language of this request (or of the `force_locale` block around the call).

    Kept beside the locale Flask-Babel keeps for the request, for as long as that locale is the same object:
    a page translates a few hundred strings, and Flask-Babel finds the catalog again for each (the request's
    context, its domain, the locale's name) at several microseconds a time.
    """
    state = g.get("_flask_babel")
    locale = getattr(state, "babel_locale", None)
    if locale is None:  # the language is not chosen yet (or outside a request): let Flask-Babel choose it
        return get_translations()
    kept = getattr(state, "caretrack_translations", None)
    if kept is None or kept[0] is not locale:
        kept = state.caretrack_translations = (locale, get_translations())
    return kept[1]


@pass_eval_context
def _template_gettext(eval_ctx, message: str, **variables) -> str:
    """Jinja's newstyle `_()`/`gettext()` (escaped variables, `%%` for a percent sign), without Jinja's two
    indirections (the `_` alias resolving `gettext`, then the call of the catalog's function through the context).
    """
    text = current_translations().ugettext(message)
    if eval_ctx.autoescape:
        text = Markup(text)
    # A text without "%" is what `% {}` would give back: skip the formatting (Markup's escapes every argument).
    return text % variables if variables or "%" in text else text


def _install_template_gettext(app: Flask) -> None:
    """Flask-Babel's Jinja callables, with the catalog looked up once per request and `_` called directly."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: current_translations().ugettext(s),
        ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext)


def init_app(app: Flask, babel) -> None:
    """Bind Flask-Babel and register the formatting filters."""
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(app.root_path + "/translations"))
    _install_template_gettext(app)
    app.jinja_env.filters.update(date=format_date, datetime=format_datetime, money=format_money,
                                 translated=translated)

    @app.context_processor
    def language_context():
        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"],
                "request_path": request.full_path if request else "/"}
