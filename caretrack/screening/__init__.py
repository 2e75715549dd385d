"""The term screening (排查): runs, cases and their work, the official tables, submissions, the rules."""

from flask import Blueprint

bp = Blueprint("screening", __name__, url_prefix="/screening")

from caretrack.screening import views  # noqa: E402,F401 - registers the routes on bp
