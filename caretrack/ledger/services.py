"""The support ledger: the catalog, disbursements and care records, with their rules.

Services take the acting user, flush and never commit. Removal is a soft delete with a reason, restorable.
"""

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.audit.services import record, record_each, register_action_labels
from caretrack.core import uploads
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError, ErrorCollector
from caretrack.core.models import EffectiveYearsMixin, changed_attributes, check_version
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db
from caretrack.ledger.catalog import SEED_FROM_YEAR, seed_rows
from caretrack.ledger.models import AidProject, AidStandard, Disbursement, Grade, RecordKind, SupportRecord, Tier
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, Stage
from caretrack.students.models import Student

log = logging.getLogger(__name__)

# Sent after a care record is written, so domains above the ledger can react (the follow-ups it was ticked to
# close are closed, its next step becomes one).
_signals = Namespace()
record_created = _signals.signal("record-created")
# Sent after a care record changed, with the names of the fields that did (what was derived from it follows).
record_updated = _signals.signal("record-updated")
# Sent after a payment is recorded through the form (imports are picked up by the next screening run).
disbursement_recorded = _signals.signal("disbursement-recorded")

MONEY_STEP = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000")


class LedgerAction:
    PROJECT_CREATED = "aid_project_created"
    PROJECT_UPDATED = "aid_project_updated"
    DISBURSED = "disbursement_recorded"
    DISBURSEMENT_UPDATED = "disbursement_updated"
    RECORD_CREATED = "support_record_created"
    RECORD_UPDATED = "support_record_updated"
    RECORD_READ = "restricted_record_read"
    REMOVED = "ledger_entry_removed"
    RESTORED = "ledger_entry_restored"
    ATTACHMENT_ADDED = "attachment_added"
    ATTACHMENT_READ = "attachment_read"
    DISBURSEMENTS_EXPORTED = "disbursements_exported"


register_action_labels({
    LedgerAction.PROJECT_CREATED: N_("新增资助项目"),
    LedgerAction.PROJECT_UPDATED: N_("修改资助项目"),
    LedgerAction.DISBURSED: N_("记录资助发放"),
    LedgerAction.DISBURSEMENT_UPDATED: N_("修改发放记录"),
    LedgerAction.RECORD_CREATED: N_("记录帮扶"),
    LedgerAction.RECORD_UPDATED: N_("修改帮扶记录"),
    LedgerAction.RECORD_READ: N_("查看保密记录"),
    LedgerAction.REMOVED: N_("删除台账记录"),
    LedgerAction.RESTORED: N_("恢复台账记录"),
    LedgerAction.ATTACHMENT_ADDED: N_("上传附件"),
    LedgerAction.ATTACHMENT_READ: N_("查看附件"),
    LedgerAction.DISBURSEMENTS_EXPORTED: N_("下载发放记录"),
})


# --- catalog -----------------------------------------------------------------------------------------------

def seed_catalog() -> int:
    """Create the national projects that are missing (idempotent); return how many were created."""
    created = 0
    for stage, name, has_grades, period, standards in seed_rows():
        exists = db.session.scalar(select(AidProject.id).where(AidProject.stage == stage, AidProject.name == name))
        if exists:
            continue
        db.session.add(AidProject(stage=stage.value, name=name, has_grades=has_grades, period=period,
                                  valid_from=SEED_FROM_YEAR, standards=[
                                      AidStandard(grade=grade, variant=variant, amount=amount)
                                      for grade, variant, amount in standards]))
        created += 1
    db.session.flush()
    return created


@dataclass
class ProjectData:
    name: str
    stage: Stage
    has_grades: bool
    period: str
    valid_from: int
    valid_to: int | None
    standards: list[tuple[str | None, str | None, Decimal]]
    note: str | None = None


