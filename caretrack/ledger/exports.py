"""The payment list as an Excel file (what the filter shows; ID numbers masked; amounts as numbers, 0.00)."""

from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from caretrack.accounts.services import home_unit_id
from caretrack.audit.services import record
from caretrack.core import xlsx
from caretrack.extensions import db
from caretrack.ledger import queries
from caretrack.ledger.models import Disbursement
from caretrack.ledger.services import LedgerAction
from caretrack.students.models import Student

BATCH = 2000


def _rows(statement):
    offset = 0
    statement = statement.options(joinedload(Disbursement.student).joinedload(Student.school))
    while True:
        batch = db.session.scalars(statement.limit(BATCH).offset(offset)).unique().all()
        if not batch:
            return
        for d in batch:
            yield [d.student.school.name, d.student.student_no, d.student.name, d.student.id_masked, d.project.name,
                   d.grade_label, d.amount, d.paid_on.isoformat(), d.academic_year.label, d.term or "",
                   d.voucher or ""]
        offset += BATCH


def disbursements_workbook(actor, filters: queries.DisbursementFilters):
    record(LedgerAction.DISBURSEMENTS_EXPORTED, actor=actor, object_type="disbursements",
           unit_id=filters.school_id or home_unit_id(actor))
    headers = [(_("学校"), 24), (_("学号"), 14), (_("姓名"), 10), (_("身份证号"), 22), (_("资助项目"), 24),
               (_("档次"), 8), (_("金额（元）"), 12), (_("发放日期"), 12), (_("学年"), 11), (_("学期"), 6),
               (_("凭证号"), 14)]
    return xlsx.table_workbook(_("资助资金发放"), headers, _rows(queries.disbursement_query(actor, filters)))
