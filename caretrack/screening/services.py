"""The screening: run it for a unit and term, keep the work on its cases, build and submit the tables.

A run evaluates every rule set-based (rules.evaluate), then reconciles the cases: new findings open cases,
findings already known keep their reason, remedy and owner, and cases no longer found are closed with the
payment that satisfied them. Runs of one unit and term never overlap (a lease), so there are no half results.
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import chain

from flask import has_request_context
from flask_babel import gettext as _
from sqlalchemy import and_, distinct, func, insert, select, update
from sqlalchemy import case as case_when
from sqlalchemy.engine import Row
from sqlalchemy.orm import aliased, joinedload

from caretrack.audit.services import record, register_action_labels
from caretrack.core import crypto, lease, requests
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError
from caretrack.core.i18n import format_date
from caretrack.core.models import EffectiveYearsMixin, changed_attributes, check_version, flush_versioned
from caretrack.core.timeutil import local_today, utcnow
from caretrack.extensions import db
from caretrack.ledger.models import AidProject, Disbursement
from caretrack.ledger.services import disbursement_recorded
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, College, SchoolClass, Unit, UnitKind
from caretrack.screening import rules as rule_engine
from caretrack.screening.models import CaseKind, CaseStatus, ScreeningCase, ScreeningRule, ScreeningRun, TableSubmission
from caretrack.screening.tables import (
    FORM_DISTRICT,
    CaseRow,
    ReceivedAid,
    ScreeningTable,
    WorkedOutOnce,
    form_for,
    summarise_reasons,
)
from caretrack.students.models import (
    CATEGORY_PRIORITY,
    Category,
    Identification,
    IdentificationCategory,
    Student,
    StudentStatus,
)

RUN_LEASE = timedelta(minutes=30)
LINES_FETCHED = 500  # case lines fetched at a time: few calls into the driver, never all rows as objects at once


class ScreeningAction:
    RUN = "screening_run"
    CASE_UPDATED = "screening_case_updated"
    CASE_CLOSED = "screening_case_closed"
    SUBMITTED = "screening_table_submitted"
    RULE_SAVED = "screening_rule_saved"
    TABLE_EXPORTED = "screening_table_exported"
    REMINDED = "screening_late_reminded"


register_action_labels({
    ScreeningAction.RUN: N_("运行排查"),
    ScreeningAction.CASE_UPDATED: N_("填写排查情况"),
    ScreeningAction.CASE_CLOSED: N_("排查情况已解决"),
    ScreeningAction.SUBMITTED: N_("报送排查统计表"),
    ScreeningAction.RULE_SAVED: N_("修改排查规则"),
    ScreeningAction.TABLE_EXPORTED: N_("下载排查统计表"),
    ScreeningAction.REMINDED: N_("催报排查统计表"),
})


# --- which schools a unit's screening covers ---------------------------------------------------------------

def schools_of(unit: Unit) -> list[Unit]:
    """The unit itself when a school; the schools reporting to it when a district; every school for the city."""
    if unit.is_school:
        return [unit]
    statement = select(Unit).where(Unit.kind.not_in([UnitKind.CITY, UnitKind.DISTRICT])).order_by(Unit.code)
    if UnitKind(unit.kind) is UnitKind.DISTRICT:
        statement = statement.where(Unit.parent_id == unit.id)
    return list(db.session.scalars(statement))


def form_of(unit: Unit) -> str:
    """The unit's table (tables.form_for); the city has none of its own."""
    form = form_for(unit)
    if form is None:
        raise DomainError(_("市级单位没有汇总表，请查看各区和学校的报送情况。"))
    return form


def check_term(term: int) -> None:
    if term not in (1, 2):
        raise DomainError(_("学期只能是 1（秋季）或 2（春季）。"), field="term")


# --- running -----------------------------------------------------------------------------------------------

@contextmanager
def exclusive_run(unit: Unit, year: AcademicYear, term: int):
    """Hold the run lease of a unit and term; refuse when another run holds it.

    The lease is taken in a transaction of its own. What the run flushes is in a savepoint, undone when the run
    fails, so a caller that shows the error and carries on commits no half run. In a request the lease is given
    back once the request's transaction has ended: before, a second run could start on data without this one's.
    """
    name, holder = f"screening:{unit.id}:{year.id}:{term}", secrets.token_hex(8)
    if not lease.acquire(name, holder, RUN_LEASE):
        raise DomainError(_("%(unit)s 的这次排查正在进行中，请稍后查看结果。", unit=unit.name))
    try:
        with db.session.begin_nested():
            yield
    finally:
        if has_request_context():
            requests.after_request_ends(lambda: lease.release(name, holder))
        else:
            lease.release(name, holder)


