"""Term summaries per student (学期资助育人小结), their PDF and batch exports, and the yearly archive."""

from flask import Blueprint

from caretrack.core.access import Permission
from caretrack.core.choices import N_
from caretrack.core.web import register_nav

bp = Blueprint("summaries", __name__, url_prefix="/summaries")

# This domain's pages in the main menu (core/web.py register_nav).
register_nav(N_("关怀"), N_("学期小结"), "summaries.list_batches", Permission.SUMMARIES_VIEW, order=40)

from caretrack.summaries import personal_data, views  # noqa: E402,F401 - routes, the log's names, what it keeps of a student
