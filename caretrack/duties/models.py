"""The units' own duties (2021 notice, sections 二, 三, 五, 六, 八): the yearly list as data, records, staff, visits.

A duty type says which kinds of unit owe it, how its status is read and by when it is due in an academic year;
the city admin edits the list, each row with effective years. A record is one act that fulfils a duty (a training,
a meeting, a publication of the policy), with its attendance, its trainees and its files.
"""

from datetime import date
from decimal import Decimal

from sqlalchemy import Column, Date, ForeignKey, Numeric, String, Table, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caretrack.accounts.models import User
from caretrack.core.choices import N_, LabelledEnum
from caretrack.core.models import TimestampMixin, VersionedMixin
from caretrack.extensions import db
from caretrack.ledger.models import AidProject
from caretrack.org.models import AcademicYear, Unit


class DutyCheck(LabelledEnum):
    """How a duty's status for a year is read."""

    RECORDS = "records", N_("按记录")  # done once `min_count` records of the year are kept
    SCREENING = "screening", N_("按排查统计表")  # done once the unit submitted the term's table (screening)
    CENTRE = "centre", N_("按资助中心负责人")  # done while the unit's aid centre has a head
    STAFFING = "staffing", N_("按专职人员配比")  # universities: full-time staff at 1 per 2,500 students


class DutyStatus(LabelledEnum):
    DONE = "done", N_("已完成")
    DUE = "due", N_("未到期")
    LATE = "late", N_("逾期")


class DutyType(TimestampMixin, VersionedMixin, db.Model):
    """One duty a kind of unit owes each academic year; policy data with effective years (start years)."""

    __tablename__ = "duty_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    unit_kinds: Mapped[str] = mapped_column(String(100))  # UnitKind values, comma-separated
    check: Mapped[str] = mapped_column(String(20), default=DutyCheck.RECORDS)
    term: Mapped[int | None]  # the screening term a SCREENING duty reads
    min_count: Mapped[int] = mapped_column(default=1)
    due_month: Mapped[int]
    due_day: Mapped[int]
    needs_contact: Mapped[bool] = mapped_column(default=False)  # a record names the contact (policy publicity)
    is_training: Mapped[bool] = mapped_column(default=False)  # a record lists the staff trained
    first_year: Mapped[int]
    last_year: Mapped[int | None]
    sort_order: Mapped[int] = mapped_column(default=0)

    @property
    def short_name(self) -> str:
        """The name without its parenthesised detail, for the board's narrow column heads (全称 in their title)."""
        return self.name.split("（", 1)[0].strip() or self.name

    @property
    def kinds(self) -> list[str]:
        return [kind for kind in self.unit_kinds.split(",") if kind]

    @property
    def check_enum(self) -> DutyCheck:
        return DutyCheck(self.check)

    def in_force(self, start_year: int) -> bool:
        return self.first_year <= start_year and (self.last_year is None or start_year <= self.last_year)

    def applies_to(self, unit: Unit, start_year: int) -> bool:
        return unit.kind in self.kinds and self.in_force(start_year)

    def due_on(self, start_year: int) -> date:
        """The deadline in academic year `start_year`: September to December fall in its first calendar year."""
        calendar_year = start_year if self.due_month >= 9 else start_year + 1
        return date(calendar_year, self.due_month, self.due_day)


duty_record_units = Table(
    "duty_record_units",
    db.metadata,
    Column("record_id", ForeignKey("duty_records.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True, index=True),
)
duty_record_trainees = Table(
    "duty_record_trainees",
    db.metadata,
    Column("record_id", ForeignKey("duty_records.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True, index=True),
)


class DutyRecord(TimestampMixin, VersionedMixin, db.Model):
    """One act fulfilling a duty of a unit: a training, a meeting, a self-check, a publication of the policy."""

    __tablename__ = "duty_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    duty_type_id: Mapped[int] = mapped_column(ForeignKey("duty_types.id"), index=True)
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"), index=True)
    done_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(200))  # where the policy was published
    contact: Mapped[str | None] = mapped_column(String(100))  # the named contact and how to reach them
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship()
    duty_type: Mapped[DutyType] = relationship(lazy="joined")
    academic_year: Mapped[AcademicYear] = relationship()
    attending_units: Mapped[list[Unit]] = relationship(secondary=duty_record_units, order_by=Unit.code)
    trainees: Mapped[list[User]] = relationship(secondary=duty_record_trainees, order_by=User.display_name)
    files: Mapped[list["DutyFile"]] = relationship(cascade="all, delete-orphan", order_by="DutyFile.id")


class DutyFile(TimestampMixin, db.Model):
    """A photo, the minutes or a scan of a duty record, kept under the instance folder, served through a view."""

    __tablename__ = "duty_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("duty_records.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]

    record: Mapped[DutyRecord] = relationship(back_populates="files")


class AidStaff(TimestampMixin, db.Model):
    """A person of a unit's aid centre, full- or part-time, from one day to another (open while still there)."""

    __tablename__ = "aid_staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # their login, to check their training
    is_full_time: Mapped[bool] = mapped_column(default=True)
    is_head: Mapped[bool] = mapped_column(default=False)  # 中心负责人
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)

    user: Mapped[User | None] = relationship()

    def serves_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class CityVisit(TimestampMixin, db.Model):
    """走访调研: the city visits a unit; its findings and the improvements it asks for, tracked to closure."""

    __tablename__ = "city_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    visited_on: Mapped[date] = mapped_column(Date)
    findings: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship()
    improvements: Mapped[list["Improvement"]] = relationship(cascade="all, delete-orphan", order_by="Improvement.id")


class Improvement(TimestampMixin, db.Model):
    """An improvement a visit requires, by a date; closed with what was done."""

    __tablename__ = "visit_improvements"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("city_visits.id", ondelete="CASCADE"), index=True)
    requirement: Mapped[str] = mapped_column(String(500))
    due_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closing_note: Mapped[str | None] = mapped_column(String(500))

    visit: Mapped[CityVisit] = relationship(back_populates="improvements")


class Budget(TimestampMixin, VersionedMixin, db.Model):
    """资助经费年度预算: what a unit budgets for one aid project in one academic year."""

    __tablename__ = "duty_budgets"
    __table_args__ = (UniqueConstraint("unit_id", "project_id", "academic_year_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("aid_projects.id"))
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    unit: Mapped[Unit] = relationship()
    project: Mapped[AidProject] = relationship()


DutyRecord.__access_columns__ = {"unit": DutyRecord.unit_id}
DutyFile.__access_columns__ = {"unit": lambda ids: DutyFile.record_id.in_(
    select(DutyRecord.id).where(DutyRecord.unit_id.in_(ids)))}
AidStaff.__access_columns__ = {"unit": AidStaff.unit_id}
CityVisit.__access_columns__ = {"unit": CityVisit.unit_id}
Improvement.__access_columns__ = {"unit": lambda ids: Improvement.visit_id.in_(
    select(CityVisit.id).where(CityVisit.unit_id.in_(ids)))}
Budget.__access_columns__ = {"unit": Budget.unit_id}
