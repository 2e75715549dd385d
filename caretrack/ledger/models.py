"""The support ledger (帮扶台账): the aid project catalog, disbursements, and records of care."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caretrack.core.choices import N_, LabelledEnum
from caretrack.core.models import EffectiveYearsMixin, EncryptedText, TimestampMixin, UTCDateTime, VersionedMixin
from caretrack.extensions import db
from caretrack.org.models import AcademicYear
from caretrack.students.models import Student, access_via_student


class Grade(LabelledEnum):
    """档次 of a graded project; 一档 is the highest."""

    FIRST = "1", N_("一档")
    SECOND = "2", N_("二档")
    THIRD = "3", N_("三档")


class Period(LabelledEnum):
    ANNUAL = "annual", N_("按学年")
    TERM = "term", N_("按学期")


class RecordKind(LabelledEnum):
    """The kinds of care the ledger keeps besides money, in the order forms offer them: the everyday contacts
    first, confidential psychological care last, so that no one writes one by accident.
    """

    TALK = "talk", N_("谈心谈话")
    CALL = "call", N_("电话联系")
    HOME_VISIT = "home_visit", N_("家访")
    PARENT_MEETING = "parent_meeting", N_("家长会")
    TUTORING = "tutoring", N_("学业帮扶")
    WORK_STUDY = "work_study", N_("勤工助学")
    CAREER = "career", N_("就业指导")
    PSYCH_CARE = "psych_care", N_("心理关爱")


# What a new record is unless the user picks another kind: the talk, the contact class teachers and counselors
# log most, and never a confidential kind, which its writer might not be allowed to read back.
DEFAULT_RECORD_KIND = RecordKind.TALK


class Tier(LabelledEnum):
    NORMAL = "normal", N_("普通")
    RESTRICTED = "restricted", N_("保密")


class AidProject(EffectiveYearsMixin, TimestampMixin, db.Model):
    """资助项目 of one stage, valid for a range of academic years (start years, inclusive)."""

    __tablename__ = "aid_projects"
    __table_args__ = (UniqueConstraint("stage", "name", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    stage: Mapped[str] = mapped_column(String(20), index=True)
    has_grades: Mapped[bool] = mapped_column(default=False)
    period: Mapped[str] = mapped_column(String(10), default=Period.ANNUAL)
    note: Mapped[str | None] = mapped_column(String(200))

    standards: Mapped[list["AidStandard"]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="AidStandard.grade", lazy="selectin")


class AidStandard(db.Model):
    """The standard yearly amount of a project: per grade for graded projects, per variant where the policy
    distinguishes (小学 / 初中); informative, never a limit on what a payment records.
    """

    __tablename__ = "aid_standards"
    __table_args__ = (UniqueConstraint("project_id", "grade", "variant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("aid_projects.id", ondelete="CASCADE"))
    grade: Mapped[str | None] = mapped_column(String(1))
    variant: Mapped[str | None] = mapped_column(String(20))  # e.g. 小学 / 初中 for the living subsidies
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    project: Mapped[AidProject] = relationship(back_populates="standards")


class SoftDeleteMixin:
    """Removal keeps the row, with who removed it and why; the school aid officer can restore it."""

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delete_reason: Mapped[str | None] = mapped_column(String(200))

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Disbursement(TimestampMixin, VersionedMixin, SoftDeleteMixin, db.Model):
    """资助资金发放: one payment of a project to a student. The amount is what was paid, whatever the catalog says."""

    __tablename__ = "disbursements"
    __table_args__ = (
        Index("ix_disbursements_student_year", "student_id", "academic_year_id"),
        Index("uq_disbursements_voucher", "student_id", "project_id", "voucher", unique=True,
              sqlite_where=db.text("voucher IS NOT NULL"), postgresql_where=db.text("voucher IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("aid_projects.id"), index=True)
    grade: Mapped[str | None] = mapped_column(String(1))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    paid_on: Mapped[date] = mapped_column(Date)
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"), index=True)
    term: Mapped[int | None]
    voucher: Mapped[str | None] = mapped_column(String(50))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    student: Mapped[Student] = relationship()
    project: Mapped[AidProject] = relationship(lazy="joined")
    academic_year: Mapped[AcademicYear] = relationship(lazy="joined")

    @property
    def grade_label(self) -> str:
        return Grade(self.grade).label if self.grade else ""


class SupportRecord(TimestampMixin, VersionedMixin, SoftDeleteMixin, db.Model):
    """One act of care: a talk, a home visit, tutoring, work-study, psychological care…"""

    __tablename__ = "support_records"
    __table_args__ = (
        Index("ix_support_records_student_date", "student_id", "happened_on"),
        # A student's last contact (the caseload's order) from the index alone.
        Index("ix_support_records_student_last", "student_id", "happened_on",
              postgresql_where=db.text("deleted_at IS NULL"), sqlite_where=db.text("deleted_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    happened_on: Mapped[date] = mapped_column(Date)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What was said and done, and what comes next: encrypted at rest (core.models.EncryptedText), whatever the
    # tier, so that changing a record's tier never has to re-encrypt it and no copy of the database reads it.
    summary: Mapped[str] = mapped_column(EncryptedText(b"support_records.summary"))
    outcome: Mapped[str | None] = mapped_column(EncryptedText(b"support_records.outcome"))
    next_step: Mapped[str | None] = mapped_column(EncryptedText(b"support_records.next_step"))  # 200 characters
    next_step_due: Mapped[date | None] = mapped_column(Date)
    tier: Mapped[str] = mapped_column(String(10), default=Tier.NORMAL)
    # 勤工助学 only
    post: Mapped[str | None] = mapped_column(String(100))
    hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    pay: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))

    # The removal's reason may speak of a confidential record's content (ledger.services.remove_entry).
    delete_reason: Mapped[str | None] = mapped_column(EncryptedText(b"support_records.delete_reason"))

    student: Mapped[Student] = relationship()
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="Attachment.id", lazy="selectin")

    @property
    def kind_enum(self) -> RecordKind:
        return RecordKind(self.kind)

    @property
    def is_restricted(self) -> bool:
        return self.tier == Tier.RESTRICTED


class Attachment(TimestampMixin, db.Model):
    """A scanned form or a photo of a record, stored under the instance folder and served only through a view."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("support_records.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]

    record: Mapped[SupportRecord] = relationship(back_populates="attachments")


Disbursement.__access_columns__ = access_via_student(Disbursement.student_id, Disbursement.school_id)
SupportRecord.__access_columns__ = access_via_student(SupportRecord.student_id, SupportRecord.school_id)
