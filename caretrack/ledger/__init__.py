"""The support ledger (帮扶台账): aid catalog, disbursements, care records, the timeline of a student."""

from flask import Blueprint

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

from caretrack.ledger import views  # noqa: E402,F401 - registers the routes on bp
