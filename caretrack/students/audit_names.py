"""How the audit log names this domain's rows (audit/describe.py register_describer)."""

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.audit.describe import Subject, named, register_describer
from caretrack.extensions import db
from caretrack.org.models import AcademicYear
from caretrack.students.models import Caseload, Identification, Student


def identifications(ids):
    rows = db.session.execute(select(Identification.id, AcademicYear.start_year, Student.name)
                              .join(AcademicYear, AcademicYear.id == Identification.academic_year_id)
                              .join(Student, Student.id == Identification.student_id)
                              .where(Identification.id.in_(ids)))
    return {i: Subject(_("%(year)s 学年的家庭经济困难认定", year=f"{start}-{start + 1}"), owner=name)
            for i, start, name in rows}


register_describer("students", named(Student, Student.name))
register_describer("caseloads", named(Caseload, Caseload.name))
register_describer("identifications", identifications)
