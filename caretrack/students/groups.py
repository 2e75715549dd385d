"""What caseloads and clubs share: a named list of students of one school, filled by 学号.

Both keep their own table and scope (a counselor is granted on a caseload, a club leader on a club); the rules
of membership and the add-by-student-number step of their pages are the same and live here once.
"""

from flask import flash
from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.core.errors import DomainError
from caretrack.extensions import db
from caretrack.students.models import Student


def check_joinable(school_id: int, members: list[Student], student: Student) -> None:
    """A member comes from the group's school, and only once."""
    if student.school_id != school_id:
        raise DomainError(_("只能加入本校学生。"), field="student_no")
    if student in members:
        raise DomainError(_("%(name)s 已在名单中。", name=student.name), field="student_no")


def add_by_student_no(school_id: int, student_no: str, add) -> Student | None:
    """Find the school's student by 学号 and call `add(student)`; flash what went wrong; commit on success."""
    student_no = (student_no or "").strip()
    student = db.session.scalar(select(Student).where(Student.school_id == school_id,
                                                      Student.student_no == student_no))
    try:
        if student is None:
            raise DomainError(_("本校没有学号为“%(no)s”的学生。", no=student_no))
        add(student)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return None
    db.session.commit()
    return student
