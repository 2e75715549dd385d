"""Follow-ups that class teachers and counselors schedule, and the visit cadence every identified student is owed."""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caretrack.accounts.models import User
from caretrack.core.choices import N_, LabelledEnum
from caretrack.core.models import EffectiveYearsMixin, EncryptedText, TimestampMixin, VersionedMixin
from caretrack.extensions import db
from caretrack.ledger.models import RecordKind, SupportRecord, Tier
from caretrack.students.models import Student, access_via_student


class FollowUpKind(LabelledEnum):
    VISIT = "visit", N_("家访")
    TALK = "talk", N_("谈心谈话")
    CALL = "call", N_("电话联系")
    PARENT_MEETING = "parent_meeting", N_("家长会")
    TUTORING_CHECK = "tutoring_check", N_("学业帮扶检查")
    OTHER = "other", N_("其他")

    @property
    def closing_record_kinds(self) -> tuple[RecordKind, ...]:
        """The ledger records that fulfil a follow-up of this kind (the record form ticks it for them)."""
        return {
            FollowUpKind.VISIT: (RecordKind.HOME_VISIT,),
            FollowUpKind.TALK: (RecordKind.TALK, RecordKind.PSYCH_CARE),
            FollowUpKind.CALL: (RecordKind.CALL,),
            FollowUpKind.PARENT_MEETING: (RecordKind.PARENT_MEETING,),
            FollowUpKind.TUTORING_CHECK: (RecordKind.TUTORING,),
            FollowUpKind.OTHER: (),
        }[self]

    @classmethod
    def for_record(cls, kind: RecordKind) -> "FollowUpKind":
        """The follow-up a record's next step becomes: a visit after a visit, a talk after a talk…"""
        return {RecordKind.HOME_VISIT: cls.VISIT, RecordKind.TALK: cls.TALK, RecordKind.PSYCH_CARE: cls.TALK,
                RecordKind.CALL: cls.CALL, RecordKind.PARENT_MEETING: cls.PARENT_MEETING,
                RecordKind.TUTORING: cls.TUTORING_CHECK}.get(kind, cls.OTHER)


class FollowUpStatus(LabelledEnum):
    OPEN = "open", N_("待完成")
    DONE = "done", N_("已完成")
    CANCELLED = "cancelled", N_("已取消")


class FollowUp(TimestampMixin, VersionedMixin, db.Model):
    """Something someone must do for a student by a date; closed by the ledger record that did it."""

    __tablename__ = "followups"
    __table_args__ = (
        Index("ix_followups_open_due", "status", "due_on"),
        Index("ix_followups_student", "student_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    # A next step's follow-up holds its record's text: encrypted at rest like the record (core.models.EncryptedText).
    note: Mapped[str | None] = mapped_column(EncryptedText(b"followups.note"))
    status: Mapped[str] = mapped_column(String(10), default=FollowUpStatus.OPEN)
    source: Mapped[str] = mapped_column(String(20), default="manual")  # manual, next_step, screening
    closed_record_id: Mapped[int | None] = mapped_column(ForeignKey("support_records.id"))
    closed_on: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(EncryptedText(b"followups.cancel_reason"))  # 200 characters
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escalation_level: Mapped[int] = mapped_column(default=0)
    # A follow-up made from a record's next step carries the record's tier: its note is the record's text.
    tier: Mapped[str] = mapped_column(String(10), default=Tier.NORMAL, server_default=Tier.NORMAL.value)
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("support_records.id"), index=True)

    student: Mapped[Student] = relationship()
    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    closed_record: Mapped[SupportRecord | None] = relationship(foreign_keys=[closed_record_id])

    @property
    def kind_enum(self) -> FollowUpKind:
        return FollowUpKind(self.kind)

    @property
    def status_enum(self) -> FollowUpStatus:
        return FollowUpStatus(self.status)

    @property
    def is_restricted(self) -> bool:
        return self.tier == Tier.RESTRICTED

    @property
    def shareable_label(self) -> str:
        """What the follow-up is called where it leaves the app (emails, group chats, phone calendars).

        Those reach people the app cannot ask, so a confidential follow-up never shows its kind there.
        """
        return _("保密跟进") if self.is_restricted else self.kind_enum.label

    def is_overdue(self, today: date) -> bool:
        return self.status == FollowUpStatus.OPEN and self.due_on < today


class CadencePeriod(LabelledEnum):
    TERM = "term", N_("每学期")
    YEAR = "year", N_("每学年")


class CadenceRule(EffectiveYearsMixin, TimestampMixin, db.Model):
    """How often identified students must be contacted: a kind of record, every term or year, for whom.

    A rule with neither category nor level applies to every identified student; otherwise to those whose
    identification holds the category, or has the level.
    """

    __tablename__ = "cadence_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    record_kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(20))
    level: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(default=True)

    @property
    def record_kind_enum(self) -> RecordKind:
        return RecordKind(self.record_kind)

    @property
    def period_enum(self) -> CadencePeriod:
        return CadencePeriod(self.period)

    def applies_in(self, start_year: int) -> bool:
        return self.is_active and self.in_force(start_year)


FollowUp.__access_columns__ = access_via_student(FollowUp.student_id, FollowUp.school_id)
