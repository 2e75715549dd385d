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


@time_machine.travel(NOW, tick=False)
def test_a_student_who_left_the_class_leaves_the_teachers_lists_and_calendar(setting, login, client):
    from caretrack.students.services import move_student

    login(setting.teacher)
    schedule(client, setting.ann, "2026-11-29", assignee_id=setting.teacher.id)
    followup = db.session.scalar(select(FollowUp))
    client.post("/followups/calendar", data={"action": "new"})
    feed = f"/calendar/{setting.teacher.calendar_token}.ics"
    assert "王小明" in client.get("/followups/?mine=1").get_data(as_text=True)
    assert len(Calendar.from_ical(client.get(feed).data).walk("VEVENT")) == 1

    move_student(None, setting.ann, setting.class_b)
    for path in ("/followups/?mine=1", "/followups/?mine=0", "/followups/?mine=1&status=open"):
        assert "王小明" not in client.get(path).get_data(as_text=True), path
    assert Calendar.from_ical(client.get(feed).data).walk("VEVENT") == []
    assert client.get(f"/followups/{followup.id}").status_code == 404
    # Their new class teacher sees it in the school's list, though it stays assigned to the old one.
    client.post("/logout")
    login(make_user(Role.CLASS_TEACHER, setting.class_b))
    assert "王小明" in client.get("/followups/?mine=0").get_data(as_text=True)
    assert "王小明" not in client.get("/followups/?mine=1").get_data(as_text=True)


# --- a record closes the follow-ups ticked on it; the follow-up says which ------------------------------------

@time_machine.travel(NOW, tick=False)
def test_the_record_form_lists_the_open_follow_ups_with_those_of_its_kind_ticked(setting, login, client):
    login(setting.teacher)
    for kind, day in (("talk", "2026-11-29"), ("call", "2026-11-30")):
        schedule(client, setting.ann, day, assignee_id=setting.teacher.id, kind=kind)
    talk, call = db.session.scalars(select(FollowUp).order_by(FollowUp.id)).all()
    html = client.get(f"/students/{setting.ann.id}").get_data(as_text=True)
    assert f'value="{talk.id}"\n           data-record-kinds="talk psych_care" checked>' in html
    assert f'value="{call.id}"\n           data-record-kinds="call">' in html
    # The follow-up page's link opens the form as the call it asks for, with that follow-up ticked.
    assert f"/students/{setting.ann.id}?close={call.id}#new-record" in client.get(
        f"/followups/{call.id}").get_data(as_text=True)
    html = client.get(f"/students/{setting.ann.id}?close={call.id}").get_data(as_text=True)
    assert '<option selected value="call">电话联系</option>' in html
    assert f'value="{call.id}"\n           data-record-kinds="call" checked>' in html


@time_machine.travel(NOW, tick=False)
def test_a_record_closes_only_what_was_ticked_and_the_follow_up_names_it(setting, login, client):
    login(setting.teacher)
    for kind in ("talk", "call"):
        schedule(client, setting.ann, "2026-11-29", assignee_id=setting.teacher.id, kind=kind)
    talk, call = db.session.scalars(select(FollowUp).order_by(FollowUp.id)).all()
    response = client.post(f"/ledger/students/{setting.ann.id}/records", data={
        "kind": "call", "happened_on": "2026-11-28", "summary": "给家长打电话了解出勤", "tier": "",
        "closes": [call.id]})
    assert response.status_code == 302
    assert (talk.status, call.status) == ("open", "done")
    shown = client.get(f"/followups/{call.id}").get_data(as_text=True)
    assert "2026年11月28日 的电话联系记录" in shown
    assert "给家长打电话了解出勤" in shown


