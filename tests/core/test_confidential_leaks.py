"""No confidential text reaches anyone who may not read it, on any page, download, feed, email or group chat.

A psychological-care record (restricted) carries a marker in every free-text field and a next step, so a
follow-up is derived from it; it also closes a class teacher's follow-up. Then every GET endpoint of the access
table is requested as every role, with the calendar feeds, the digest emails and the group-robot payloads the
jobs produce. A marker may show only to the student's counselor and the school aid officer, and must show to
them (so the test cannot pass by showing nothing); whatever leaves the app shows it to no one.
"""

import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from caretrack.accounts.services import grant_role
from caretrack.activities.services import add_member, create_club
from caretrack.core.access import Role, ScopeType
from caretrack.extensions import db
from caretrack.followups import services as followups
from caretrack.followups import tasks as followup_tasks
from caretrack.followups.models import FollowUp, FollowUpKind
from caretrack.ledger import services as ledger
from caretrack.ledger.models import RecordKind
from caretrack.notify import services as notify
from caretrack.notify import tasks as notify_tasks
from caretrack.notify.models import WebhookDelivery, WebhookKind
from caretrack.org.services import ensure_academic_year
from caretrack.students import services as students
from tests.core.test_access_table import ENDPOINTS
from tests.factories import make_student, make_user
from tests.notify.conftest import mail, smtp  # noqa: F401 - the local SMTP server fixtures

NOW = "2026-11-28 10:00:00+08:00"
TODAY = date(2026, 11, 28)
# ASCII, so that no escaping (JSON, headers, percent-encoding) could hide one from the search.
MARKERS = {
    "summary": "zqSUMMARYk1",
    "outcome": "zqOUTCOMEk2",
    "next_step": "zqNEXTSTEPk3",
    "attachment": "zqFILENAMEk4",
}
READERS = {"school officer", "counselor of the student"}
ROLES = {
    "city admin": lambda c: make_user(Role.CITY_ADMIN, c.city),
    "district officer": lambda c: make_user(Role.DISTRICT_OFFICER, c.east),
    "school officer": lambda c: make_user(Role.SCHOOL_OFFICER, c.east_school),
    "counselor of the student": lambda c: make_user(Role.COUNSELOR, c.class_a),
    "counselor of another class": lambda c: make_user(Role.COUNSELOR, c.class_b),
    "class teacher of the student": lambda c: make_user(Role.CLASS_TEACHER, c.class_a),
    "class teacher of another class": lambda c: make_user(Role.CLASS_TEACHER, c.class_b),
    "club leader": lambda c: club_leader(c),
    "inspector": lambda c: make_user(Role.INSPECTOR, c.east_school),
}
# Pages whose query string changes what they list, beside the table's own paths.
VARIANTS = ["/followups/?mine=0", "/followups/?mine=0&status=done", "/followups/?status=done",
            "/students/{student}?kind=psych_care", "/followups/{closed}"]


def marked_record(author, student, today: date, folder: Path, suffix: str = "", closes=()):
    """A psychological-care record (restricted) by `author`, with a next step due tomorrow and an attachment, each
    free-text field carrying its marker (plus `suffix`, to tell records apart); the record and its markers.
    """
    markers = {field: marker + suffix for field, marker in MARKERS.items()}
    record = ledger.create_record(author, ledger.RecordData(
        student=student, kind=RecordKind.PSYCH_CARE, happened_on=today, summary=f"考试焦虑 {markers['summary']}",
        outcome=f"情绪好转 {markers['outcome']}", next_step=f"下周再谈 {markers['next_step']}",
        next_step_due=today + timedelta(days=1), closes=tuple(closes)), today)
    ledger.add_attachment(author, record, f"{markers['attachment']}.pdf", b"%PDF-1.4 x", folder, 1024 * 1024)
    return record, markers


def club_leader(city):
    leader = make_user()
    grant_role(None, leader, Role.CLUB_LEADER, ScopeType.CLUB, city.club)
    return leader


@pytest.fixture
def world(city, app):
    """The student, a user of each role (with an email and a calendar), and the restricted record."""
    ensure_academic_year(2026)
    city.ann = make_student(city.class_a, name="王小明")
    city.caseload = students.create_caseload(None, city.east_school, "重点关注")
    students.add_to_caseload(None, city.caseload, city.ann)
    city.club = create_club(None, city.east_school, "自强社")
    add_member(None, city.club, city.ann)
    city.users = {}
    for number, (role, make) in enumerate(ROLES.items()):
        user = make(city)
        user.email, user.calendar_token = f"user{number}@school.example", f"{number:02d}" + "t" * 40
        city.users[role] = user
    teacher, counselor = city.users["class teacher of the student"], city.users["counselor of the student"]
    city.teachers_talk = followups.schedule(teacher, followups.FollowUpData(
        student=city.ann, kind=FollowUpKind.TALK, assignee=teacher, due_on=date(2026, 12, 5)), TODAY)
    city.record, _markers = marked_record(counselor, city.ann, TODAY, Path(app.instance_path) / "attachments",
                                          closes=(city.teachers_talk.id,))
    city.attachment = city.record.attachments[0]
    city.derived = db.session.scalar(select(FollowUp).where(FollowUp.source_record_id == city.record.id))
    assert city.derived is not None
    assert city.derived.is_restricted
    assert city.teachers_talk.closed_record_id == city.record.id
    notify.add_webhook_target(None, city.east_school.id, WebhookKind.WECOM,
                              "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef")
    db.session.flush()
    return city


