"""The yearly archive (分年度建档备查): closing a year freezes every unit's summaries and screening tables.

Each frozen record is a snapshot holding its canonical JSON text and the SHA-256 of that text; a unit's snapshots
of a year form a chain (each stores the previous one's hash) and the unit's closure stores their number and the
last hash, so a changed, removed or added snapshot is noticed by `verify_year`. The database refuses UPDATE and
DELETE of snapshots and closures (triggers, see the migration). A record corrected after the close changes the
live summary only: the archive shows it as a dated correction beside the frozen snapshot.

One change is allowed, by the retention rules only: a purged student's summary snapshot loses its title and
content (`PURGED_CONTENT`) but keeps its hash, so the chain still verifies; the trigger allows nothing else.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from caretrack.audit.services import record
from caretrack.core.access import unit_subtree_ids
from caretrack.core.errors import DomainError
from caretrack.core.faults import pause_point
from caretrack.core.timeutil import local_today, to_local, utcnow
from caretrack.extensions import db
from caretrack.ledger.models import Disbursement, SupportRecord
from caretrack.org.models import AcademicYear, Unit
from caretrack.org.services import term_dates, terms_for
from caretrack.screening.models import TableSubmission  # summaries sit above screening (test_layers.py)
from caretrack.summaries import queries
from caretrack.summaries.models import ArchiveClosure, ArchiveSnapshot, SnapshotKind, SummaryNarrative
from caretrack.summaries.services import TERMS, SummaryAction, store_generated, summary_record


def canonical(content) -> str:
    """The one serialisation that is hashed: sorted keys, UTF-8 text as it is, no spaces."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# What a summary snapshot holds once its student was purged (the migration's trigger names the same text).
PURGED_CONTENT = canonical({"purged": True})


def is_purged(snapshot: ArchiveSnapshot) -> bool:
    return snapshot.content == PURGED_CONTENT


# --- closing ------------------------------------------------------------------------------------------------

@dataclass
class CloseReport:
    closed: list[str] = field(default_factory=list)  # unit codes closed now
    already_closed: int = 0
    snapshots: int = 0
    forced: bool = False


def _units(root: Unit | None) -> list[Unit]:
    statement = select(Unit).order_by(Unit.code)
    if root is not None:
        statement = statement.where(Unit.id.in_(unit_subtree_ids([root.id])))
    return list(db.session.scalars(statement))


def _last_term_ends(unit: Unit, year: AcademicYear) -> date:
    return max(term_dates(unit, year, number).ends_on for number in TERMS)


def _summary_contents(school: Unit, year: AcademicYear, today: date) -> list[tuple[dict, dict]]:
    """(snapshot columns, content) of each student's summary of each term that has begun, in print order."""
    students = queries.batch_students(year, unit_id=school.id)
    rows = []
    for term in TERMS:
        if not students or today < term_dates(school, year, term).starts_on:
            continue
        summaries = queries.build_summaries(students, year, term)
        store_generated(summaries)
        for summary in summaries:
            student = summary.student
            rows.append(({"kind": SnapshotKind.SUMMARY, "student_id": student.id, "term": term,
                          "title": f"{student.school_class.name} {student.student_no} {student.name} 第{term}学期"},
                         summary_record(summary)))
    return rows


def _table_contents(unit: Unit, year: AcademicYear) -> list[tuple[dict, dict]]:
    """Every submitted screening table (each version) of the unit in the year."""
    submissions = db.session.scalars(select(TableSubmission).where(
        TableSubmission.unit_id == unit.id, TableSubmission.academic_year_id == year.id)
        .order_by(TableSubmission.term, TableSubmission.version))
    return [({"kind": SnapshotKind.SCREENING_TABLE, "student_id": None, "term": submission.term,
              "title": f"{submission.form} 第{submission.term}学期 第{submission.version}版"},
             {"单位代码": unit.code, "学年": year.label, "学期": submission.term, "表": submission.form,
              "版本": submission.version, "提交时间": submission.submitted_at.isoformat(),
              "更正原因": submission.correction_reason or "", "内容": submission.snapshot})
            for submission in submissions]


def freeze_unit(actor, unit: Unit, year: AcademicYear, today: date, forced: bool) -> ArchiveClosure:
    """Freeze one unit's year: its snapshots as a chain, then its closure."""
    contents = _summary_contents(unit, year, today) if unit.is_school else []
    contents += _table_contents(unit, year)
    previous = None
    for sequence, (columns, content) in enumerate(contents, start=1):
        text = canonical(content)
        digest = content_hash(text)
        db.session.add(ArchiveSnapshot(academic_year_id=year.id, unit_id=unit.id, sequence=sequence, content=text,
                                       content_hash=digest, previous_hash=previous, **columns))
        previous = digest
    closure = ArchiveClosure(academic_year_id=year.id, unit_id=unit.id, closed_by_id=getattr(actor, "id", None),
                             forced=forced, snapshot_count=len(contents), head_hash=previous)
    db.session.add(closure)
    db.session.flush()
    record(SummaryAction.YEAR_CLOSED, actor=actor, obj=closure, unit_id=unit.id, detail=year.label)
    pause_point("archive.unit")  # fault tests kill the process here, units frozen but not committed
    return closure


