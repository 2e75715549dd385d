"""Organisation: units, colleges, classes and term dates."""

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from caretrack.audit.services import AuditAction, record
from caretrack.core.errors import DomainError
from caretrack.core.requests import request_memo
from caretrack.extensions import db
from caretrack.org.models import AcademicYear, College, OwnerType, SchoolClass, Stage, Term, Unit, UnitKind, UnitStage

# Which kinds of unit may report to which (IMPORT-FORMATS.md "units").
ALLOWED_PARENTS: dict[UnitKind, tuple[UnitKind, ...]] = {
    UnitKind.CITY: (),
    UnitKind.DISTRICT: (UnitKind.CITY,),
    UnitKind.UNIVERSITY: (UnitKind.CITY,),
    UnitKind.VOCATIONAL: (UnitKind.CITY, UnitKind.DISTRICT),
    UnitKind.SCHOOL: (UnitKind.DISTRICT,),
    UnitKind.KINDERGARTEN: (UnitKind.DISTRICT,),
}
CODE_LENGTHS = {UnitKind.CITY: 6, UnitKind.DISTRICT: 6}
SCHOOL_CODE_LENGTH = 10


@dataclass
class UnitData:
    """What defines a unit, as a form or an import row gives it."""

    code: str
    name: str
    kind: UnitKind
    parent_code: str | None
    stages: list[Stage]
    owner_type: OwnerType = OwnerType.PUBLIC


def check_unit_code(code: str, kind: UnitKind) -> None:
    """District and city codes have 6 digits, school identification codes 10."""
    expected = CODE_LENGTHS.get(kind, SCHOOL_CODE_LENGTH)
    if not (code.isdigit() and len(code) == expected):
        raise DomainError(_("%(kind)s的单位代码应为 %(n)d 位数字。", kind=kind.label, n=expected), field="code")


def check_parent(kind: UnitKind, parent_kind: UnitKind | None, parent_code: str | None) -> None:
    """The unit must report to a unit of a kind that fits it; the city reports to no one."""
    allowed = ALLOWED_PARENTS[kind]
    if not allowed:
        if parent_code:
            raise DomainError(_("市级单位没有上级单位。"), field="parent_code")
        return
    if not parent_code:
        raise DomainError(_("请填写上级单位代码。"), field="parent_code")
    if parent_kind is None:
        raise DomainError(_("上级单位代码“%(code)s”不存在。", code=parent_code), field="parent_code")
    if parent_kind not in allowed:
        raise DomainError(_("%(kind)s不能隶属于%(parent)s级单位。", kind=kind.label, parent=parent_kind.label),
                          field="parent_code")


def check_stages(kind: UnitKind, stages: list[Stage]) -> None:
    if kind.is_school and not stages:
        raise DomainError(_("学校须至少有一个学段。"), field="stages")
    if not kind.is_school and stages:
        raise DomainError(_("市、区级单位没有学段。"), field="stages")


def validate_unit(data: UnitData, parent: Unit | None) -> None:
    """Every rule a unit must meet, whether typed in a form or read from an import row."""
    check_unit_code(data.code, data.kind)
    check_parent(data.kind, UnitKind(parent.kind) if parent else None, data.parent_code)
    check_stages(data.kind, data.stages)


def _apply(unit: Unit, data: UnitData, parent: Unit | None) -> list[str]:
    """Copy data onto the unit; return the names of the fields that changed."""
    changed = []
    for name, value in (("name", data.name), ("kind", data.kind.value), ("owner_type", data.owner_type.value),
                        ("parent_id", parent.id if parent else None)):
        if getattr(unit, name) != value:
            setattr(unit, name, value)
            changed.append(name)
    wanted = {stage.value for stage in data.stages}
    if {row.stage for row in unit.stage_rows} != wanted:
        unit.stage_rows = [UnitStage(stage=stage) for stage in sorted(wanted)]
        changed.append("stages")
    return changed


