"""Scheduled jobs of the screening: reminders of the deadlines of the official tables.

Each job commits per person and is idempotent: every reminder has a unique key, so a rerun sends nothing twice.
"""

from datetime import date

from flask_babel import gettext as _

from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.notify.services import notify
from caretrack.org import services as org
from caretrack.screening import queries


def remind_deadlines(today: date | None = None) -> int:
    """On 1 and 10 June and December, remind the officers who owe a screening table of its deadline.

    Schools reporting to the city owe 附件1 (their aid officers are reminded); districts owe 附件2 (their
    officers).
    """
    today = today or local_today()
    deadline = next((day for day in org.screening_deadlines_in(today.year) if day.month == today.month), None)
    if deadline is None:
        return 0
    sent = 0
    for user_id, unit_name in queries.officers_owing_tables():
        created = notify(user_id, f"screening-deadline:{deadline.isoformat()}:{today.isoformat()}",
                         _("排查统计表须于 %(day)s 前报送", day=deadline.isoformat()),
                         _("%(unit)s的家庭经济困难学生排查统计汇总表须于 %(day)s 前报送市教委，请按时完成排查并提交。",
                           unit=unit_name, day=deadline.isoformat()), "/")
        db.session.commit()
        sent += created is not None
    return sent
