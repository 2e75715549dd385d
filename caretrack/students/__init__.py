"""The student file (一生一档): students, identification, imports, caseloads."""

from flask import Blueprint

from caretrack.core.access import Permission
from caretrack.core.choices import N_
from caretrack.core.web import register_nav

bp = Blueprint("students", __name__, url_prefix="/students")
caseloads_bp = Blueprint("caseloads", __name__, url_prefix="/caseloads")

# This domain's pages in the main menu (core/web.py register_nav).
register_nav(N_("学生"), N_("学生"), "students.list_students", Permission.STUDENTS_VIEW, order=10)
register_nav(N_("学生"), N_("名单"), "caseloads.list_caseloads", Permission.CASELOADS_MANAGE, order=20)

from caretrack.students import audit_names, views  # noqa: E402,F401 - register the routes and the log's names
