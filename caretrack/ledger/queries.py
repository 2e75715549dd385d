"""Reads of the ledger: a student's timeline, the disbursement list, the caseload of a counselor or teacher."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from flask import current_app
from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.orm import joinedload

from caretrack.core.access import Permission, can, prime_can, scoped
from caretrack.core.pagination import Page, count_rows, counted_page, requested_page
from caretrack.core.requests import request_memo
from caretrack.extensions import db
from caretrack.ledger.models import AidProject, Disbursement, SupportRecord, Tier
from caretrack.ledger.services import academic_year_bounds
from caretrack.org.models import AcademicYear
from caretrack.students.models import Identification, Student

AID = "aid"


def may_read(user, entry) -> bool:
    """The one rule of confidential care, for a record and for whatever was derived from it (a follow-up).

    `entry` has a `tier` and a `student`. Restricted text is read only by those holding CARE_RESTRICTED on a scope
    holding the student: the student's counselors and the school aid officer; to everyone else it is 保密.
    """
    return entry.tier != Tier.RESTRICTED or can(user, Permission.CARE_RESTRICTED, entry.student)


def prime_may_read(user, entries) -> None:
    """Ask `may_read` of a whole page of entries in one query (a list of follow-ups of many students)."""
    prime_can(user, Permission.CARE_RESTRICTED, {e.student_id: e.student for e in entries if e.tier == Tier.RESTRICTED}
              .values())


def may_change_record(user, support: SupportRecord) -> bool:
    """Whether the user may edit or remove a care record: its author, or the school's counselors and aid officers.

    Either way only a record of a student inside the user's care scope, that they may read. Asked of the student,
    as the timeline asks it of every record on the page: one answer per student and request.
    """
    student = support.student
    if not can(user, Permission.CARE_RECORD, student) or not may_read(user, support):
        return False
    return support.staff_id == getattr(user, "id", None) or can(user, Permission.CARE_MANAGE, student)


@dataclass
class TimelineEntry:
    """One line of a student's story: a payment or an act of care, and whether the viewer may read it."""

    day: date
    kind: str  # "aid" or a RecordKind value
    entry: Disbursement | SupportRecord
    readable: bool = True
    changeable: bool = False  # a care record the user may edit or remove (may_change_record)

    @property
    def is_aid(self) -> bool:
        return self.kind == AID


@dataclass
class TimelineFilters:
    kind: str = ""  # "", "aid" or a RecordKind value
    year: AcademicYear | None = None
    include_removed: bool = False


def _payments(student: Student, include_removed: bool) -> list[Disbursement]:
    """Every payment of the student (removed ones too if asked), read once per request: the timeline and the
    yearly totals on the file share it. A student's payments are a few dozen at most, so every year is read and
    the timeline's year filter applied here.
    """
    memo = request_memo("ledger_payments")
    key = (student.id, include_removed)
    if key not in memo:
        # The project comes joined with the payment; its standards are not shown on the timeline.
        statement = select(Disbursement).where(Disbursement.student_id == student.id).options(_payment_options())
        if not include_removed:
            statement = statement.where(Disbursement.deleted_at.is_(None))
        memo[key] = list(db.session.scalars(statement))
    return memo[key]


@cache
def _payment_options():
    """Made once per process: every file view reads its student's payments."""
    return joinedload(Disbursement.project).lazyload(AidProject.standards)


def _disbursements(student: Student, filters: TimelineFilters) -> list[Disbursement]:
    year_id = filters.year.id if filters.year is not None else None
    return [d for d in _payments(student, filters.include_removed) if year_id is None or d.academic_year_id == year_id]


def _records(student: Student, filters: TimelineFilters) -> list[SupportRecord]:
    statement = (select(SupportRecord).where(SupportRecord.student_id == student.id)
                 .options(joinedload(SupportRecord.attachments)))
    if filters.kind and filters.kind != AID:
        statement = statement.where(SupportRecord.kind == filters.kind)
    if filters.year is not None:
        starts_on, ends_on = academic_year_bounds(student, filters.year)
        statement = statement.where(SupportRecord.happened_on.between(starts_on, ends_on))
    if not filters.include_removed:
        statement = statement.where(SupportRecord.deleted_at.is_(None))
    records = list(db.session.scalars(statement).unique())
    if not filters.kind and filters.year is None and not filters.include_removed:
        request_memo("ledger_records")[student.id] = records
    return records


def records_read(student_ids) -> list[SupportRecord] | None:
    """Every care record of the students (removed ones left out) if the timeline has read them in this request,
    else None: the file page's visit cadence needs the same rows.
    """
    read = request_memo("ledger_records")
    if not all(student_id in read for student_id in student_ids):
        return None
    return [record for student_id in student_ids for record in read[student_id]]