def save_unit(actor, data: UnitData, unit: Unit | None = None) -> tuple[Unit, list[str]]:
    """Create a unit, or update the given one; return it with the fields that changed."""
    parent = db.session.scalar(select(Unit).where(Unit.code == data.parent_code)) if data.parent_code else None
    validate_unit(data, parent)
    existing = db.session.scalar(select(Unit).where(Unit.code == data.code))
    if unit is None and existing is not None:
        raise DomainError(_("单位代码“%(code)s”已存在。", code=data.code), field="code")
    if unit is not None and unit.code != data.code:
        raise DomainError(_("单位代码不能修改。"), field="code")
    created = unit is None
    if created:
        unit = Unit(code=data.code, stage_rows=[])
        db.session.add(unit)
    changed = _apply(unit, data, parent)
    db.session.flush()
    if created:
        record(AuditAction.UNIT_CREATED, actor=actor, obj=unit, unit_id=unit.id, fields=changed)
    elif changed:
        record(AuditAction.UNIT_UPDATED, actor=actor, obj=unit, unit_id=unit.id, fields=changed)
    return unit, changed


def _require_school(unit: Unit) -> None:
    if not unit.is_school:
        raise DomainError(_("只有学校才能设置学院（系）和班级。"))


def get_or_create_college(actor, school: Unit, name: str) -> College:
    """The college of that name in the school, created when missing."""
    _require_school(school)
    name = name.strip()
    college = db.session.scalar(select(College).where(College.school_id == school.id, College.name == name))
    if college is None:
        college = College(school_id=school.id, name=name)
        db.session.add(college)
        db.session.flush()
        record(AuditAction.COLLEGE_CREATED, actor=actor, obj=college, unit_id=school.id)
    return college


def get_or_create_class(actor, school: Unit, name: str, college: College | None = None) -> SchoolClass:
    """The class of that name in the school, created when missing; its college is set when given."""
    _require_school(school)
    name = name.strip()
    school_class = db.session.scalar(
        select(SchoolClass).where(SchoolClass.school_id == school.id, SchoolClass.name == name))
    if school_class is None:
        school_class = SchoolClass(school_id=school.id, name=name, college_id=college.id if college else None)
        db.session.add(school_class)
        db.session.flush()
        record(AuditAction.CLASS_CREATED, actor=actor, obj=school_class, unit_id=school.id)
    elif college is not None and school_class.college_id != college.id:
        school_class.college_id = college.id
    return school_class


# --- Academic years and terms ------------------------------------------------------------------------------

def default_term_dates(start_year: int, number: int) -> tuple[date, date]:
    """Term 1 runs 1 Sep - 31 Jan, term 2 1 Feb - 31 Aug (DOMAIN.md); used to seed the default rows."""
    if number == 1:
        return date(start_year, 9, 1), date(start_year + 1, 1, 31)
    return date(start_year + 1, 2, 1), date(start_year + 1, 8, 31)


def parse_year_label(label: str) -> int:
    """'2025-2026' -> 2025; refuse anything else."""
    parts = (label or "").strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 4 for p in parts) or int(parts[1]) != int(parts[0]) + 1:
        raise DomainError(_("学年格式应为“2025-2026”。"), field="academic_year")
    return int(parts[0])


def ensure_academic_year(start_year: int) -> AcademicYear:
    """The academic year with its two default terms, created when missing (idempotent)."""
    year = db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == start_year))
    if year is None:
        year = AcademicYear(start_year=start_year)
        db.session.add(year)
        db.session.flush()
    for number in (1, 2):
        exists = db.session.scalar(select(Term.id).where(
            Term.academic_year_id == year.id, Term.number == number, Term.unit_id.is_(None)))
        if exists is None:
            starts_on, ends_on = default_term_dates(start_year, number)
            db.session.add(Term(academic_year_id=year.id, unit_id=None, number=number,
                                starts_on=starts_on, ends_on=ends_on))
    db.session.flush()
    request_memo("org_terms").clear()
    return year


