"""The units' own duties: trainings, leadership meetings, publicity, self-checks, staffing, visits, budgets."""

from flask import Blueprint

bp = Blueprint("duties", __name__, url_prefix="/duties")

from caretrack.duties import views  # noqa: E402,F401 - register the routes on bp
