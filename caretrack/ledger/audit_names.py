"""How the audit log names this domain's rows (audit/describe.py register_describer).

A record is named by its kind, never its text, which may be confidential.
"""

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.audit.describe import Subject, named, register_describer
from caretrack.extensions import db
from caretrack.ledger.models import AidProject, Attachment, Disbursement, RecordKind, SupportRecord, Tier
from caretrack.students.models import Student


def _record_kind(kind, tier):
    label = RecordKind(kind).label if kind in RecordKind._value2member_map_ else _("帮扶记录")
    return _("%(kind)s（保密）", kind=label) if tier == Tier.RESTRICTED.value else label


def records(ids):
    rows = db.session.execute(select(SupportRecord.id, SupportRecord.kind, SupportRecord.tier, Student.name)
                              .join(Student, Student.id == SupportRecord.student_id).where(SupportRecord.id.in_(ids)))
    return {i: Subject(_record_kind(kind, tier), owner=name) for i, kind, tier, name in rows}


def attachments(ids):
    rows = db.session.execute(select(Attachment.id, SupportRecord.kind, SupportRecord.tier, Student.name)
                              .join(SupportRecord, SupportRecord.id == Attachment.record_id)
                              .join(Student, Student.id == SupportRecord.student_id).where(Attachment.id.in_(ids)))
    return {i: Subject(_("%(kind)s的附件", kind=_record_kind(kind, tier)), owner=name)
            for i, kind, tier, name in rows}


def disbursements(ids):
    rows = db.session.execute(select(Disbursement.id, AidProject.name, Student.name)
                              .join(AidProject, AidProject.id == Disbursement.project_id)
                              .join(Student, Student.id == Disbursement.student_id).where(Disbursement.id.in_(ids)))
    return {i: Subject(_("资助发放（%(project)s）", project=project), owner=name) for i, project, name in rows}


register_describer("aid_projects", named(AidProject, AidProject.name))
register_describer("support_records", records)
register_describer("attachments", attachments)
register_describer("disbursements", disbursements)
