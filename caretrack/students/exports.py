"""The student list as an Excel file: what the filter shows, ID numbers masked unless the user may reveal them."""

from flask_babel import gettext as _
from sqlalchemy import func, select

from caretrack.accounts.services import home_unit_id
from caretrack.audit.services import record
from caretrack.core import crypto, xlsx
from caretrack.extensions import db
from caretrack.org.models import Stage
from caretrack.students import queries
from caretrack.students.models import Gender, Hukou, StudentStatus
from caretrack.students.services import StudentAction

BATCH = 2000


def _headers():
    return [(_("学校"), 24), (_("学院（系）"), 18), (_("班级"), 14), (_("学号"), 14), (_("姓名"), 10),
            (_("性别"), 6), (_("身份证号"), 22), (_("学段"), 10), (_("入学年份"), 9), (_("寄宿"), 6),
            (_("户口类型"), 9), (_("认定学年"), 11), (_("家庭经济困难类型"), 26), (_("困难等级"), 10), (_("状态"), 8)]


def _label(enum, value) -> str:
    return enum(value).label if value else ""


def _rows(statement, filters: queries.StudentFilters, full_ids: bool):
    """Rows in batches of students, each batch loading its places and identifications in a few queries."""
    offset = 0
    while True:
        students = db.session.scalars(queries.with_places(statement).limit(BATCH).offset(offset)).unique().all()
        if not students:
            return
        badges = queries.identification_badges([s.id for s in students], filters.year)
        for s in students:
            badge = badges.get(s.id)
            yield [s.school.name, s.college.name if s.college else "", s.school_class.name, s.student_no, s.name,
                   _label(Gender, s.gender), crypto.decrypt(s.id_cipher) if full_ids else s.id_masked,
                   Stage(s.stage).label, s.enrolment_year or "", _("是") if s.is_boarder else _("否"),
                   _label(Hukou, s.hukou), filters.year.label if badge else "",
                   "、".join(c.label for c in badge.categories) if badge else "",
                   badge.level.label if badge else "", _label(StudentStatus, s.status)]
        offset += BATCH


def export_students(actor, filters: queries.StudentFilters, full_ids: bool):
    """Build the workbook and audit the export (how many rows, and whether full ID numbers left the system)."""
    statement = queries.student_query(actor, filters)
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    record(StudentAction.EXPORTED, actor=actor, object_type="students", detail=f"rows={total} full_ids={full_ids}",
           unit_id=filters.school_id or home_unit_id(actor))
    return xlsx.table_workbook(_("学生名单"), _headers(), _rows(statement, filters, full_ids))
