"""Self-reliance clubs (自强社) of aided students; later, themed education activities and attendance."""

from flask import Blueprint

bp = Blueprint("activities", __name__, url_prefix="/clubs")

from caretrack.activities import views  # noqa: E402,F401 - registers the routes on bp
