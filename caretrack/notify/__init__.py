"""Notifications: the inbox, the email digest and the group-robot webhooks. Called by every domain."""

from flask import Blueprint

bp = Blueprint("notify", __name__, url_prefix="/inbox")

from caretrack.notify import views  # noqa: E402,F401 - registers the routes and the inbox badge on bp
