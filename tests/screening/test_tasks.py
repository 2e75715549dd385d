"""The screening's scheduled reminders of the official tables' deadlines."""

from datetime import date

from sqlalchemy import select

from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.notify.models import Notification
from caretrack.screening import tasks
from tests.factories import make_user


def inbox(user) -> list[Notification]:
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).all()


def test_deadline_reminders_reach_the_officers_who_owe_a_table(city):
    district = make_user(Role.DISTRICT_OFFICER, city.east)
    uni = make_user(Role.SCHOOL_OFFICER, city.university)
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    assert tasks.remind_deadlines(date(2026, 6, 1)) == 2
    assert tasks.remind_deadlines(date(2026, 6, 1)) == 0
    assert [n.subject for n in inbox(district)] == ["排查统计表须于 2026-06-15 前报送"]
    assert len(inbox(uni)) == 1
    assert inbox(officer) == []  # a district school reports through its district
    assert tasks.remind_deadlines(date(2026, 6, 10)) == 2
    assert tasks.remind_deadlines(date(2026, 7, 1)) == 0