def close_year(actor, year: AcademicYear, unit: Unit | None = None, *, force: bool = False,
               today: date | None = None) -> CloseReport:
    """Close the year for a unit and every unit under it (every unit when none is given).

    Refused while a unit's last term has not ended, unless forced (the force is audited). Units already closed
    are left as they are, so closing twice changes nothing.
    """
    today = today or local_today()
    closed_ids = set(db.session.scalars(select(ArchiveClosure.unit_id).where(
        ArchiveClosure.academic_year_id == year.id)))
    units = _units(unit)
    pending = [u for u in units if u.id not in closed_ids]
    report = CloseReport(already_closed=len(units) - len(pending), forced=force)
    in_progress = [u for u in pending if _last_term_ends(u, year) >= today]
    if in_progress and not force:
        codes = "、".join(u.code for u in in_progress[:5]) + ("等" if len(in_progress) > 5 else "")
        raise DomainError(_("学年 %(year)s 尚有学期未结束（%(units)s），不能归档；确需归档请选择强制归档。",
                            year=year.label, units=codes), field="force")
    if in_progress:
        record(SummaryAction.YEAR_CLOSED_FORCED, actor=actor, object_type="academic_years", object_id=year.id,
               unit_id=unit.id if unit else None,
               detail=f"{year.label}: " + ",".join(u.code for u in in_progress)[:180])
    for target in pending:
        closure = freeze_unit(actor, target, year, today, forced=target in in_progress)
        report.closed.append(target.code)
        report.snapshots += closure.snapshot_count
    return report


def years_to_close(today: date) -> list[AcademicYear]:
    """The academic years with a unit not yet closed whose last term has ended in every such unit (each by its
    own dates): what the scheduler closes (tasks.close_ended_years).
    """
    units = _units(None)
    ready = []
    for year in db.session.scalars(select(AcademicYear).where(AcademicYear.start_year < today.year)
                                   .order_by(AcademicYear.start_year)).all():
        closed_ids = set(db.session.scalars(select(ArchiveClosure.unit_id).where(
            ArchiveClosure.academic_year_id == year.id)))
        pending = [u for u in units if u.id not in closed_ids]
        if not pending:
            continue
        last_days = [terms_for(pending, year, number) for number in TERMS]
        if any(max(terms[u.id].ends_on for terms in last_days) >= today for u in pending):
            continue  # a term still runs somewhere: the year closes the day after the last one ends
        ready.append(year)
    return ready


# --- verifying ----------------------------------------------------------------------------------------------

def _check_chain(closure: ArchiveClosure, chain: list[ArchiveSnapshot]) -> list[str]:
    code = closure.unit.code
    problems = []
    by_sequence = {snapshot.sequence: snapshot for snapshot in chain}
    for sequence in range(1, closure.snapshot_count + 1):
        snapshot = by_sequence.get(sequence)
        if snapshot is None:
            problems.append(_("单位 %(unit)s 第 %(n)s 条快照缺失", unit=code, n=sequence))
            continue
        name = _("快照 #%(id)s（单位 %(unit)s 第 %(n)s 条）", id=snapshot.id, unit=code, n=sequence)
        if not is_purged(snapshot) and (content_hash(snapshot.content) != snapshot.content_hash
                                        or canonical(json.loads(snapshot.content)) != snapshot.content):
            problems.append(_("%(name)s：内容与哈希不符", name=name))
        before = by_sequence.get(sequence - 1)
        expected_previous = before.content_hash if before else None
        if (sequence == 1 or before is not None) and snapshot.previous_hash != expected_previous:
            problems.append(_("%(name)s：与前一条快照的链接不符", name=name))
    extra = sorted(s.sequence for s in chain if not 1 <= s.sequence <= closure.snapshot_count)
    if extra:
        problems.append(_("单位 %(unit)s 有归档后加入的快照：第 %(n)s 条", unit=code, n=extra[0]))
    last = by_sequence.get(closure.snapshot_count)
    if closure.snapshot_count and last is not None and last.content_hash != closure.head_hash:
        problems.append(_("单位 %(unit)s 的链尾哈希与归档记录不符", unit=code))
    return problems


