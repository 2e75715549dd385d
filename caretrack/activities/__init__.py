"""Themed education activities with attendance and coverage, self-reliance clubs (自强社), exemplary students."""

from flask import Blueprint

bp = Blueprint("activities", __name__, url_prefix="/activities")

from caretrack.activities import (  # noqa: E402,F401 - register the routes on bp
    activity_views,
    catalog_views,
    coverage_views,
    exemplar_views,
    timeline,
    views,
)
