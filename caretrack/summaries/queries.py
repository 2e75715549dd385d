"""Reads for term summaries: one function per section, each one query over a whole list of students.

`build_summaries` fills a `TermSummary` per student; a batch of a class, a college or a school costs one query
per section, whatever the number of students. The sections follow the summary as printed.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import joinedload, selectinload

from caretrack.activities.queries import attended_between
from caretrack.core.access import Permission, scoped, unit_subtree_ids
from caretrack.core.models import has_text
from caretrack.extensions import db
from caretrack.followups.models import FollowUp, FollowUpStatus
from caretrack.ledger.models import Disbursement, RecordKind, SupportRecord
from caretrack.org.models import AcademicYear, Term
from caretrack.org.services import term_dates, units_by_id
from caretrack.students.models import Identification, Student
from caretrack.summaries.models import GeneratedSummary, SummaryNarrative

# The ledger's record kinds, grouped as the summary prints them.
CARE_KINDS = (RecordKind.PSYCH_CARE, RecordKind.TUTORING, RecordKind.CAREER)
CONTACT_KINDS = (RecordKind.HOME_VISIT, RecordKind.TALK, RecordKind.PARENT_MEETING)


@dataclass
class AidLine:
    project: str
    grade: str | None  # a Grade value, or None for an ungraded project
    amount: Decimal
    paid_on: date


@dataclass
class RecordLine:
    """A care record as the reader may see it: `summary` is None when it is confidential to them."""

    id: int
    kind: RecordKind
    happened_on: date
    restricted: bool
    summary: str | None
    school_id: int

    @property
    def is_restricted(self) -> bool:
        return self.restricted


@dataclass
class WorkStudyLine:
    happened_on: date
    post: str
    hours: Decimal
    pay: Decimal


@dataclass
class ActivityLine:
    themes: list[str]
    title: str
    day: date


@dataclass
class TermSummary:
    """What one term held for one student (学期资助育人小结)."""

    student: Student
    year: AcademicYear
    term: int
    starts_on: date
    ends_on: date
    identification: Identification | None = None
    aid: list[AidLine] = field(default_factory=list)
    care: list[RecordLine] = field(default_factory=list)
    work_study: list[WorkStudyLine] = field(default_factory=list)
    contacts: list[RecordLine] = field(default_factory=list)
    activities: list[ActivityLine] = field(default_factory=list)
    followups_done: int = 0
    followups_open: int = 0
    narrative: SummaryNarrative | None = None
    record_counts: Counter = field(default_factory=Counter)  # every record kind of the term, counted

    @property
    def aid_total(self) -> Decimal:
        return sum((line.amount for line in self.aid), Decimal("0.00"))

    @property
    def work_study_hours(self) -> Decimal:
        return sum((line.hours for line in self.work_study), Decimal("0.0"))

    @property
    def work_study_pay(self) -> Decimal:
        return sum((line.pay for line in self.work_study), Decimal("0.00"))

    @property
    def narrative_text(self) -> str:
        return self.narrative.text if self.narrative else ""

    @property
    def restricted_hidden(self) -> int:
        """Confidential records counted in the summary but not readable by its reader."""
        return sum(1 for line in self.care + self.contacts if line.summary is None)


@dataclass(frozen=True)
class TermWindow:
    """The dates of one term as they apply to one school."""

    starts_on: date
    ends_on: date


def term_windows(school_ids, year: AcademicYear, term: int) -> dict[int, TermWindow]:
    """Each school's own dates for the term (its own, a parent's, or the city's default): two queries."""
    schools = units_by_id(school_ids)
    windows = {}
    for school in schools:
        row: Term = term_dates(school, year, term)
        windows[school.id] = TermWindow(row.starts_on, row.ends_on)
    return windows


def _in_window(summaries: dict[int, TermSummary], student_id: int, day: date) -> bool:
    summary = summaries[student_id]
    return summary.starts_on <= day <= summary.ends_on


def fill_identification(summaries: dict[int, TermSummary]) -> None:
    """The year's identification (categories, level) of each student."""
    year_id = next(iter(summaries.values())).year.id
    rows = db.session.scalars(select(Identification).where(
        Identification.student_id.in_(summaries), Identification.academic_year_id == year_id)
        .options(selectinload(Identification.category_rows)))
    for row in rows:
        summaries[row.student_id].identification = row