def run_screening(actor, unit: Unit, year: AcademicYear, term: int) -> ScreeningRun:
    """Screen the unit's identified students against every rule of the year; reconcile the cases."""
    check_term(term)
    schools = schools_of(unit)
    if not schools:
        raise DomainError(_("%(unit)s 下没有学校，无法排查。", unit=unit.name))
    school_ids = [s.id for s in schools]
    if not _has_identifications(school_ids, year):
        raise DomainError(_("%(year)s 学年还没有家庭经济困难认定数据，无法排查。请先导入或录入认定结果。",
                            year=year.label))
    run = ScreeningRun(unit_id=unit.id, academic_year_id=year.id, term=term, started_at=utcnow(),
                       started_by_id=getattr(actor, "id", None))
    db.session.add(run)
    db.session.flush()
    rules = [r for r in db.session.scalars(select(ScreeningRule).order_by(ScreeningRule.id))
             if r.applies_in(year.start_year)]
    evaluations = _without_double_counting([rule_engine.evaluate(rule, school_ids, year, term) for rule in rules])
    run.cases_found = _reconcile(evaluations, school_ids, year, term, run)
    run.finished_at = utcnow()
    db.session.flush()
    record(ScreeningAction.RUN, actor=actor, obj=run, unit_id=unit.id,
           detail=f"{year.label}/{term}: {run.cases_found}")
    return run


def _without_double_counting(evaluations):
    """A student missing a required project is not reported again as having no aid at all."""
    flagged = {f.student_id for e in evaluations if e.rule.project_name for f in e.findings}
    for evaluation in evaluations:
        if evaluation.rule.project_name is None:
            evaluation.findings = [f for f in evaluation.findings if f.student_id not in flagged]
    return evaluations


def _has_identifications(school_ids: list[int], year: AcademicYear) -> bool:
    return db.session.scalar(select(Identification.id).join(Student).where(
        Student.school_id.in_(school_ids), Identification.academic_year_id == year.id).limit(1)) is not None


def _reconcile(evaluations, school_ids, year: AcademicYear, term: int, run: ScreeningRun) -> int:
    """Open, keep or close cases so they match what the rules found; return how many cases were found.

    New cases are inserted and known ones stamped with the run in one statement each, so a run's queries do
    not grow with the number of students; only cases that change state are touched one by one.
    """
    existing = {(c.student_id, c.rule_id): c for c in db.session.scalars(select(ScreeningCase).where(
        ScreeningCase.school_id.in_(school_ids), ScreeningCase.academic_year_id == year.id,
        ScreeningCase.term == term))}
    found = {(f.student_id, e.rule.id): f.kind.value for e in evaluations for f in e.findings}
    new_keys = [key for key in found if key not in existing]
    _insert_cases(new_keys, found, year, term, run)
    for key in found.keys() & existing.keys():
        _refresh(existing[key], found[key])
    # Stamp every case of the term that the run found in one set-based statement: all of them but the few it did
    # not find (the new ones carry the run already), instead of listing thousands of found ids.
    unseen_ids = [case.id for key, case in existing.items() if key not in found]
    if found.keys() & existing.keys():
        db.session.execute(update(ScreeningCase).where(
            ScreeningCase.school_id.in_(school_ids), ScreeningCase.academic_year_id == year.id,
            ScreeningCase.term == term, ScreeningCase.id.not_in(unseen_ids)).values(last_run_id=run.id),
            execution_options={"synchronize_session": False})
    for key, case in existing.items():
        if key not in found and case.status == CaseStatus.OPEN:
            _close_satisfied(case, year, term)
    return len(found)


def _insert_cases(keys, kinds: dict, year: AcademicYear, term: int, run: ScreeningRun) -> None:
    if not keys:
        return
    school_of = dict(db.session.execute(select(Student.id, Student.school_id).where(
        Student.id.in_({student_id for student_id, _rule in keys}))).all())
    now = utcnow()
    db.session.execute(insert(ScreeningCase), [
        {"student_id": student_id, "school_id": school_of[student_id], "academic_year_id": year.id, "term": term,
         "rule_id": rule_id, "kind": kinds[(student_id, rule_id)], "status": CaseStatus.OPEN.value,
         "last_run_id": run.id, "version": 1, "created_at": now, "updated_at": now}
        for student_id, rule_id in keys])


