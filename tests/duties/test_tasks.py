"""Reminders of the duties coming due: to the unit's officers, once per duty and deadline."""

from datetime import date

from sqlalchemy import select

from caretrack.duties.tasks import remind_due_duties
from caretrack.extensions import db
from caretrack.notify.models import Notification


def inbox(user):
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def test_officers_are_reminded_of_duties_due_within_30_days_once(city, people, year, monkeypatch):
    monkeypatch.setattr(db.session, "commit", db.session.flush)  # the test's transaction is rolled back at the end
    remind_due_duties(date(2025, 9, 5))  # due 30 September: publicity, enrolment desk (school); aid centre (district)
    subjects = [n.subject for n in inbox(people["school"])]
    assert any("资助政策宣传" in s for s in subjects)
    assert any("绿色通道" in s for s in subjects)
    assert not any("专题培训" in s for s in subjects)  # due next June
    assert any("资助中心" in n.subject for n in inbox(people["east"]))
    assert inbox(people["teacher"]) == []
    count = len(inbox(people["school"]))
    assert remind_due_duties(date(2025, 9, 6)) == 0  # the next day, a rerun: nothing twice
    assert len(inbox(people["school"])) == count
    assert inbox(people["school"])[0].link.startswith(f"/duties/units/{city.east_school.id}")


def test_a_duty_done_is_not_reminded(city, people, year, duties, monkeypatch):
    from caretrack.duties import services

    monkeypatch.setattr(db.session, "commit", db.session.flush)
    services.add_staff(None, city.east, "李老师", True, True, date(2024, 9, 1))
    remind_due_duties(date(2025, 9, 5))
    assert not any("资助中心" in n.subject for n in inbox(people["east"]))


def test_no_year_no_reminders(app):
    assert remind_due_duties(date(1999, 9, 5)) == 0
