"""The student file (一生一档): students, identification, imports, caseloads."""

from flask import Blueprint

bp = Blueprint("students", __name__, url_prefix="/students")
caseloads_bp = Blueprint("caseloads", __name__, url_prefix="/caseloads")

from caretrack.students import views  # noqa: E402,F401 - registers the routes on bp