def fill_aid(summaries: dict[int, TermSummary]) -> None:
    """Payments of the term: those naming it, and those naming no term whose 发放日期 falls in its dates."""
    any_summary = next(iter(summaries.values()))
    earliest = min(s.starts_on for s in summaries.values())
    latest = max(s.ends_on for s in summaries.values())
    rows = db.session.scalars(
        select(Disbursement).where(
            Disbursement.student_id.in_(summaries), Disbursement.deleted_at.is_(None),
            or_(and_(Disbursement.academic_year_id == any_summary.year.id, Disbursement.term == any_summary.term),
                and_(Disbursement.term.is_(None), Disbursement.paid_on.between(earliest, latest))))
        .options(joinedload(Disbursement.project))
        .order_by(Disbursement.paid_on, Disbursement.id))
    for row in rows:
        if row.term is None and not _in_window(summaries, row.student_id, row.paid_on):
            continue  # inside another school's dates, not this student's
        summaries[row.student_id].aid.append(AidLine(row.project.name, row.grade, row.amount, row.paid_on))


def fill_records(summaries: dict[int, TermSummary], reader) -> None:
    """Care, tutoring, work-study, visits and talks of the term.

    A confidential record is counted for everyone and quoted only to a reader who may read it: the ledger's
    rule (CARE_RESTRICTED on the student). A reader of None (an export, the archive) sees none quoted, since
    confidential records never leave the school.
    """
    earliest = min(s.starts_on for s in summaries.values())
    latest = max(s.ends_on for s in summaries.values())
    readable = set()
    if reader is not None:
        readable = set(db.session.scalars(scoped(select(Student.id).where(Student.id.in_(summaries)), reader,
                                                 Permission.CARE_RESTRICTED, Student)))
    rows = db.session.scalars(select(SupportRecord).where(
        SupportRecord.student_id.in_(summaries), SupportRecord.deleted_at.is_(None),
        SupportRecord.happened_on.between(earliest, latest))
        .order_by(SupportRecord.happened_on, SupportRecord.id))
    for row in rows:
        if not _in_window(summaries, row.student_id, row.happened_on):
            continue
        summary = summaries[row.student_id]
        kind = RecordKind(row.kind)
        summary.record_counts[kind] += 1
        if kind is RecordKind.WORK_STUDY:
            summary.work_study.append(WorkStudyLine(row.happened_on, row.post or "", row.hours or Decimal("0"),
                                                    row.pay or Decimal("0")))
            continue
        quoted = not row.is_restricted or row.student_id in readable
        line = RecordLine(row.id, kind, row.happened_on, row.is_restricted, row.summary if quoted else None,
                          row.school_id)
        (summary.care if kind in CARE_KINDS else summary.contacts).append(line)


def fill_activities(summaries: dict[int, TermSummary]) -> None:
    """Themed activities attended (present) in the term, by each student's own term dates, in one query."""
    first = min(s.starts_on for s in summaries.values())
    last = max(s.ends_on for s in summaries.values())
    for student_id, _activity_id, themes, title, day in attended_between(list(summaries), first, last):
        if _in_window(summaries, student_id, day):
            summaries[student_id].activities.append(
                ActivityLine(themes=themes.split("、") if themes else [], title=title, day=day))


def fill_followups(summaries: dict[int, TermSummary]) -> None:
    """Follow-ups done in the term, and those due by its end still open."""
    latest = max(s.ends_on for s in summaries.values())
    rows = db.session.execute(select(FollowUp.student_id, FollowUp.status, FollowUp.closed_on, FollowUp.due_on)
                              .where(FollowUp.student_id.in_(summaries),
                                     FollowUp.status.in_([FollowUpStatus.DONE, FollowUpStatus.OPEN]),
                                     FollowUp.due_on <= latest))
    for student_id, status, closed_on, due_on in rows:
        summary = summaries[student_id]
        if status == FollowUpStatus.DONE and closed_on and _in_window(summaries, student_id, closed_on):
            summary.followups_done += 1
        elif status == FollowUpStatus.OPEN and due_on <= summary.ends_on:
            summary.followups_open += 1


