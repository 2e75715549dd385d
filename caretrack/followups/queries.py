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


def _cadence_windows(scoped_students, year, today: date):
    """The visit cadence's windows that have started by today, per school of the students, as rows of SQL.

    Each row is (school_id, rule_id, starts_on, ends_on): a rule "every term" has a window per term, "every year"
    one from the first term's start to the second's end, by the school's own term dates (org.terms_for). None
    when no window has started: nobody is owed anything yet. A few queries whatever the number of students.
    """
    from sqlalchemy import Date, Integer, literal, union_all

    from caretrack.followups import cadence
    from caretrack.followups.models import CadenceRule
    from caretrack.org import services as org

    rules = [r for r in db.session.scalars(select(CadenceRule).order_by(CadenceRule.id))
             if r.applies_in(year.start_year)]
    if not rules:
        return None
    school_ids = db.session.scalars(scoped_students.with_only_columns(Student.school_id).distinct()
                                    .order_by(None)).all()
    if not school_ids:
        return None
    schools = org.units_by_id(school_ids)
    terms = {number: org.terms_for(schools, year, number) for number in (1, 2)}
    rows = []
    for school in schools:
        dates = {number: (terms[number][school.id].starts_on, terms[number][school.id].ends_on) for number in (1, 2)}
        for rule in rules:
            for _name, starts_on, ends_on in cadence._windows(rule, dates):
                if starts_on <= today:
                    rows.append(select(literal(school.id, Integer).label("school_id"),
                                       literal(rule.id, Integer).label("rule_id"),
                                       literal(starts_on, Date).label("starts_on"),
                                       literal(ends_on, Date).label("ends_on")))
    if not rows:
        return None
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("cadence_windows")


def owing_query(user, year, today: date):
    """The user's active identified students of the year whom the visit cadence says are owed a visit or talk now.

    One select(): a student is owed when a rule applying to their identification has a window that has started
    (the current term's, or a past one overdue) without a record of the rule's kind inside it, as
    cadence.attention judges it student by student. Set-based: its cost and query count do not grow with the
    caseload; the list page pages it and works out the badges for one page of students only.
    """
    from sqlalchemy import and_, false

    from caretrack.followups.models import CadenceRule
    from caretrack.ledger.models import SupportRecord
    from caretrack.students.models import Identification, IdentificationCategory

    students = (scoped(select(Student), user, Permission.LEDGER_VIEW)
                .join(Identification, (Identification.student_id == Student.id)
                      & (Identification.academic_year_id == year.id))
                .where(Student.status == "active"))
    windows = _cadence_windows(students, year, today)
    if windows is None:
        return students.where(false())
    # Two levels down, each EXISTS names what it correlates to (the student and identification of the outer row,
    # the rule and window of the middle one): SQLAlchemy would otherwise take them into the subquery's own FROM.
    applies = or_(and_(CadenceRule.category.is_(None), CadenceRule.level.is_(None)),
                  CadenceRule.level == Identification.level,
                  select(IdentificationCategory.identification_id).where(
                      IdentificationCategory.identification_id == Identification.id,
                      IdentificationCategory.category == CadenceRule.category)
                  .correlate(Identification, CadenceRule).exists())
    done = (select(SupportRecord.id).where(
        SupportRecord.student_id == Student.id, SupportRecord.deleted_at.is_(None),
        SupportRecord.kind == CadenceRule.record_kind,
        SupportRecord.happened_on.between(windows.c.starts_on, windows.c.ends_on))
        .correlate(Student, CadenceRule, windows).exists())
    owed = (select(windows.c.rule_id).join(CadenceRule, CadenceRule.id == windows.c.rule_id)
            .where(windows.c.school_id == Student.school_id, applies, ~done)
            .correlate(Student, Identification).exists())
    return (students.where(owed).options(joinedload(Student.school_class))
            .order_by(Student.school_id, Student.class_id, Student.name, Student.id))


def owing_students(user, year, today: date, page: int | None = None):
    """One page of `owing_query`, each student with what they are owed (cadence.obligations for the page only)."""
    from caretrack.core.pagination import paginate
    from caretrack.followups import cadence

    found = paginate(owing_query(user, year, today), page=page)
    owed = cadence.obligations(found.items, year, today)
    found.items = [(student, cadence.attention(owed.get(student.id, []))) for student in found.items]
    return found
