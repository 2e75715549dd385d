"""notify(): once per person and key; notify_unit(): once per robot and key, and nothing personal to a group."""

import threading

import pytest
from sqlalchemy import delete, func, select

from caretrack.accounts.models import User
from caretrack.core.errors import NotFound
from caretrack.extensions import db
from caretrack.notify import services
from caretrack.notify.models import Notification, WebhookDelivery, WebhookTarget
from caretrack.notify.services import PersonalDataError, notify, notify_unit
from tests.factories import make_id_number, make_user

KEY = "followup:12:due:2026-11-29"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def robot(unit, kind: str = "wecom", active: bool = True) -> WebhookTarget:
    target = WebhookTarget(unit_id=unit.id, kind=kind, url=f"https://robot.example/send?key={kind}-token",
                           is_active=active)
    db.session.add(target)
    db.session.flush()
    return target


def test_a_notification_is_created_once_per_person_and_key():
    teacher, counselor = make_user(), make_user()
    first = notify(teacher.id, KEY, "家访将于明天到期", "安安 的家访将于明天到期。", "/followups/12")
    assert (first.user_id, first.subject, first.link, first.read_at) == (teacher.id, "家访将于明天到期",
                                                                         "/followups/12", None)
    assert notify(teacher.id, KEY, "家访将于明天到期（重发）") is None
    assert notify(counselor.id, KEY, "家访将于明天到期") is not None  # the same key, another person
    assert count(Notification) == 2
    kept = db.session.scalar(select(Notification.subject).where(Notification.user_id == teacher.id))
    assert kept == "家访将于明天到期"


@pytest.mark.no_transaction
def test_two_jobs_notifying_at_once_make_one_row(app):
    """Two transactions insert the same key; the second waits for or finds the first and gets None, no error."""
    with app.app_context():
        user = User(username="race-user", display_name="race", password_hash="x")
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    results = {}

    def second_job():
        with app.app_context():
            results["second"] = notify(user_id, KEY, "第二个任务")
            db.session.commit()

    try:
        with app.app_context():
            results["first"] = notify(user_id, KEY, "第一个任务")
            thread = threading.Thread(target=second_job)
            thread.start()  # on PostgreSQL it waits on the unique index; on SQLite for the write lock
            db.session.commit()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert results["first"] is not None
        assert results["second"] is None
        with app.app_context():
            assert db.session.scalars(select(Notification.subject).where(Notification.user_id == user_id)).all() \
                == ["第一个任务"]
    finally:
        with app.app_context():
            db.session.execute(delete(Notification).where(Notification.user_id == user_id))
            db.session.execute(delete(User).where(User.id == user_id))
            db.session.commit()


def test_a_notification_never_holds_an_id_number():
    user = make_user()
    number = make_id_number()
    with pytest.raises(PersonalDataError) as refused:
        notify(user.id, KEY, "认定复核", f"请核对身份证号 {number} 的学生")
    assert number not in str(refused.value)
    assert count(Notification) == 0


def test_a_notification_links_only_inside_the_app():
    user = make_user()
    for link in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        with pytest.raises(ValueError, match="path of this app"):
            notify(user.id, KEY, "提醒", link=link)
    assert count(Notification) == 0


def test_reading_marks_one_or_all_and_only_ones_own():
    user, other = make_user(), make_user()
    first = notify(user.id, "a", "提醒一")
    notify(user.id, "b", "提醒二")
    notify(user.id, "c", "提醒三")
    theirs = notify(other.id, "a", "别人的提醒")
    assert services.unread_count(user) == 3
    services.mark_read(user, first)
    read_at = first.read_at
    services.mark_read(user, first)
    assert first.read_at == read_at  # reading again keeps the first time
    assert services.unread_count(user) == 2
    with pytest.raises(NotFound):
        services.mark_read(user, theirs)
    assert services.mark_all_read(user) == 2
    assert services.unread_count(user) == 0
    assert services.unread_count(other) == 1


def test_a_unit_message_is_queued_once_per_active_robot(city):
    wecom, dingtalk = robot(city.east_school, "wecom"), robot(city.east_school, "dingtalk")
    robot(city.east_school, "wecom", active=False)
    robot(city.west_school, "wecom")
    queued = notify_unit(city.east_school.id, "overdue:2026-11-29", "本校有 3 项家访已逾期，请及时处理。")
    assert sorted(d.target_id for d in queued) == [wecom.id, dingtalk.id]
    expected = {"msgtype": "text", "text": {"content": "【学生资助】本校有 3 项家访已逾期，请及时处理。"}}
    assert all(d.payload == expected and d.status == "pending" and d.attempts == 0 for d in queued)
    assert notify_unit(city.east_school.id, "overdue:2026-11-29", "本校有 3 项家访已逾期，请及时处理。") == []
    assert count(WebhookDelivery) == 2


def test_a_unit_without_robots_queues_nothing(city):
    assert notify_unit(city.west_school.id, "overdue:2026-11-29", "有 1 项家访已逾期。") == []


@pytest.mark.parametrize("text", [
    "张三（身份证号 {id}）的家访已逾期",
    "请联系家长，电话 13912345678",
    "银行卡号 6222020200112233445 的发放退回",
])
def test_a_group_chat_never_gets_id_card_or_mobile_numbers(city, text):
    """Guard: a group robot's message is read by a whole chat; callers pass counts only."""
    robot(city.east_school)
    with pytest.raises(PersonalDataError):
        notify_unit(city.east_school.id, "leak", text.format(id=make_id_number()))
    assert count(WebhookDelivery) == 0


def test_a_group_message_is_the_callers_text_and_nothing_more(city):
    """The payload adds the keyword prefix only: no student data is pulled in on the way."""
    robot(city.east_school, "dingtalk")
    (delivery,) = notify_unit(city.east_school.id, "deadline:2026-12-10", "附件1 将于 12 月 10 日截止上报。")
    assert delivery.payload == {"msgtype": "text", "text": {"content": "【学生资助】附件1 将于 12 月 10 日截止上报。"}}
