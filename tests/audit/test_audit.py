"""The audit log: append-only in the database, free of secrets, and a viewer that filters."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import String, cast, func, or_, select, text
from sqlalchemy.exc import DBAPIError

from caretrack.accounts import services as accounts
from caretrack.audit.models import AuditEvent
from caretrack.audit.services import record
from caretrack.core.access import Role
from caretrack.extensions import db
from tests.factories import PASSWORD, make_user


def test_the_database_refuses_to_update_an_audit_event(city):
    event = record("login", username="zhou", detail="original")
    db.session.flush()
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text("UPDATE audit_events SET detail = 'rewritten' WHERE id = :id"), {"id": event.id})
    db.session.expire_all()
    assert db.session.get(AuditEvent, event.id).detail == "original"


def test_the_database_refuses_to_delete_an_audit_event(city):
    event = record("login", username="zhou")
    db.session.flush()
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": event.id})
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.id == event.id)) == 1


def test_no_event_holds_a_password(city, client, login):
    wrong, initial, chosen = "Wrong-guess-771", "Initial-pass-339", "Chosen-pass-552"
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    client.post("/login", data={"username": officer.username, "password": wrong})
    user, _password = accounts.create_user(officer, username="newbie", display_name="新老师", password=initial)
    accounts.change_password(user, initial, chosen)
    accounts.reset_password(officer, user)
    login(officer)
    db.session.flush()
    columns = [AuditEvent.username, AuditEvent.detail, AuditEvent.address, cast(AuditEvent.fields, String)]
    secrets = [wrong, initial, chosen, PASSWORD]
    leaks = select(AuditEvent.id).where(or_(*(column.contains(secret) for column in columns for secret in secrets)))
    assert db.session.scalars(leaks).all() == []
    assert {"login_failed", "user_created", "password_changed", "password_reset", "login"} <= set(
        db.session.scalars(select(AuditEvent.action)))


# --- The viewer --------------------------------------------------------------------------------------------

@pytest.fixture
def events(city):
    """Three events on different days, in the east school."""

    def add(action: str, username: str, at: datetime, detail: str):
        db.session.add(AuditEvent(action=action, username=username, at=at, unit_id=city.east_school.id,
                                  detail=detail))

    add("login", "zhou", datetime(2026, 3, 1, 1, 0, tzinfo=timezone.utc), "event-march-1")
    add("login_failed", "wang", datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc), "event-march-2-local")
    add("unit_updated", "zhou", datetime(2026, 3, 5, 2, 0, tzinfo=timezone.utc), "event-march-5")
    db.session.flush()


# What each event's sentence says (its detail is for the log, not the reader).
SENTENCES = {"event-march-1": "zhou 登录了系统", "event-march-2-local": "wang 登录失败", "event-march-5": "zhou 修改了"}


def shown(client, query: str) -> list[str]:
    page = client.get(f"/audit/?{query}").get_data(as_text=True)
    return [marker for marker, sentence in SENTENCES.items() if sentence in page]


@pytest.mark.usefixtures("events")
def test_the_viewer_filters_by_action(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert shown(client, "") == ["event-march-1", "event-march-2-local", "event-march-5"]
    assert shown(client, "action=login_failed") == ["event-march-2-local"]


@pytest.mark.usefixtures("events")
def test_the_viewer_filters_by_username(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert shown(client, "username=zhou") == ["event-march-1", "event-march-5"]
    assert shown(client, "username=nobody") == []


@pytest.mark.usefixtures("events")
def test_the_viewer_filters_by_local_date(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    # 23:30 UTC on 1 March is 07:30 on 2 March in Beijing: the day a user would name
    assert shown(client, "start=2026-03-02&end=2026-03-02") == ["event-march-2-local"]
    assert shown(client, "start=2026-03-01&end=2026-03-01") == ["event-march-1"]
    assert shown(client, "start=2026-03-02") == ["event-march-2-local", "event-march-5"]
    assert shown(client, "end=2026-03-04") == ["event-march-1", "event-march-2-local"]


@pytest.mark.usefixtures("events")
def test_the_viewer_shows_times_in_local_time_and_labels_in_chinese(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    page = client.get("/audit/?action=login_failed").get_data(as_text=True)
    assert "2026年3月2日 07:30" in page
    assert "登录失败" in page


@pytest.mark.usefixtures("events")
def test_a_malformed_date_filter_is_ignored(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.get("/audit/?start=yesterday")
    assert response.status_code == 200
    assert SENTENCES["event-march-5"] in response.get_data(as_text=True)
