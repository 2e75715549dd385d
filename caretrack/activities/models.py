"""Self-reliance clubs (自强社), themed education activities with attendance, coverage goals, exemplary students."""

from datetime import date, time

from sqlalchemy import Column, Date, ForeignKey, Index, String, Table, Text, Time, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from caretrack.core.access import ScopeType, register_scope_model
from caretrack.core.choices import N_, LabelledEnum
from caretrack.core.models import EffectiveYearsMixin, TimestampMixin, VersionedMixin
from caretrack.extensions import db
from caretrack.org.models import College, Unit
from caretrack.students.models import Student, access_via_student

club_members = Table(
    "club_members",
    db.metadata,
    Column("club_id", ForeignKey("clubs.id", ondelete="CASCADE"), primary_key=True),
    Column("student_id", ForeignKey("students.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Club(TimestampMixin, db.Model):
    """A self-reliance club of a school. Its leader sees the members' names and classes, nothing of their aid."""

    __tablename__ = "clubs"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    school: Mapped[Unit] = relationship()
    members: Mapped[list[Student]] = relationship(secondary=club_members, order_by=Student.name)


Club.__access_columns__ = {"unit": Club.school_id, "club": Club.id}
register_scope_model(ScopeType.CLUB, Club)


# --- themed education activities --------------------------------------------------------------------------

class Theme(EffectiveYearsMixin, TimestampMixin, db.Model):
    """A theme of education activities (诚信教育, 防信贷诈骗教育, ...): catalog data with effective years."""

    __tablename__ = "activity_themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    valid_from: Mapped[int] = mapped_column("first_year")  # the start year of the first academic year it applies to
    valid_to: Mapped[int | None] = mapped_column("last_year")  # None: still in force
    sort_order: Mapped[int] = mapped_column(default=0)
    first_year = synonym("valid_from")  # the names the activities forms and services use
    last_year = synonym("valid_to")


activity_theme_links = Table(
    "activity_theme_links",
    db.metadata,
    Column("activity_id", ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("activity_themes.id"), primary_key=True, index=True),
)


class Activity(TimestampMixin, VersionedMixin, db.Model):
    """One themed activity, organised by a unit (city, district or school), a college or a club.

    `unit_id` is always set: the organising unit itself, or the school of the organising college or club, so
    that a unit scope reaches every activity organised inside it.
    """

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_unit_held_on", "unit_id", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    college_id: Mapped[int | None] = mapped_column(ForeignKey("colleges.id"), index=True)
    club_id: Mapped[int | None] = mapped_column(ForeignKey("clubs.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    starts_at: Mapped[time | None] = mapped_column(Time)
    place: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship()
    college: Mapped[College | None] = relationship()
    club: Mapped[Club | None] = relationship()
    themes: Mapped[list[Theme]] = relationship(secondary=activity_theme_links, order_by=Theme.sort_order,
                                               lazy="selectin")
    photos: Mapped[list["ActivityPhoto"]] = relationship(cascade="all, delete-orphan", order_by="ActivityPhoto.id")

    @property
    def organiser_name(self) -> str:
        if self.club is not None:
            return self.club.name
        if self.college is not None:
            return f"{self.unit.name} {self.college.name}"
        return self.unit.name

    @property
    def theme_names(self) -> str:
        return "、".join(theme.name for theme in self.themes)


class Attendance(db.Model):
    """A student expected at an activity, and whether they came. The sheet is every row; the present ones came."""

    __tablename__ = "activity_attendance"
    __table_args__ = (UniqueConstraint("activity_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    is_present: Mapped[bool] = mapped_column(default=True)

    student: Mapped[Student] = relationship()


class ActivityPhoto(TimestampMixin, db.Model):
    """A photo of an activity, checked by content, stored under the instance folder, served through a view."""

    __tablename__ = "activity_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]


class CoverageGoal(EffectiveYearsMixin, TimestampMixin, db.Model):
    """Every identified student of the listed kinds of school attends `min_count` activities of a theme a year."""

    __tablename__ = "coverage_goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("activity_themes.id"))
    unit_kinds: Mapped[str] = mapped_column(String(100))  # UnitKind values, comma-separated
    valid_from: Mapped[int] = mapped_column("first_year")
    valid_to: Mapped[int | None] = mapped_column("last_year")
    first_year = synonym("valid_from")
    last_year = synonym("valid_to")

    theme: Mapped[Theme] = relationship(lazy="joined")

    @property
    def kinds(self) -> list[str]:
        return [kind for kind in self.unit_kinds.split(",") if kind]


# --- proposals of new club members, exemplary students ----------------------------------------------------

class ProposalStatus(LabelledEnum):
    PENDING = "pending", N_("待审核")
    APPROVED = "approved", N_("已批准")
    REJECTED = "rejected", N_("未批准")


class ClubProposal(TimestampMixin, db.Model):
    """A club leader proposes a student of the school as a member; the school aid officer decides."""

    __tablename__ = "club_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default=ProposalStatus.PENDING)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    club: Mapped[Club] = relationship()
    student: Mapped[Student] = relationship()


class ExemplarStatus(LabelledEnum):
    NOMINATED = "nominated", N_("已推荐")
    APPROVED = "approved", N_("已审定")


class Exemplar(TimestampMixin, VersionedMixin, db.Model):
    """优秀典型: a student nominated for outreach; the story is published only after a recorded consent."""

    __tablename__ = "exemplars"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    story: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=ExemplarStatus.NOMINATED)
    nominated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    consent_by: Mapped[str | None] = mapped_column(String(50))  # the consenting guardian; None: the student
    consent_on: Mapped[date | None] = mapped_column(Date)
    is_published: Mapped[bool] = mapped_column(default=False)

    student: Mapped[Student] = relationship()
    talks: Mapped[list["ExemplarTalk"]] = relationship(cascade="all, delete-orphan",
                                                       order_by="ExemplarTalk.held_on.desc()")


class ExemplarTalk(TimestampMixin, db.Model):
    """An outreach talk an exemplary student gave (宣讲), e.g. at a primary or vocational school."""

    __tablename__ = "exemplar_talks"

    id: Mapped[int] = mapped_column(primary_key=True)
    exemplar_id: Mapped[int] = mapped_column(ForeignKey("exemplars.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    audience: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


Activity.__access_columns__ = {"unit": Activity.unit_id, "college": Activity.college_id, "club": Activity.club_id}
ClubProposal.__access_columns__ = {"unit": lambda ids: ClubProposal.club_id.in_(
    select(Club.id).where(Club.school_id.in_(ids))), "club": ClubProposal.club_id}
Exemplar.__access_columns__ = access_via_student(Exemplar.student_id, Exemplar.school_id)
