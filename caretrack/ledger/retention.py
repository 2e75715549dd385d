"""Kept no longer than needed (PIPL art. 19 and 31): the retention of graduated and departed students' files.

CARETRACK_RETENTION_YEARS after a student graduated or left, the scheduled job erases what identifies the child
and tells their family's story: the ID number (ciphertext and blind index; the masked form too), the guardians,
the text of every care record (its removal reason too) and of the identifications, and the attachments (the
domains above erase their own, below). What the tables and the term summaries count stays: the student row with
its school, class, stage and years, each identification's level and categories, each payment, each care record's
kind, date and tier. Each purge is audited.

The audit log is kept CARETRACK_AUDIT_RETENTION_YEARS (at least three), then removed, itself audited.

`export_student` gives one student's whole file as JSON, for a request from the student or their guardian.

The ledger holds the file's core; each domain above it that keeps something about a student (follow-ups,
activities, screening cases, summaries) registers a `Holding`: its part of the export and the erasure of its
free text, so neither the export nor the purge can forget a domain that was added later.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update

from caretrack.audit.models import AuditEvent
from caretrack.audit.services import AuditAction, record
from caretrack.core import crypto
from caretrack.extensions import db
from caretrack.ledger.models import Attachment, Disbursement, SupportRecord
from caretrack.students.models import Guardian, Identification, Student, StudentStatus

log = logging.getLogger(__name__)

BATCH = 200
PURGED_MASK = "已清除"

@dataclass(frozen=True)
class Holding:
    """What one domain keeps about a student: its part of the export, and the erasure of its free text."""

    key: str  # the export's key, in Chinese as the file's other keys
    audit_name: str  # named in the purge's audit row ("followup_notes")
    export: Callable[[Student], list[dict]]
    purge: Callable[[int], None]  # erase one student's text, keeping the rows the counts need; flushes only


_HOLDINGS: dict[str, Holding] = {}


def register_holding(holding: Holding) -> None:
    _HOLDINGS[holding.key] = holding


def iso_day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def due_for_purge(today: date, years: int) -> list[int]:
    """Ids of students who graduated or left at least `years` ago and are not purged yet."""
    return list(db.session.scalars(select(Student.id).where(
        Student.status.in_([StudentStatus.GRADUATED, StudentStatus.LEFT]), Student.purged_at.is_(None),
        Student.status_changed_on <= _years_before(today, years)).order_by(Student.id)))


def purge_student(student_id: int, now: datetime, attachment_folder: Path | None) -> None:
    """Erase one student's sensitive fields, keeping what the tables count; the caller commits."""
    stored_names = list(db.session.scalars(select(Attachment.stored_name).join(SupportRecord).where(
        SupportRecord.student_id == student_id)))
    db.session.execute(delete(Attachment).where(Attachment.record_id.in_(
        select(SupportRecord.id).where(SupportRecord.student_id == student_id))))
    db.session.execute(update(SupportRecord).where(SupportRecord.student_id == student_id).values(
        summary="", outcome=None, next_step=None, post=None, delete_reason=None))
    db.session.execute(update(Identification).where(Identification.student_id == student_id).values(note=None))
    db.session.execute(delete(Guardian).where(Guardian.student_id == student_id))
    db.session.execute(update(Student.__table__).where(Student.__table__.c.id == student_id).values(
        id_cipher=b"", id_index=f"purged:{student_id}", id_masked=PURGED_MASK, birth_date=None, status_note=None,
        purged_at=now))
    for holding in _HOLDINGS.values():
        holding.purge(student_id)
    school_id = db.session.scalar(select(Student.school_id).where(Student.id == student_id))
    record(AuditAction.RETENTION_PURGED, object_type="students", object_id=student_id, unit_id=school_id,
           fields=["id_number", "guardians", "care_notes", "attachments",
                   *(holding.audit_name for holding in _HOLDINGS.values())])
    if attachment_folder is not None:
        for name in stored_names:  # after the rows: a crash leaves files the orphan sweep removes
            (attachment_folder / name).unlink(missing_ok=True)


def expire_audit(now: datetime, years: int) -> int:
    """Remove audit events older than `years`; how many (itself recorded)."""
    cutoff = now - timedelta(days=365 * years + years // 4)
    removed = db.session.execute(delete(AuditEvent).where(AuditEvent.at < cutoff)).rowcount or 0
    if removed:
        record(AuditAction.AUDIT_EXPIRED, detail=f"{removed} events before {cutoff.date().isoformat()}")
    return removed


def export_student(student: Student) -> dict:
    """One student's whole file (a request under PIPL art. 45), the ID number in full; the caller audits."""
    day = iso_day
    records = db.session.scalars(select(SupportRecord).where(SupportRecord.student_id == student.id)
                                 .order_by(SupportRecord.happened_on, SupportRecord.id))
    payments = db.session.scalars(select(Disbursement).where(Disbursement.student_id == student.id)
                                  .order_by(Disbursement.paid_on, Disbursement.id))
    return {
        "学号": student.student_no, "姓名": student.name, "性别": student.gender,
        "身份证号": crypto.decrypt(student.id_cipher) or None, "出生日期": day(student.birth_date),
        "学校": student.school.name, "班级": student.school_class.name, "学段": student.stage,
        "入学年份": student.enrolment_year, "寄宿": student.is_boarder, "户籍": student.hukou,
        "状态": student.status, "状态变更日期": day(student.status_changed_on), "已清除": student.purged_at is not None,
        "监护人": [{"姓名": g.name, "电话": g.phone, "关系": g.relation} for g in student.guardians],
        "认定": [{"学年": i.academic_year.label, "等级": i.level, "类型": sorted(c.category for c in i.category_rows),
                "认定日期": day(i.decided_on), "说明": i.note} for i in student.identifications],
        "资助发放": [{"项目": p.project.name, "档次": p.grade, "金额": f"{p.amount:.2f}", "发放日期": day(p.paid_on),
                  "学期": p.term, "凭证号": p.voucher} for p in payments],
        "帮扶记录": [{"类型": r.kind, "日期": day(r.happened_on), "保密级别": r.tier, "内容": r.summary,
                  "结果": r.outcome, "下一步": r.next_step, "附件": [a.filename for a in r.attachments]}
                 for r in records],
    } | {holding.key: holding.export(student) for holding in _HOLDINGS.values()}
