"""Sessions: who is logged in, idle and absolute timeouts, forced password change, security headers."""

from flask import Flask, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from caretrack.core.timeutil import utcnow

# Endpoints that stay reachable while a user must still change the initial password.
_PASSWORD_CHANGE_ALLOWED = {"accounts.change_password", "accounts.logout", "static", "dashboard.set_language"}


def _load_user(user_id: str):
    from caretrack.accounts.models import User
    from caretrack.extensions import db

    raw_id, _sep, token = user_id.partition(":")
    if not raw_id.isdigit():
        return None
    user = db.session.get(User, int(raw_id))
    if user is None or not user.is_active_user or user.session_token != token:
        return None
    return user


def start_session(user) -> None:
    """Begin a fresh session for a user who just logged in (the old session's contents are dropped)."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    now = utcnow().timestamp()
    session["started_at"] = now
    session["seen_at"] = now
    session.permanent = True


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
        from caretrack.extensions import db

        record(AuditAction.SESSION_EXPIRED, actor=current_user._get_current_object(), detail=reason)
        db.session.commit()
        logout_user()
        session.clear()
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
    if current_user.is_authenticated:
        # Pages of children's files must not linger in shared computers' caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask, login_manager) -> None:
    """Wire Flask-Login and the per-request session checks."""
    login_manager.user_loader(_load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("请先登录。")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    app.before_request(lambda: _enforce_session(app))
    app.after_request(_security_headers)

