"""Scheduled jobs of notify: the daily email digest, its retries, and the group-robot deliveries.

Each job takes no ORM objects, commits per person or per delivery, and never raises for a mail server or a
robot that is down: what could not be sent stays pending and a later run sends it, once.
"""

import logging
import os
import smtplib
import socket
import threading
import time as time_module
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import select, update

from caretrack.core import lease
from caretrack.core.timeutil import local_zone, utcnow
from caretrack.extensions import db
from caretrack.notify import email, webhooks
from caretrack.notify.models import (
    DeliveryStatus,
    DigestEmail,
    Notification,
    WebhookDelivery,
    WebhookTarget,
    recipient_model,
)

log = logging.getLogger(__name__)

DIGEST_TIME = time(7, 30)  # local time; scheduler.JOBS runs the digest then
# The digest is about what is new: an older notification waits in the inbox, it is not mailed weeks late.
DIGEST_MAX_AGE = timedelta(days=14)
# The daily digest and its retries may overlap on a slow mail server; the lease lets one of them send.
DIGEST_LEASE = "notify.digest"
DIGEST_LEASE_TIME = timedelta(minutes=10)

WEBHOOK_BATCH = 200
WEBHOOK_MAX_ATTEMPTS = 6
# The deliveries run every 5 minutes: one run starts no post after this, so it ends before the next one starts.
WEBHOOK_RUN_BUDGET = timedelta(minutes=4)
WEBHOOK_PARALLEL_ROBOTS = 8


# --- Email digest ------------------------------------------------------------------------------------------

def send_digests(now: datetime | None = None, created_before: datetime | None = None) -> int:
    """Email each person one digest of their unread notifications not yet emailed; return how many emails.

    With `created_before`, only notifications older than that are sent (see retry_digests).
    """
    now = now or utcnow()
    if not email.email_enabled():
        log.info("digest skipped: no SMTP host configured")
        return 0
    holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    if not lease.acquire(DIGEST_LEASE, holder, DIGEST_LEASE_TIME):
        log.info("digest skipped: another run is sending")
        return 0
    try:
        return _send_all(now, created_before, holder)
    finally:
        lease.release(DIGEST_LEASE, holder)


def retry_digests(now: datetime | None = None) -> int:
    """Send what the last daily digest could not (mail server down); anything newer waits for the next one."""
    now = now or utcnow()
    return send_digests(now, created_before=last_digest_time(now))


def last_digest_time(now: datetime) -> datetime:
    """The latest DIGEST_TIME (local) at or before `now`, in UTC."""
    local_now = now.astimezone(local_zone())
    today = datetime.combine(local_now.date(), DIGEST_TIME, local_zone())
    return (today if local_now >= today else today - timedelta(days=1)).astimezone(timezone.utc)


def _pending(now: datetime, created_before: datetime | None) -> list:
    clauses = [Notification.emailed_at.is_(None), Notification.read_at.is_(None),
               Notification.created_at >= now - DIGEST_MAX_AGE]
    if created_before is not None:
        clauses.append(Notification.created_at < created_before)
    return clauses


def _recipients(now: datetime, created_before: datetime | None) -> list[int]:
    """Ids of active users with an email address and something pending."""
    User = recipient_model()  # noqa: N806 - a model class, named as one
    return list(db.session.scalars(
        select(User.id).join(Notification, Notification.user_id == User.id)
        .where(*_pending(now, created_before), User.email.is_not(None), User.email != "",
               User.is_active_user.is_(True))
        .distinct().order_by(User.id)))


def _send_all(now: datetime, created_before: datetime | None, holder: str) -> int:
    recipients = _recipients(now, created_before)
    if not recipients:
        return 0
    sent = 0
    try:
        with email.smtp_connection() as smtp:
            for user_id in recipients:
                sent += _send_one(smtp, user_id, now, created_before)
                if not lease.acquire(DIGEST_LEASE, holder, DIGEST_LEASE_TIME):  # renew: a city takes a while
                    log.warning("digest stopped: the lease passed to another run")
                    break
    except (OSError, smtplib.SMTPException) as error:
        db.session.rollback()
        log.warning("digest stopped after %d of %d emails, SMTP server %s:%s unavailable (%s); "
                    "the rest wait for the next run", sent, len(recipients), current_app.config["SMTP_HOST"],
                    current_app.config["SMTP_PORT"], type(error).__name__)
    return sent


def _send_one(smtp: smtplib.SMTP, user_id: int, now: datetime, created_before: datetime | None) -> int:
    """Send one person's digest and mark its notifications emailed; 1 when sent, 0 when not.

    The attempt is recorded (and committed) before the message goes to the server, under the digest's stable
    Message-ID. A run that dies after the server took it leaves the attempt `sending`: the next run takes it
    for sent (the mail server's log has the Message-ID to check) and never mails those notifications again.
    """
    _settle_interrupted(user_id, now)
    user = db.session.get(recipient_model(), user_id)
    notifications = list(db.session.scalars(
        select(Notification).where(Notification.user_id == user_id, *_pending(now, created_before))
        .order_by(Notification.created_at, Notification.id)))
    if not notifications:
        return 0
    ids = [n.id for n in notifications]
    message = email.digest_message(user, notifications)
    attempt = DigestEmail(user_id=user_id, message_id=message["Message-ID"], notification_ids=ids, attempted_at=now)
    db.session.add(attempt)
    db.session.commit()
    try:
        smtp.send_message(message)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
        # This message was refused, not the connection: the others still go. It stays pending for a retry.
        _forget(attempt)
        log.warning("digest for user %s refused by the SMTP server (%s)", user_id, type(error).__name__)
        return 0
    except (OSError, smtplib.SMTPException):
        _forget(attempt)  # the server is gone before it took the message: a later run sends it
        raise
    _mark_emailed(ids, now)
    attempt.status, attempt.sent_at = "sent", now
    db.session.commit()
    log.info("digest for user %s: %d notifications, %s", user_id, len(notifications), attempt.message_id)
    return 1