def academic_year_of(day: date) -> int:
    """The start year of the academic year containing `day` by the default calendar, to seed years.

    Pages and jobs ask `term_on` instead, which knows a unit's own dates.
    """
    return day.year if day >= default_term_dates(day.year, 1)[0] else day.year - 1


def _own_or_inherited(unit: Unit | None, by_unit: dict[int | None, Term]) -> Term | None:
    """The term row that applies to the unit: its own, else the nearest parent's, else the default."""
    if any(key is not None for key in by_unit):  # else no unit has dates of its own: no parent to look up
        node = unit
        while node is not None:
            if node.id in by_unit:
                return by_unit[node.id]
            if node.parent_id is None:
                break
            if node.parent_id in by_unit:  # without loading the parent
                return by_unit[node.parent_id]
            node = node.parent
    return by_unit.get(None)


def term_dates(unit: Unit, year: AcademicYear, number: int) -> Term:
    """The term as it applies to the unit: its own dates, else the nearest parent's, else the default."""
    return terms_for([unit], year, number)[unit.id]


def terms_for(units, year: AcademicYear, number: int) -> dict[int, Term]:
    """`term_dates` of many units at once, from one query of the year's terms (unit id -> term)."""
    by_unit = {term.unit_id: term for term in _terms_of_years((year.id,)) if term.number == number}
    found = {}
    for unit in units:  # None: the city-wide default
        term = _own_or_inherited(unit, by_unit)
        if term is None:
            raise DomainError(_("学年 %(year)s 尚未设置学期。", year=year.label))
        found[unit.id if unit is not None else None] = term
    return found


def year_spans(units, year: AcademicYear) -> dict[int | None, tuple[date, date]]:
    """The days that belong to the academic year for each unit (None: the city's default), by its own terms and
    as `term_on` assigns days: from the first term's start, or earlier from the day after the previous year's last
    term ended (a break belongs to the term that follows it), to the year's last term's end. Three queries.
    """
    units = list(units)
    first_terms, second_terms = terms_for(units, year, 1), terms_for(units, year, 2)
    previous = db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == year.start_year - 1))
    try:
        before = terms_for(units, previous, 2) if previous is not None else {}
    except DomainError:  # the previous year has no terms set up: nothing of its break to take over
        before = {}
    spans = {}
    for key in first_terms:
        first = first_terms[key].starts_on
        if key in before:
            first = min(first, before[key].ends_on + timedelta(days=1))
        spans[key] = (first, max(first_terms[key].ends_on, second_terms[key].ends_on))
    return spans


@dataclass(frozen=True)
class CurrentTerm:
    """An academic year and one of its terms, with the dates that apply to the unit asked about."""

    year: AcademicYear
    number: int
    starts_on: date
    ends_on: date


def all_years() -> list[AcademicYear]:
    """Every academic year, newest first, read once per request (a page's year selects and its default year share
    it; there is one row a year).
    """
    memo = request_memo("org_terms")
    if "years" not in memo:
        memo["years"] = db.session.scalars(select(AcademicYear).order_by(AcademicYear.start_year.desc())).all()
    return memo["years"]


def _years_up_to(calendar_year: int) -> list[AcademicYear]:
    """The two latest academic years starting by `calendar_year`."""
    return [year for year in all_years() if year.start_year <= calendar_year][:2]


def _terms_of_years(year_ids: tuple[int, ...]) -> list[Term]:
    """Every term row of those years, each year read once per request (a page asks for them section by section)."""
    memo = request_memo("org_terms")
    missing = [year_id for year_id in year_ids if ("terms", year_id) not in memo]
    if missing:
        rows = db.session.scalars(select(Term).where(Term.academic_year_id.in_(missing))).all()
        for year_id in missing:
            memo[("terms", year_id)] = [row for row in rows if row.academic_year_id == year_id]
    return [row for year_id in year_ids for row in memo[("terms", year_id)]]


