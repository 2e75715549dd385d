"""The daily digest reaches a real local SMTP server: one email per person, in Chinese, exactly once."""

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select

from caretrack import scheduler
from caretrack.extensions import db
from caretrack.notify import services, tasks
from caretrack.notify.models import Notification
from caretrack.notify.services import notify
from tests.factories import make_user

NOW = datetime(2026, 11, 29, 23, 30, tzinfo=timezone.utc)  # 07:30 on 30 November in Shanghai


@pytest.fixture(autouse=True)
def _clock():
    """Notifications are made the evening before the digest; each run is given its own `now`."""
    with time_machine.travel(datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc), tick=False) as traveller:
        yield traveller


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def emailed(user) -> list:
    return db.session.scalars(select(Notification.emailed_at).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).all()


def people():
    teacher = make_user(display_name="王老师", email="wang@school.example")
    counselor = make_user(display_name="李老师", email="li@school.example")
    for day in (1, 2, 3):
        notify(teacher.id, f"followup:{day}:due", f"家访将于 12 月 {day} 日到期", "安安 的家访即将到期。",
               f"/followups/{day}")
    notify(counselor.id, "followup:9:escalate:1", "有一条家访已逾期未完成")
    db.session.commit()  # the job runs on what was committed; its rollback after a mail server fault keeps it
    return teacher, counselor


def test_each_person_gets_one_chinese_digest_and_a_second_run_sends_nothing(mail):
    teacher, counselor = people()
    assert tasks.send_digests(NOW) == 2
    (to_teacher,) = mail.to("wang@school.example")
    (to_counselor,) = mail.to("li@school.example")
    assert to_teacher["Subject"] == "【学生资助】您有 3 条待办提醒"
    assert to_counselor["Subject"] == "【学生资助】您有 1 条待办提醒"
    assert to_teacher["To"].addresses[0].display_name == "王老师"
    body = text_of(to_teacher)
    assert "王老师：您好！" in body
    assert all(f"家访将于 12 月 {day} 日到期" in body for day in (1, 2, 3))
    assert "https://caretrack.school.example/followups/2" in body
    assert '<a href="https://caretrack.school.example/followups/1"' in html_of(to_teacher)
    assert emailed(teacher) == [NOW, NOW, NOW]

    assert tasks.send_digests(NOW + timedelta(days=1)) == 0
    assert len(mail.messages) == 2


def test_a_new_notification_goes_in_the_next_digest_alone(mail):
    teacher, _counselor = people()
    tasks.send_digests(NOW)
    notify(teacher.id, "followup:4:due", "谈心谈话将于明天到期")
    assert tasks.send_digests(NOW + timedelta(days=1)) == 1
    assert mail.to("wang@school.example")[-1]["Subject"] == "【学生资助】您有 1 条待办提醒"
    assert "谈心谈话将于明天到期" in text_of(mail.to("wang@school.example")[-1])


def test_nobody_without_an_address_or_an_account_is_mailed_and_read_ones_are_left_out(mail):
    no_address = make_user(email=None)
    gone = make_user(email="gone@school.example")
    gone.is_active_user = False
    reader = make_user(email="reader@school.example")
    notify(no_address.id, "k", "提醒")
    notify(gone.id, "k", "提醒")
    services.mark_read(reader, notify(reader.id, "k", "已读的提醒"))
    assert tasks.send_digests(NOW) == 0
    assert mail.messages == []


def test_with_the_mail_server_down_nothing_is_marked_and_it_is_sent_once_when_back(smtp, caplog):
    teacher, counselor = people()
    assert tasks.send_digests(NOW) == 0  # refused connection: logged, not raised
    assert "SMTP server 127.0.0.1" in caplog.text
    assert emailed(teacher) == [None, None, None]
    assert services.unread_count(teacher) == 3  # the inbox does not depend on the mail server

    mail = smtp.start()
    assert tasks.retry_digests(NOW + timedelta(minutes=15)) == 2
    assert tasks.retry_digests(NOW + timedelta(minutes=45)) == 0
    assert tasks.send_digests(NOW + timedelta(days=1)) == 0
    assert [m["To"].addresses[0].addr_spec for m in mail.messages] == ["wang@school.example", "li@school.example"]


def test_a_refused_address_does_not_hold_up_the_others(mail):
    teacher, counselor = people()
    mail.refused.add("wang@school.example")
    assert tasks.send_digests(NOW) == 1
    assert [m["To"].addresses[0].addr_spec for m in mail.messages] == ["li@school.example"]
    assert emailed(teacher) == [None, None, None]  # left for a later run


def test_without_an_smtp_host_email_is_off(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    teacher, _counselor = people()
    assert tasks.send_digests(NOW) == 0
    assert emailed(teacher) == [None, None, None]


def test_the_retry_sends_only_what_the_last_digest_should_have(mail):
    teacher = make_user(email="wang@school.example")
    with time_machine.travel(datetime(2026, 11, 29, 22, 0, tzinfo=timezone.utc), tick=False):  # 06:00 local
        notify(teacher.id, "before", "早上的提醒")
    with time_machine.travel(datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc), tick=False):  # 09:00 local
        notify(teacher.id, "after", "上午的提醒")
    assert tasks.retry_digests(datetime(2026, 11, 30, 2, 15, tzinfo=timezone.utc)) == 1
    assert "早上的提醒" in text_of(mail.messages[0])
    assert "上午的提醒" not in text_of(mail.messages[0])  # waits for tomorrow's digest
    assert tasks.send_digests(datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc)) == 1
    assert "上午的提醒" in text_of(mail.messages[1])


def test_the_last_digest_time_is_local_and_matches_the_schedule():
    (job,) = [job for job in scheduler.JOBS if job.id == "notify.send_digests"]
    assert job.cron == {"hour": tasks.DIGEST_TIME.hour, "minute": tasks.DIGEST_TIME.minute}
    shanghai_0729 = datetime(2026, 11, 29, 23, 29, tzinfo=timezone.utc)
    assert tasks.last_digest_time(shanghai_0729) == datetime(2026, 11, 28, 23, 30, tzinfo=timezone.utc)
    assert tasks.last_digest_time(NOW) == NOW


def test_a_digest_lists_the_first_ones_and_counts_the_rest(mail):
    teacher = make_user(display_name="王老师", email="wang@school.example")
    for number in range(tasks.email.DIGEST_MAX_ITEMS + 5):
        notify(teacher.id, f"k{number}", f"提醒{number}")
    assert tasks.send_digests(NOW) == 1
    (message,) = mail.messages
    assert message["Subject"] == f"【学生资助】您有 {tasks.email.DIGEST_MAX_ITEMS + 5} 条待办提醒"
    assert "另有 5 条" in text_of(message)
    assert all(emailed_at == NOW for emailed_at in emailed(teacher))