def _forget(attempt: DigestEmail) -> None:
    db.session.delete(attempt)
    db.session.commit()


def _mark_emailed(notification_ids: list[int], now: datetime) -> None:
    db.session.execute(update(Notification).where(Notification.id.in_(notification_ids)).values(emailed_at=now))


def _settle_interrupted(user_id: int, now: datetime) -> None:
    """An attempt still `sending` was cut off after the hand-over: its notifications count as emailed."""
    for attempt in db.session.scalars(select(DigestEmail).where(DigestEmail.user_id == user_id,
                                                                DigestEmail.status == "sending")):
        _mark_emailed(list(attempt.notification_ids), now)
        attempt.status = "presumed"
        log.warning("digest %s for user %s was interrupted after it was handed to the mail server: not sent again",
                    attempt.message_id, user_id)
    db.session.commit()


# --- Group-robot webhooks ------------------------------------------------------------------------------------

def deliver_webhooks(now: datetime | None = None) -> int:
    """Post the deliveries that are due; return how many were sent.

    Each robot's deliveries go in order on a thread of their own, robots side by side, so a robot that hangs
    delays only its own messages; its first failure leaves the rest of its queue for a later run. The threads
    only post; this thread records each result and commits it, so the database is used from one thread only.
    """
    now = now or utcnow()
    timeout = current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
    deadline = time_module.monotonic() + WEBHOOK_RUN_BUDGET.total_seconds()
    queues = _due_by_robot(now)
    sent = 0
    with ThreadPoolExecutor(max_workers=max(1, min(WEBHOOK_PARALLEL_ROBOTS, len(queues)))) as pool:
        runs = [pool.submit(_post_in_order, items, timeout, deadline) for items in queues.values()]
        for run in as_completed(runs):
            for delivery_id, result in run.result():
                sent += _record_result(delivery_id, result, now)
    return sent


def _due_by_robot(now: datetime) -> dict[int, list[tuple[int, str, dict]]]:
    """The due deliveries of active robots as {target id: [(delivery id, url, payload), ...]}.

    A disabled robot's are failed at once.
    """
    rows = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.target_id, WebhookDelivery.payload, WebhookTarget.url,
               WebhookTarget.is_active)
        .join(WebhookTarget, WebhookTarget.id == WebhookDelivery.target_id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(WEBHOOK_BATCH)).all()
    queues: dict[int, list] = {}
    for row in rows:
        if row.is_active:
            queues.setdefault(row.target_id, []).append((row.id, row.url, row.payload))
        else:
            _record_result(row.id, webhooks.PostResult(False, False, "robot disabled"), now)
    return queues


def _post_in_order(items: list[tuple[int, str, dict]], timeout: float, deadline: float) -> list:
    """Post one robot's deliveries in order until one fails or the run's time is up (no database here)."""
    results = []
    for delivery_id, url, payload in items:
        if time_module.monotonic() >= deadline:
            break
        try:
            result = webhooks.post(url, payload, timeout)
        except Exception as error:  # a bug with one delivery must not stop the rest
            log.exception("webhook delivery %s: unexpected error", delivery_id)
            result = webhooks.PostResult(False, True, type(error).__name__)
        results.append((delivery_id, result))
        if not result.ok:
            break  # its robot has just failed: its other messages go at a later run
    return results


def _record_result(delivery_id: int, result: webhooks.PostResult, now: datetime) -> int:
    try:
        _record(db.session.get(WebhookDelivery, delivery_id), result, now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("webhook delivery %s: its result could not be recorded", delivery_id)
        return 0
    return int(result.ok)


def deliver_now(delivery_ids: list[int]) -> int:
    """Post these deliveries at once (a request queued them and has committed); what fails, the job retries."""
    now, timeout = utcnow(), current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
    pending = db.session.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.id.in_(delivery_ids), WebhookDelivery.status == DeliveryStatus.PENDING)).all()
    return sum(_deliver(delivery_id, now, timeout).ok for delivery_id in pending)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt: 1, 2, 4, 8, 16 minutes."""
    return timedelta(minutes=2 ** (attempts - 1))


def _deliver(delivery_id: int, now: datetime, timeout: float) -> webhooks.PostResult:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    target = delivery.target
    if target.is_active:
        result = webhooks.post(target.url, delivery.payload, timeout)
    else:
        result = webhooks.PostResult(False, False, "robot disabled")
    _record(delivery, result, now)
    db.session.commit()
    return result


def _record(delivery: WebhookDelivery, result: webhooks.PostResult, now: datetime) -> None:
    delivery.attempts += 1
    if result.ok:
        delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, now, None
        log.info("webhook delivery %s to target %s sent", delivery.id, delivery.target_id)
        return
    delivery.last_error = (result.error or "")[:200]
    if result.uncertain:
        delivery.status = DeliveryStatus.UNCERTAIN
        log.warning("webhook delivery %s to target %s timed out after sending: maybe delivered, not repeated",
                    delivery.id, delivery.target_id)
        return
    if result.retryable and delivery.attempts < WEBHOOK_MAX_ATTEMPTS:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        log.warning("webhook delivery %s to target %s failed (attempt %d: %s); retrying at %s", delivery.id,
                    delivery.target_id, delivery.attempts, delivery.last_error, delivery.next_attempt_at)
    else:
        delivery.status = DeliveryStatus.FAILED
        log.error("webhook delivery %s to target %s failed for good after %d attempts: %s", delivery.id,
                  delivery.target_id, delivery.attempts, delivery.last_error)