def ids(world) -> dict:
    teacher = world.users["class teacher of the student"]
    return {"unit": world.east_school.id, "user": teacher.id, "grant": teacher.role_assignments[0].id,
            "student": world.ann.id, "caseload": world.caseload.id, "club": world.club.id, "unit_job": 1,
            "student_job": 1, "record": world.record.id, "attachment": world.attachment.id,
            "followup": world.derived.id, "closed": world.teachers_talk.id}


def text_of(response) -> str:
    """Everything a response carries: headers, and the body, unzipped when it is an xlsx."""
    body = response.get_data()
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            body = b"".join(archive.read(name) for name in archive.namelist())
    return str(response.headers) + body.decode("utf-8", errors="replace")


def paths(world) -> list[str]:
    values = ids(world)
    table = [case.path.format(**values) for endpoint, case in sorted(ENDPOINTS.items())
             if case.method == "GET" and endpoint != "calendar.feed"]
    return table + [path.format(**values) for path in VARIANTS]


def run_jobs() -> None:
    """The reminder of the derived follow-up, its escalation to the school and its group robot."""
    assert followup_tasks.remind_due(TODAY) == 1
    assert followup_tasks.escalate(date(2026, 12, 28)) == 2


@time_machine.travel(NOW, tick=False)
def test_restricted_text_reaches_only_those_who_may_read_it(world, client_for, mail):  # noqa: F811
    run_jobs()
    seen: dict[str, str] = {}
    leaks = []
    for role, user in world.users.items():
        browser = client_for(user)
        pages = []
        for path in paths(world):
            response = browser.get(path)
            assert response.status_code < 500, (role, path)
            pages.append(text_of(response))
            leaks += [(role, path, field) for field, marker in MARKERS.items()
                      if marker in pages[-1] and role not in READERS]
        feed = browser.get(f"/calendar/{user.calendar_token}.ics")
        assert feed.status_code == 200
        leaks += [(role, "calendar", field) for field, marker in MARKERS.items() if marker in text_of(feed)]
        seen[role] = "\n".join(pages)
    assert leaks == [], "confidential text shown to a role that may not read it"
    for role in READERS:
        assert [field for field, marker in MARKERS.items() if marker not in seen[role]] == [], role

    assert notify_tasks.send_digests() >= 2
    emails = {message["To"].addresses[0].addr_spec: message for message in mail.messages}
    officer, counselor = world.users["school officer"], world.users["counselor of the student"]
    assert {officer.email, counselor.email} <= set(emails)  # the reminder and the escalation were mailed
    for address, message in emails.items():
        body = "".join(part.get_content() for part in message.walk() if part.get_content_maintype() == "text")
        assert [field for field, marker in MARKERS.items() if marker in body] == [], address
        assert "保密跟进" in body
    payloads = [json.dumps(d.payload, ensure_ascii=False) for d in db.session.scalars(select(WebhookDelivery))]
    assert len(payloads) == 1
    assert [field for field, marker in MARKERS.items() if marker in payloads[0]] == []
    assert "谈心谈话" not in payloads[0]


@time_machine.travel(NOW, tick=False)
def test_the_kind_of_a_restricted_record_that_closed_a_follow_up_shows_only_to_its_readers(world, client_for):
    for role, user in world.users.items():
        response = client_for(user).get(f"/followups/{world.teachers_talk.id}")
        if role.endswith("another class") or role == "club leader":
            assert response.status_code == (403 if role == "club leader" else 404), role
            continue
        assert response.status_code == 200, role
        shown = response.get_data(as_text=True)
        assert ("心理关爱" in shown) is (role in READERS), role
        assert "保密记录" in shown or role in READERS, role


@time_machine.travel(NOW, tick=False)
def test_every_calendar_event_of_a_restricted_follow_up_says_only_that_it_is_confidential(world, client):
    feed = client.get(f"/calendar/{world.users['counselor of the student'].calendar_token}.ics")
    assert "保密跟进" in feed.get_data(as_text=True)
    assert "谈心谈话" not in feed.get_data(as_text=True)


@time_machine.travel(NOW, tick=False)
def test_the_reason_a_restricted_record_was_removed_shows_only_where_it_may_be_restored(world, client_for, app):
    """The reason may speak of the record's content: the audit log never holds it, the removed page shows it to the
    school officer (who may restore and read the record), and no other page shows it to anyone.
    """
    reason = "zqREASONk5"
    counselor = world.users["counselor of the student"]
    removed, _markers = marked_record(counselor, world.ann, TODAY, Path(app.instance_path) / "attachments", "x")
    ledger.remove_entry(counselor, removed, f"家长要求 {reason}")
    db.session.flush()
    shown = {}
    for role, user in world.users.items():
        browser = client_for(user)
        shown[role] = [path for path in paths(world) if reason in text_of(browser.get(path))]
    assert shown.pop("school officer") == [f"/ledger/students/{world.ann.id}/removed"]
    assert shown == {role: [] for role in shown}
