"""Follow-ups, the visit cadence and escalation; their entries in the calendar feed (notify/calendar.py)."""

from flask import Blueprint

from caretrack.core.access import Permission
from caretrack.core.choices import N_
from caretrack.core.web import register_nav

bp = Blueprint("followups", __name__, url_prefix="/followups")

# This domain's pages in the main menu (core/web.py register_nav).
register_nav(N_("关怀"), N_("跟进"), "followups.list_followups", Permission.CARE_RECORD, order=10)

from caretrack.followups import audit_names, personal_data, views  # noqa: E402,F401 - routes, the log's names, what it keeps of a student
