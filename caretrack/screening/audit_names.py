"""How the audit log names this domain's rows (audit/describe.py register_describer)."""

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.audit.describe import Subject, named, register_describer
from caretrack.extensions import db
from caretrack.screening.models import ScreeningCase, ScreeningRule
from caretrack.students.models import Student


def cases(ids):
    rows = db.session.execute(select(ScreeningCase.id, Student.name)
                              .join(Student, Student.id == ScreeningCase.student_id).where(ScreeningCase.id.in_(ids)))
    return {i: Subject(_("排查情况"), owner=name) for i, name in rows}


register_describer("screening_rules", named(ScreeningRule, ScreeningRule.name))
register_describer("screening_cases", cases)