def save_project(actor, data: ProjectData, project: AidProject | None = None) -> AidProject:
    """Create or change a catalog project; past disbursements keep what they recorded."""
    EffectiveYearsMixin.check_years(data.valid_from, data.valid_to)
    clash = db.session.scalar(select(AidProject).where(
        AidProject.stage == data.stage, AidProject.name == data.name.strip(), AidProject.valid_from == data.valid_from))
    if clash is not None and clash is not project:
        raise DomainError(_("该学段已有同名项目从这一学年起生效。"), field="name")
    for grade, _variant, amount in data.standards:
        if grade and not data.has_grades:
            raise DomainError(_("不分档的项目不能按档次设置标准。"), field="standards")
        parse_amount(str(amount))
    created = project is None
    project = project or AidProject()
    project.name, project.stage, project.has_grades = data.name.strip(), data.stage.value, data.has_grades
    project.period, project.valid_from, project.valid_to, project.note = (
        data.period, data.valid_from, data.valid_to, data.note or None)
    changed = changed_attributes(project)
    if [(s.grade, s.variant, s.amount) for s in project.standards] != list(data.standards):
        project.standards = [AidStandard(grade=g, variant=v, amount=a) for g, v, a in data.standards]
        changed.append("standards")
    if created or changed:
        db.session.add(project)
        db.session.flush()
        record(LedgerAction.PROJECT_CREATED if created else LedgerAction.PROJECT_UPDATED, actor=actor, obj=project,
               fields=None if created else changed)
    return project


def projects_for(stage: str, start_year: int) -> list[AidProject]:
    """The projects of a stage valid in an academic year."""
    projects = db.session.scalars(select(AidProject).where(AidProject.stage == stage).order_by(AidProject.id))
    return [p for p in projects if p.in_force(start_year)]


def find_project(name: str, stage: str, start_year: int) -> AidProject | None:
    return next((p for p in projects_for(stage, start_year) if p.name == name.strip()), None)


# --- disbursements -----------------------------------------------------------------------------------------

