"""Reads of the duties: the compliance board of a unit (itself and the units reporting to it), one unit's year.

A board is built from a fixed number of queries whatever the number of units and duties: the duty types, the
year's records, the screening submissions, the aid staff and the universities' student counts, each fetched once
for every unit of the board.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from caretrack.accounts.models import RoleAssignment, User
from caretrack.core import totals
from caretrack.core.access import Permission, ScopeType, scoped, unit_subtree_ids
from caretrack.core.timeutil import local_today
from caretrack.duties.models import AidStaff, Budget, CityVisit, DutyCheck, DutyRecord, DutyStatus, DutyType
from caretrack.extensions import db
from caretrack.ledger.models import Disbursement
from caretrack.org.models import AcademicYear, Unit, UnitKind
from caretrack.screening.models import TableSubmission
from caretrack.students.models import Student, StudentStatus

STUDENTS_PER_FULL_TIME_STAFF = 2500  # 教育部: 1 full-time aid worker per 2,500 students (本专科生 + 研究生)


@dataclass
class Staffing:
    """A university's full-time aid staff against 1 per 2,500 students on the roster."""

    students: int
    full_time: int

    @property
    def required(self) -> int:
        return math.ceil(self.students / STUDENTS_PER_FULL_TIME_STAFF)

    @property
    def shortfall(self) -> int:
        return max(0, self.required - self.full_time)


@dataclass
class Cell:
    """One duty of one unit for the year: its status, deadline and the evidence (records or submissions)."""

    duty: DutyType
    status: DutyStatus
    due_on: date
    records: list = field(default_factory=list)


@dataclass
class Execution:
    """A unit's budgets of the year against what the ledger paid for the same projects (its schools' payments)."""

    budget: Decimal
    paid: Decimal

    @property
    def rate(self) -> Decimal | None:
        return self.paid * 100 / self.budget if self.budget else None


@dataclass
class UnitRow:
    unit: Unit
    cells: list[Cell]
    staffing: Staffing | None = None
    execution: Execution | None = None

    def count(self, status: DutyStatus) -> int:
        return sum(cell.status == status for cell in self.cells)

    def cell(self, duty_id: int) -> Cell | None:
        return next((cell for cell in self.cells if cell.duty.id == duty_id), None)


@dataclass
class Board:
    year: AcademicYear
    today: date
    duties: list[DutyType]
    rows: list[UnitRow]


def status_of(is_done: bool, due_on: date, today: date) -> DutyStatus:
    """Done, or not yet due until the end of its deadline day, then late."""
    if is_done:
        return DutyStatus.DONE
    return DutyStatus.LATE if today > due_on else DutyStatus.DUE


def year_reference_day(year: AcademicYear, today: date) -> date:
    """The day whose staff count for the year: today while the year runs, else its first or last day."""
    first, last = date(year.start_year, 9, 1), date(year.start_year + 1, 8, 31)
    return min(max(today, first), last)


def duty_types_in_force(start_year: int) -> list[DutyType]:
    rows = db.session.scalars(select(DutyType).order_by(DutyType.sort_order, DutyType.id))
    return [duty for duty in rows if duty.in_force(start_year)]


def _records_by_unit(unit_ids: list[int], year: AcademicYear, full: bool) -> dict[tuple[int, int], list]:
    query = (select(DutyRecord).where(DutyRecord.unit_id.in_(unit_ids), DutyRecord.academic_year_id == year.id)
             .order_by(DutyRecord.done_on, DutyRecord.id))
    if full:
        query = query.options(selectinload(DutyRecord.attending_units), selectinload(DutyRecord.trainees),
                              selectinload(DutyRecord.files))
    grouped = defaultdict(list)
    for record in db.session.scalars(query):
        grouped[(record.unit_id, record.duty_type_id)].append(record)
    return grouped


def _submissions_by_unit(unit_ids: list[int], year: AcademicYear) -> dict[tuple[int, int], list]:
    grouped = defaultdict(list)
    for submission in db.session.scalars(
            select(TableSubmission).where(TableSubmission.unit_id.in_(unit_ids),
                                          TableSubmission.academic_year_id == year.id)
            .order_by(TableSubmission.version)):
        grouped[(submission.unit_id, submission.term)].append(submission)
    return grouped


def staff_of(unit_ids: list[int]) -> dict[int, list[AidStaff]]:
    grouped = defaultdict(list)
    for person in db.session.scalars(select(AidStaff).where(AidStaff.unit_id.in_(unit_ids))
                                     .order_by(AidStaff.starts_on, AidStaff.id)):
        grouped[person.unit_id].append(person)
    return grouped


def student_counts(school_ids: list[int]) -> dict[int, int]:
    """在校生数 of each school, from the roster (one query)."""
    if not school_ids:
        return {}
    return dict(db.session.execute(
        select(Student.school_id, func.count(Student.id))
        .where(Student.school_id.in_(school_ids), Student.status == StudentStatus.ACTIVE)
        .group_by(Student.school_id)).all())