def _record_rights(user, student: Student, records: list[SupportRecord]):
    """(record, may_read, may_change_record) for records of one student, from the answers for the student asked
    once (and only those a record needs), not three questions per record.
    """
    if not records:
        return []
    may_care = can(user, Permission.CARE_RECORD, student)
    restricted = any(r.tier == Tier.RESTRICTED for r in records)
    may_read_restricted = restricted and can(user, Permission.CARE_RESTRICTED, student)
    user_id = getattr(user, "id", None)
    may_manage = None
    rights = []
    for record in records:
        readable = record.tier != Tier.RESTRICTED or may_read_restricted
        changeable = may_care and readable
        if changeable and record.staff_id != user_id:
            if may_manage is None:
                may_manage = can(user, Permission.CARE_MANAGE, student)
            changeable = may_manage
        rights.append((record, readable, changeable))
    return rights


# Domains above the ledger add their entries here (activities: the ones the student attended); each is a
# function(student, filters) returning TimelineEntry rows, and answers only for the kinds it knows.
TIMELINE_SOURCES: list = []


def timeline(user, student: Student, filters: TimelineFilters) -> list[TimelineEntry]:
    """Aid and care of one student, newest first; confidential records the user may not read come back closed."""
    entries = []
    if filters.kind in ("", AID):
        entries += [TimelineEntry(d.paid_on, AID, d) for d in _disbursements(student, filters)]
    if filters.kind != AID:
        records = _records(student, filters)
        entries += [TimelineEntry(r.happened_on, r.kind, r, readable=readable, changeable=changeable)
                    for r, readable, changeable in _record_rights(user, student, records)]
    for source in TIMELINE_SOURCES:
        entries += source(student, filters)
    entries.sort(key=lambda e: (e.day, e.entry.created_at), reverse=True)
    return entries


def aid_totals_by_year(student: Student) -> list[tuple[str, Decimal]]:
    """Total aid received per academic year, newest first (removed payments excluded), from the payments the
    timeline reads (no query of its own).
    """
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for payment in _payments(student, include_removed=False):
        totals[payment.academic_year.start_year] += payment.amount
    return [(f"{start}-{start + 1}", totals[start]) for start in sorted(totals, reverse=True)]


# --- the disbursement list ---------------------------------------------------------------------------------

@dataclass
class DisbursementFilters:
    school_id: int | None = None
    year: AcademicYear | None = None
    term: int | None = None
    project_name: str = ""
    q: str = ""


def disbursement_query(user, filters: DisbursementFilters):
    """Payments the user may see (never removed ones), newest first."""
    statement = (scoped(select(Disbursement), user, Permission.LEDGER_VIEW)
                 .join(Student, Student.id == Disbursement.student_id)
                 .join(AidProject, AidProject.id == Disbursement.project_id)
                 .where(Disbursement.deleted_at.is_(None)))
    if filters.school_id:
        statement = statement.where(Disbursement.school_id == filters.school_id)
    if filters.year is not None:
        statement = statement.where(Disbursement.academic_year_id == filters.year.id)
    if filters.term:
        statement = statement.where(Disbursement.term == filters.term)
    if filters.project_name:
        statement = statement.where(AidProject.name == filters.project_name)
    if filters.q:
        like = f"{filters.q.strip()}%"
        statement = statement.where(or_(Student.name.like(like), Student.student_no.like(like),
                                        Disbursement.voucher.like(like)))
    return statement.order_by(Disbursement.paid_on.desc(), Disbursement.id.desc())


def totals_by_project(statement) -> list[tuple[str, str, int, Decimal]]:
    """(project, stage, payments, total amount) over everything the filtered list holds."""
    inner = statement.order_by(None).with_only_columns(Disbursement.id).subquery()
    rows = db.session.execute(
        select(AidProject.name, AidProject.stage, func.count(Disbursement.id), func.sum(Disbursement.amount))
        .join(AidProject, AidProject.id == Disbursement.project_id)
        .where(Disbursement.id.in_(select(inner.c.id)))
        .group_by(AidProject.name, AidProject.stage).order_by(func.sum(Disbursement.amount).desc()))
    return [tuple(row) for row in rows]


# --- the caseload: whom to see next ------------------------------------------------------------------------

@dataclass
class CaseloadRow:
    student: Student
    last_contact: date | None
    aid_this_year: Decimal
    days_since_contact: int | None
    overdue: bool


