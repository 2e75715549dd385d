"""Organisation: units, colleges, classes, academic years and terms."""

from flask import Blueprint

bp = Blueprint("org", __name__, url_prefix="/units")

from caretrack.org import views  # noqa: E402,F401 - registers the routes on bp


@bp.app_template_filter("stage_label")
def stage_label(code: str) -> str:
    """学段 code to its name in the current language."""
    from caretrack.org.models import Stage

    return Stage(code).label if code else ""