def _refresh(case: ScreeningCase, kind: str) -> None:
    """A known case found again: its kind may have changed; if the payment that closed it is gone, reopen."""
    if case.kind != kind:
        case.kind = kind
    if case.status == CaseStatus.CLOSED and case.closed_by_disbursement_id is not None:
        case.status, case.closed_by_disbursement_id, case.closed_on = CaseStatus.OPEN, None, None


def _close_satisfied(case: ScreeningCase, year: AcademicYear, term: int) -> None:
    """The rule is met now: close the case with the payment that met it."""
    statement = select(Disbursement).where(Disbursement.student_id == case.student_id,
                                           *rule_engine.payments_until(year, term))
    if case.rule.project_name:
        statement = statement.join(AidProject).where(AidProject.name == case.rule.project_name)
        if case.rule.min_grade:
            statement = statement.where(Disbursement.grade <= case.rule.min_grade)
    payment = db.session.scalar(statement.order_by(Disbursement.paid_on.desc()).limit(1))
    case.status, case.closed_on = CaseStatus.CLOSED, local_today()
    case.closed_by_disbursement_id = payment.id if payment else None
    case.closed_reason = None if payment else _("复查时不再符合该条规则（如学生已离校）。")


def _on_disbursement_recorded(disbursement: Disbursement, actor=None) -> None:
    """A payment recorded on the form closes at once the student's open cases of that year it now satisfies."""
    cases = db.session.scalars(select(ScreeningCase).where(
        ScreeningCase.student_id == disbursement.student_id, ScreeningCase.status == CaseStatus.OPEN,
        ScreeningCase.academic_year_id == disbursement.academic_year_id)).all()
    for case in cases:
        year = db.session.get(AcademicYear, case.academic_year_id)
        evaluation = rule_engine.evaluate(case.rule, [case.school_id], year, case.term, [case.student_id])
        if all(f.student_id != case.student_id for f in evaluation.findings):
            _close_satisfied(case, year, case.term)
            record(ScreeningAction.CASE_CLOSED, actor=actor, obj=case, unit_id=case.school_id,
                   detail=f"disbursement:{disbursement.id}")


disbursement_recorded.connect(_on_disbursement_recorded)


# --- working on cases --------------------------------------------------------------------------------------

@dataclass
class CaseWork:
    reason: str | None
    remedy: str | None
    deadline: date | None
    owner_id: int | None


def update_case(actor, case: ScreeningCase, work: CaseWork, expected_version: int | None = None) -> list[str]:
    """Write the reason, the remedy and its deadline, and the owner of a case."""
    check_version(case.version, expected_version)
    values = {"reason": (work.reason or "").strip() or None, "remedy": (work.remedy or "").strip() or None,
              "deadline": work.deadline, "owner_id": work.owner_id}
    changed = [name for name, value in values.items() if getattr(case, name) != value]
    for name in changed:
        setattr(case, name, values[name])
    if changed:
        flush_versioned(db.session)
        record(ScreeningAction.CASE_UPDATED, actor=actor, obj=case, unit_id=case.school_id, fields=changed)
    return changed


def close_case(actor, case: ScreeningCase, reason: str) -> None:
    """Close a case with a written reason (no payment will come, and why)."""
    if case.status != CaseStatus.OPEN:
        raise DomainError(_("这条排查情况已经解决。"))
    if not reason or not reason.strip():
        raise DomainError(_("请写明关闭的原因。"), field="closed_reason")
    case.status, case.closed_reason, case.closed_on = CaseStatus.CLOSED, reason.strip()[:200], local_today()
    db.session.flush()
    record(ScreeningAction.CASE_CLOSED, actor=actor, obj=case, unit_id=case.school_id)


def remedy_text(case: ScreeningCase) -> str:
    """解决措施与时限 as the form wants it."""
    payment = case.closed_by_disbursement
    return remedy_of(case.remedy, case.deadline, payment.paid_on if payment else None,
                     payment.project.name if payment else None)


def remedy_of(remedy: str | None, deadline: date | None, paid_on: date | None, project: str | None) -> str:
    """解决措施与时限 from the case's remedy and deadline, or the payment (day, project) that closed it."""
    if paid_on is not None:
        return _("已于 %(day)s 发放%(project)s", day=paid_on.isoformat(), project=project)
    text = remedy or ""
    if deadline:
        text = _("%(remedy)s（%(day)s 前完成）", remedy=text, day=deadline.isoformat()) if text else \
            _("%(day)s 前完成", day=deadline.isoformat())
    return text


# --- the tables --------------------------------------------------------------------------------------------

