"""The support ledger (帮扶台账): aid catalog, disbursements, care records, the timeline of a student."""

from flask import Blueprint

from caretrack.core.access import Permission
from caretrack.core.choices import N_
from caretrack.core.web import register_nav

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

# This domain's pages in the main menu (core/web.py register_nav).
register_nav(N_("关怀"), N_("关怀台账"), "ledger.my_caseload", Permission.CARE_RECORD, order=20)
register_nav(N_("资助"), N_("资助发放"), "ledger.list_disbursements", Permission.DISBURSE, order=10)

from caretrack.ledger import audit_names, views  # noqa: E402,F401 - register the routes and the log's names
