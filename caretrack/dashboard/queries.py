"""The counts of the home page: each a set-based query over the user's scope, built on the very statement of the
list it links to, so that the number on the home page is the total that list shows.

Every function here runs a fixed number of queries whatever the number of students, follow-ups or cases.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, distinct, func, or_, select, true
from sqlalchemy.orm import aliased

from caretrack.accounts.services import home_unit
from caretrack.activities import queries as activities
from caretrack.activities.models import Attendance, Club, ClubProposal, ProposalStatus
from caretrack.core.access import ROLE_PERMISSIONS, Permission, Role, ScopeType, scoped
from caretrack.extensions import db
from caretrack.followups import queries as followups
from caretrack.jobs import imports
from caretrack.jobs.models import FAILED, RUNNING, Job
from caretrack.ledger import queries as ledger
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, SchoolClass, Unit, UnitKind
from caretrack.screening import queries as screening_queries
from caretrack.screening import rules as rule_engine
from caretrack.screening import services as screening
from caretrack.screening.models import CaseStatus, ScreeningCase, ScreeningRule, ScreeningRun
from caretrack.screening.tables import form_for
from caretrack.students.models import Identification, IdentificationCategory, Student


def count_of(statement) -> int:
    """The number of rows a list statement returns (what its pager shows as 共 N 条), in one query."""
    return db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))


def _sum_when(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# --- class teachers and counselors -------------------------------------------------------------------------

def followup_counts(user, today: date) -> dict[str, int]:
    """The user's own open follow-ups due today, within 7 days, and overdue (one query)."""
    rows = followups.followup_query(user, "open", mine_only=True).order_by(None).subquery()
    windows = {due: window(today) for due, window in followups.DUE_WINDOWS.items()}
    columns = []
    for due, (first, last) in windows.items():
        condition = rows.c.due_on <= last if first is None else rows.c.due_on.between(first, last)
        columns.append(_sum_when(condition).label(due))
    result = db.session.execute(select(*columns).select_from(rows)).one()
    return {due: int(result[index]) for index, due in enumerate(windows)}


def stale_students(user, year: AcademicYear, today: date, days: int) -> int:
    """Identified students of the caseload not contacted for `days` days, or never (one query)."""
    return count_of(ledger.caseload_query(user, year, today, days, only_stale=True))


# --- club leaders ------------------------------------------------------------------------------------------

def activity_counts(user, today: date) -> dict[str, int]:
    """The user's activities still to come, and those held without an attendance sheet (one query)."""
    rows = activities.activity_query(user, activities.ActivityFilters()).order_by(None).subquery()
    unrecorded = and_(rows.c.held_on < today,
                      ~select(Attendance.id).where(Attendance.activity_id == rows.c.id).exists())
    result = db.session.execute(select(_sum_when(rows.c.held_on >= today), _sum_when(unrecorded))
                                .select_from(rows)).one()
    return {"upcoming": int(result[0]), "unrecorded": int(result[1])}


@dataclass
class ClubPending:
    club_id: int
    name: str
    pending: int


def pending_proposals(user) -> list[ClubPending]:
    """Members proposed and not yet approved, per club the user sees (one query); clubs with none left out."""
    statement = (scoped(select(Club.id, Club.name, func.count(ClubProposal.id)), user, Permission.CLUBS_VIEW, Club)
                 .join(ClubProposal, and_(ClubProposal.club_id == Club.id,
                                          ClubProposal.status == ProposalStatus.PENDING))
                 .group_by(Club.id, Club.name).order_by(Club.name, Club.id))
    return [ClubPending(club_id, name, pending) for club_id, name, pending in db.session.execute(statement)]


# --- school aid officers -----------------------------------------------------------------------------------

def granted_units(user, *roles: Role) -> list[Unit]:
    """The units the user holds one of `roles` on, by code (one query)."""
    ids = [a.scope_id for a in user.role_assignments if Role(a.role) in roles and a.scope_type == ScopeType.UNIT]
    if not ids:
        return []
    return list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.code)))


def unremedied_by_school(school_ids: list[int], year: AcademicYear, term: int) -> dict[int, int]:
    """Open cases with neither a measure nor a deadline, per school (screening.without_remedy's rule; one query)."""
    if not school_ids:
        return {}
    return dict(db.session.execute(select(ScreeningCase.school_id, func.count()).where(
        ScreeningCase.school_id.in_(school_ids), ScreeningCase.academic_year_id == year.id,
        ScreeningCase.term == term, ScreeningCase.status == CaseStatus.OPEN,
        func.coalesce(func.trim(ScreeningCase.remedy), "") == "", ScreeningCase.deadline.is_(None))
        .group_by(ScreeningCase.school_id)).all())


@dataclass
class ClassCount:
    class_id: int
    name: str
    count: int


