"""The audit log: every domain records here; the viewer reads it."""

from flask import Blueprint

from caretrack.core.access import Permission
from caretrack.core.choices import N_
from caretrack.core.web import register_nav

bp = Blueprint("audit", __name__, url_prefix="/audit")

# This domain's pages in the main menu (core/web.py register_nav).
register_nav(N_("管理"), N_("审计日志"), "audit.list_events", Permission.AUDIT_VIEW, order=30)

from caretrack.audit import views  # noqa: E402,F401 - registers the routes on bp
