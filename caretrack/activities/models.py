"""Self-reliance clubs (自强社): a school's club, its members, the leader granted on it."""

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caretrack.core.access import ScopeType, register_scope_model
from caretrack.core.models import TimestampMixin
from caretrack.extensions import db
from caretrack.org.models import Unit
from caretrack.students.models import Student

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
