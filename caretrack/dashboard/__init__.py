"""Each role's home page, and the language switch."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from caretrack.dashboard import views  # noqa: E402,F401 - registers the routes on bp
