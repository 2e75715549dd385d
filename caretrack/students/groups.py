"""What caseloads and clubs share: a named list of students of one school, filled by 学号.

Both keep their own table and scope (a counselor is granted on a caseload, a club leader on a club); the rules
of membership and the add-by-student-number step of their pages are the same and live here once.
"""

from flask import flash
from flask_babel import gettext as _
from sqlalchemy import Table, func, select
from sqlalchemy.orm import joinedload

from caretrack.core import requests
from caretrack.core.access import Permission, Scope, get_or_404, scope_filter, scope_for, scoped
from caretrack.core.errors import DomainError
from caretrack.core.pagination import Page, paginate
from caretrack.extensions import db
from caretrack.org.models import Unit, UnitKind
from caretrack.students.models import Student


def school_choices(user, permission: Permission) -> list[tuple[int, str]]:
    """The schools (not the city or districts) inside the user's scope for `permission`, as (id, name) by code."""
    statement = schools_in_scope(scope_for(user, permission)).order_by(Unit.code)
    return [tuple(row) for row in db.session.execute(statement)]


def schools_in_scope(scope: Scope, *columns):
    """A select() of the schools (not the city or districts) inside `scope`: (id, name), then `columns`."""
    return select(Unit.id, Unit.name, *columns).where(
        scope_filter(Unit, scope), Unit.kind.not_in([UnitKind.CITY, UnitKind.DISTRICT]))


def groups_page(user, permission: Permission, model, members: Table, group_column) -> Page:
    """One page of the caseloads or clubs in the user's scope, each as (group, number of members): two queries."""
    size = select(func.count()).where(group_column == model.id).correlate(model).scalar_subquery()
    statement = scoped(select(model, size), user, permission, model).order_by(model.school_id, model.name, model.id)
    return paginate(statement.options(joinedload(model.school)), scalars=False)


def members_page(members: Table, group_column, group_id: int) -> Page:
    """One page of a caseload's or club's students, by name, with their classes."""
    return paginate(select(Student).join(members, members.c.student_id == Student.id)
                    .where(group_column == group_id).order_by(Student.name, Student.id)
                    .options(joinedload(Student.school_class)))


def create_group(user, form, permission: Permission, create):
    """Create a caseload or club from its form in a school of the user's scope; None, with the form's error, if not.

    `create(school, name)` is the domain's service; the request commits.
    """
    if not form.validate_on_submit():
        return None
    school = get_or_404(Unit, form.school_id.data, user, permission)
    try:
        group = create(school, form.name.data)
    except DomainError as error:
        form.add_domain_error(error)
        return None
    return group


def check_joinable(school_id: int, members: list[Student], student: Student) -> None:
    """A member comes from the group's school, and only once."""
    if student.school_id != school_id:
        raise DomainError(_("只能加入本校学生。"), field="student_no")
    if student in members:
        raise DomainError(_("%(name)s 已在名单中。", name=student.name), field="student_no")


def add_by_student_no(school_id: int, student_no: str, add) -> Student | None:
    """Find the school's student by 学号 and call `add(student)`; flash what went wrong, and write nothing then."""
    student_no = (student_no or "").strip()
    student = db.session.scalar(select(Student).where(Student.school_id == school_id,
                                                      Student.student_no == student_no))
    try:
        if student is None:
            raise DomainError(_("本校没有学号为“%(no)s”的学生。", no=student_no))
        add(student)
    except DomainError as error:
        requests.roll_back_anyway()
        flash(error.message, "danger")
        return None
    return student