def _last_contact():
    """The student's latest care record not removed (the partial index ix_support_records_student_last answers it
    from the index alone, one look-up per student).
    """
    return (select(func.max(SupportRecord.happened_on))
            .where(SupportRecord.student_id == Student.id, SupportRecord.deleted_at.is_(None))
            .correlate(Student).scalar_subquery())


def _aid_total(year: AcademicYear):
    return (select(func.coalesce(func.sum(Disbursement.amount), literal(0)))
            .where(Disbursement.student_id == Student.id, Disbursement.deleted_at.is_(None),
                   Disbursement.academic_year_id == year.id)
            .correlate(Student).scalar_subquery())


def _stale(last, today: date, stale_days: int):
    return or_(last.is_(None), last < today - timedelta(days=stale_days))


def caseload_query(user, year: AcademicYear, today: date, stale_days: int, sort: str = "contact",
                   only_stale: bool = False):
    """The user's identified active students of the year with their last contact and this year's aid.

    Students not contacted for `stale_days` (or never) come first unless another sort is asked for; with
    `only_stale`, only they are kept (the home page's count links here). The caseload page reads the same rows in
    the same order through `caseload`, which computes the aid of the page's students only.
    """
    last = _last_contact().label("last_contact")
    total = _aid_total(year).label("aid_total")
    statement = (_caseload_members(select(Student, last, total), user, year)
                 .order_by(*_caseload_order(sort, last, total, Student.name, Student.id)))
    return statement.where(_stale(last.element, today, stale_days)) if only_stale else statement


def _caseload_order(sort: str, last, total, name, student_id) -> tuple:
    orders = {
        # Never contacted first, then the oldest contact: the overdue ones come first by that order alone.
        "contact": (last.asc().nulls_first(),),
        "aid": (total.asc(),),
        "name": (),
    }
    return (*orders.get(sort, orders["contact"]), name.asc(), student_id.asc())


def _caseload_members(statement, user, year: AcademicYear):
    """The user's identified active students of the year, as rows of `statement`."""
    return (scoped(statement, user, Permission.LEDGER_VIEW, Student)
            .join(Identification, and_(Identification.student_id == Student.id,
                                       Identification.academic_year_id == year.id))
            .where(Student.status == "active"))


def _caseload_page_keys(user, year: AcademicYear, today: date, stale_days: int, sort: str, only_stale: bool,
                        limit: int, offset: int):
    """The page's students as narrow rows (id, name, last contact, the aid when it is the order, the number of
    rows of the whole list): the database sorts every member by a key of a few bytes and keeps `limit`, and the
    count comes with the sort instead of a second pass over the members.
    """
    last = _last_contact().label("last_contact")
    columns = [Student.id.label("id"), Student.name.label("name"), last]
    total = _aid_total(year).label("aid_total")
    if sort == "aid":
        columns.append(total)
    statement = _caseload_members(select(*columns, func.count().over().label("rows")), user, year)
    if only_stale:
        statement = statement.where(_stale(last.element, today, stale_days))
    return (statement.order_by(*_caseload_order(sort, last, total, Student.name, Student.id))
            .limit(limit).offset(offset).subquery("page_keys"))


def caseload(user, year: AcademicYear, today: date, stale_days: int, sort: str = "contact",
             only_stale: bool = False) -> Page:
    """One page of the caseload, in the order of `caseload_query`: one query for the page and its count.

    The members are sorted on narrow rows; the students, their places and this year's aid are read for the page's
    rows only, so a university's eight thousand identified students are never loaded nor summed.
    """
    from caretrack.students.queries import with_places

    page, per_page = requested_page(), current_app.config["PER_PAGE"]
    keys = _caseload_page_keys(user, year, today, stale_days, sort, only_stale, per_page, (page - 1) * per_page)
    aid = keys.c.aid_total if sort == "aid" else _aid_total(year)
    statement = (with_places(select(Student, keys.c.last_contact, aid, keys.c.rows)
                             .join(keys, keys.c.id == Student.id))
                 .order_by(*_caseload_order(sort, keys.c.last_contact, aid, keys.c.name, keys.c.id)))
    rows = list(db.session.execute(statement))
    if rows:
        counted = rows[0].rows
    else:  # past the last page (or none): the count alone says how many there are
        counted = count_rows(caseload_query(user, year, today, stale_days, sort, only_stale))
    threshold = today - timedelta(days=stale_days)
    items = [CaseloadRow(student, day, Decimal(amount or 0), (today - day).days if day else None,
                         day is None or day < threshold) for student, day, amount, _rows in rows]
    return counted_page(items, counted, page, per_page, cap=current_app.config["COUNT_CAP"])
