"""Each role's home page, and the language switch."""

from flask import Blueprint

from caretrack.core.choices import N_
from caretrack.core.web import register_nav

bp = Blueprint("dashboard", __name__)

# This domain's pages in the main menu (core/web.py register_nav).
register_nav(N_("我的工作"), N_("我的工作"), "dashboard.home", None, order=10)

from caretrack.dashboard import views  # noqa: E402,F401 - registers the routes on bp
