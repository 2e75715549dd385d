"""What the activities keep about a student (attendance, an exemplar's story), for the export and the purge."""

from sqlalchemy import select, update

from caretrack.activities.models import Activity, Attendance, Exemplar, ExemplarTalk
from caretrack.extensions import db
from caretrack.ledger.retention import Holding, iso_day, register_holding


def _export(student) -> list[dict]:
    rows = db.session.execute(select(Activity.title, Activity.held_on, Attendance.is_present).join(
        Attendance, Attendance.activity_id == Activity.id).where(Attendance.student_id == student.id)
        .order_by(Activity.held_on, Activity.id))
    attended = [{"活动": title, "日期": iso_day(held_on), "到场": present} for title, held_on, present in rows]
    exemplar = db.session.scalar(select(Exemplar).where(Exemplar.student_id == student.id))
    if exemplar is not None:
        attended.append({"优秀典型": exemplar.story, "状态": exemplar.status, "已公开": exemplar.is_published,
                         "同意人": exemplar.consent_by, "同意日期": iso_day(exemplar.consent_on),
                         "宣讲": [{"日期": iso_day(t.held_on), "对象": t.audience, "说明": t.note}
                                for t in exemplar.talks]})
    return attended


def _purge(student_id: int) -> None:
    # Attendance is a tick, kept for the coverage counts; the story is the child's own and goes, unpublished.
    exemplars = select(Exemplar.id).where(Exemplar.student_id == student_id)
    db.session.execute(update(ExemplarTalk).where(ExemplarTalk.exemplar_id.in_(exemplars)).values(note=None))
    db.session.execute(update(Exemplar).where(Exemplar.student_id == student_id).values(
        story="", is_published=False))


register_holding(Holding(key="活动与优秀典型", audit_name="exemplar_story", export=_export, purge=_purge))
