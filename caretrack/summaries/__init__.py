"""Term summaries per student (学期资助育人小结), their PDF and batch exports, and the yearly archive."""

from flask import Blueprint

bp = Blueprint("summaries", __name__, url_prefix="/summaries")

from caretrack.summaries import views  # noqa: E402,F401 - registers the routes on bp
