"""Follow-ups: schedule, close by the record that did it, cancel; escalate what stays overdue.

Services take the acting user, flush and never commit.
"""

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.accounts.models import User
from caretrack.audit.services import record, register_action_labels
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError
from caretrack.core.models import check_version
from caretrack.extensions import db
from caretrack.followups.models import CadencePeriod, CadenceRule, FollowUp, FollowUpKind, FollowUpStatus
from caretrack.ledger.models import RecordKind, SupportRecord
from caretrack.ledger.services import record_created
from caretrack.students.models import Category, Level, Student


class FollowUpAction:
    SCHEDULED = "followup_scheduled"
    CLOSED = "followup_closed"
    CANCELLED = "followup_cancelled"
    ESCALATED = "followup_escalated"
    CADENCE_SAVED = "cadence_rule_saved"


register_action_labels({
    FollowUpAction.SCHEDULED: N_("安排跟进"),
    FollowUpAction.CLOSED: N_("完成跟进"),
    FollowUpAction.CANCELLED: N_("取消跟进"),
    FollowUpAction.ESCALATED: N_("跟进逾期上报"),
    FollowUpAction.CADENCE_SAVED: N_("修改走访要求"),
})


class PastDueDate(DomainError):
    """The due date is already past: allowed, but only when the person confirms it."""


@dataclass
class FollowUpData:
    student: Student
    kind: FollowUpKind
    assignee: User
    due_on: date
    note: str | None = None
    source: str = "manual"


def schedule(actor, data: FollowUpData, today: date, confirm_past: bool = False) -> FollowUp:
    """Put a follow-up on someone's list; a date already past needs `confirm_past`."""
    if data.due_on < today and not confirm_past:
        raise PastDueDate(_("期限 %(day)s 已经过去。如确需补记，请勾选“确认期限已过”后再保存。",
                            day=data.due_on.isoformat()), field="due_on")
    if not data.assignee.is_active_user:
        raise DomainError(_("负责人的账号已停用。"), field="assignee_id")
    followup = FollowUp(student_id=data.student.id, school_id=data.student.school_id, kind=data.kind.value,
                        assignee_id=data.assignee.id, due_on=data.due_on, note=(data.note or "").strip() or None,
                        source=data.source, created_by_id=getattr(actor, "id", None), status=FollowUpStatus.OPEN)
    db.session.add(followup)
    db.session.flush()
    record(FollowUpAction.SCHEDULED, actor=actor, obj=followup, unit_id=followup.school_id, detail=followup.kind)
    return followup


def close(actor, followup: FollowUp, support: SupportRecord) -> None:
    """Mark the follow-up done by the ledger record that fulfilled it."""
    if followup.status != FollowUpStatus.OPEN:
        raise DomainError(_("这条跟进的状态已是“%(status)s”。", status=followup.status_enum.label))
    if support.student_id != followup.student_id:
        raise DomainError(_("记录与跟进不是同一名学生。"))
    followup.status, followup.closed_record_id = FollowUpStatus.DONE, support.id
    followup.closed_on = support.happened_on
    db.session.flush()
    record(FollowUpAction.CLOSED, actor=actor, obj=followup, unit_id=followup.school_id,
           detail=f"record:{support.id}")


def cancel(actor, followup: FollowUp, reason: str, expected_version: int | None = None) -> None:
    """Call a follow-up off, saying why."""
    check_version(followup.version, expected_version)
    if followup.status != FollowUpStatus.OPEN:
        raise DomainError(_("这条跟进的状态已是“%(status)s”。", status=followup.status_enum.label))
    if not reason or not reason.strip():
        raise DomainError(_("请填写取消原因。"), field="reason")
    followup.status, followup.cancel_reason = FollowUpStatus.CANCELLED, reason.strip()[:200]
    db.session.flush()
    record(FollowUpAction.CANCELLED, actor=actor, obj=followup, unit_id=followup.school_id)


def _on_record_created(support: SupportRecord, actor=None) -> None:
    """A logged visit closes the oldest open follow-up it fulfils; a record's next step becomes a follow-up."""
    kind = RecordKind(support.kind)
    matching = [k.value for k in FollowUpKind if kind in k.closing_record_kinds]
    pending = db.session.scalar(select(FollowUp).where(
        FollowUp.student_id == support.student_id, FollowUp.status == FollowUpStatus.OPEN,
        FollowUp.kind.in_(matching)).order_by(FollowUp.due_on, FollowUp.id).limit(1)) if matching else None
    if pending is not None:
        close(actor, pending, support)
    assignee = actor if actor is not None else (db.session.get(User, support.staff_id) if support.staff_id else None)
    if support.next_step and support.next_step_due and assignee is not None:
        schedule(actor, FollowUpData(student=support.student, kind=FollowUpKind.for_record(kind), assignee=assignee,
                                     due_on=support.next_step_due, note=support.next_step, source="next_step"),
                 today=support.happened_on, confirm_past=True)


record_created.connect(_on_record_created)


# --- the cadence -------------------------------------------------------------------------------------------

SEED_FROM_YEAR = 2019
SEED_RULES = [
    (N_("每学期与每名受助学生谈心谈话一次"), RecordKind.TALK, CadencePeriod.TERM, None, None),
    (N_("每学年对每名受助学生家访一次"), RecordKind.HOME_VISIT, CadencePeriod.YEAR, None, None),
    (N_("建档立卡学生每学期家访一次"), RecordKind.HOME_VISIT, CadencePeriod.TERM, Category.REGISTERED, None),
    (N_("特别困难学生每学期家访一次"), RecordKind.HOME_VISIT, CadencePeriod.TERM, None, Level.SPECIAL),
]


def seed_cadence() -> int:
    """Create the default visit cadence when there is none (idempotent); return how many rules were made."""
    if db.session.scalar(select(CadenceRule.id).limit(1)) is not None:
        return 0
    for name, kind, period, category, level in SEED_RULES:
        db.session.add(CadenceRule(name=name, record_kind=kind.value, period=period.value,
                                   category=category.value if category else None,
                                   level=level.value if level else None, valid_from=SEED_FROM_YEAR))
    db.session.flush()
    return len(SEED_RULES)


@dataclass
class CadenceData:
    name: str
    record_kind: RecordKind
    period: CadencePeriod
    category: Category | None
    level: Level | None
    valid_from: int
    valid_to: int | None = None
    is_active: bool = True


def save_cadence_rule(actor, data: CadenceData, rule: CadenceRule | None = None) -> CadenceRule:
    """The city admin's edit of the visit cadence (policy data, never constants in code)."""
    if not data.name.strip():
        raise DomainError(_("请填写要求的名称。"), field="name")
    if data.valid_to is not None and data.valid_to < data.valid_from:
        raise DomainError(_("停用学年不能早于启用学年。"), field="valid_to")
    rule = rule or CadenceRule()
    rule.name, rule.record_kind, rule.period = data.name.strip(), data.record_kind.value, data.period.value
    rule.category = data.category.value if data.category else None
    rule.level = data.level.value if data.level else None
    rule.valid_from, rule.valid_to, rule.is_active = data.valid_from, data.valid_to, data.is_active
    db.session.add(rule)
    db.session.flush()
    record(FollowUpAction.CADENCE_SAVED, actor=actor, obj=rule)
    return rule
