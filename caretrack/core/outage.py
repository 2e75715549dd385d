"""The page for a database that cannot be reached: a 503 with Retry-After, made without touching the database.

The app's other error pages show the navigation, which reads the user's roles; while the database is away that
read fails too and the user would get the WSGI server's bare English "Internal Server Error". This page is
rendered straight from the Jinja environment (no context processor, so no `current_user`), in the language of
the signed session cookie or of the browser's Accept-Language, and the engine's pre-ping reconnects on the next
request once the database is back: no restart.
"""

import logging

from flask import current_app, has_request_context, request, session
from flask_babel import force_locale
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from caretrack.core.models import is_lost_race

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, DisconnectionError)


def is_database_unavailable(error: BaseException) -> bool:
    """True when the error says the database cannot be reached (not a lost save race, not a bad statement)."""
    if isinstance(error, DisconnectionError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError) and not is_lost_race(error)


def request_locale() -> str:
    """The user's language without the database: the session's choice, else the browser's, else the default."""
    languages = current_app.config["LANGUAGES"]
    if has_request_context():
        chosen = session.get("locale")
        if chosen in languages:
            return chosen
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        if best:
            return "en" if best == "en" else "zh_CN"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def unavailable_page(error: BaseException | None = None):
    """The 503 page; the request's transaction is rolled back by core.requests as for any error status."""
    log.warning("database unavailable on %s (%s)", request.endpoint if has_request_context() else None,
                type(error).__name__ if error else "unknown")
    with force_locale(request_locale()):
        html = current_app.jinja_env.get_template("errors/unavailable.html").render(
            html_lang="en" if request_locale() == "en" else "zh-CN", retry_after=RETRY_AFTER_SECONDS)
    response = current_app.response_class(html, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response
