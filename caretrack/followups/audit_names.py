"""How the audit log names this domain's rows (audit/describe.py register_describer)."""

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.audit.describe import Subject, named, register_describer
from caretrack.extensions import db
from caretrack.followups.models import CadenceRule, FollowUp, FollowUpKind
from caretrack.students.models import Student


def followups(ids):
    rows = db.session.execute(select(FollowUp.id, FollowUp.kind, Student.name)
                              .join(Student, Student.id == FollowUp.student_id).where(FollowUp.id.in_(ids)))
    return {i: Subject(_("跟进（%(kind)s）", kind=FollowUpKind(kind).label)
                       if kind in FollowUpKind._value2member_map_ else _("跟进"), owner=name)
            for i, kind, name in rows}


register_describer("cadence_rules", named(CadenceRule, CadenceRule.name))
register_describer("followups", followups)