def test_a_confidential_follow_up_is_not_offered_to_a_teacher_and_cannot_be_ticked(setting, login, client):
    from caretrack.ledger.models import RecordKind
    from tests.factories import care

    counselor = make_user(Role.COUNSELOR, setting.class_a)
    care(setting.ann, RecordKind.PSYCH_CARE, actor=counselor, next_step="每周面谈", next_step_due=date(2026, 12, 5))
    derived = db.session.scalar(select(FollowUp))
    login(setting.teacher)
    assert f'name="closes" id="closes-{derived.id}"' not in client.get(
        f"/students/{setting.ann.id}").get_data(as_text=True)
    refused = client.post(f"/ledger/students/{setting.ann.id}/records", data={
        "kind": "talk", "happened_on": "2026-11-28", "summary": "谈话", "tier": "", "closes": [derived.id]})
    assert refused.status_code == 400
    assert derived.status == "open"


# --- scheduling for someone else tells them at once -------------------------------------------------------------

@time_machine.travel(NOW, tick=False)
def test_a_follow_up_scheduled_for_someone_else_reaches_their_inbox_at_once(setting, login, client, client_for):
    from caretrack.notify.models import Notification

    counselor = make_user(Role.COUNSELOR, setting.class_a, display_name="郑老师")
    setting.teacher.display_name = "刘老师"
    login(setting.teacher)
    schedule(client, setting.ann, "2026-12-01", assignee_id=counselor.id)
    schedule(client, setting.ann, "2026-12-02", assignee_id=setting.teacher.id)
    followup = db.session.scalars(select(FollowUp).order_by(FollowUp.id)).first()
    (notification,) = db.session.scalars(select(Notification)).all()
    assert (notification.user_id, notification.key) == (counselor.id, f"followup:{followup.id}:assigned")
    inbox = client_for(counselor).get("/inbox/").get_data(as_text=True)
    assert "刘老师给您安排了家访" in inbox
    assert "王小明 的家访，期限 2026年12月1日。" in inbox
    assert "了解寒假安排" not in inbox  # the note stays on the follow-up's page


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("role", [Role.CLASS_TEACHER, Role.COUNSELOR])
def test_the_file_page_runs_the_same_queries_whatever_the_number_of_follow_ups(setting, login, count_queries, role):
    from caretrack.ledger.models import RecordKind
    from tests.factories import care

    counselor = make_user(Role.COUNSELOR, setting.class_a)
    client = login(setting.teacher if role is Role.CLASS_TEACHER else counselor)
    path = f"/students/{setting.ann.id}"

    def queries() -> int:
        db.session.flush()  # the test's own writes are not the page's
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        return counter.count

    care(setting.ann, RecordKind.PSYCH_CARE, actor=counselor, next_step="面谈", next_step_due=date(2026, 12, 1))
    schedule(client, setting.ann, "2026-12-01", assignee_id=setting.teacher.id if role is Role.CLASS_TEACHER
             else counselor.id)
    few = queries()
    for day in range(2, 12):
        care(setting.ann, RecordKind.PSYCH_CARE if day % 2 else RecordKind.TALK, actor=counselor,
             happened_on=date(2026, 11, day), next_step=f"第{day}次", next_step_due=date(2026, 12, day))
    assert queries() == few


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("role", [Role.CLASS_TEACHER, Role.COUNSELOR])
def test_the_list_runs_the_same_queries_whatever_the_number_of_students(setting, login, count_queries, role):
    from caretrack.ledger.models import RecordKind
    from tests.factories import care

    counselor = make_user(Role.COUNSELOR, setting.class_a)
    client = login(setting.teacher if role is Role.CLASS_TEACHER else counselor)

    def queries() -> int:
        db.session.flush()  # the test's own writes are not the page's
        with count_queries() as counter:
            assert client.get("/followups/?mine=0").status_code == 200
        return counter.count

    def confidential_follow_up() -> None:
        care(make_student(setting.class_a), RecordKind.PSYCH_CARE, actor=counselor, next_step="面谈",
             next_step_due=date(2026, 12, 1))
        schedule(client, make_student(setting.class_a), "2026-12-01", assignee_id=setting.teacher.id)

    confidential_follow_up()
    few = queries()
    for _ in range(8):
        confidential_follow_up()
    assert queries() == few
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