def latest_run(unit: Unit, year: AcademicYear, term: int) -> ScreeningRun | None:
    return db.session.scalar(select(ScreeningRun).where(
        ScreeningRun.unit_id == unit.id, ScreeningRun.academic_year_id == year.id, ScreeningRun.term == term,
        ScreeningRun.finished_at.is_not(None)).order_by(ScreeningRun.id.desc()).limit(1))


def counts(school_ids: list[int], year: AcademicYear) -> dict[str, int]:
    """家庭困难学生总数 and the six sub-counts, each student counted once by the notice's priority (one query)."""
    return _counts_and_coverage(school_ids, year, [])[0]


def _counts_and_coverage(school_ids: list[int], year: AcademicYear, rules: list[ScreeningRule]) \
        -> tuple[dict[str, int], int]:
    """`counts`, and how many active students any of `rules` applies to (应覆盖学生数), in one pass (one query)."""
    from caretrack.screening.tables import COUNT_FIELDS

    wanted = sorted({c for rule in rules for c in rule.categories})
    category = aliased(IdentificationCategory)
    applies = and_(Student.status == StudentStatus.ACTIVE, rule_engine.applies_any(rules, category))
    statement = select(Identification.primary_category, func.count(Identification.id),
                       func.sum(case_when((applies, 1), else_=0)))
    if wanted:  # the categories through one outer join: a student holding two of them is two rows, counted once
        statement = (select(Identification.primary_category, func.count(distinct(Identification.id)),
                            func.count(distinct(case_when((applies, Student.id)))))
                     .outerjoin(category, (category.identification_id == Identification.id)
                                & category.category.in_(wanted)))
    rows = db.session.execute(
        statement.join(Student, Student.id == Identification.student_id)
        .where(Student.school_id.in_(school_ids), Identification.academic_year_id == year.id)
        .group_by(Identification.primary_category)).all()
    by_category = {category: n for category, n, _covered in rows}
    sub_counts = [by_category.get(category.value, 0) for category in Category]
    return (dict(zip(COUNT_FIELDS, [sum(sub_counts), *sub_counts], strict=True)),
            sum(int(n or 0) for _category, _n, n in rows))


def build_table(unit: Unit, year: AcademicYear, term: int, reveal_ids: bool = False) -> ScreeningTable:
    """The unit's table from its latest run; refuses when the unit has not been screened for that term.

    The statements do not grow with the cases, classes, colleges or schools: the case lines, with their
    categories, are one tuple query (no ORM objects), the payments received one query more.
    """
    check_term(term)
    form = form_of(unit)
    run = latest_run(unit, year, term)
    if run is None:
        raise DomainError(_("%(unit)s 还没有运行 %(year)s 学年第 %(term)d 学期的排查，请先运行排查。",
                            unit=unit.name, year=year.label, term=term))
    schools = schools_of(unit)
    school_ids = [s.id for s in schools]
    rules = {rule.id: rule for rule in db.session.scalars(select(ScreeningRule))}
    lines = _table_lines(school_ids, year, term, reveal_ids)
    cases, coverage = _case_rows(lines, rules, schools, form, year, term, reveal_ids)
    # 应覆盖学生数: the students the rules answering the form's coverage question apply to
    asked = sorted((r for r in rules.values() if r.coverage_form == form and r.applies_in(year.start_year)),
                   key=lambda r: r.id)
    table_counts, should_cover = _counts_and_coverage(school_ids, year, asked)
    return ScreeningTable(
        form=form, unit_code=unit.code, unit_name=unit.name, academic_year=year.label, term=term,
        school_share=unit.is_school and form == FORM_DISTRICT,
        counts=table_counts, should_cover=should_cover,
        # slices, not `*rest` unpacking: that makes a list per case, thousands of them for the collector to sweep
        covered=should_cover - len({case[0] for case in coverage}),
        reasons_and_measures=summarise_reasons([case[1:] for case in coverage]),
        cases=cases, run_at=run.finished_at.isoformat())


def _term_cases(school_ids, year: AcademicYear, term: int):
    return (ScreeningCase.school_id.in_(school_ids), ScreeningCase.academic_year_id == year.id,
            ScreeningCase.term == term)


