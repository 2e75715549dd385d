"""Reads of activities: lists, attendance sheets, the groups to tick from, coverage of the goals, a student's part.

Every list of students goes through the organiser's reach or the viewer's scope; coverage counts are set-based
(a few queries per goal, whatever the number of schools and students).
"""

from dataclasses import dataclass, field
from datetime import date
from functools import cache

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from caretrack.activities.models import (
    Activity,
    Attendance,
    Club,
    CoverageGoal,
    Theme,
    activity_theme_links,
    club_members,
)
from caretrack.activities.services import goals_in_force, reach_clause, year_window
from caretrack.core.access import Permission, scoped, unit_subtree_ids
from caretrack.extensions import db
from caretrack.org.models import AcademicYear, College, SchoolClass, Unit, UnitKind
from caretrack.org.services import year_spans
from caretrack.students.models import Caseload, Identification, Student, caseload_members


@dataclass
class ActivityFilters:
    theme_id: int | None = None
    year: AcademicYear | None = None
    q: str = ""
    # "upcoming": held today or later; "unrecorded": held before today and nobody on its attendance sheet.
    when: str = ""
    today: date | None = None


ACTIVITY_WHEN = ("upcoming", "unrecorded")


def activity_query(user, filters: ActivityFilters):
    """The activities the user may see, newest first, with their organiser loaded."""
    statement = scoped(select(Activity), user, Permission.ACTIVITIES_VIEW).options(
        joinedload(Activity.unit), joinedload(Activity.college), joinedload(Activity.club))
    if filters.theme_id:
        statement = statement.where(Activity.id.in_(select(activity_theme_links.c.activity_id).where(
            activity_theme_links.c.theme_id == filters.theme_id)))
    if filters.year is not None:
        first, last = year_window(filters.year)
        statement = statement.where(Activity.held_on.between(first, last))
    if filters.q:
        statement = statement.where(Activity.title.like(f"%{filters.q.strip()}%"))
    if filters.when == "upcoming" and filters.today:
        # What comes next reads soonest first.
        return statement.where(Activity.held_on >= filters.today).order_by(Activity.held_on, Activity.id)
    if filters.when == "unrecorded" and filters.today:
        statement = statement.where(Activity.held_on < filters.today,
                                    ~select(Attendance.id).where(Attendance.activity_id == Activity.id).exists())
    return statement.order_by(Activity.held_on.desc(), Activity.id.desc())