def parse_amount(text: str) -> Decimal:
    """Yuan with at most two decimals, more than zero."""
    try:
        amount = Decimal(str(text).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise DomainError(_("金额应为数字，如 2475.00。"), field="amount") from None
    if not amount.is_finite() or amount <= 0:
        raise DomainError(_("金额须大于 0。"), field="amount")
    if amount != amount.quantize(MONEY_STEP):
        raise DomainError(_("金额最多保留两位小数。"), field="amount")
    if amount >= MAX_AMOUNT:
        raise DomainError(_("金额过大，请核对。"), field="amount")
    return amount.quantize(MONEY_STEP)


@dataclass
class DisbursementData:
    student: Student
    project: AidProject
    grade: Grade | None
    amount: Decimal
    paid_on: date
    academic_year: AcademicYear
    term: int | None = None
    voucher: str | None = None


def academic_year_bounds(student: Student, year: AcademicYear) -> tuple[date, date]:
    """First and last day of the academic year at the student's school (its own term dates, or the default)."""
    return (org.term_dates(student.school, year, 1).starts_on, org.term_dates(student.school, year, 2).ends_on)


def check_disbursement(data: DisbursementData, bounds: tuple[date, date] | None = None) -> None:
    """Every rule of a payment at once, shared by the form and the import (which passes the year's cached bounds).

    A part the form could not read (None) is left to the form's own message.
    """
    errors = ErrorCollector()
    if data.project is not None:
        errors.run(_check_project, data)
    if data.term not in (None, 1, 2):
        errors.add(_("学期只能是 1、2 或留空。"), field="term")
    if data.academic_year is not None and data.paid_on is not None:
        starts_on, ends_on = bounds or academic_year_bounds(data.student, data.academic_year)
        if not starts_on <= data.paid_on <= ends_on:
            errors.add(_("发放日期不在 %(year)s 学年内（%(start)s 至 %(end)s）。", year=data.academic_year.label,
                         start=starts_on.isoformat(), end=ends_on.isoformat()), field="paid_on")
    errors.raise_if_any()


def _check_project(data: DisbursementData) -> None:
    """The project fits the student's stage and the year, and the grade fits the project."""
    project, student = data.project, data.student
    errors = ErrorCollector()
    if project.stage != student.stage:
        errors.add(_("“%(project)s”不是%(stage)s的资助项目。", project=project.name,
                     stage=Stage(student.stage).label), field="project_id")
    elif data.academic_year is not None and not project.in_force(data.academic_year.start_year):
        errors.add(_("“%(project)s”在 %(year)s 学年不在资助项目目录中。", project=project.name,
                     year=data.academic_year.label), field="project_id")
    if project.has_grades and data.grade is None:
        errors.add(_("“%(project)s”须填写档次。", project=project.name), field="grade")
    if not project.has_grades and data.grade is not None:
        errors.add(_("“%(project)s”不分档次，请不要填写档次。", project=project.name), field="grade")
    errors.raise_if_any()


def _check_voucher_free(data: DisbursementData, current: Disbursement | None) -> None:
    if not data.voucher or data.project is None:
        return
    clash = db.session.scalar(select(Disbursement).where(
        Disbursement.student_id == data.student.id, Disbursement.project_id == data.project.id,
        Disbursement.voucher == data.voucher))
    if clash is not None and clash is not current:
        raise DomainError(_("该学生的“%(project)s”已有凭证号 %(voucher)s 的发放记录。", project=data.project.name,
                            voucher=data.voucher), field="voucher")


def check_disbursement_form(data: DisbursementData, current: Disbursement | None = None,
                            errors: ErrorCollector | None = None) -> None:
    """Every rule of a typed payment at once, the voucher's uniqueness included, with earlier errors."""
    errors = errors or ErrorCollector()
    errors.run(check_disbursement, data)
    errors.run(_check_voucher_free, data, current)
    errors.raise_if_any()


def disbursement_values(data: DisbursementData) -> dict:
    return {"student_id": data.student.id, "school_id": data.student.school_id, "project_id": data.project.id,
            "grade": data.grade.value if data.grade else None, "amount": data.amount, "paid_on": data.paid_on,
            "academic_year_id": data.academic_year.id, "term": data.term, "voucher": data.voucher or None}


def record_disbursement(actor, data: DisbursementData) -> Disbursement:
    """Record one payment after checking every rule."""
    check_disbursement_form(data, None)
    disbursement = Disbursement(**disbursement_values(data), recorded_by_id=getattr(actor, "id", None))
    db.session.add(disbursement)
    db.session.flush()
    record(LedgerAction.DISBURSED, actor=actor, obj=disbursement, unit_id=disbursement.school_id)
    disbursement_recorded.send(disbursement, actor=actor)
    return disbursement


def update_disbursement(actor, disbursement: Disbursement, data: DisbursementData,
                        expected_version: int | None = None) -> list[str]:
    check_version(disbursement.version, expected_version)
    check_disbursement_form(data, disbursement)
    changed = [k for k, v in disbursement_values(data).items() if getattr(disbursement, k) != v]
    for name in changed:
        setattr(disbursement, name, disbursement_values(data)[name])
    if changed:
        db.session.flush()
        record(LedgerAction.DISBURSEMENT_UPDATED, actor=actor, obj=disbursement, unit_id=disbursement.school_id,
               fields=changed)
    return changed


# --- care records ------------------------------------------------------------------------------------------

@dataclass
class RecordData:
    student: Student
    kind: RecordKind
    happened_on: date
    summary: str
    outcome: str | None = None
    next_step: str | None = None
    next_step_due: date | None = None
    tier: Tier | None = None
    post: str | None = None
    hours: Decimal | None = None
    pay: Decimal | None = None
    # Ids of the student's open follow-ups the writer ticked as done by this record (a new record only).
    closes: tuple[int, ...] = ()

    @property
    def effective_tier(self) -> Tier:
        """Psychological care is confidential unless said otherwise; everything else is normal by default."""
        if self.tier is not None:
            return self.tier
        return Tier.RESTRICTED if self.kind is RecordKind.PSYCH_CARE else Tier.NORMAL


def check_record(data: RecordData, today: date, errors: ErrorCollector | None = None) -> None:
    """Every rule of a care record at once, with earlier errors; a part the form could not read (None) is skipped."""
    errors = errors or ErrorCollector()
    if data.summary is not None and not data.summary.strip():
        errors.add(_("请填写记录内容。"), field="summary")
    if data.happened_on is not None and data.happened_on > today:
        errors.add(_("记录的日期不能晚于今天。"), field="happened_on")
    if data.next_step_due and not data.next_step:
        errors.add(_("填写了下一步的期限，请同时写明下一步做什么。"), field="next_step")
    if data.kind is RecordKind.WORK_STUDY:
        _check_work_study(data, errors)
    elif data.post or data.hours or data.pay:
        errors.add(_("岗位、工时和报酬只用于勤工助学记录。"), field="post")
    errors.raise_if_any()


def _check_work_study(data: RecordData, errors: ErrorCollector) -> None:
    if not data.post:
        errors.add(_("勤工助学须填写岗位。"), field="post")
    if data.hours is not None and data.hours <= 0:
        errors.add(_("工时须大于 0。"), field="hours")
    if data.pay is not None:
        try:
            parse_amount(str(data.pay))
        except DomainError as error:
            errors.add(error.message, field="pay")


def _record_values(data: RecordData) -> dict:
    return {"student_id": data.student.id, "school_id": data.student.school_id, "kind": data.kind.value,
            "happened_on": data.happened_on, "summary": data.summary.strip(), "outcome": data.outcome or None,
            "next_step": data.next_step or None, "next_step_due": data.next_step_due,
            "tier": data.effective_tier.value, "post": data.post or None, "hours": data.hours, "pay": data.pay}


def create_record(actor, data: RecordData, today: date) -> SupportRecord:
    """Log an act of care for a student."""
    check_record(data, today)
    support = SupportRecord(**_record_values(data), staff_id=getattr(actor, "id", None))
    db.session.add(support)
    db.session.flush()
    # Only which kind and tier: the summary of a confidential record never goes into the log.
    record(LedgerAction.RECORD_CREATED, actor=actor, obj=support, unit_id=support.school_id,
           detail=f"{support.kind}/{support.tier}")
    record_created.send(support, actor=actor, closes=tuple(data.closes))
    return support


def update_record(actor, support: SupportRecord, data: RecordData, today: date,
                  expected_version: int | None = None) -> list[str]:
    check_version(support.version, expected_version)
    check_record(data, today)
    values = _record_values(data)
    changed = [k for k, v in values.items() if getattr(support, k) != v]
    for name in changed:
        setattr(support, name, values[name])
    if changed:
        db.session.flush()
        record(LedgerAction.RECORD_UPDATED, actor=actor, obj=support, unit_id=support.school_id, fields=changed)
        record_updated.send(support, actor=actor, changed=changed)
    return changed


def audit_reads(user, records, address: str | None) -> None:
    """One audit row per confidential record shown open, from `address`, in a single statement for the page."""
    record_each(LedgerAction.RECORD_READ, actor=user, address=address, object_type="support_records",
                objects=[(r.id, r.school_id) for r in records if r.is_restricted])


def audit_attachment_read(user, attachment, support: SupportRecord) -> None:
    record(LedgerAction.ATTACHMENT_READ, actor=user, obj=attachment, unit_id=support.school_id)


# --- removal -----------------------------------------------------------------------------------------------

def remove_entry(actor, entry, reason: str) -> None:
    """Soft-delete a disbursement or a record, with the reason in the audit log."""
    if not reason or not reason.strip():
        raise DomainError(_("请填写删除原因。"), field="reason")
    if entry.is_deleted:
        raise DomainError(_("该记录已删除。"))
    entry.deleted_at, entry.deleted_by_id, entry.delete_reason = utcnow(), getattr(actor, "id", None), reason.strip()
    db.session.flush()
    # The reason shows in the audit log, except for a confidential record, whose reason may speak of its content.
    detail = _("（保密记录）") if getattr(entry, "is_restricted", False) else reason.strip()[:200]
    record(LedgerAction.REMOVED, actor=actor, obj=entry, unit_id=entry.school_id, fields=["delete_reason"],
           detail=detail)


def restore_entry(actor, entry) -> None:
    """Bring a removed entry back."""
    if not entry.is_deleted:
        raise DomainError(_("该记录没有被删除。"))
    entry.deleted_at = entry.deleted_by_id = entry.delete_reason = None
    db.session.flush()
    record(LedgerAction.RESTORED, actor=actor, obj=entry, unit_id=entry.school_id)


# --- attachments -------------------------------------------------------------------------------------------

def _attachment_names() -> set[str]:
    from caretrack.ledger.models import Attachment

    return set(db.session.scalars(select(Attachment.stored_name)))


# A scanned visit form or a photo: what core.uploads checks, stores (0600) and sweeps.
ATTACHMENTS = uploads.register(uploads.UploadKind(
    folder="attachments", types=(*uploads.IMAGES, "application/pdf"), field="attachment",
    too_big=N_("附件不能超过 %(mb)d MB。"), wrong_type=N_("附件只能是 JPG、PNG 照片或 PDF 扫描件。"),
    referenced=_attachment_names))
sniff_type = uploads.sniff_type


def add_attachment(actor, support: SupportRecord, filename: str, content: bytes, folder, max_bytes: int):
    """Keep a file of a record under `folder`, after checking its size and its real type (core.uploads)."""
    from pathlib import Path

    from caretrack.ledger.models import Attachment

    stored = uploads.store(ATTACHMENTS, content, max_bytes, folder)
    attachment = Attachment(filename=Path(filename or "附件").name[:200], stored_name=stored.stored_name,
                            content_type=stored.content_type, size=stored.size)
    support.attachments.append(attachment)
    db.session.flush()
    record(LedgerAction.ATTACHMENT_ADDED, actor=actor, obj=attachment, unit_id=support.school_id)
    return attachment