def fill_narratives(summaries: dict[int, TermSummary]) -> None:
    any_summary = next(iter(summaries.values()))
    rows = db.session.scalars(select(SummaryNarrative).where(
        SummaryNarrative.student_id.in_(summaries), SummaryNarrative.academic_year_id == any_summary.year.id,
        SummaryNarrative.term == any_summary.term))
    for row in rows:
        summaries[row.student_id].narrative = row


SECTIONS = (fill_identification, fill_aid, fill_activities, fill_followups, fill_narratives)


def build_summaries(students: list[Student], year: AcademicYear, term: int, reader=None) -> list[TermSummary]:
    """The term summaries of the students, in the order given; one query per section."""
    if not students:
        return []
    windows = term_windows({s.school_id for s in students}, year, term)
    summaries = {s.id: TermSummary(s, year, term, windows[s.school_id].starts_on, windows[s.school_id].ends_on)
                 for s in students}
    for fill in SECTIONS:
        fill(summaries)
    fill_records(summaries, reader)
    return [summaries[s.id] for s in students]


def term_window(student: Student, year: AcademicYear, term: int) -> TermWindow:
    return term_windows([student.school_id], year, term)[student.school_id]


def year_by_start(start_year: int) -> AcademicYear | None:
    return db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == start_year))


def _has_year_file(year: AcademicYear):
    """Students whose file has something in the year: an identification, or a payment."""
    return or_(
        exists().where(Identification.student_id == Student.id, Identification.academic_year_id == year.id),
        exists().where(Disbursement.student_id == Student.id, Disbursement.academic_year_id == year.id,
                       Disbursement.deleted_at.is_(None)))


def batch_students(year: AcademicYear, *, unit_id: int | None = None, class_id: int | None = None,
                   college_id: int | None = None, student_no: str | None = None, user=None) -> list[Student]:
    """The students a batch covers: identified or aided in the year, in a unit's schools, a college or a class.

    With a user the list is narrowed to their scope (never replaced by it).
    """
    statement = select(Student).where(_has_year_file(year))
    if unit_id is not None:
        statement = statement.where(Student.school_id.in_(unit_subtree_ids([unit_id])))
    if college_id is not None:
        statement = statement.where(Student.college_id == college_id)
    if class_id is not None:
        statement = statement.where(Student.class_id == class_id)
    if student_no:
        statement = statement.where(Student.student_no == student_no)
    if user is not None:
        statement = scoped(statement, user, Permission.SUMMARIES_VIEW)
    statement = statement.options(joinedload(Student.school), joinedload(Student.college),
                                  joinedload(Student.school_class))
    students = db.session.scalars(statement).unique().all()
    return sorted(students, key=lambda s: (s.school.code, s.school_class.name, s.student_no))


def narratives_to_write(user, year: AcademicYear, term: int):
    """Active students with a file in the year whose term narrative the user may write and nobody has written yet.

    A select() in the order of the class lists; narrowed to the user's NARRATIVE_WRITE scope.
    """
    written = select(SummaryNarrative.id).where(
        SummaryNarrative.student_id == Student.id, SummaryNarrative.academic_year_id == year.id,
        SummaryNarrative.term == term, has_text(SummaryNarrative.text))
    statement = select(Student).where(_has_year_file(year), Student.status == "active", ~written.exists())
    return (scoped(statement, user, Permission.NARRATIVE_WRITE)
            .order_by(Student.school_id, Student.class_id, Student.student_no, Student.id))


def summaries_not_generated(user, year: AcademicYear, term: int):
    """Active students with a file in the year whose term summary has never been generated (a batch writes it).

    A select() in the order of the class lists, narrowed to the user's SUMMARIES_VIEW scope; the school aid
    officer's home page counts it and links to the list that pages it.
    """
    generated = select(GeneratedSummary.id).where(
        GeneratedSummary.student_id == Student.id, GeneratedSummary.academic_year_id == year.id,
        GeneratedSummary.term == term)
    statement = select(Student).where(_has_year_file(year), Student.status == "active", ~generated.exists())
    return (scoped(statement, user, Permission.SUMMARIES_VIEW)
            .order_by(Student.school_id, Student.class_id, Student.student_no, Student.id))
