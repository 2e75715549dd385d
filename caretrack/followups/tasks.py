"""Scheduled jobs of follow-ups: reminders before the due date, escalation when one stays undone.

Each job takes ids, commits per follow-up, and is idempotent: every notification has a unique key, and an
escalation step is recorded on the follow-up, so a rerun or a restart after a crash sends nothing twice.
"""

import logging
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _

from caretrack.audit.services import record
from caretrack.core.access import Role
from caretrack.core.faults import pause_point
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.followups import queries
from caretrack.followups.models import FollowUp
from caretrack.followups.services import FollowUpAction
from caretrack.notify.services import notify, notify_unit

log = logging.getLogger(__name__)


def _link(followup: FollowUp) -> str:
    return f"/followups/{followup.id}"


def _what(followup: FollowUp) -> str:
    # Names stay out of the subject line (it shows on lock screens); the body names the student. Notifications
    # go on by email, so a confidential follow-up says only that it is one.
    return followup.shareable_label


def remind_due(today: date | None = None) -> int:
    """Tell each assignee about follow-ups due today or tomorrow; return how many reminders were new."""
    today = today or local_today()
    sent = 0
    for followup_id in queries.due_between(today, today + timedelta(days=1)):
        followup = db.session.get(FollowUp, followup_id)
        if not queries.still_in_scope(followup.assignee, followup):
            # The assignee's class or caseload changed: the student is no longer theirs to hear about. Left
            # undone, the follow-up escalates to those who answer for the student now.
            continue
        when = _("今天") if followup.due_on == today else _("明天")
        created = notify(followup.assignee_id, f"followup:{followup.id}:due:{followup.due_on.isoformat()}",
                         _("%(what)s将于%(when)s到期", what=_what(followup), when=when),
                         _("%(student)s 的%(what)s将于%(when)s（%(day)s）到期。", student=followup.student.name,
                           what=_what(followup), when=when, day=followup.due_on.isoformat()), _link(followup))
        db.session.commit()
        sent += created is not None
        pause_point("followups.reminder")  # fault tests cut the database or kill the scheduler here
    return sent


def escalate(today: date | None = None) -> int:
    """Overdue by N days: tell the student's counselors; by 2N days: the school aid officers. Each step once."""
    today = today or local_today()
    days = current_app.config["FOLLOWUP_ESCALATION_DAYS"]
    steps = [(0, Role.COUNSELOR, days), (1, Role.SCHOOL_OFFICER, 2 * days)]
    escalated = 0
    for level, role, after in steps:
        for followup_id in queries.overdue(today, level, after):
            _escalate_one(db.session.get(FollowUp, followup_id), level, role)
            db.session.commit()
            escalated += 1
    return escalated


def _escalate_one(followup: FollowUp, level: int, role: Role) -> None:
    recipients = [u for u in queries.responsible_users(followup.student, role) if u.id != followup.assignee_id]
    for user in recipients:
        notify(user.id, f"followup:{followup.id}:escalate:{level + 1}",
               _("有一条%(what)s已逾期未完成", what=_what(followup)),
               _("%(assignee)s 负责的 %(student)s 的%(what)s已于 %(day)s 到期，至今未完成。",
                 assignee=followup.assignee.display_name, student=followup.student.name, what=_what(followup),
                 day=followup.due_on.isoformat()), _link(followup))
    if role is Role.SCHOOL_OFFICER:
        # The school's group robot hears of it too: without any name, since the whole group reads it.
        notify_unit(followup.school_id, f"followup:{followup.id}:escalate:{level + 1}",
                    _("%(school)s：有一条%(what)s跟进已逾期未完成，请相关老师登录系统查看。",
                      school=followup.student.school.name, what=_what(followup)))
    followup.escalation_level = level + 1
    record(FollowUpAction.ESCALATED, obj=followup, unit_id=followup.school_id,
           detail=f"level {level + 1} to {len(recipients)} {role.value}")
    if not recipients:
        log.warning("follow-up %s overdue with no %s to escalate to", followup.id, role.value)