def attendance_counts(activity_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Activity id -> (expected, present), in one query."""
    if not activity_ids:
        return {}
    rows = db.session.execute(
        select(Attendance.activity_id, func.count(), func.sum(case((Attendance.is_present, 1), else_=0)))
        .where(Attendance.activity_id.in_(activity_ids)).group_by(Attendance.activity_id))
    return {activity_id: (expected, int(present or 0)) for activity_id, expected, present in rows}


def attendance_sheet(activity: Activity) -> list[Attendance]:
    """Who was expected and who came: names, schools and classes only, in one query."""
    return list(db.session.scalars(
        select(Attendance).join(Student, Student.id == Attendance.student_id)
        .where(Attendance.activity_id == activity.id)
        .options(joinedload(Attendance.student).joinedload(Student.school_class),
                 joinedload(Attendance.student).joinedload(Student.school))
        .order_by(Student.school_id, Student.class_id, Student.name, Student.id)))


# --- the groups to tick names from -------------------------------------------------------------------------

@dataclass(frozen=True)
class Group:
    kind: str  # "class", "college", "club" or "caseload"
    id: int
    label: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


def group_schools(activity: Activity) -> list[Unit]:
    """The schools whose groups an activity may tick from (several only for a city's or a district's)."""
    if activity.unit.is_school:
        return [activity.unit]
    return list(db.session.scalars(select(Unit).where(
        Unit.id.in_(unit_subtree_ids([activity.unit_id])), Unit.kind.not_in([UnitKind.CITY, UnitKind.DISTRICT]))
        .order_by(Unit.code)))


def groups_for(activity: Activity, school: Unit) -> list[Group]:
    """The groups of one school inside the organiser's reach: the club itself, a college and its classes, or all."""
    if activity.club_id is not None:
        return [Group("club", activity.club.id, activity.club.name)]
    classes = select(SchoolClass).where(SchoolClass.school_id == school.id).order_by(SchoolClass.name)
    if activity.college_id is not None:
        classes = classes.where(SchoolClass.college_id == activity.college_id)
        return [Group("college", activity.college.id, activity.college.name)] + [
            Group("class", c.id, c.name) for c in db.session.scalars(classes)]
    groups = [Group("college", c.id, c.name) for c in db.session.scalars(
        select(College).where(College.school_id == school.id).order_by(College.name))]
    groups += [Group("class", c.id, c.name) for c in db.session.scalars(classes)]
    groups += [Group("club", c.id, c.name) for c in db.session.scalars(
        select(Club).where(Club.school_id == school.id).order_by(Club.name))]
    groups += [Group("caseload", c.id, c.name) for c in db.session.scalars(
        select(Caseload).where(Caseload.school_id == school.id).order_by(Caseload.name))]
    return groups


def group_students(activity: Activity, group: Group) -> list[Student]:
    """The active students of a group, inside the organiser's reach, with their classes (one query)."""
    member_of = {
        "class": lambda: Student.class_id == group.id,
        "college": lambda: Student.college_id == group.id,
        "club": lambda: Student.id.in_(select(club_members.c.student_id).where(club_members.c.club_id == group.id)),
        "caseload": lambda: Student.id.in_(select(caseload_members.c.student_id)
                                           .where(caseload_members.c.caseload_id == group.id)),
    }[group.kind]()
    return list(db.session.scalars(
        select(Student).where(member_of, reach_clause(activity), Student.status == "active")
        .options(joinedload(Student.school_class)).order_by(Student.class_id, Student.name, Student.id)))


# --- coverage of the goals ---------------------------------------------------------------------------------

@dataclass
class SchoolCount:
    school: Unit
    expected: int
    reached: int


@dataclass
class GoalCoverage:
    goal: CoverageGoal
    expected: int = 0
    reached: int = 0
    schools: list[SchoolCount] = field(default_factory=list)
    unreached: list[Student] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.reached / self.expected) if self.expected else 100


def _schools_by_span(year: AcademicYear, school_ids) -> dict[tuple[date, date], list[int]]:
    """The schools grouped by the days their academic year takes (their own terms; most share the city's)."""
    schools = db.session.scalars(select(Unit).where(Unit.id.in_(school_ids))).all()
    by_span: dict[tuple[date, date], list[int]] = {}
    for school_id, span in year_spans(schools, year).items():
        by_span.setdefault(span, []).append(school_id)
    return by_span


def _reached(goal: CoverageGoal, by_span: dict[tuple[date, date], list[int]]) -> object:
    """A clause on Student: present at an activity of the goal's theme, organised by anyone, dated within the
    academic year by the student's school's own terms (schools sharing their dates share one subquery).
    """
    if not by_span:
        return false()
    return or_(*(and_(Student.school_id.in_(ids), Student.id.in_(_reached_ids(goal, *span)))
                 for span, ids in by_span.items()))


def _reached_ids(goal: CoverageGoal, first: date, last: date):
    """Students present at any activity of the goal's theme dated from `first` to `last`, organised by anyone."""
    return (select(Attendance.student_id).join(Activity, Activity.id == Attendance.activity_id)
            .join(activity_theme_links, activity_theme_links.c.activity_id == Activity.id)
            .where(activity_theme_links.c.theme_id == goal.theme_id, Attendance.is_present.is_(True),
                   Activity.held_on.between(first, last)))


def _covered_students(goal: CoverageGoal, year: AcademicYear, school_ids, college: College | None):
    """A clause on Student (joined to its school): identified in that year, at a school of the goal's kinds."""
    clause = and_(Student.school_id.in_(school_ids), Unit.kind.in_(goal.kinds),
                  Student.id.in_(select(Identification.student_id)
                                 .where(Identification.academic_year_id == year.id)))
    return and_(clause, Student.college_id == college.id) if college is not None else clause


