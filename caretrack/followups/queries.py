"""Reads of follow-ups: a person's list, a student's list, who answers for a student."""

from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from caretrack.accounts.models import RoleAssignment, User
from caretrack.core.access import Permission, Role, ScopeType, can, scoped
from caretrack.core.requests import request_memo
from caretrack.extensions import db
from caretrack.followups.models import FollowUp, FollowUpStatus
from caretrack.students.models import Student, caseload_members

# The windows of due dates the list can be narrowed to (?due=), as (first day, last day) from today; None: open end.
DUE_WINDOWS = {
    "today": lambda today: (today, today),
    "week": lambda today: (today, today + timedelta(days=6)),
    "overdue": lambda today: (None, today - timedelta(days=1)),
}


def followup_query(user, status: str = "open", mine_only: bool = False, due: str = "", today: date | None = None,
                   class_id: int | None = None):
    """Follow-ups in the user's scope (of those, the ones assigned to them), soonest due first.

    "Mine" narrows the scope, never replaces it: a teacher whose class changed no longer sees its students.
    `due` (a DUE_WINDOWS key, with `today`) and `class_id` narrow it further.
    """
    statement = scoped(select(FollowUp), user, Permission.LEDGER_VIEW)
    if mine_only:
        statement = statement.where(FollowUp.assignee_id == user.id)
    if status:
        statement = statement.where(FollowUp.status == status)
    if due in DUE_WINDOWS and today is not None:
        first, last = DUE_WINDOWS[due](today)
        statement = statement.where(FollowUp.due_on <= last)
        if first is not None:
            statement = statement.where(FollowUp.due_on >= first)
    if class_id:
        statement = statement.where(FollowUp.student_id.in_(select(Student.id).where(Student.class_id == class_id)))
    return statement.options(joinedload(FollowUp.student).joinedload(Student.school_class),
                             joinedload(FollowUp.assignee)).order_by(FollowUp.due_on, FollowUp.id)


def for_student(student: Student) -> list[FollowUp]:
    """The student's follow-ups, open ones first; read once per request (the file asks in two sections)."""
    memo = request_memo("followups_for_student")
    if student.id not in memo:
        memo[student.id] = db.session.scalars(
            select(FollowUp).where(FollowUp.student_id == student.id).options(joinedload(FollowUp.assignee))
            .order_by(FollowUp.status != FollowUpStatus.OPEN, FollowUp.due_on.desc())).all()
    return memo[student.id]


def open_for_calendar(user) -> list[FollowUp]:
    """The user's open follow-ups for their phone calendar: the same list as "mine", open ones only."""
    return db.session.scalars(followup_query(user, FollowUpStatus.OPEN, mine_only=True)).unique().all()


def still_in_scope(user, followup: FollowUp) -> bool:
    """Whether the user may still see the follow-up's student (a class or caseload may have changed since)."""
    return can(user, Permission.LEDGER_VIEW, followup)


def responsible_users(student: Student, role: Role) -> list[User]:
    """Active users holding `role` on a scope that contains the student (school, college, class or caseload)."""
    placed = or_(
        (RoleAssignment.scope_type == ScopeType.UNIT) & (RoleAssignment.scope_id == student.school_id),
        (RoleAssignment.scope_type == ScopeType.COLLEGE) & (RoleAssignment.scope_id == student.college_id),
        (RoleAssignment.scope_type == ScopeType.CLASS) & (RoleAssignment.scope_id == student.class_id),
        (RoleAssignment.scope_type == ScopeType.CASELOAD) & RoleAssignment.scope_id.in_(
            select(caseload_members.c.caseload_id).where(caseload_members.c.student_id == student.id)),
    )
    return db.session.scalars(select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
                              .where(RoleAssignment.role == role, placed, User.is_active_user.is_(True))
                              .order_by(User.id)).unique().all()


def overdue(today: date, level: int, days: int) -> list[int]:
    """Ids of open follow-ups at an escalation level whose due date is more than `days` behind."""
    from datetime import timedelta

    return list(db.session.scalars(select(FollowUp.id).where(
        FollowUp.status == FollowUpStatus.OPEN, FollowUp.escalation_level == level,
        FollowUp.due_on < today - timedelta(days=days)).order_by(FollowUp.id)))


def due_between(first: date, last: date) -> list[int]:
    return list(db.session.scalars(select(FollowUp.id).where(
        FollowUp.status == FollowUpStatus.OPEN, FollowUp.due_on.between(first, last)).order_by(FollowUp.id)))


def owing_students(user, year, today: date) -> list[tuple[Student, list]]:
    """The user's identified students of the year whom the visit cadence says are owed a visit or talk now.

    The cadence is judged per student in Python (cadence.obligations: a few queries for the whole list), so the
    whole caseload is read: a class or a school's, never more than one user's scope.
    """
    from caretrack.followups import cadence
    from caretrack.students.models import Identification

    students = db.session.scalars(
        scoped(select(Student), user, Permission.LEDGER_VIEW)
        .join(Identification, (Identification.student_id == Student.id) & (Identification.academic_year_id == year.id))
        .where(Student.status == "active").options(joinedload(Student.school_class))
        .order_by(Student.school_id, Student.class_id, Student.name, Student.id)).unique().all()
    owed = cadence.obligations(students, year, today)
    rows = [(student, cadence.attention(owed.get(student.id, []))) for student in students]
    return [(student, items) for student, items in rows if items]
