"""Term summaries: the narrative a teacher writes, the generated summary, and the frozen yearly archive."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caretrack.core.models import EncryptedJSON, EncryptedText, TimestampMixin, UTCDateTime, VersionedMixin
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db
from caretrack.org.models import AcademicYear, Unit
from caretrack.students.models import Student, access_via_student


class SummaryNarrative(TimestampMixin, VersionedMixin, db.Model):
    """The term's narrative (评语) a class teacher or counselor writes for one student."""

    __tablename__ = "summary_narratives"
    __table_args__ = (UniqueConstraint("student_id", "academic_year_id", "term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"))
    term: Mapped[int]
    text: Mapped[str] = mapped_column(EncryptedText(b"summary_narratives.text"), default="")
    written_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    student: Mapped[Student] = relationship()


class GeneratedSummary(TimestampMixin, db.Model):
    """The last generated content of a student's term summary (the export shape), kept for the archive."""

    __tablename__ = "generated_summaries"
    __table_args__ = (UniqueConstraint("student_id", "academic_year_id", "term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"))
    term: Mapped[int]
    content: Mapped[dict] = mapped_column(EncryptedJSON(b"generated_summaries.content"))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ArchiveClosure(db.Model):
    """One unit's academic year closed: how many snapshots its chain holds and the hash of the last one.

    Append-only (a trigger refuses UPDATE and DELETE), so a snapshot removed from the end of a chain is noticed.
    """

    __tablename__ = "archive_closures"
    __table_args__ = (UniqueConstraint("academic_year_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    forced: Mapped[bool] = mapped_column(default=False)
    snapshot_count: Mapped[int]
    head_hash: Mapped[str | None] = mapped_column(String(64))

    unit: Mapped[Unit] = relationship()
    academic_year: Mapped[AcademicYear] = relationship()


class SnapshotKind:
    SUMMARY = "summary"
    SCREENING_TABLE = "screening_table"


class ArchiveSnapshot(db.Model):
    """A frozen record: its canonical JSON text, the SHA-256 of that text, and the previous snapshot's hash.

    Append-only (a trigger refuses UPDATE and DELETE); `sequence` numbers the unit's chain for the year from 1.
    """

    __tablename__ = "archive_snapshots"
    __table_args__ = (
        UniqueConstraint("academic_year_id", "unit_id", "sequence"),
        Index("ix_archive_snapshots_student", "student_id"),
        # The triggers that refuse UPDATE (see the migrations); a key rotation suspends them for its own
        # transaction to re-encrypt the content (core.database.append_only_suspended).
        {"info": {"append_only_triggers": {"sqlite": "archive_snapshots_no_update",
                                           "postgresql": "archive_snapshots_append_only"}}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    sequence: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"))
    term: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(EncryptedText(b"archive_snapshots.content"))  # the canonical JSON text
    content_hash: Mapped[str] = mapped_column(String(64))
    previous_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit: Mapped[Unit] = relationship()


SummaryNarrative.__access_columns__ = access_via_student(SummaryNarrative.student_id, SummaryNarrative.school_id)
GeneratedSummary.__access_columns__ = access_via_student(GeneratedSummary.student_id, GeneratedSummary.school_id)
ArchiveSnapshot.__access_columns__ = {"unit": ArchiveSnapshot.unit_id}
ArchiveClosure.__access_columns__ = {"unit": ArchiveClosure.unit_id}
