"""What the screening keeps about a student (the work on their cases), for the export and the purge."""

from sqlalchemy import select, update

from caretrack.extensions import db
from caretrack.ledger.retention import PURGED_MASK, Holding, iso_day, register_holding
from caretrack.org.models import AcademicYear
from caretrack.screening.models import ScreeningCase


def _export(student) -> list[dict]:
    rows = db.session.execute(select(ScreeningCase, AcademicYear.start_year).join(
        AcademicYear, AcademicYear.id == ScreeningCase.academic_year_id).where(
        ScreeningCase.student_id == student.id).order_by(AcademicYear.start_year, ScreeningCase.term,
                                                          ScreeningCase.id))
    return [{"学年": f"{start}-{start + 1}", "学期": case.term, "类型": case.kind, "状态": case.status,
             "原因": case.reason, "解决措施": case.remedy, "时限": iso_day(case.deadline),
             "关闭原因": case.closed_reason} for case, start in rows]


def _purge(student_id: int) -> None:
    # The case rows stay (the past terms' tables count them); what was written about the family goes.
    db.session.execute(update(ScreeningCase).where(ScreeningCase.student_id == student_id).values(reason=None))
    db.session.execute(update(ScreeningCase).where(ScreeningCase.student_id == student_id,
                                                   ScreeningCase.closed_reason.is_not(None))
                       .values(closed_reason=PURGED_MASK))


register_holding(Holding(key="排查情况", audit_name="screening_reasons", export=_export, purge=_purge))