def overdue_by_class(user, today: date) -> list[ClassCount]:
    """Overdue open follow-ups in the user's scope, per class of the student (one query); classes with none left out."""
    rows = followups.followup_query(user, "open", due="overdue", today=today).order_by(None).subquery()
    statement = (select(SchoolClass.id, SchoolClass.name, func.count(rows.c.id))
                 .select_from(rows).join(Student, Student.id == rows.c.student_id)
                 .join(SchoolClass, SchoolClass.id == Student.class_id)
                 .group_by(SchoolClass.id, SchoolClass.name).order_by(SchoolClass.name, SchoolClass.id))
    return [ClassCount(*row) for row in db.session.execute(statement)]


# --- the charts' data --------------------------------------------------------------------------------------

def identified_by_stage_and_category(user, year: AcademicYear) -> dict[tuple[str, str], int]:
    """Active students identified in the year, per (stage, category), over the user's students (one query).

    A student of several categories counts under each, as the student list filtered by one category finds them.
    """
    # One identification per student and year, one row per category of it: count(*) counts students.
    statement = (scoped(select(Student.stage, IdentificationCategory.category, func.count()),
                        user, Permission.STUDENTS_VIEW, Student)
                 .join(Identification, and_(Identification.student_id == Student.id,
                                            Identification.academic_year_id == year.id))
                 .join(IdentificationCategory, IdentificationCategory.identification_id == Identification.id)
                 .where(Student.status == "active")
                 .group_by(Student.stage, IdentificationCategory.category))
    return {(stage, category): n for stage, category, n in db.session.execute(statement)}


def schools_under(units: list[Unit]) -> dict[int, list[int]]:
    """The schools each unit stands for: a school itself, a district its schools (one query for the districts)."""
    found = {unit.id: [unit.id] for unit in units if unit.is_school}
    groups = [unit.id for unit in units if not unit.is_school]
    if groups:
        found.update({unit_id: [] for unit_id in groups})
        for school_id, parent_id in db.session.execute(select(Unit.id, Unit.parent_id).where(
                Unit.parent_id.in_(groups), Unit.kind.not_in([UnitKind.CITY, UnitKind.DISTRICT]))):
            found[parent_id].append(school_id)
    return found


def cases_by_term(user, units: list[Unit]) -> dict[tuple[int, int, str], int]:
    """Screening cases of the units' schools per (start year, term, status), over every term (one query)."""
    school_ids = sorted({i for ids in schools_under(units).values() for i in ids})
    if not school_ids:
        return {}
    statement = (scoped(select(AcademicYear.start_year, ScreeningCase.term, ScreeningCase.status, func.count()),
                        user, Permission.SCREENING_VIEW, ScreeningCase)
                 .join(AcademicYear, AcademicYear.id == ScreeningCase.academic_year_id)
                 .where(ScreeningCase.school_id.in_(school_ids))
                 .group_by(AcademicYear.start_year, ScreeningCase.term, ScreeningCase.status))
    return {(start_year, term, status): n for start_year, term, status, n in db.session.execute(statement)}


def cases_by_unit(user, units: list[Unit], year: AcademicYear, term: int) -> dict[int, dict[str, int]]:
    """Open and closed cases of the term per listed unit: a school's own, a district's schools' (two queries)."""
    schools = schools_under(units)
    unit_of = {school_id: unit_id for unit_id, ids in schools.items() for school_id in ids}
    totals = {unit.id: {CaseStatus.OPEN.value: 0, CaseStatus.CLOSED.value: 0} for unit in units}
    if not unit_of:
        return totals
    statement = (scoped(select(ScreeningCase.school_id, ScreeningCase.status, func.count()),
                        user, Permission.SCREENING_VIEW, ScreeningCase)
                 .where(ScreeningCase.school_id.in_(sorted(unit_of)), ScreeningCase.academic_year_id == year.id,
                        ScreeningCase.term == term)
                 .group_by(ScreeningCase.school_id, ScreeningCase.status))
    for school_id, status, n in db.session.execute(statement):
        counts = totals[unit_of[school_id]]
        counts[status] = counts.get(status, 0) + n
    return totals


@dataclass
class RequiredCoverage:
    """The coverage question of a unit's table (应助尽助 of the required grants): how many students the rules that
    answer it apply to (应覆盖学生数), and how many of them no open case says are missing their grant (覆盖学生数).
    """

    should_cover: int
    covered: int

    @property
    def missing(self) -> int:
        return self.should_cover - self.covered


def _rule_applies(rule: ScreeningRule, category):
    """rules.applies_clauses with the categories read from an outer-joined identification_categories row."""
    return and_(true(), *rule_engine.applies_clauses(rule, category))


