"""What the follow-ups keep about a student, for the export of their file and the retention purge."""

from sqlalchemy import select, update

from caretrack.extensions import db
from caretrack.followups.models import FollowUp
from caretrack.ledger.retention import Holding, iso_day, register_holding


def _export(student) -> list[dict]:
    followups = db.session.scalars(select(FollowUp).where(FollowUp.student_id == student.id)
                                   .order_by(FollowUp.due_on, FollowUp.id))
    return [{"类型": f.kind, "到期日": iso_day(f.due_on), "状态": f.status, "说明": f.note,
             "完成日期": iso_day(f.closed_on), "取消原因": f.cancel_reason} for f in followups]


def _purge(student_id: int) -> None:
    # A follow-up made from a record's next step copies the record's text into its note.
    db.session.execute(update(FollowUp).where(FollowUp.student_id == student_id).values(
        note=None, cancel_reason=None))


register_holding(Holding(key="跟进", audit_name="followup_notes", export=_export, purge=_purge))
