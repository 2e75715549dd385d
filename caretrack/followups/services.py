"""Follow-ups: schedule, close by the record that did it, cancel; escalate what stays overdue.

Services take the acting user, flush and never commit.
"""

from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.accounts.models import User
from caretrack.audit.services import record, register_action_labels
from caretrack.core.access import Permission, can
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError
from caretrack.core.i18n import format_date
from caretrack.core.models import EffectiveYearsMixin, changed_attributes, check_version
from caretrack.extensions import db
from caretrack.followups.models import CadencePeriod, CadenceRule, FollowUp, FollowUpKind, FollowUpStatus
from caretrack.ledger.models import RecordKind, SupportRecord, Tier
from caretrack.ledger.services import record_created, record_updated
from caretrack.notify.services import notify
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
    tier: Tier = Tier.NORMAL
    source_record: SupportRecord | None = None


def schedule(actor, data: FollowUpData, today: date, confirm_past: bool = False) -> FollowUp:
    """Put a follow-up on someone's list; a date already past needs `confirm_past`."""
    if data.due_on < today and not confirm_past:
        raise PastDueDate(_("期限 %(day)s 已经过去。如确需补记，请勾选“确认期限已过”后再保存。",
                            day=data.due_on.isoformat()), field="due_on")
    if not data.assignee.is_active_user:
        raise DomainError(_("负责人的账号已停用。"), field="assignee_id")
    if not can(data.assignee, Permission.LEDGER_VIEW, data.student):
        # They would be told of a student they may not see, and never find the follow-up in their lists.
        raise DomainError(_("负责人看不到这名学生的档案，请另选负责人。"), field="assignee_id")
    followup = FollowUp(student_id=data.student.id, school_id=data.student.school_id, kind=data.kind.value,
                        assignee_id=data.assignee.id, due_on=data.due_on, note=(data.note or "").strip() or None,
                        source=data.source, created_by_id=getattr(actor, "id", None), status=FollowUpStatus.OPEN,
                        tier=data.tier.value, source_record_id=data.source_record.id if data.source_record else None)
    db.session.add(followup)
    db.session.flush()
    record(FollowUpAction.SCHEDULED, actor=actor, obj=followup, unit_id=followup.school_id, detail=followup.kind)
    if actor is not None and data.assignee.id != actor.id:
        _tell_assignee(actor, followup)
    return followup


def _tell_assignee(actor, followup: FollowUp) -> None:
    """Someone else put a follow-up on the assignee's list: they hear of it now, not at the next morning's job.

    In the app's language, as the reminders: the digest mails it on, and the assignee's choice is not known here.
    Never the note, which may hold what only the writer's role may read.
    """
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        what = followup.shareable_label
        notify(followup.assignee_id, f"followup:{followup.id}:assigned",
               _("%(who)s给您安排了%(what)s", who=actor.display_name, what=what),
               _("%(student)s 的%(what)s，期限 %(day)s。", student=followup.student.name, what=what,
                 day=format_date(followup.due_on)), f"/followups/{followup.id}")


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


def _on_record_created(support: SupportRecord, actor=None, closes=()) -> None:
    """A record closes the follow-ups its writer ticked, and no other; its next step becomes a follow-up.

    Closing by kind and date alone let a psychological-care session close an unrelated call to a class teacher.
    """
    ticked = db.session.scalars(select(FollowUp).where(FollowUp.id.in_(closes)).order_by(FollowUp.id)).all()
    if len(ticked) != len(set(closes)):
        raise DomainError(_("勾选的跟进已不存在，请刷新页面后重新勾选。"), field="closes")
    for followup in ticked:
        close(actor, followup, support)
    kind = RecordKind(support.kind)
    assignee = actor if actor is not None else (db.session.get(User, support.staff_id) if support.staff_id else None)
    if support.next_step and support.next_step_due and assignee is not None:
        schedule(actor, FollowUpData(student=support.student, kind=FollowUpKind.for_record(kind), assignee=assignee,
                                     due_on=support.next_step_due, note=support.next_step, source="next_step",
                                     tier=Tier(support.tier), source_record=support),
                 today=support.happened_on, confirm_past=True)


def _on_record_updated(support: SupportRecord, actor=None, changed=()) -> None:
    """A record made confidential (or open again) takes the follow-ups made from its next step along."""
    if "tier" not in changed:
        return
    for followup in db.session.scalars(select(FollowUp).where(FollowUp.source_record_id == support.id)):
        followup.tier = support.tier
    db.session.flush()


record_created.connect(_on_record_created)
record_updated.connect(_on_record_updated)


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
    EffectiveYearsMixin.check_years(data.valid_from, data.valid_to)
    created = rule is None
    rule = rule or CadenceRule()
    rule.name, rule.record_kind, rule.period = data.name.strip(), data.record_kind.value, data.period.value
    rule.category = data.category.value if data.category else None
    rule.level = data.level.value if data.level else None
    rule.valid_from, rule.valid_to, rule.is_active = data.valid_from, data.valid_to, data.is_active
    changed = changed_attributes(rule)
    if changed:  # a new rule has every attribute changed; an unchanged form writes nothing
        db.session.add(rule)
        db.session.flush()
        record(FollowUpAction.CADENCE_SAVED, actor=actor, obj=rule, fields=None if created else changed)
    return rule
