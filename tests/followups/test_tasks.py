"""The follow-up jobs: reminders, escalation in two steps, deadline reminders; each sends once."""

from datetime import date

import pytest
from sqlalchemy import select

from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.followups import services, tasks
from caretrack.followups.models import FollowUpKind
from caretrack.notify.models import Notification
from tests.factories import make_student, make_user


@pytest.fixture
def people(city):
    city.teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    city.counselor = make_user(Role.COUNSELOR, city.east_school)
    city.officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    city.other_officer = make_user(Role.SCHOOL_OFFICER, city.west_school)
    city.ann = make_student(city.class_a, name="王小明")
    return city


def plan(people, due_on: date):
    return services.schedule(people.teacher, services.FollowUpData(
        student=people.ann, kind=FollowUpKind.VISIT, assignee=people.teacher, due_on=due_on), date(2026, 1, 1))


def inbox(user) -> list[Notification]:
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).all()


def test_the_assignee_is_reminded_the_day_before_and_on_the_day_once_each(people):
    plan(people, date(2026, 11, 29))
    assert tasks.remind_due(date(2026, 11, 28)) == 1
    assert tasks.remind_due(date(2026, 11, 28)) == 0  # a rerun sends nothing
    assert tasks.remind_due(date(2026, 11, 29)) == 0  # the same due date: one reminder in all
    (reminder,) = inbox(people.teacher)
    assert reminder.subject == "家访将于明天到期"
    assert "王小明" in reminder.body


def test_escalation_goes_to_the_counselor_then_the_school_officer_each_once(people, app):
    days = app.config["FOLLOWUP_ESCALATION_DAYS"]
    followup = plan(people, date(2026, 11, 1))
    assert tasks.escalate(date(2026, 11, 1 + days)) == 0  # not yet overdue by N days
    assert tasks.escalate(date(2026, 11, 2 + days)) == 1
    assert [n.subject for n in inbox(people.counselor)] == ["有一条家访已逾期未完成"]
    assert inbox(people.officer) == []
    assert tasks.escalate(date(2026, 11, 2 + days)) == 0  # each step once
    assert tasks.escalate(date(2026, 11, 2 + 2 * days)) == 1
    assert len(inbox(people.officer)) == 1
    assert inbox(people.other_officer) == []
    assert followup.escalation_level == 2
    assert tasks.escalate(date(2026, 12, 31)) == 0
    assert len(inbox(people.counselor)) == 1


def test_a_closed_follow_up_is_never_escalated(people):
    followup = plan(people, date(2026, 11, 1))
    services.cancel(people.teacher, followup, "已转学")
    assert tasks.escalate(date(2026, 12, 31)) == 0


def test_a_crash_between_two_follow_ups_sends_nothing_twice(people, monkeypatch):
    first, second = plan(people, date(2026, 11, 1)), plan(people, date(2026, 11, 2))
    real = tasks._escalate_one
    calls = []

    def crash_on_second(followup, level, role):
        calls.append(followup.id)
        if followup.id == second.id and len(calls) == 2:
            raise RuntimeError("the scheduler process died")
        real(followup, level, role)

    monkeypatch.setattr(tasks, "_escalate_one", crash_on_second)
    with pytest.raises(RuntimeError):
        tasks.escalate(date(2026, 11, 20))
    db.session.rollback()
    tasks.escalate(date(2026, 11, 20))  # the restart
    subjects = [n.key for n in inbox(people.counselor)]
    assert subjects == [f"followup:{first.id}:escalate:1", f"followup:{second.id}:escalate:1"]


def test_no_reminder_reaches_an_assignee_who_no_longer_has_the_student(people):
    from caretrack.accounts.services import revoke_role

    plan(people, date(2026, 11, 29))
    revoke_role(None, people.teacher.role_assignments[0])
    db.session.flush()
    assert tasks.remind_due(date(2026, 11, 28)) == 0
    assert inbox(people.teacher) == []
