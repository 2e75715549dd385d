"""What each identified student is owed by the visit cadence, and whether it was done.

For a set of students this runs a fixed number of queries (identifications, records of the year, the rules,
term dates per school), then works out every window in memory: a rule "every term" has two windows a year,
"every year" one. A window is done when a record of the rule's kind falls inside it.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload

from caretrack.core.choices import N_, translated
from caretrack.extensions import db
from caretrack.followups.models import CadencePeriod, CadenceRule
from caretrack.ledger import queries as ledger
from caretrack.ledger.models import SupportRecord
from caretrack.org import services as org
from caretrack.org.models import AcademicYear
from caretrack.students.models import Identification, Student

DONE, DUE, OVERDUE, UPCOMING = "done", "due", "overdue", "upcoming"


@dataclass(frozen=True)
class Obligation:
    """One rule in one window for one student."""

    rule: CadenceRule
    window: str  # "year", "term1", "term2"
    starts_on: date
    ends_on: date
    state: str
    done_on: date | None = None

    @property
    def label(self) -> str:
        # Translated once per language: a caseload page shows a few hundred obligations.
        return translated(N_("%(kind)s（%(window)s）")) % {"kind": self.rule.record_kind_enum.label,
                                                          "window": translated(WINDOW_NAMES[self.window])}

    @property
    def state_label(self) -> str:
        return translated(STATE_NAMES[self.state])


WINDOW_NAMES = {"year": N_("本学年"), "term1": N_("第一学期"), "term2": N_("第二学期")}
STATE_NAMES = {DONE: N_("已完成"), DUE: N_("待完成"), OVERDUE: N_("已逾期"), UPCOMING: N_("未开始")}


def applies(rule: CadenceRule, identification: Identification) -> bool:
    if rule.category is None and rule.level is None:
        return True
    categories = {row.category for row in identification.category_rows}
    return (rule.category is not None and rule.category in categories) or (
        rule.level is not None and rule.level == identification.level)


def _windows(rule: CadenceRule, terms: dict[int, tuple[date, date]]) -> list[tuple[str, date, date]]:
    if rule.period == CadencePeriod.YEAR:
        return [("year", terms[1][0], terms[2][1])]
    return [("term1", *terms[1]), ("term2", *terms[2])]


def _state(starts_on: date, ends_on: date, done_on: date | None, today: date) -> str:
    if done_on is not None:
        return DONE
    if today < starts_on:
        return UPCOMING
    return OVERDUE if today > ends_on else DUE


def obligations(students: list[Student], year: AcademicYear, today: date) -> dict[int, list[Obligation]]:
    """Each student's obligations for the academic year, by student id (students not identified: none)."""
    if not students:
        return {}
    ids = [s.id for s in students]
    identifications = _identifications(students, year)
    rules = [r for r in db.session.scalars(select(CadenceRule).order_by(CadenceRule.id)) if r.applies_in(
        year.start_year)]
    terms = _terms_by_school({s.school_id for s in students}, year)
    records = _records_by_student(ids, year)
    result: dict[int, list[Obligation]] = {}
    for student in students:
        identification = identifications.get(student.id)
        if identification is None:
            continue
        result[student.id] = [
            _obligation(rule, window, records[student.id], today)
            for rule in rules if applies(rule, identification)
            for window in _windows(rule, terms[student.school_id])]
    return result


def _identifications(students: list[Student], year: AcademicYear) -> dict[int, Identification]:
    """The students' identifications of the year: from the students themselves when their file loaded them all
    with their categories (the file page), else in one query.
    """
    loaded = [s for s in students if "identifications" not in inspect(s).unloaded]
    if len(loaded) == len(students) and all(
            "category_rows" not in inspect(i).unloaded for s in students for i in s.identifications):
        return {i.student_id: i for s in students for i in s.identifications if i.academic_year_id == year.id}
    return {i.student_id: i for i in db.session.scalars(
        select(Identification).where(Identification.student_id.in_([s.id for s in students]),
                                     Identification.academic_year_id == year.id)
        .options(selectinload(Identification.category_rows)))}


def _obligation(rule, window, student_records, today) -> Obligation:
    name, starts_on, ends_on = window
    done_on = min((day for kind, day in student_records if kind == rule.record_kind and starts_on <= day <= ends_on),
                  default=None)
    return Obligation(rule, name, starts_on, ends_on, _state(starts_on, ends_on, done_on, today), done_on)


def _terms_by_school(school_ids, year: AcademicYear) -> dict[int, dict[int, tuple[date, date]]]:
    schools = org.units_by_id(school_ids)
    result = {}
    for school in schools:
        result[school.id] = {number: (term.starts_on, term.ends_on) for number in (1, 2)
                             for term in [org.term_dates(school, year, number)]}
    return result


def _records_by_student(student_ids, year: AcademicYear) -> dict[int, list[tuple[str, date]]]:
    # A generous window: a school's own term dates never leave the year's window.
    starts_on, ends_on = org.year_window(year)
    read = ledger.records_read(student_ids)
    if read is not None:  # the file page's timeline has read them
        rows = [(r.student_id, r.kind, r.happened_on) for r in read if starts_on <= r.happened_on <= ends_on]
    else:
        rows = db.session.execute(select(SupportRecord.student_id, SupportRecord.kind, SupportRecord.happened_on).where(
            SupportRecord.student_id.in_(student_ids), SupportRecord.deleted_at.is_(None),
            SupportRecord.happened_on.between(starts_on, ends_on)))
    records: dict[int, list[tuple[str, date]]] = defaultdict(list)
    for student_id, kind, day in rows:
        records[student_id].append((kind, day))
    return records


def attention(items: list[Obligation]) -> list[Obligation]:
    """What a person should look at now: the current or overdue windows, done ones only if current."""
    return [o for o in items if o.state in (DUE, OVERDUE)]