class _Facts:
    """Everything a board's cells are computed from, fetched once for all its units."""

    def __init__(self, units: list[Unit], year: AcademicYear, today: date, full: bool):
        ids = [unit.id for unit in units]
        self.year, self.today = year, today
        self.day = year_reference_day(year, today)
        self.records = _records_by_unit(ids, year, full)
        self.submissions = _submissions_by_unit(ids, year)
        self.staff = staff_of(ids)
        universities = tuple(unit.id for unit in units if unit.kind == UnitKind.UNIVERSITY)
        # 在校生数 moves only with the rosters: counted once a minute (a university's count reads 40,000 rows).
        self.students = totals.remembered(None, "students_of_universities",
                                          lambda: student_counts(list(universities)), universities)

    def serving(self, unit: Unit) -> list[AidStaff]:
        return [person for person in self.staff.get(unit.id, []) if person.serves_on(self.day)]

    def staffing(self, unit: Unit) -> Staffing | None:
        if unit.kind != UnitKind.UNIVERSITY:
            return None
        return Staffing(students=self.students.get(unit.id, 0),
                        full_time=sum(person.is_full_time for person in self.serving(unit)))

    def cell(self, unit: Unit, duty: DutyType, staffing: Staffing | None) -> Cell:
        check = duty.check_enum
        if check is DutyCheck.SCREENING:
            evidence = self.submissions.get((unit.id, duty.term), [])
            done = bool(evidence)
        elif check is DutyCheck.CENTRE:
            evidence = [person for person in self.serving(unit) if person.is_head]
            done = bool(evidence)
        elif check is DutyCheck.STAFFING:
            evidence = [person for person in self.serving(unit) if person.is_full_time]
            done = staffing is not None and staffing.shortfall == 0
        else:
            evidence = self.records.get((unit.id, duty.id), [])
            done = len(evidence) >= duty.min_count
        due_on = duty.due_on(self.year.start_year)
        return Cell(duty=duty, status=status_of(done, due_on, self.today), due_on=due_on, records=evidence)


def build_board(units: list[Unit], year: AcademicYear, today: date | None = None, full: bool = False) -> Board:
    """The status of every duty each unit owes in the year (`full`: records with attendance, trainees, files)."""
    today = today or local_today()
    duties = duty_types_in_force(year.start_year)
    facts = _Facts(units, year, today, full)
    executions = budget_execution([unit.id for unit in units], year)
    rows = []
    for unit in units:
        staffing = facts.staffing(unit)
        cells = [facts.cell(unit, duty, staffing) for duty in duties if unit.kind in duty.kinds]
        rows.append(UnitRow(unit=unit, cells=cells, staffing=staffing, execution=executions.get(unit.id)))
    shown = {cell.duty.id for row in rows for cell in row.cells}
    return Board(year=year, today=today, duties=[duty for duty in duties if duty.id in shown], rows=rows)


def board_units(user, unit: Unit) -> list[Unit]:
    """The unit and the active units reporting to it that the user may see, the unit first."""
    children = db.session.scalars(scoped(select(Unit), user, Permission.DUTIES_VIEW).where(
        Unit.parent_id == unit.id, Unit.is_active.is_(True)).order_by(Unit.kind != UnitKind.DISTRICT, Unit.code))
    return [unit, *children]


def home_unit_for(user) -> Unit | None:
    """The highest unit on which the user may read duties: where their board starts."""
    granted = [a.scope_id for a in user.role_assignments if a.scope_type == ScopeType.UNIT]
    if not granted:
        return None
    units = db.session.scalars(scoped(select(Unit), user, Permission.DUTIES_VIEW).where(Unit.id.in_(granted)))
    order = [UnitKind.CITY, UnitKind.DISTRICT]
    return min(units, key=lambda u: (order.index(u.unit_kind) if u.unit_kind in order else 2, u.code), default=None)


def board_summary(user, year: AcademicYear, today: date | None = None) -> list[dict]:
    """For the home page: each unit of the user's board with its counts of done, not yet due and late duties."""
    unit = home_unit_for(user)
    if unit is None:
        return []
    board = build_board(board_units(user, unit), year, today)
    return [{"unit": row.unit, "done": row.count(DutyStatus.DONE), "due": row.count(DutyStatus.DUE),
             "late": row.count(DutyStatus.LATE)} for row in board.rows]


def untrained_staff(unit: Unit, year: AcademicYear, today: date | None = None) -> list[AidStaff]:
    """The unit's serving aid staff that no training record of the year lists (or who have no login to list)."""
    day = year_reference_day(year, today or local_today())
    trained = set(db.session.scalars(
        select(User.id).join(DutyRecord.trainees).join(DutyType)
        .where(DutyRecord.academic_year_id == year.id, DutyType.is_training.is_(True))))
    return [person for person in staff_of([unit.id]).get(unit.id, [])
            if person.serves_on(day) and person.user_id not in trained]


