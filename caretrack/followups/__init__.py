"""Follow-ups, the visit cadence, escalation and the calendar feed."""

from flask import Blueprint

bp = Blueprint("followups", __name__, url_prefix="/followups")
calendar_bp = Blueprint("calendar", __name__, url_prefix="/calendar")

from caretrack.followups import views  # noqa: E402,F401 - registers the routes on both blueprints
