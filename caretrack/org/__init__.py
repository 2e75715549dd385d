"""Organisation: units, colleges, classes, academic years and terms."""

from flask import Blueprint

from caretrack.core.access import Permission, register_unit_tree
from caretrack.core.choices import N_
from caretrack.core.web import register_nav

bp = Blueprint("org", __name__, url_prefix="/units")

# This domain's pages in the main menu (core/web.py register_nav).
register_nav(N_("管理"), N_("单位"), "org.list_units", Permission.ORG_VIEW, order=10)

from caretrack.org import audit_names, views  # noqa: E402,F401 - register the routes and the log's names
from caretrack.org.queries import unit_subtree_ids  # noqa: E402

register_unit_tree(unit_subtree_ids)  # the scopes of roles granted on a unit reach every unit under it


@bp.app_template_filter("stage_label")
def stage_label(code: str) -> str:
    """学段 code to its name in the current language."""
    from caretrack.org.models import Stage

    return Stage(code).label if code else ""
