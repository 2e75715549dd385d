"""Follow-ups on the web: scheduling, the file page, the list, the calendar feed, the cadence admin."""

from datetime import date

import pytest
import time_machine
from icalendar import Calendar
from sqlalchemy import func, select

from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.followups.models import FollowUp
from tests.factories import make_student, make_user

NOW = "2026-11-28 09:00:00+08:00"


@pytest.fixture
def setting(city):
    city.ann = make_student(city.class_a, name="王小明")
    city.teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    return city


def schedule(client, student, due_on: str, **extra):
    data = {"kind": "visit", "assignee_id": "", "due_on": due_on, "note": "了解寒假安排", **extra}
    return client.post(f"/followups/new?student={student.id}", data=data)


@time_machine.travel(NOW, tick=False)
def test_a_class_teacher_schedules_a_visit_and_sees_it_on_the_file(setting, login):
    client = login(setting.teacher)
    response = schedule(client, setting.ann, "2026-11-29", assignee_id=setting.teacher.id)
    assert response.status_code == 302
    html = client.get(f"/students/{setting.ann.id}").get_data(as_text=True)
    assert "跟进与走访" in html
    assert "2026年11月29日" in html
    assert "了解寒假安排" in html
    assert "2026年11月29日" in client.get("/followups/").get_data(as_text=True)


@time_machine.travel(NOW, tick=False)
def test_a_past_due_date_warns_and_writes_nothing_until_confirmed(setting, login):
    client = login(setting.teacher)
    response = schedule(client, setting.ann, "2026-11-01", assignee_id=setting.teacher.id)
    assert response.status_code == 400
    assert "已经过去" in response.get_data(as_text=True)
    assert "确认期限已过" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0
    confirmed = schedule(client, setting.ann, "2026-11-01", assignee_id=setting.teacher.id, confirm_past="y")
    assert confirmed.status_code == 302


def test_a_student_out_of_scope_is_404(setting, login):
    client = login(make_user(Role.CLASS_TEACHER, setting.class_b))
    assert client.get(f"/followups/new?student={setting.ann.id}").status_code == 404
    assert schedule(client, setting.ann, "2026-12-01").status_code == 404


def test_an_inspector_may_not_schedule(setting, login):
    client = login(make_user(Role.INSPECTOR, setting.east))
    assert client.get(f"/followups/new?student={setting.ann.id}").status_code == 403


@time_machine.travel(NOW, tick=False)
def test_the_calendar_feed_lists_open_follow_ups_and_can_be_revoked(setting, login, client):
    login(setting.teacher)
    schedule(client, setting.ann, "2026-11-29", assignee_id=setting.teacher.id)
    client.post("/followups/calendar", data={"action": "new"})
    token = setting.teacher.calendar_token
    feed = client.get(f"/calendar/{token}.ics")
    assert feed.mimetype == "text/calendar"
    events = [c for c in Calendar.from_ical(feed.data).walk("VEVENT")]
    assert [(str(e["summary"]), e.decoded("dtstart")) for e in events] == [("家访：王*明", date(2026, 11, 29))]
    assert "王小明" not in feed.get_data(as_text=True)
    client.post("/followups/calendar", data={"action": "new"})
    assert client.get(f"/calendar/{token}.ics").status_code == 404
    client.post("/followups/calendar", data={"action": "revoke"})
    assert setting.teacher.calendar_token is None


def test_a_guessed_token_is_404(app, client):
    assert client.get("/calendar/nothing.ics").status_code == 404
    assert client.get(f"/calendar/{'x' * 43}.ics").status_code == 404


def test_a_follow_up_page_out_of_scope_is_404(setting, login, client):
    from caretrack.followups import services

    followup = services.schedule(setting.teacher, services.FollowUpData(
        student=setting.ann, kind=services.FollowUpKind.TALK, assignee=setting.teacher, due_on=date(2026, 12, 1)),
        date(2026, 11, 28))
    login(make_user(Role.CLASS_TEACHER, setting.class_b))
    assert client.get(f"/followups/{followup.id}").status_code == 404
    assert client.post(f"/followups/{followup.id}/cancel", data={"reason": "x"}).status_code == 404


def test_only_the_city_admin_edits_the_cadence(setting, login, client):
    from caretrack.followups.services import seed_cadence

    seed_cadence()
    login(setting.teacher)
    assert "每学期与每名受助学生谈心谈话一次" in client.get("/followups/cadence").get_data(as_text=True)
    assert client.get("/followups/cadence/new").status_code == 403
    client.post("/logout")
    login(make_user(Role.CITY_ADMIN, setting.city))
    response = client.post("/followups/cadence/new", data={
        "name": "孤儿学生每学期家访一次", "record_kind": "home_visit", "period": "term", "category": "orphan",
        "level": "", "valid_from": "2026", "is_active": "y"})
    assert response.status_code == 302
    bad = client.post("/followups/cadence/new", data={
        "name": "x", "record_kind": "talk", "period": "year", "category": "", "level": "", "valid_from": "2026",
        "valid_to": "2025", "is_active": "y"})
    assert bad.status_code == 400
    assert "停用学年不能早于启用学年" in bad.get_data(as_text=True)


def test_a_follow_up_due_far_in_the_future_is_refused_and_a_stored_one_keeps_the_feed_working(setting, login, client):
    login(setting.teacher)
    response = schedule(client, setting.ann, "9999-12-31", assignee_id=setting.teacher.id)
    assert response.status_code == 400
    assert "日期须在 1990年1月1日 到 2100年12月31日 之间" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0
    schedule(client, setting.ann, "2026-12-20", assignee_id=setting.teacher.id)
    db.session.scalar(select(FollowUp)).due_on = date(9999, 12, 31)  # stored before dates were checked
    client.post("/followups/calendar", data={"action": "new"})
    feed = client.get(f"/calendar/{setting.teacher.calendar_token}.ics")
    assert feed.status_code == 200
    assert [e.decoded("dtstart") for e in Calendar.from_ical(feed.data).walk("VEVENT")] == [date(9999, 12, 31)]
