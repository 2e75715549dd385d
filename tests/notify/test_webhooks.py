"""Group robots receive their JSON from a local HTTP server's point of view; faults are retried with backoff."""

import logging
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select

from caretrack.extensions import db
from caretrack.notify import tasks
from caretrack.notify.models import WebhookDelivery, WebhookTarget
from caretrack.notify.services import notify_unit

START = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)
TEXT = "本校有 3 项家访已逾期，请及时处理。"
CONTENT = f"【学生资助】{TEXT}"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def add_robot(unit, robot, path: str, kind: str = "wecom", query: str = "key=0123456789abcdef") -> WebhookTarget:
    target = WebhookTarget(unit_id=unit.id, kind=kind, url=robot.url(path, query), is_active=True)
    db.session.add(target)
    db.session.flush()
    return target


def deliveries() -> list[WebhookDelivery]:
    return db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


def deliver() -> int:
    sent = tasks.deliver_webhooks()
    db.session.expire_all()
    return sent


@pytest.mark.usefixtures("clock")
def test_wecom_and_dingtalk_robots_receive_their_json(city, robot):
    add_robot(city.east_school, robot, "/cgi-bin/webhook/send", "wecom", "key=wecom-secret-key-123")
    add_robot(city.east_school, robot, "/robot/send", "dingtalk", "access_token=dingtalk-secret-token")
    notify_unit(city.east_school.id, "overdue:2026-11-30", TEXT)
    assert deliver() == 2
    (wecom,) = robot.received["/cgi-bin/webhook/send"]
    (dingtalk,) = robot.received["/robot/send"]
    assert wecom["json"] == {"msgtype": "text", "text": {"content": CONTENT}}
    assert dingtalk["json"] == {"msgtype": "text", "text": {"content": CONTENT}}
    assert wecom["query"] == "key=wecom-secret-key-123"
    assert wecom["content_type"].startswith("application/json")
    assert [(d.status, d.attempts, d.sent_at) for d in deliveries()] == [("sent", 1, START), ("sent", 1, START)]
    assert deliver() == 0  # nothing is sent twice
    assert len(robot.received["/robot/send"]) == 1


def test_a_500_is_retried_with_backoff_then_given_up(city, robot, clock):
    robot.answers["/broken"] = (500, {"error": "internal"})
    add_robot(city.east_school, robot, "/broken")
    notify_unit(city.east_school.id, "overdue", TEXT)
    waits = []
    for attempt in range(1, tasks.WEBHOOK_MAX_ATTEMPTS + 1):
        assert deliver() == 0
        (delivery,) = deliveries()
        assert (delivery.attempts, delivery.last_error) == (attempt, "HTTP 500")
        assert len(robot.received["/broken"]) == attempt
        if delivery.status == "failed":
            break
        wait = delivery.next_attempt_at - tasks.utcnow()
        waits.append(wait)
        clock.shift(wait - timedelta(seconds=1))
        assert deliver() == 0  # not due yet
        assert len(robot.received["/broken"]) == attempt
        clock.shift(timedelta(seconds=1))
    assert [w.total_seconds() / 60 for w in waits] == [1, 2, 4, 8, 16]
    assert (delivery.status, delivery.attempts) == ("failed", tasks.WEBHOOK_MAX_ATTEMPTS)
    clock.shift(timedelta(hours=2))
    assert deliver() == 0
    assert len(robot.received["/broken"]) == tasks.WEBHOOK_MAX_ATTEMPTS


def test_a_robot_that_recovers_gets_the_message_once(city, robot, clock):
    robot.answers["/flaky"] = [(502, {}), (200, {"errcode": 0, "errmsg": "ok"})]
    add_robot(city.east_school, robot, "/flaky")
    notify_unit(city.east_school.id, "overdue", TEXT)
    assert deliver() == 0
    clock.shift(timedelta(minutes=1))
    assert deliver() == 1
    (delivery,) = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, None)
    clock.shift(timedelta(minutes=10))
    assert deliver() == 0
    assert len(robot.received["/flaky"]) == 2


def test_a_timeout_does_not_hold_up_the_next_robot(app, city, robot, monkeypatch, clock):
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.5)
    robot.answers["/slow"] = "hang"
    slow = add_robot(city.east_school, robot, "/slow")
    notify_unit(city.east_school.id, "first", TEXT)
    notify_unit(city.east_school.id, "second", TEXT)  # a second message to the slow robot, queued before...
    fine = add_robot(city.east_school, robot, "/fine")
    notify_unit(city.east_school.id, "third", TEXT)  # ...the fine robot's
    assert deliver() == 1
    assert len(robot.received["/fine"]) == 1
    # The slow robot was tried once: after its timeout its other message waits for a later run.
    assert len(robot.received["/slow"]) == 1
    by_target = {(d.target_id, d.key.partition(":")[2]): d for d in deliveries()}
    timed_out = by_target[(slow.id, "first")]
    # It got the request and did not answer: maybe posted, so it is not posted again by a later run.
    assert (timed_out.status, timed_out.attempts) == ("uncertain", 1)
    assert "timed out" in timed_out.last_error
    assert by_target[(slow.id, "second")].attempts == 0
    assert by_target[(fine.id, "third")].status == "sent"
    clock.shift(3600)
    deliver()
    assert len(robot.received["/slow"]) == 2  # the second message, once; the first one never again


@pytest.mark.usefixtures("clock")
def test_a_robot_refusing_the_message_is_a_failure(city, robot):
    robot.answers["/refusing"] = (200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    robot.answers["/gone"] = (404, {})
    add_robot(city.east_school, robot, "/refusing")
    add_robot(city.east_school, robot, "/gone")
    notify_unit(city.east_school.id, "overdue", TEXT)
    assert deliver() == 0
    refused, gone = deliveries()
    assert (refused.status, refused.last_error) == ("pending", "errcode 93000: invalid webhook url")
    assert (gone.status, gone.attempts, gone.last_error) == ("failed", 1, "HTTP 404")  # a wrong URL stays wrong


@pytest.mark.usefixtures("clock")
def test_a_disabled_robots_queue_is_dropped(city, robot):
    target = add_robot(city.east_school, robot, "/disabled")
    notify_unit(city.east_school.id, "overdue", TEXT)
    target.is_active = False
    assert deliver() == 0
    assert robot.received["/disabled"] == []
    assert deliveries()[0].status == "failed"


@pytest.mark.usefixtures("clock")
def test_the_robots_secret_url_never_reaches_the_log(city, robot, caplog):
    robot.answers["/broken"] = (500, {})
    add_robot(city.east_school, robot, "/broken", query="key=very-secret-robot-key")
    add_robot(city.east_school, robot, "/ok", query="key=another-secret-robot-key")
    caplog.set_level(logging.DEBUG, logger="caretrack")
    notify_unit(city.east_school.id, "overdue", TEXT)
    deliver()
    assert "webhook delivery" in caplog.text
    assert "secret-robot-key" not in caplog.text
    assert "/broken" not in caplog.text
