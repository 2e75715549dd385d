"""The term screening (排查): rules as data, runs, the cases they find, submitted tables."""

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caretrack.accounts.models import User
from caretrack.core.choices import N_, LabelledEnum
from caretrack.core.models import EffectiveYearsMixin, TimestampMixin, UTCDateTime, VersionedMixin
from caretrack.extensions import db
from caretrack.ledger.models import Disbursement, Grade
from caretrack.org.models import AcademicYear, Unit
from caretrack.students.models import Student, access_via_student


class CaseKind(LabelledEnum):
    UNAIDED = "unaided", N_("应助未助")
    BELOW_TOP_GRADE = "below_top_grade", N_("未按最高档")
    NO_AID = "no_aid", N_("其他应资助未资助")


class ScreeningRule(EffectiveYearsMixin, TimestampMixin, db.Model):
    """Who must have received what in an academic year.

    Applies to identified students of `stage` (any stage when empty) who hold any of `categories` or any of
    `flags` (when both are empty: every identified student), and whose boarding matches `boarder` when set.
    They must have received `project_name` — at grade `min_grade` or higher when set (一档 = "1" is highest).
    A rule without a project asks for any aid at all: its findings are 其他应资助未资助.
    """

    __tablename__ = "screening_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str | None] = mapped_column(String(20))
    categories: Mapped[list] = mapped_column(JSON, default=list)
    flags: Mapped[list] = mapped_column(JSON, default=list)  # martyr, disaster
    boarder: Mapped[bool | None]
    project_name: Mapped[str | None] = mapped_column(String(50))
    min_grade: Mapped[str | None] = mapped_column(String(1))
    coverage_form: Mapped[str | None] = mapped_column(String(10))  # the table whose coverage question it answers
    is_active: Mapped[bool] = mapped_column(default=True)

    @property
    def required_aid(self) -> str:
        """What the rule asks for, in the form's words: "国家助学金（一档）", "…（二档及以上）" or "任一资助"."""
        if not self.project_name:
            return "任一资助"
        if not self.min_grade:
            return self.project_name
        grade = Grade(self.min_grade)
        return f"{self.project_name}（{grade.zh_name}{'' if grade is Grade.FIRST else '及以上'}）"

    def applies_in(self, start_year: int) -> bool:
        return self.is_active and self.in_force(start_year)


class ScreeningRun(db.Model):
    """One screening of a unit for an academic year and term."""

    __tablename__ = "screening_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"))
    term: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cases_found: Mapped[int] = mapped_column(default=0)

    unit: Mapped[Unit] = relationship()
    academic_year: Mapped[AcademicYear] = relationship()


class CaseStatus(LabelledEnum):
    OPEN = "open", N_("待解决")
    CLOSED = "closed", N_("已解决")


class ScreeningCase(TimestampMixin, VersionedMixin, db.Model):
    """A student a rule found missing aid in a term; the work on it survives re-runs."""

    __tablename__ = "screening_cases"
    __table_args__ = (
        UniqueConstraint("student_id", "academic_year_id", "term", "rule_id"),
        Index("ix_screening_cases_school_term", "school_id", "academic_year_id", "term"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"))
    term: Mapped[int]
    rule_id: Mapped[int] = mapped_column(ForeignKey("screening_rules.id"))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=CaseStatus.OPEN)
    reason: Mapped[str | None] = mapped_column(Text)  # 其他应资助未资助原因
    remedy: Mapped[str | None] = mapped_column(Text)  # 解决措施
    deadline: Mapped[date | None] = mapped_column(Date)  # 时限
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_by_disbursement_id: Mapped[int | None] = mapped_column(ForeignKey("disbursements.id"))
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    closed_on: Mapped[date | None] = mapped_column(Date)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("screening_runs.id"))

    student: Mapped[Student] = relationship()
    rule: Mapped[ScreeningRule] = relationship()
    owner: Mapped[User | None] = relationship()
    closed_by_disbursement: Mapped[Disbursement | None] = relationship()

    @property
    def kind_enum(self) -> CaseKind:
        return CaseKind(self.kind)

    @property
    def status_enum(self) -> CaseStatus:
        return CaseStatus(self.status)


class TableSubmission(db.Model):
    """A table as a unit submitted it for a term: frozen; a correction is a new version with its reason."""

    __tablename__ = "table_submissions"
    __table_args__ = (UniqueConstraint("unit_id", "academic_year_id", "term", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"))
    term: Mapped[int]
    version: Mapped[int]
    form: Mapped[str] = mapped_column(String(10))
    snapshot: Mapped[dict] = mapped_column(JSON)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    correction_reason: Mapped[str | None] = mapped_column(String(500))

    unit: Mapped[Unit] = relationship()
    submitted_by: Mapped[User | None] = relationship()


ScreeningCase.__access_columns__ = access_via_student(ScreeningCase.student_id, ScreeningCase.school_id)
TableSubmission.__access_columns__ = {"unit": TableSubmission.unit_id}
ScreeningRun.__access_columns__ = {"unit": ScreeningRun.unit_id}
