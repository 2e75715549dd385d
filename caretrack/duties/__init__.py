"""The units' own duties: trainings, leadership meetings, publicity, self-checks, staffing, visits, budgets."""

from flask import Blueprint

from caretrack.core.access import Permission
from caretrack.core.choices import N_
from caretrack.core.web import register_nav

bp = Blueprint("duties", __name__, url_prefix="/duties")

# This domain's pages in the main menu (core/web.py register_nav).
register_nav(N_("资助"), N_("单位职责"), "duties.board_home", Permission.DUTIES_VIEW, order=30)

from caretrack.duties import views  # noqa: E402,F401 - register the routes on bp
