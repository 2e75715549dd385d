"""Job bodies of the duties: remind units of the duties coming due (run daily by the scheduler)."""

import logging
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.core.timeutil import local_today
from caretrack.duties import queries
from caretrack.duties.models import DutyStatus
from caretrack.extensions import db
from caretrack.notify.services import notify
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, Unit, UnitKind
from caretrack.screening.queries import officers_of

log = logging.getLogger(__name__)
REMIND_DAYS_BEFORE = 30


def remind_due_duties(today: date | None = None) -> int:
    """Tell the aid officers of each unit which of its duties fall due within 30 days and are not done yet.

    One notification per officer, unit, duty and deadline (its key), so a rerun or the next day sends nothing twice;
    commits unit by unit.
    """
    today = today or local_today()
    year = db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == org.academic_year_of(today)))
    if year is None:
        return 0
    units = list(db.session.scalars(select(Unit).where(Unit.is_active.is_(True), Unit.kind != UnitKind.CITY)
                                    .order_by(Unit.id)))
    board = queries.build_board(units, year, today)
    officers = officers_of([unit.id for unit in units])
    horizon = today + timedelta(days=REMIND_DAYS_BEFORE)
    sent = 0
    for row in board.rows:
        coming = [cell for cell in row.cells if cell.status is DutyStatus.DUE and cell.due_on <= horizon]
        for cell in coming:
            for user_id in officers.get(row.unit.id, []):
                created = notify(
                    user_id, f"duty-due:{row.unit.id}:{cell.duty.id}:{cell.due_on.isoformat()}",
                    _("单位职责将于 %(day)s 到期：%(duty)s", day=cell.due_on.isoformat(), duty=cell.duty.name),
                    _("%(unit)s的“%(duty)s”须在 %(day)s 前完成并登记。", unit=row.unit.name, duty=cell.duty.name,
                      day=cell.due_on.isoformat()),
                    f"/duties/units/{row.unit.id}?year={year.start_year}")
                sent += created is not None
        db.session.commit()
    log.info("duty reminders: %s sent", sent)
    return sent