def _table_lines(school_ids, year: AcademicYear, term: int, reveal_ids: bool) -> Iterator[Row]:
    """The table's cases as tuples of only the columns it shows, in the case list's order (one query, through the
    connection: no ORM loading), read once, a few hundred rows at a time; `_case_rows` unpacks them in this
    column order. The student's categories of the year come folded into one string ("orphan,other", in no set
    order); their school as its id, the unit's schools being loaded already (joining the units made PostgreSQL
    plan the query a third slower).
    """
    closing, closing_project = aliased(Disbursement), aliased(AidProject)
    categories = (select(func.aggregate_strings(IdentificationCategory.category, ","))
                  .where(IdentificationCategory.identification_id == Identification.id).scalar_subquery())
    statement = (
        select(ScreeningCase.student_id, ScreeningCase.rule_id, ScreeningCase.kind, ScreeningCase.status,
               ScreeningCase.reason, ScreeningCase.closed_reason, ScreeningCase.remedy, ScreeningCase.deadline,
               Student.student_no, Student.name,
               (Student.id_cipher if reveal_ids else Student.id_masked).label("id_number"),
               Student.school_id, College.name.label("college_name"),
               SchoolClass.name.label("class_name"), Identification.is_registered_poverty,
               categories.label("categories"),
               closing.paid_on.label("closed_paid_on"), closing_project.name.label("closed_project"))
        .join(Student, Student.id == ScreeningCase.student_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .outerjoin(College, College.id == Student.college_id)
        .outerjoin(Identification, (Identification.student_id == ScreeningCase.student_id)
                   & (Identification.academic_year_id == year.id))
        .outerjoin(closing, closing.id == ScreeningCase.closed_by_disbursement_id)
        .outerjoin(closing_project, closing_project.id == closing.project_id)
        .where(*_term_cases(school_ids, year, term))
        .order_by(ScreeningCase.school_id, ScreeningCase.student_id, ScreeningCase.rule_id))
    return chain.from_iterable(db.session.connection().execute(statement).partitions(LINES_FETCHED))


def _category_names(folded: str | None) -> str:
    """家庭经济困难类型 from the folded categories ("orphan,disabled" -> "残疾、孤儿"), in the notice's order (each
    distinct combination worked out once per table: a city has a few dozen of them for thousands of cases).
    """
    codes = sorted(set(folded.split(",")), key=CATEGORY_PRIORITY.__getitem__) if folded else []
    return "、".join(Category(code).zh_name for code in codes)


def _case_rows(lines, rules: dict, schools: list[Unit], form: str, year: AcademicYear, term: int,
               reveal_ids: bool) -> tuple[list[CaseRow], list[tuple]]:
    """The case list, and the open cases answering the form's coverage question as (student id, kind, reason,
    has a measure) for 覆盖学生数 and 具体原因及整改措施: one pass over the lines.
    """
    lines = iter(lines)
    first = next(lines, None)
    if first is None:
        return [], []
    received = _received(schools, [s.id for s in schools], year, term)
    kinds = {kind.value: kind.zh_name for kind in CaseKind}
    required = {rule_id: rule.required_aid for rule_id, rule in rules.items()}
    answers_coverage = {rule_id for rule_id, rule in rules.items() if rule.coverage_form == form}
    category_names = WorkedOutOnce(_category_names)
    district = form == FORM_DISTRICT
    known = {school.id: school for school in schools}
    rows, coverage, elsewhere = [], [], []
    for number, (student_id, rule_id, kind, status, reason, closed_reason, remedy, deadline, student_no, name,
                 id_number, school_id, college_name, class_name, registered, categories,
                 closed_paid_on, closed_project) in enumerate(chain((first,), lines), start=1):
        aid = received.get(student_id)
        measure = remedy_of(remedy, deadline, closed_paid_on, closed_project)
        school = known.get(school_id)
        if school is None:  # moved to a school outside the unit since the run: rare, filled in below
            elsewhere.append((len(rows), school_id))
        rows.append(CaseRow(  # by position, in CaseRow's order: half the cost of keywords, thousands of times
            number, school.code if school else "", student_no, name,
            crypto.decrypt(id_number) if reveal_ids else id_number,
            (school.name if school else "") if district else (college_name or ""), class_name, kinds[kind],
            required[rule_id], category_names[categories], bool(registered), bool(aid), aid or (),
            reason or closed_reason or "", measure, student_id))
        if rule_id in answers_coverage and status == CaseStatus.OPEN:
            coverage.append((student_id, kinds[kind], reason, bool(measure)))
    if elsewhere:  # their schools in one query, whatever their number
        known |= {school.id: school for school in org.units_by_id({school_id for _i, school_id in elsewhere})}
        for index, school_id in elsewhere:
            school = known[school_id]
            rows[index] = rows[index]._replace(unit_code=school.code, place=school.name if district
                                               else rows[index].place)
    return rows, coverage


def _case_students(school_ids, year: AcademicYear, term: int):
    """The students of the term's cases, as a subquery (never a list of thousands of ids)."""
    return select(ScreeningCase.student_id).where(*_term_cases(school_ids, year, term))


def _received(schools: list[Unit], school_ids, year: AcademicYear, term: int) -> dict[int, tuple[ReceivedAid, ...]]:
    """Every payment since enrolment up to the end of the term at the student's school (the form's note 2)."""
    last_days = {school_id: row.ends_on for school_id, row in org.terms_for(schools, year, term).items()}
    rows = db.session.execute(select(Disbursement.student_id, Student.school_id, Disbursement.paid_on, AidProject.name)
                              .join(AidProject, AidProject.id == Disbursement.project_id)
                              .join(Student, Student.id == Disbursement.student_id)
                              .where(Disbursement.student_id.in_(_case_students(school_ids, year, term)),
                                     Disbursement.deleted_at.is_(None))
                              .order_by(Disbursement.paid_on, Disbursement.id)).all()
    moved = {school_id for _student_id, school_id, _paid_on, _name in rows} - last_days.keys()
    if moved:  # a student moved to a school outside the unit since: rare
        last_days |= {i: row.ends_on for i, row in org.terms_for(org.units_by_id(moved), year, term).items()}
    received: dict[int, list[ReceivedAid]] = {}
    for student_id, school_id, paid_on, name in rows:
        if paid_on <= last_days[school_id]:
            received.setdefault(student_id, []).append(ReceivedAid(paid_on, name))
    return {student_id: tuple(aid) for student_id, aid in received.items()}


# --- submission --------------------------------------------------------------------------------------------

def deadline_of(year: AcademicYear, term: int) -> date:
    """The day the unit's table of that term is due (`org.screening_deadline`)."""
    return org.screening_deadline(year.start_year, term)


def submissions(unit: Unit, year: AcademicYear, term: int) -> list[TableSubmission]:
    return list(db.session.scalars(select(TableSubmission).where(
        TableSubmission.unit_id == unit.id, TableSubmission.academic_year_id == year.id,
        TableSubmission.term == term).order_by(TableSubmission.version)))


def check_correction(earlier: list[TableSubmission], correction_reason: str | None) -> None:
    """A second submission is a correction: it needs its reason."""
    if earlier and not (correction_reason or "").strip():
        raise DomainError(_("该学期的统计表已经报送过。如需更正，请填写更正原因后重新报送。"),
                          field="correction_reason")


def without_remedy(unit: Unit, year: AcademicYear, term: int) -> list[ScreeningCase]:
    """The open cases of the unit's table with neither a measure nor a deadline written (one query)."""
    return list(db.session.scalars(select(ScreeningCase).where(
        ScreeningCase.school_id.in_([s.id for s in schools_of(unit)]), ScreeningCase.academic_year_id == year.id,
        ScreeningCase.term == term, ScreeningCase.status == CaseStatus.OPEN,
        func.coalesce(func.trim(ScreeningCase.remedy), "") == "", ScreeningCase.deadline.is_(None))
        .options(joinedload(ScreeningCase.rule), joinedload(ScreeningCase.student).joinedload(Student.school_class),
                 joinedload(ScreeningCase.student).joinedload(Student.school))
        .order_by(ScreeningCase.school_id, ScreeningCase.student_id, ScreeningCase.rule_id)))


def submit(actor, unit: Unit, year: AcademicYear, term: int, correction_reason: str | None = None) -> TableSubmission:
    """Freeze the unit's table as it is now; a second submission is a correction and needs its reason."""
    table = build_table(unit, year, term, reveal_ids=False)
    earlier = submissions(unit, year, term)
    check_correction(earlier, correction_reason)
    submission = TableSubmission(unit_id=unit.id, academic_year_id=year.id, term=term, version=len(earlier) + 1,
                                 form=table.form, snapshot=table.snapshot(), submitted_by_id=getattr(actor, "id", None),
                                 submitted_at=utcnow(), correction_reason=(correction_reason or "").strip() or None)
    db.session.add(submission)
    db.session.flush()
    record(ScreeningAction.SUBMITTED, actor=actor, obj=submission, unit_id=unit.id,
           detail=f"{year.label}/{term} v{submission.version}")
    return submission


# --- follow-ups for cases, and the rules as the city admin keeps them --------------------------------------

def create_followups(actor, cases: list[ScreeningCase], today: date, days: int = 14) -> int:
    """Put each open case on its owner's (or the actor's) list of follow-ups; return how many were made."""
    from caretrack.accounts.models import User
    from caretrack.followups.models import FollowUpKind
    from caretrack.followups.services import FollowUpData, schedule

    made = 0
    for case in cases:
        if case.status != CaseStatus.OPEN:
            continue
        assignee = db.session.get(User, case.owner_id) if case.owner_id else actor
        note = _("排查发现：%(kind)s（%(rule)s）。请核实并落实资助。", kind=case.kind_enum.label, rule=case.rule.name)
        schedule(actor, FollowUpData(student=case.student, kind=FollowUpKind.OTHER, assignee=assignee,
                                     due_on=case.deadline or today + timedelta(days=days), note=note,
                                     source="screening"), today, confirm_past=True)
        made += 1
    return made


@dataclass
class RuleData:
    name: str
    stage: str | None
    categories: list[str]
    flags: list[str]
    boarder: bool | None
    project_name: str | None
    min_grade: str | None
    coverage_form: str | None
    valid_from: int
    valid_to: int | None = None
    is_active: bool = True


def save_rule(actor, data: RuleData, rule: ScreeningRule | None = None) -> ScreeningRule:
    """Create or change a rule; a project must exist in the catalog for the rule's stage."""
    if not data.name.strip():
        raise DomainError(_("请填写规则名称。"), field="name")
    EffectiveYearsMixin.check_years(data.valid_from, data.valid_to)
    if data.project_name:
        statement = select(AidProject.id).where(AidProject.name == data.project_name.strip())
        if data.stage:
            statement = statement.where(AidProject.stage == data.stage)
        if db.session.scalar(statement.limit(1)) is None:
            raise DomainError(_("资助项目目录中没有“%(project)s”%(where)s。", project=data.project_name,
                                where=_("（该学段）") if data.stage else ""), field="project_name")
        project_has_grades = db.session.scalar(select(AidProject.has_grades).where(
            AidProject.name == data.project_name.strip()).limit(1))
        if data.min_grade and not project_has_grades:
            raise DomainError(_("“%(project)s”不分档次，不能要求最低档次。", project=data.project_name),
                              field="min_grade")
    elif data.min_grade:
        raise DomainError(_("要求档次时须指定资助项目。"), field="min_grade")
    created = rule is None
    rule = rule or ScreeningRule()
    for name, value in vars(data).items():
        setattr(rule, name, value.strip() if isinstance(value, str) else value)
    changed = changed_attributes(rule)
    if changed:  # a new rule has every attribute changed; an unchanged form writes nothing
        db.session.add(rule)
        db.session.flush()
        record(ScreeningAction.RULE_SAVED, actor=actor, obj=rule, fields=None if created else changed)
    return rule


@dataclass
class UnitStatus:
    """Where a unit stands for a term: its last run, open cases, and its submissions."""

    unit: Unit
    run: ScreeningRun | None
    open_cases: int
    latest: TableSubmission | None
    deadline: date

    @property
    def form(self) -> str:
        return form_for(self.unit) or ""

    def is_late(self, today: date) -> bool:
        if self.latest is None:
            return today > self.deadline
        return self.latest.version == 1 and to_local_date(self.latest.submitted_at) > self.deadline

    def report_state(self, today: date) -> str:
        """One of REPORT_STATES: where the unit stands against the deadline today."""
        if self.latest is None:
            return "late" if self.is_late(today) else "pending"
        return "late_submitted" if self.is_late(today) else "on_time"


# Where a unit stands with its table against the deadline, in the order the overview and the home page show them.
REPORT_STATES = ("on_time", "late_submitted", "late", "pending")


def to_local_date(moment) -> date:
    from caretrack.core.timeutil import to_local

    return to_local(moment).date()


def reporting_units(unit: Unit) -> list[Unit]:
    """The units that report to this one (for the city: districts and the schools reporting to it directly)."""
    return list(db.session.scalars(select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.code)))


