"""Units (city, district, school), colleges, classes, academic years and terms."""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caretrack.core.access import ScopeType, register_scope_model
from caretrack.core.choices import N_, LabelledEnum
from caretrack.core.models import TimestampMixin, VersionedMixin
from caretrack.extensions import db


class UnitKind(LabelledEnum):
    CITY = "city", N_("市")
    DISTRICT = "district", N_("区")
    UNIVERSITY = "university", N_("高校")
    VOCATIONAL = "vocational", N_("中职")
    SCHOOL = "school", N_("中小学")
    KINDERGARTEN = "kindergarten", N_("幼儿园")

    @property
    def is_school(self) -> bool:
        return self not in (UnitKind.CITY, UnitKind.DISTRICT)


class Stage(LabelledEnum):
    PRESCHOOL = "preschool", N_("学前教育")
    COMPULSORY = "compulsory", N_("义务教育")
    SENIOR_HIGH = "senior_high", N_("普通高中")
    VOCATIONAL = "vocational", N_("中职")
    HIGHER = "higher", N_("高等教育")


class OwnerType(LabelledEnum):
    PUBLIC = "public", N_("公办")
    PRIVATE = "private", N_("民办")


class Unit(TimestampMixin, VersionedMixin, db.Model):
    """A city, a district or a school; `parent` is the unit it reports to."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    owner_type: Mapped[str] = mapped_column(String(10), default=OwnerType.PUBLIC)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped["Unit | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Unit"]] = relationship(back_populates="parent", order_by="Unit.code")
    stage_rows: Mapped[list["UnitStage"]] = relationship(
        cascade="all, delete-orphan", order_by="UnitStage.stage", lazy="selectin"
    )

    @property
    def unit_kind(self) -> UnitKind:
        return UnitKind(self.kind)

    @property
    def is_school(self) -> bool:
        return self.unit_kind.is_school

    @property
    def owner(self) -> OwnerType:
        return OwnerType(self.owner_type)

    @property
    def stages(self) -> list[Stage]:
        order = list(Stage)
        return sorted((Stage(row.stage) for row in self.stage_rows), key=order.index)

    @property
    def name_with_code(self) -> str:
        """How lists name a unit: 东城区第一中学（2199010101）, in English with ASCII brackets."""
        return _("%(name)s（%(code)s）", name=self.name, code=self.code)

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class UnitStage(db.Model):
    """One of the stages (学段) a school teaches."""

    __tablename__ = "unit_stages"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)


class College(TimestampMixin, db.Model):
    """学院（系）: a college or department of a school."""

    __tablename__ = "colleges"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    school: Mapped[Unit] = relationship()


class SchoolClass(TimestampMixin, db.Model):
    """班级: a class of a school, optionally inside a college."""

    __tablename__ = "classes"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    college_id: Mapped[int | None] = mapped_column(ForeignKey("colleges.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    school: Mapped[Unit] = relationship()
    college: Mapped[College | None] = relationship()


class AcademicYear(db.Model):
    """学年 such as 2025-2026, starting in the autumn of `start_year`."""

    __tablename__ = "academic_years"

    id: Mapped[int] = mapped_column(primary_key=True)
    start_year: Mapped[int] = mapped_column(unique=True)

    @property
    def label(self) -> str:
        return f"{self.start_year}-{self.start_year + 1}"


class Term(db.Model):
    """The dates of term 1 (autumn) or 2 (spring) of a year; unit_id NULL holds the city-wide default."""

    __tablename__ = "terms"
    __table_args__ = (
        UniqueConstraint("academic_year_id", "unit_id", "number"),
        # NULLs are distinct in a unique constraint, so the default rows need their own partial index.
        Index(
            "uq_terms_default", "academic_year_id", "number", unique=True,
            sqlite_where=db.text("unit_id IS NULL"), postgresql_where=db.text("unit_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    number: Mapped[int]
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)

    academic_year: Mapped[AcademicYear] = relationship()
    unit: Mapped[Unit | None] = relationship()


# Where each row sits for core.access: a unit scope reaches schools' colleges and classes too.
Unit.__access_columns__ = {"unit": Unit.id}
College.__access_columns__ = {"unit": College.school_id, "college": College.id}
SchoolClass.__access_columns__ = {
    "unit": SchoolClass.school_id, "college": SchoolClass.college_id, "class": SchoolClass.id,
}
register_scope_model(ScopeType.UNIT, Unit)
register_scope_model(ScopeType.COLLEGE, College)
register_scope_model(ScopeType.CLASS, SchoolClass)
