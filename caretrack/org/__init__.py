"""Organisation: units, colleges, classes, academic years and terms."""

from flask import Blueprint

bp = Blueprint("org", __name__, url_prefix="/units")

from caretrack.org import views  # noqa: E402,F401 - registers the routes on bp
