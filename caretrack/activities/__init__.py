"""Themed education activities with attendance and coverage, self-reliance clubs (自强社), exemplary students."""

from flask import Blueprint

from caretrack.core.access import Permission
from caretrack.core.choices import N_
from caretrack.core.web import register_nav

bp = Blueprint("activities", __name__, url_prefix="/activities")

# This domain's pages in the main menu (core/web.py register_nav).
register_nav(N_("学生"), N_("自强社"), "activities.list_clubs", Permission.CLUBS_VIEW, order=30)
register_nav(N_("关怀"), N_("活动"), "activities.list_activities", Permission.ACTIVITIES_VIEW, order=30)

from caretrack.activities import (  # noqa: E402,F401 - register the routes on bp (audit_names: the log's names)
    activity_views,
    audit_names,
    catalog_views,
    coverage_views,
    exemplar_views,
    personal_data,
    timeline,
    views,
)