def coverage(unit: Unit, year: AcademicYear, *, college: College | None = None, viewer=None,
             list_unreached: bool = True) -> list[GoalCoverage]:
    """Per goal of the year that applies to the unit: identified students expected, reached, per school, who is left.

    The unreached are listed through the viewer's student scope (None: everyone, for the command line).
    """
    school_ids = [unit.id] if unit.is_school else list(unit_subtree_ids([unit.id]))
    result = []
    by_span = _schools_by_span(year, school_ids)
    for goal in goals_in_force(year.start_year):
        covered = _covered_students(goal, year, school_ids, college)
        reached = _reached(goal, by_span)
        rows = db.session.execute(
            select(Unit, func.count(Student.id), func.sum(case((reached, 1), else_=0)))
            .join(Student, Student.school_id == Unit.id).where(covered).group_by(Unit).order_by(Unit.code)).all()
        applies = unit.kind in goal.kinds if unit.is_school else bool(rows)
        if not applies:
            continue  # a goal of other kinds of school, or of none in this district
        entry = GoalCoverage(goal, schools=[SchoolCount(school, n, int(r or 0)) for school, n, r in rows])
        entry.expected = sum(s.expected for s in entry.schools)
        entry.reached = sum(s.reached for s in entry.schools)
        if list_unreached:
            statement = (select(Student).join(Unit, Unit.id == Student.school_id).where(covered, ~reached)
                         .options(joinedload(Student.school), joinedload(Student.school_class))
                         .order_by(Unit.code, Student.class_id, Student.name, Student.id))
            if viewer is not None:
                statement = scoped(statement, viewer, Permission.STUDENTS_VIEW, Student)
            entry.unreached = list(db.session.scalars(statement))
        result.append(entry)
    return result


def coverage_totals(unit: Unit, year: AcademicYear) -> list[GoalCoverage]:
    """`coverage` without the unreached, every goal in one query: for the home pages' charts.

    The identified students of the unit's schools are read once, grouped by school, with one sum per goal of
    those reached; each goal then keeps the schools of its kinds. The same numbers as `coverage` (the tests hold
    it to that), in one scan of the year's identifications instead of one per goal.
    """
    goals = goals_in_force(year.start_year)
    if not goals:
        return []
    school_ids = [unit.id] if unit.is_school else list(unit_subtree_ids([unit.id]))
    by_span = _schools_by_span(year, school_ids)
    rows = db.session.execute(
        select(Unit, func.count(Student.id), *[func.sum(case((_reached(goal, by_span), 1), else_=0)) for goal in goals])
        .join(Student, Student.school_id == Unit.id)
        .join(Identification, (Identification.student_id == Student.id) & (Identification.academic_year_id == year.id))
        .where(Student.school_id.in_(school_ids)).group_by(Unit).order_by(Unit.code)).all()
    result = []
    for index, goal in enumerate(goals):
        schools = [SchoolCount(row[0], row[1], int(row[2 + index] or 0)) for row in rows if row[0].kind in goal.kinds]
        applies = unit.kind in goal.kinds if unit.is_school else bool(schools)
        if not applies:
            continue
        entry = GoalCoverage(goal, schools=schools)
        entry.expected = sum(s.expected for s in schools)
        entry.reached = sum(s.reached for s in schools)
        result.append(entry)
    return result


def coverage_json(unit: Unit, year: AcademicYear) -> dict:
    """The command line's JSON: every goal with the counts and the unreached students' codes, numbers and names."""
    return {"单位代码": unit.code, "学年": year.label, "目标": [
        {"主题": entry.goal.theme.name, "应覆盖学生数": entry.expected, "已覆盖学生数": entry.reached,
         "未覆盖": [{"单位代码": s.school.code, "学号": s.student_no, "姓名": s.name} for s in entry.unreached]}
        for entry in coverage(unit, year)]}