def verify_year(year: AcademicYear) -> list[str]:
    """Every problem of the year's archive, each naming its snapshot; an empty list when all checks."""
    closures = db.session.scalars(select(ArchiveClosure).where(ArchiveClosure.academic_year_id == year.id)
                                  .order_by(ArchiveClosure.unit_id)).all()
    chains: dict[int, list[ArchiveSnapshot]] = {}
    for snapshot in db.session.scalars(select(ArchiveSnapshot).where(ArchiveSnapshot.academic_year_id == year.id)
                                       .order_by(ArchiveSnapshot.unit_id, ArchiveSnapshot.sequence)):
        chains.setdefault(snapshot.unit_id, []).append(snapshot)
    problems = []
    for closure in closures:
        problems += _check_chain(closure, chains.pop(closure.unit_id, []))
    for unit_id, chain in chains.items():
        problems.append(_("单位 #%(unit)s 有快照但没有归档记录（快照 #%(id)s）", unit=unit_id, id=chain[0].id))
    return problems


# --- reading ------------------------------------------------------------------------------------------------

def closure_of(year: AcademicYear, unit: Unit) -> ArchiveClosure | None:
    return db.session.scalar(select(ArchiveClosure).where(ArchiveClosure.academic_year_id == year.id,
                                                          ArchiveClosure.unit_id == unit.id))


def snapshots_of(year: AcademicYear, unit: Unit) -> list[ArchiveSnapshot]:
    return list(db.session.scalars(select(ArchiveSnapshot).where(
        ArchiveSnapshot.academic_year_id == year.id, ArchiveSnapshot.unit_id == unit.id)
        .order_by(ArchiveSnapshot.sequence)))


def export_unit(year: AcademicYear, unit: Unit) -> bytes:
    """The unit's frozen year as JSON: only what was frozen, so the same bytes whatever changed since."""
    closure = closure_of(year, unit)
    if closure is None:
        raise DomainError(_("单位 %(unit)s 的 %(year)s 学年尚未归档。", unit=unit.code, year=year.label))
    document = {
        "学年": year.label, "单位代码": unit.code, "单位名称": unit.name,
        "归档时间": closure.closed_at.isoformat(), "快照数": closure.snapshot_count, "链尾哈希": closure.head_hash,
        "快照": [{"序号": s.sequence, "类型": s.kind, "标题": s.title, "哈希": s.content_hash,
                "前一哈希": s.previous_hash, "内容": json.loads(s.content)} for s in snapshots_of(year, unit)],
    }
    return (json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


@dataclass
class Correction:
    """A frozen summary that the live ledger no longer matches: when it changed, and what."""

    day: date
    fields: list[str]
    frozen: dict
    live: dict


def _last_change(student_ids, since: datetime) -> dict[int, datetime]:
    """The latest change after `since` to each student's payments, records or narratives (three queries)."""
    latest: dict[int, datetime] = {}
    for model in (Disbursement, SupportRecord, SummaryNarrative):
        rows = db.session.execute(select(model.student_id, func.max(model.updated_at))
                                  .where(model.student_id.in_(student_ids), model.updated_at > since)
                                  .group_by(model.student_id))
        for student_id, changed_at in rows:
            if changed_at is not None and (student_id not in latest or changed_at > latest[student_id]):
                latest[student_id] = changed_at
    return latest


def corrections(year: AcademicYear, unit: Unit, snapshots: list[ArchiveSnapshot]) -> dict[int, Correction]:
    """For each frozen summary the live summary differs from: the dated correction, by snapshot id."""
    closure = closure_of(year, unit)
    frozen = [s for s in snapshots if s.kind == SnapshotKind.SUMMARY and not is_purged(s)]
    if closure is None or not frozen:
        return {}
    students = {s.id: s for s in queries.batch_students(year, unit_id=unit.id)}
    live: dict[tuple[int, int], dict] = {}
    for term in {s.term for s in frozen}:
        chosen = [students[s.student_id] for s in frozen if s.term == term and s.student_id in students]
        for summary in queries.build_summaries(chosen, year, term):
            live[(summary.student.id, term)] = summary_record(summary)
    changed_at = _last_change([s.student_id for s in frozen], closure.closed_at)
    found = {}
    for snapshot in frozen:
        before, now = json.loads(snapshot.content), live.get((snapshot.student_id, snapshot.term), {})
        fields = sorted(key for key in set(before) | set(now) if before.get(key) != now.get(key))
        if fields:
            when = changed_at.get(snapshot.student_id) or utcnow()
            found[snapshot.id] = Correction(to_local(when).date(), fields, before, now)
    return found


def closed_years() -> list[AcademicYear]:
    return list(db.session.scalars(select(AcademicYear).where(AcademicYear.id.in_(
        select(ArchiveClosure.academic_year_id))).order_by(AcademicYear.start_year.desc())))
