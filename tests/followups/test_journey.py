"""Issue 5 from end to end.

A visit scheduled for tomorrow reaches the morning digest and the inbox, escalates to the counselor when left
undone, and shows in the calendar feed until the visit is logged, which closes it.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from icalendar import Calendar

from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.followups import tasks
from caretrack.followups.models import FollowUp
from caretrack.notify import tasks as notify_tasks
from tests.factories import make_student, make_user
from tests.notify.conftest import mail, smtp  # noqa: F401 - the local SMTP server fixtures

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


def calendar_events(client, token) -> list[str]:
    return [str(e["summary"]) for e in Calendar.from_ical(client.get(f"/calendar/{token}.ics").data).walk("VEVENT")]


def test_a_visit_due_tomorrow_is_reminded_escalated_and_closed(city, mail, client_for):  # noqa: F811
    teacher = make_user(Role.CLASS_TEACHER, city.class_a, email="liu@school.example")
    counselor = make_user(Role.COUNSELOR, city.east_school, email="zheng@school.example")
    student = make_student(city.class_a, name="王小明")
    with time_machine.travel(at(28, 10), tick=False) as clock:
        browser = client_for(teacher)  # signed cookies must not come from the future
        created = browser.post(f"/followups/new?student={student.id}", data={
            "kind": "visit", "assignee_id": teacher.id, "due_on": "2026-11-29", "note": "了解寒假安排"})
        assert created.headers["Location"].endswith("#followups"), created.headers["Location"]
        followup = db.session.query(FollowUp).one()
        browser.post("/followups/calendar", data={"action": "new"})
        assert calendar_events(browser, teacher.calendar_token) == ["家访：王*明"]

        clock.move_to(at(29, 7))
        tasks.remind_due()
        clock.move_to(datetime(2026, 11, 29, 7, 30, tzinfo=SHANGHAI))
        assert notify_tasks.send_digests() == 1
        (digest,) = mail.to("liu@school.example")
        assert "家访" in digest.get_body(("plain",)).get_content()
        browser = client_for(teacher)  # the next morning: yesterday's session has timed out
        assert "家访将于今天到期" in browser.get("/inbox/").get_data(as_text=True)
        assert notify_tasks.send_digests() == 0  # nothing twice

        clock.move_to(at(3, 7, month=12))
        assert tasks.escalate() == 1
        assert "有一条家访已逾期未完成" in client_for(counselor).get("/inbox/").get_data(as_text=True)

        browser = client_for(teacher)
        browser.post(f"/ledger/students/{student.id}/records", data={
            "kind": "home_visit", "happened_on": "2026-12-03", "summary": "家访：与家长商量寒假安排", "tier": "",
            "closes": followup.id})
        db.session.refresh(followup)
        assert followup.status == "done"
        assert calendar_events(browser, teacher.calendar_token) == []