def trainee_choices(unit: Unit) -> list[User]:
    """The people a training of the unit may list: users holding a role on the unit or a unit below it."""
    ids = unit_subtree_ids([unit.id])
    return list(db.session.scalars(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.scope_type == ScopeType.UNIT, RoleAssignment.scope_id.in_(ids),
               User.is_active_user.is_(True)).distinct().order_by(User.display_name, User.id)))


def attending_choices(unit: Unit) -> list[Unit]:
    """The units whose staff may attend a unit's training or meeting: itself and the units reporting to it."""
    children = db.session.scalars(select(Unit).where(Unit.parent_id == unit.id, Unit.is_active.is_(True))
                                  .order_by(Unit.code))
    return [unit, *children]


def visits_for(user) -> list[CityVisit]:
    return list(db.session.scalars(
        scoped(select(CityVisit), user, Permission.DUTIES_VIEW)
        .options(selectinload(CityVisit.improvements), selectinload(CityVisit.unit))
        .order_by(CityVisit.visited_on.desc(), CityVisit.id.desc())))


def visits_of(unit: Unit) -> list[CityVisit]:
    return list(db.session.scalars(select(CityVisit).where(CityVisit.unit_id == unit.id)
                                   .options(selectinload(CityVisit.improvements))
                                   .order_by(CityVisit.visited_on.desc())))


@dataclass
class BudgetLine:
    budget: Budget
    paid: Decimal
    by_month: dict[str, Decimal]

    @property
    def rate(self):
        """执行率 in percent, or None for a zero budget."""
        return (self.paid * 100 / self.budget.amount) if self.budget.amount else None


def _subtrees(unit_ids: list[int]) -> dict[int, set[int]]:
    """Each unit and every unit below it, from one read of the whole tree (a city has a few hundred units)."""
    children = defaultdict(list)
    for unit_id, parent_id in db.session.execute(select(Unit.id, Unit.parent_id)):
        children[parent_id].append(unit_id)
    trees = {}
    for root in unit_ids:
        tree, stack = set(), [root]
        while stack:
            node = stack.pop()
            tree.add(node)
            stack.extend(children[node])
        trees[root] = tree
    return trees


def budget_execution(unit_ids: list[int], year: AcademicYear) -> dict[int, Execution]:
    """Budget and paid so far of each unit that entered a budget for the year (a fixed number of queries)."""
    if year.id is None:
        return {}
    budgets = defaultdict(dict)
    for unit_id, project_id, amount in db.session.execute(
            select(Budget.unit_id, Budget.project_id, Budget.amount)
            .where(Budget.unit_id.in_(unit_ids), Budget.academic_year_id == year.id)):
        budgets[unit_id][project_id] = amount
    if not budgets:
        return {}
    trees = _subtrees(list(budgets))
    schools = set().union(*trees.values())
    projects = {project for items in budgets.values() for project in items}
    paid = defaultdict(lambda: Decimal("0.00"))
    for school_id, project_id, total in db.session.execute(
            select(Disbursement.school_id, Disbursement.project_id, func.sum(Disbursement.amount))
            .where(Disbursement.school_id.in_(schools), Disbursement.project_id.in_(projects),
                   Disbursement.academic_year_id == year.id, Disbursement.deleted_at.is_(None))
            .group_by(Disbursement.school_id, Disbursement.project_id)):
        paid[(school_id, project_id)] += total
    return {unit_id: Execution(
        budget=sum(items.values(), Decimal("0.00")),
        paid=sum((paid[(school, project)] for school in trees[unit_id] for project in items), Decimal("0.00")))
        for unit_id, items in budgets.items()}


def budget_lines(unit: Unit, year: AcademicYear) -> list[BudgetLine]:
    """Each budget of the unit for the year with what the ledger has paid against it, in total and per month.

    A district's or the city's budget counts the payments of every school below it.
    """
    budgets = list(db.session.scalars(select(Budget).where(Budget.unit_id == unit.id,
                                                           Budget.academic_year_id == year.id)
                                      .options(selectinload(Budget.project)).order_by(Budget.project_id)))
    if not budgets:
        return []
    schools = unit_subtree_ids([unit.id])
    month = func.substr(func.cast(Disbursement.paid_on, db.String), 1, 7)
    rows = db.session.execute(
        select(Disbursement.project_id, month, func.sum(Disbursement.amount))
        .where(Disbursement.school_id.in_(schools), Disbursement.academic_year_id == year.id,
               Disbursement.deleted_at.is_(None), Disbursement.project_id.in_([b.project_id for b in budgets]))
        .group_by(Disbursement.project_id, month).order_by(month))
    by_project: dict[int, dict[str, object]] = defaultdict(dict)
    for project_id, paid_month, total in rows:
        by_project[project_id][paid_month] = total
    return [BudgetLine(budget=b, paid=sum(by_project[b.project_id].values(), Decimal("0.00")),
                       by_month=by_project[b.project_id]) for b in budgets]
