"""The term screening (排查): runs, cases and their work, the official tables, submissions, the rules."""

from flask import Blueprint

from caretrack.core.access import Permission
from caretrack.core.choices import N_
from caretrack.core.web import register_nav

bp = Blueprint("screening", __name__, url_prefix="/screening")

# This domain's pages in the main menu (core/web.py register_nav).
register_nav(N_("资助"), N_("排查"), "screening.list_units", Permission.SCREENING_VIEW, order=20)

from caretrack.screening import audit_names, personal_data, views  # noqa: E402,F401 - routes, the log's names, what it keeps of a student