def statuses(units: list[Unit], year: AcademicYear, term: int) -> list[UnitStatus]:
    """Each unit's last run, open cases and latest submission (four queries for the whole list).

    The open cases are counted over the units' own schools only: a district's schools in one query beside the
    schools listed themselves (the city, which has no table, counts every school).
    """
    ids = [u.id for u in units]
    runs = {r.unit_id: r for r in db.session.scalars(select(ScreeningRun).where(
        ScreeningRun.unit_id.in_(ids), ScreeningRun.academic_year_id == year.id, ScreeningRun.term == term)
        .order_by(ScreeningRun.id))}
    latest = {s.unit_id: s for s in db.session.scalars(select(TableSubmission).where(
        TableSubmission.unit_id.in_(ids), TableSubmission.academic_year_id == year.id,
        TableSubmission.term == term).order_by(TableSubmission.version))}
    children = {unit.id: [unit.id] for unit in units if unit.is_school}
    groups = [unit for unit in units if not unit.is_school]
    if any(UnitKind(unit.kind) is UnitKind.CITY for unit in groups):
        for unit in groups:
            children[unit.id] = [s.id for s in schools_of(unit)]
    elif groups:
        for unit in groups:
            children[unit.id] = []
        for school_id, parent_id in db.session.execute(select(Unit.id, Unit.parent_id).where(
                Unit.parent_id.in_([unit.id for unit in groups]),
                Unit.kind.not_in([UnitKind.CITY, UnitKind.DISTRICT]))):
            children[parent_id].append(school_id)
    school_ids = sorted({i for ids_ in children.values() for i in ids_})
    open_by_school = dict(db.session.execute(select(ScreeningCase.school_id, func.count()).where(
        ScreeningCase.school_id.in_(school_ids), ScreeningCase.academic_year_id == year.id,
        ScreeningCase.term == term, ScreeningCase.status == CaseStatus.OPEN)
        .group_by(ScreeningCase.school_id)).all()) if school_ids else {}
    return [UnitStatus(unit, runs.get(unit.id), sum(open_by_school.get(i, 0) for i in children[unit.id]),
                       latest.get(unit.id), deadline_of(year, term)) for unit in units]


