"""The audit log: every domain records here; the viewer reads it."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from caretrack.audit import views  # noqa: E402,F401 - registers the routes on bp