def required_coverage(units: list[Unit], year: AcademicYear, term: int) -> dict[int, RequiredCoverage]:
    """The coverage question of each unit's table for the term, as screening.build_table answers it, for the
    units that ran their screening this term (the others have no table yet); five queries for all of them.

    Each unit is counted by the rules of its own form (附件1 or 附件2): the identified active students they apply
    to, less those with an open case of such a rule.
    """
    schools = schools_under(units)
    screened = set(db.session.scalars(select(ScreeningRun.unit_id).where(
        ScreeningRun.unit_id.in_([unit.id for unit in units]), ScreeningRun.academic_year_id == year.id,
        ScreeningRun.term == term, ScreeningRun.finished_at.is_not(None)).distinct()))
    listed = [unit for unit in units if unit.id in screened]
    rules = [r for r in db.session.scalars(select(ScreeningRule).where(ScreeningRule.coverage_form.is_not(None))
                                           .order_by(ScreeningRule.id)) if r.applies_in(year.start_year)]
    by_form: dict[str, list[int]] = {}
    for unit in listed:
        by_form.setdefault(form_for(unit), []).extend(schools[unit.id])
    # The rules' categories through one outer join rather than an EXISTS per rule (rules.applies_clauses): the
    # same students, in a plain hash join whose cost PostgreSQL estimates well (the EXISTS made it plan for JIT).
    category = aliased(IdentificationCategory)
    clauses, case_clauses, categories = [], [], set()
    for form, school_ids in by_form.items():
        applying = [_rule_applies(rule, category) for rule in rules if rule.coverage_form == form]
        categories.update(c for rule in rules if rule.coverage_form == form for c in rule.categories)
        if applying and school_ids:
            clauses.append(and_(Student.school_id.in_(school_ids), or_(*applying)))
            case_clauses.append(and_(ScreeningCase.school_id.in_(school_ids), ScreeningRule.coverage_form == form))
    should, missing = {}, {}
    if clauses:
        should = dict(db.session.execute(
            select(Student.school_id, func.count(distinct(Student.id)))
            .join(Identification, (Identification.student_id == Student.id)
                  & (Identification.academic_year_id == year.id))
            .outerjoin(category, (category.identification_id == Identification.id)
                       & category.category.in_(sorted(categories) or [""]))
            .where(Student.status == "active", or_(*clauses)).group_by(Student.school_id)).all())
        missing = dict(db.session.execute(
            select(ScreeningCase.school_id, func.count(distinct(ScreeningCase.student_id)))
            .join(ScreeningRule, ScreeningRule.id == ScreeningCase.rule_id)
            .where(ScreeningCase.academic_year_id == year.id, ScreeningCase.term == term,
                   ScreeningCase.status == CaseStatus.OPEN, or_(*case_clauses))
            .group_by(ScreeningCase.school_id)).all())
    result = {}
    for unit in listed:
        total = sum(should.get(i, 0) for i in schools[unit.id])
        result[unit.id] = RequiredCoverage(total, total - sum(missing.get(i, 0) for i in schools[unit.id]))
    return result


@dataclass
class Oversight:
    """What a district or the city oversees for a term: the units reporting to it, each with its table's status.

    `statuses` are the units that report to the user's city or districts (a district's schools; the city's
    districts and the schools reporting to it directly), never the user's own unit: that is what the officers
    chase. `reporting` groups them by the unit they report to, for the reporting cards with 催报.
    """

    overseers: list[Unit]
    statuses: list[screening.UnitStatus]

    def reporting(self, today: date) -> list[screening.Reporting]:
        return [screening.Reporting(unit, [s for s in self.statuses if s.unit.parent_id == unit.id], today)
                for unit in self.overseers]

    @property
    def units(self) -> list[Unit]:
        return [status.unit for status in self.statuses]


def oversight(user, year: AcademicYear, term: int) -> Oversight:
    """The units reporting to the city or districts the user oversees, with their status (five queries)."""
    overseers = screening_queries.overseen_units(user)
    if not overseers:
        return Oversight([], [])
    units = list(db.session.scalars(select(Unit).where(Unit.parent_id.in_([u.id for u in overseers]))
                                    .order_by(Unit.kind != UnitKind.DISTRICT, Unit.code)))
    return Oversight(overseers, screening.statuses(units, year, term) if units else [])


def may_oversee(user) -> bool:
    """Whether the user holds a screening role on a unit (they see the overview's reporting)."""
    return any(a.scope_type == ScopeType.UNIT and Permission.SCREENING_VIEW in ROLE_PERMISSIONS[Role(a.role)]
               for a in user.role_assignments)


def current_term(user, today: date):
    """The term today is in by the dates of the user's own unit (or the city's)."""
    return org.term_on(home_unit(user), today)


# A user starts a handful of imports a term; a list of more failures than this is cut, newest first.
FAILED_IMPORTS_LIMIT = 200


def failed_imports(user) -> list[Job]:
    """The user's imports that failed, or whose worker died while running, newest first (one query).

    A job is seen only by its starter. "Died" is judged as the job's page judges it (jobs.shown_status).
    """
    from caretrack.jobs import services as jobs

    candidates = db.session.scalars(select(Job).where(
        Job.user_id == user.id, Job.kind.like(f"{imports.KIND_PREFIX}%"), Job.status.in_([FAILED, RUNNING]))
        .order_by(Job.created_at.desc(), Job.id.desc()).limit(FAILED_IMPORTS_LIMIT))
    return [job for job in candidates if jobs.shown_status(job) == FAILED]
