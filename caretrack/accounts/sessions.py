"""Sessions: who is logged in, idle and absolute timeouts, forced password change, security headers.

Also the client's address (through ProxyFix when the app sits behind trusted proxies) and the limiter that
throttles login attempts per address.
"""

import secrets
from datetime import UTC, datetime
from functools import cache

from flask import Flask, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from caretrack.core.timeutil import utcnow

# Keyed by request.remote_addr, which ProxyFix has set to the real client when proxies are trusted.
limiter = Limiter(key_func=get_remote_address)

# Endpoints that stay reachable while a user must still change the initial password.
_PASSWORD_CHANGE_ALLOWED = {"accounts.change_password", "accounts.logout", "static", "dashboard.set_language"}


def _unit_subtrees_column(user_id):
    """'root:unit,root:unit,...': every unit under each unit the user holds a role on, the unit itself included,
    walked in the query that loads the user, where the page's scopes would each need it (core.access). The city
    admin's grant is left out: that scope is everything, and the walk would list the whole city.
    """
    from sqlalchemy import String, cast, func, select

    from caretrack.accounts.models import RoleAssignment
    from caretrack.core.access import Role, ScopeType
    from caretrack.org.models import Unit

    tree = (select(RoleAssignment.scope_id.label("root_id"), Unit.id.label("unit_id"))
            .join(Unit, Unit.id == RoleAssignment.scope_id)
            .where(RoleAssignment.user_id == user_id, RoleAssignment.scope_type == ScopeType.UNIT,
                   RoleAssignment.role != Role.CITY_ADMIN)
            .cte("user_unit_tree", recursive=True))
    tree = tree.union_all(select(tree.c.root_id, Unit.id).join(tree, Unit.parent_id == tree.c.unit_id))
    pair = cast(tree.c.root_id, String) + ":" + cast(tree.c.unit_id, String)
    return select(func.aggregate_strings(pair, ",")).select_from(tree).scalar_subquery()


@cache
def _user_query():
    """The query of the request's user, built once per process (it runs on every request; its values are bound
    parameters): the user of a session that is still open, with their role grants, the units under them and the
    unread count, all of which every page asks (the menu, the permission checks and scopes, the inbox badge).
    """
    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload

    from caretrack.accounts.models import User, UserSession
    from caretrack.notify.services import unread_count_column

    user_id = bindparam("user_id")
    return (select(User, unread_count_column(User.id), _unit_subtrees_column(user_id))
            .join(UserSession, UserSession.user_id == User.id)
            .where(User.id == user_id, UserSession.key_hash == bindparam("key_hash"), UserSession.ended_at.is_(None))
            .options(joinedload(User.role_assignments)))


def _subtrees(text: str | None) -> dict[int, frozenset[int]]:
    found: dict[int, set[int]] = {}
    for pair in filter(None, (text or "").split(",")):
        root_id, unit_id = pair.split(":")
        found.setdefault(int(root_id), set()).add(int(unit_id))
    return {root_id: frozenset(units) for root_id, units in found.items()}


def _load_user(user_id: str):
    """The user of this cookie and their role grants, if its server-side session is still open (one query)."""
    from caretrack.accounts.models import session_key_hash
    from caretrack.core.access import remember_unit_subtrees
    from caretrack.extensions import db
    from caretrack.notify.services import keep_unread_count

    raw_id, _sep, token = user_id.partition(":")
    key = session.get("key")
    if not raw_id.isdigit() or not isinstance(key, str):
        return None
    row = db.session.execute(_user_query(), {"user_id": int(raw_id), "key_hash": session_key_hash(key)}
                             ).unique().one_or_none()
    if row is None:
        return None
    user, unread, subtrees = row
    if not user.is_active_user or user.session_token != token:
        return None
    keep_unread_count(user.id, unread)
    remember_unit_subtrees(_subtrees(subtrees))
    return user


def start_session(user) -> None:
    """Begin a fresh session for a user who just logged in (the old session's contents are dropped).

    The session's key goes into the cookie and its hash into `user_sessions`; the caller commits.
    """
    from caretrack.accounts.models import UserSession, session_key_hash
    from caretrack.extensions import db

    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    now = utcnow()
    key = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, key_hash=session_key_hash(key), started_at=now))
    session["key"] = key
    session["started_at"] = session["seen_at"] = now.timestamp()
    session.permanent = True


def end_session() -> None:
    """End this browser's session on the server, so a copy of its cookie no longer logs anyone in."""
    from sqlalchemy import update

    from caretrack.accounts.models import UserSession, session_key_hash
    from caretrack.extensions import db

    key = session.get("key")
    if isinstance(key, str):
        db.session.execute(update(UserSession).where(
            UserSession.key_hash == session_key_hash(key), UserSession.ended_at.is_(None)).values(ended_at=utcnow()))
    logout_user()
    session.clear()


class _SessionInterface(SecureCookieSessionInterface):
    """Signed cookies that expire with the session's absolute limit, not a fixed time after the last request."""

    def get_expiration_time(self, app: Flask, session_) -> datetime | None:
        started = session_.get("started_at")
        if not session_.permanent or not isinstance(started, int | float):
            return super().get_expiration_time(app, session_)
        return datetime.fromtimestamp(started, UTC) + app.config["SESSION_ABSOLUTE_TIMEOUT"]


def _session_expired(app: Flask) -> str | None:
    """Why the current session is over, or None."""
    now = utcnow().timestamp()
    started, seen = session.get("started_at"), session.get("seen_at")
    if started is None or seen is None:
        return "missing"
    if now - seen > app.config["SESSION_IDLE_TIMEOUT"].total_seconds():
        return "idle"
    if now - started > app.config["SESSION_ABSOLUTE_TIMEOUT"].total_seconds():
        return "absolute"
    return None


def _enforce_session(app: Flask):
    g.client_address = request.remote_addr or "unknown"
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    reason = _session_expired(app)
    if reason:
        from caretrack.audit.services import AuditAction, record

        # Kept by the request's commit: the redirect to the login page is this request succeeding.
        record(AuditAction.SESSION_EXPIRED, actor=current_user._get_current_object(),
               address=g.client_address, detail=reason)
        end_session()
        flash(_l("登录已超时，请重新登录。"), "warning")
        return redirect(url_for("accounts.login", next=request.full_path if request.method == "GET" else None))
    session["seen_at"] = utcnow().timestamp()
    if current_user.must_change_password and request.endpoint not in _PASSWORD_CHANGE_ALLOWED:
        flash(_l("首次登录或密码被重置后，请先修改密码。"), "info")
        return redirect(url_for("accounts.change_password"))
    return None


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    )
    if request.endpoint != "static":
        # Pages, downloads and feeds of children's files must not linger in shared computers' or proxies'
        # caches. Set, not defaulted: send_file marks attachments `no-cache`, which still stores them.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def _trust_proxies(app: Flask) -> None:
    """Read the client's address and scheme from the headers of the configured number of trusted proxies.

    Without trusted proxies the headers are ignored: anyone could send X-Forwarded-For and pose as any address.
    """
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


def init_app(app: Flask, login_manager) -> None:
    """Wire Flask-Login, the per-request session checks, trusted proxies and the login limiter."""
    _trust_proxies(app)
    limiter.init_app(app)
    app.session_interface = _SessionInterface()
    login_manager.user_loader(_load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("请先登录。")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    app.before_request(lambda: _enforce_session(app))
    app.after_request(_security_headers)