def units_by_id(unit_ids) -> list[Unit]:
    """The units with those ids: those the session holds already without SQL, the others in one query."""
    found, missing = [], []
    for unit_id in set(unit_ids):
        unit = db.session.identity_map.get(identity_key(Unit, unit_id))
        (found if unit is not None else missing).append(unit if unit is not None else unit_id)
    if missing:
        found += db.session.scalars(select(Unit).where(Unit.id.in_(missing))).all()
    return found


def term_on(unit: Unit | None, day: date) -> CurrentTerm | None:
    """The academic year and term `day` is in for the unit (None: the city-wide dates).

    Of overlapping terms the latest to start wins; a day in a break belongs to the term that follows it; a day
    after the last term set up, to that last term; None when no academic year has been set up. Every default
    year and term of a page or a job comes from here.
    """
    years = _years_up_to(day.year)
    if not years:
        return None
    rows: dict[tuple[int, int], dict[int | None, Term]] = {}
    for row in _terms_of_years(tuple(y.id for y in years)):
        rows.setdefault((row.academic_year_id, row.number), {})[row.unit_id] = row
    terms = sorted((CurrentTerm(year, number, term.starts_on, term.ends_on)
                    for year in years for number in (1, 2)
                    for term in [_own_or_inherited(unit, rows.get((year.id, number), {}))] if term is not None),
                   key=lambda t: t.starts_on)
    if not terms:
        return None
    # Terms may overlap (a school starting in August while the default spring term runs to 31 August): the
    # latest to have started wins.
    started = [t for t in terms if t.starts_on <= day <= t.ends_on]
    if started:
        return started[-1]
    return next((t for t in terms if day < t.starts_on), terms[-1])


def current_year(unit: Unit | None, day: date) -> AcademicYear | None:
    """The academic year `day` is in for the unit (see `term_on`)."""
    found = term_on(unit, day)
    return found.year if found else None


def screening_deadline(start_year: int, number: int) -> date:
    """排查 results are due by 15 December for the autumn term and by 15 June for the spring term."""
    return date(start_year, 12, 15) if number == 1 else date(start_year + 1, 6, 15)


def screening_deadlines_in(calendar_year: int) -> list[date]:
    """The screening deadlines that fall in a calendar year, in order (June's, then December's)."""
    return [screening_deadline(calendar_year - 1, 2), screening_deadline(calendar_year, 1)]


def year_window(year: AcademicYear) -> tuple[date, date]:
    """The widest dates a unit's terms of the year may take: 1 July to 30 September of the next year."""
    return date(year.start_year, 7, 1), date(year.start_year + 1, 9, 30)


def set_term_dates(actor, unit: Unit, year: AcademicYear, number: int, starts_on: date, ends_on: date) -> Term:
    """Give the unit its own dates for one term."""
    if number not in (1, 2):
        raise DomainError(_("学期只能是 1 或 2。"), field="number")
    if starts_on >= ends_on:
        raise DomainError(_("学期开始日期须早于结束日期。"), field="ends_on")
    window_start, window_end = year_window(year)
    if starts_on < window_start or ends_on > window_end:
        raise DomainError(_("学期日期须在学年 %(year)s 之内。", year=year.label), field="starts_on")
    applying = term_dates(unit, year, number)
    if (applying.starts_on, applying.ends_on) == (starts_on, ends_on):
        return applying  # the dates already apply: an unchanged form writes nothing
    term = db.session.scalar(select(Term).where(
        Term.academic_year_id == year.id, Term.number == number, Term.unit_id == unit.id))
    if term is None:
        term = Term(academic_year_id=year.id, unit_id=unit.id, number=number, starts_on=starts_on, ends_on=ends_on)
        db.session.add(term)
    term.starts_on, term.ends_on = starts_on, ends_on
    db.session.flush()
    request_memo("org_terms").clear()
    record(AuditAction.TERM_DATES_SET, actor=actor, obj=term, unit_id=unit.id, fields=["starts_on", "ends_on"])
    return term