@dataclass
class Reporting:
    """Where the units reporting to a city or a district stand with their tables for a term."""

    unit: Unit
    statuses: list[UnitStatus]
    today: date

    @property
    def submitted(self) -> list[UnitStatus]:
        return [s for s in self.statuses if s.latest is not None]

    @property
    def late(self) -> list[UnitStatus]:
        """Past the deadline with nothing submitted: the units 催报 reminds."""
        return [s for s in self.statuses if s.latest is None and s.is_late(self.today)]

    @property
    def pending(self) -> list[UnitStatus]:
        return [s for s in self.statuses if s.latest is None and not s.is_late(self.today)]


def reporting(unit: Unit, year: AcademicYear, term: int, today: date) -> Reporting:
    """The units reporting to `unit` (a district's schools; the city's districts and its own schools)."""
    units = reporting_units(unit)
    return Reporting(unit, statuses(units, year, term) if units else [], today)


def identified_by_school(school_ids: list[int], year: AcademicYear) -> dict[int, int]:
    """家庭困难学生总数 of each school for the year (one query)."""
    return dict(db.session.execute(
        select(Student.school_id, func.count(Identification.id)).join(Identification)
        .where(Student.school_id.in_(school_ids), Identification.academic_year_id == year.id)
        .group_by(Student.school_id)).all())


