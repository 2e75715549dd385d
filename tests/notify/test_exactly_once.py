"""Email exactly once across a crash, SMTP over implicit TLS, group robots that hang, DingTalk's signed robots."""

import base64
import hashlib
import hmac
import ipaddress
import ssl
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import pytest
import time_machine
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from caretrack.extensions import db
from caretrack.notify import tasks, webhooks
from caretrack.notify.models import DigestEmail, WebhookDelivery
from caretrack.notify.services import notify, notify_unit
from tests.conftest import free_port
from tests.notify.conftest import MailSink
from tests.notify.test_email import emailed, people
from tests.notify.test_webhooks import TEXT, add_robot


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc), tick=False) as traveller:
        yield traveller


class Crash(Exception):
    """The process dying between the mail server's accept and the commit."""


def test_a_crash_after_the_server_took_the_digest_is_recognised_and_never_resent(mail, monkeypatch):
    teacher, counselor = people()
    real_mark = tasks._mark_emailed
    monkeypatch.setattr(tasks, "_mark_emailed", lambda ids, now: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        tasks.send_digests()
    db.session.rollback()
    assert len(mail.messages) == 1  # the first person's digest reached the server
    [attempt] = db.session.scalars(select(DigestEmail)).all()
    assert attempt.status == "sending"
    assert mail.messages[0]["Message-ID"] == attempt.message_id
    monkeypatch.setattr(tasks, "_mark_emailed", real_mark)
    assert tasks.send_digests() == 1  # the other person's only
    assert len(mail.messages) == 2
    assert {m["To"].addresses[0].addr_spec for m in mail.messages} == {teacher.email, counselor.email}
    db.session.expire_all()
    assert db.session.get(DigestEmail, attempt.id).status == "presumed"
    assert all(emailed(teacher))
    assert all(emailed(counselor))
    assert tasks.send_digests() == 0
    assert len(mail.messages) == 2


def test_the_same_digest_has_the_same_message_id_and_a_new_one_another(mail):
    teacher, _counselor = people()
    tasks.send_digests()
    notify(teacher.id, "followup:7:due", "新的提醒")
    db.session.commit()
    tasks.send_digests(datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc))
    ids = [m["Message-ID"] for m in mail.to(teacher.email)]
    assert len(ids) == len(set(ids)) == 2
    recorded = db.session.scalars(select(DigestEmail.message_id).where(DigestEmail.user_id == teacher.id)).all()
    assert sorted(recorded) == sorted(ids)


def _certificate(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now - timedelta(days=3650))
                   .not_valid_after(now + timedelta(days=3650))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                crl_sign=False, encipher_only=False, decipher_only=False),
                                  critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_the_digest_goes_over_implicit_tls(app, monkeypatch, tmp_path):
    cert_path, key_path = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    sink, port = MailSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        for key, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_USE_SSL": True,
                           "SMTP_CA_FILE": str(cert_path), "MAIL_FROM": "caretrack@school.example"}.items():
            monkeypatch.setitem(app.config, key, value)
        people()
        assert tasks.send_digests() == 2
        assert len(sink.messages) == 2
    finally:
        controller.stop()


def test_hanging_robots_do_not_wait_for_each_other(app, city, robot, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 1)
    for path in ("/a", "/b", "/c"):
        robot.answers[path] = "hang"
        add_robot(city.east_school, robot, path)
    notify_unit(city.east_school.id, "one", TEXT)
    db.session.flush()
    started = time.monotonic()
    assert tasks.deliver_webhooks() == 0
    assert time.monotonic() - started < 2.5  # one timeout, not three after each other
    db.session.expire_all()
    assert {d.status for d in db.session.scalars(select(WebhookDelivery))} == {"uncertain"}


def test_a_run_starts_no_post_after_its_budget(city, robot, monkeypatch):
    add_robot(city.east_school, robot, "/fine")
    notify_unit(city.east_school.id, "one", TEXT)
    db.session.flush()
    monkeypatch.setattr(tasks, "WEBHOOK_RUN_BUDGET", timedelta(0))
    assert tasks.deliver_webhooks() == 0
    assert robot.received["/fine"] == []
    monkeypatch.setattr(tasks, "WEBHOOK_RUN_BUDGET", timedelta(minutes=4))
    assert tasks.deliver_webhooks() == 1


def test_a_signed_dingtalk_robot_gets_timestamp_and_sign_and_never_the_secret(city, robot):
    secret = "SEC0123456789abcdef0123456789abcdef"
    add_robot(city.east_school, robot, "/ding", kind="dingtalk", query=f"access_token=abcdef0123456789&secret={secret}")
    notify_unit(city.east_school.id, "one", TEXT)
    db.session.flush()
    assert tasks.deliver_webhooks() == 1
    [received] = robot.received["/ding"]
    query = parse_qs(received["query"])
    assert "secret" not in query
    assert secret not in received["query"]
    timestamp = query["timestamp"][0]
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]
    assert query["access_token"] == ["abcdef0123456789"]


def test_an_unsigned_url_is_posted_as_it_is():
    assert webhooks.signed_url("https://oapi.dingtalk.com/robot/send?access_token=x") == \
        "https://oapi.dingtalk.com/robot/send?access_token=x"
