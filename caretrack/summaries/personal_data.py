"""What the summaries keep about a student (narratives, generated summaries, frozen snapshots), for the export and
the retention purge.
"""

from sqlalchemy import delete, select, update

from caretrack.extensions import db
from caretrack.ledger.retention import Holding, register_holding
from caretrack.org.models import AcademicYear
from caretrack.summaries.archive import PURGED_CONTENT
from caretrack.summaries.models import ArchiveSnapshot, GeneratedSummary, SnapshotKind, SummaryNarrative


def _export(student) -> list[dict]:
    rows = db.session.execute(select(SummaryNarrative.text, SummaryNarrative.term, AcademicYear.start_year).join(
        AcademicYear, AcademicYear.id == SummaryNarrative.academic_year_id).where(
        SummaryNarrative.student_id == student.id).order_by(AcademicYear.start_year, SummaryNarrative.term))
    return [{"学年": f"{start}-{start + 1}", "学期": term, "评语": text} for text, term, start in rows]


def _purge(student_id: int) -> None:
    db.session.execute(update(SummaryNarrative).where(SummaryNarrative.student_id == student_id).values(text=""))
    # The generated summaries are copies of the file's text; they are made again from what is left when needed.
    db.session.execute(delete(GeneratedSummary).where(GeneratedSummary.student_id == student_id))
    # The frozen snapshots keep their hashes (the chain still verifies); the archive's trigger allows only this.
    # A purged snapshot is known by its empty title: the content is encrypted, so SQL cannot compare it.
    db.session.execute(update(ArchiveSnapshot).where(
        ArchiveSnapshot.student_id == student_id, ArchiveSnapshot.kind == SnapshotKind.SUMMARY,
        ArchiveSnapshot.title != "").values(title="", content=PURGED_CONTENT))


register_holding(Holding(key="学期评语", audit_name="summaries", export=_export, purge=_purge))