@dataclass
class Reminded:
    """What a 催报 did: the units told now, and the late units nobody could be told (no aid officer account)."""

    units: list[Unit]
    unreachable: list[Unit]


def remind_late(actor, unit: Unit, year: AcademicYear, term: int, today: date, link_for) -> Reminded:
    """催报: put a notice in the inbox of the aid officers of every unit reporting to `unit` that is late.

    Once per unit, term and day (the notification key): pressing it twice the same day tells nobody twice.
    `link_for(unit)` is the path of that unit's screening page. Each unit told now is audited.
    """
    from caretrack.notify.services import notify
    from caretrack.screening.queries import officers_of

    late = reporting(unit, year, term, today).late
    officers = officers_of([s.unit.id for s in late])
    result = Reminded([], [s.unit for s in late if not officers.get(s.unit.id)])
    for state in late:
        key = f"screening-remind:{state.unit.id}:{year.start_year}-{term}:{today.isoformat()}"
        subject = _("请尽快报送%(form)s", form=state.form)
        body = _("%(unit)s %(year)s 学年第 %(term)d 学期的%(form)s已超过报送截止日 %(day)s，尚未报送。"
                 "请尽快完成排查并报送。", unit=state.unit.name, year=year.label, term=term, form=state.form,
                 day=format_date(state.deadline))
        told = [user_id for user_id in officers.get(state.unit.id, [])
                if notify(user_id, key, subject, body, link_for(state.unit)) is not None]
        if told:
            result.units.append(state.unit)
            record(ScreeningAction.REMINDED, actor=actor, obj=state.unit, unit_id=state.unit.id,
                   detail=f"{year.label}/{term}: {len(told)} officers")
    return result