# --- a student's part, and the term summaries' ------------------------------------------------------------

def attended_between(student_ids, first_day: date, last_day: date) -> list[tuple[int, int, str, str, date]]:
    """(student id, activity id, theme names, title, date) of the activities the students attended, in one query."""
    ids = list(student_ids)
    if not ids:
        return []
    themes = (select(activity_theme_links.c.activity_id, Theme.name, Theme.sort_order)
              .join(Theme, Theme.id == activity_theme_links.c.theme_id).subquery())
    rows = db.session.execute(
        select(Attendance.student_id, Activity.id, Activity.title, Activity.held_on, themes.c.name)
        .join(Activity, Activity.id == Attendance.activity_id)
        .outerjoin(themes, themes.c.activity_id == Activity.id)
        .where(Attendance.student_id.in_(ids), Attendance.is_present.is_(True),
               Activity.held_on.between(first_day, last_day))
        .order_by(Attendance.student_id, Activity.held_on, Activity.id, themes.c.sort_order))
    merged: dict[tuple[int, int], list] = {}
    for student_id, activity_id, title, held_on, theme in rows:
        entry = merged.setdefault((student_id, activity_id), [student_id, activity_id, [], title, held_on])
        if theme:
            entry[2].append(theme)
    return [(s, a, "、".join(names), title, held_on) for s, a, names, title, held_on in merged.values()]


def attended_by(student: Student, first_day: date | None = None, last_day: date | None = None) -> list[Activity]:
    """The activities a student attended (present), newest first, for the file's timeline."""
    statement = (select(Activity).join(Attendance, Attendance.activity_id == Activity.id)
                 .where(Attendance.student_id == student.id, Attendance.is_present.is_(True))
                 .options(*_timeline_options()))
    if first_day is not None:
        statement = statement.where(Activity.held_on.between(first_day, last_day))
    return list(db.session.scalars(statement.order_by(Activity.held_on.desc())))


@cache
def _timeline_options() -> tuple:
    """The loader options of the timeline's activities, made once per process (every file view asks them)."""
    return (joinedload(Activity.unit), joinedload(Activity.college), joinedload(Activity.club),
            selectinload(Activity.themes))


def unreached_contacts(students: list[Student]) -> dict[int, list[int]]:
    """Student id -> ids of the active class teachers and counselors answering for them (three queries)."""
    from caretrack.accounts.models import RoleAssignment, User
    from caretrack.core.access import Role, ScopeType

    if not students:
        return {}
    class_ids = {s.class_id for s in students}
    college_ids = {s.college_id for s in students if s.college_id}
    grants = db.session.execute(
        select(RoleAssignment.user_id, RoleAssignment.scope_type, RoleAssignment.scope_id)
        .join(User, User.id == RoleAssignment.user_id)
        .where(User.is_active_user.is_(True), RoleAssignment.role.in_([Role.CLASS_TEACHER, Role.COUNSELOR]),
               or_(and_(RoleAssignment.scope_type == ScopeType.CLASS, RoleAssignment.scope_id.in_(class_ids)),
                   and_(RoleAssignment.scope_type == ScopeType.COLLEGE, RoleAssignment.scope_id.in_(college_ids)),
                   RoleAssignment.scope_type == ScopeType.CASELOAD))).all()
    caseloads: dict[int, set[int]] = {}
    for caseload_id, student_id in db.session.execute(select(
            caseload_members.c.caseload_id, caseload_members.c.student_id)
            .where(caseload_members.c.student_id.in_([s.id for s in students]))):
        caseloads.setdefault(student_id, set()).add(caseload_id)
    contacts = {}
    for student in students:
        place = {ScopeType.CLASS: {student.class_id}, ScopeType.COLLEGE: {student.college_id},
                 ScopeType.CASELOAD: caseloads.get(student.id, set())}
        contacts[student.id] = sorted({user_id for user_id, scope_type, scope_id in grants
                                       if scope_id in place[ScopeType(scope_type)]})
    return contacts
