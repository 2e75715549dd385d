"""Scheduled jobs of notify: the daily email digest, its retries, and the group-robot deliveries.

Each job takes no ORM objects, commits per person or per delivery, and never raises for a mail server or a
robot that is down: what could not be sent stays pending and a later run sends it, once.
"""

import logging
import os
import smtplib
import socket
import threading
from datetime import datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import select, update

from caretrack.core import lease
from caretrack.core.timeutil import local_zone, utcnow
from caretrack.extensions import db
from caretrack.notify import email, webhooks
from caretrack.notify.models import DeliveryStatus, Notification, WebhookDelivery, recipient_model

log = logging.getLogger(__name__)

DIGEST_TIME = time(7, 30)  # local time; scheduler.JOBS runs the digest then
# The digest is about what is new: an older notification waits in the inbox, it is not mailed weeks late.
DIGEST_MAX_AGE = timedelta(days=14)
# The daily digest and its retries may overlap on a slow mail server; the lease lets one of them send.
DIGEST_LEASE = "notify.digest"
DIGEST_LEASE_TIME = timedelta(minutes=10)

WEBHOOK_BATCH = 200
WEBHOOK_MAX_ATTEMPTS = 6


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
    """Send one person's digest and mark its notifications emailed; 1 when sent, 0 when not."""
    user = db.session.get(recipient_model(), user_id)
    notifications = list(db.session.scalars(
        select(Notification).where(Notification.user_id == user_id, *_pending(now, created_before))
        .order_by(Notification.created_at, Notification.id)))
    if not notifications:
        return 0
    try:
        smtp.send_message(email.digest_message(user, notifications))
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
        # This message was refused, not the connection: the others still go. It stays pending for a retry.
        log.warning("digest for user %s refused by the SMTP server (%s)", user_id, type(error).__name__)
        return 0
    # Marked only once the server has taken the message: a crash in between sends it again, it never loses it.
    db.session.execute(update(Notification).where(Notification.id.in_([n.id for n in notifications]))
                       .values(emailed_at=now))
    db.session.commit()
    log.info("digest for user %s: %d notifications", user_id, len(notifications))
    return 1


# --- Group-robot webhooks ------------------------------------------------------------------------------------

def deliver_webhooks(now: datetime | None = None) -> int:
    """Post the deliveries that are due; return how many were sent. A failing robot never holds up the others."""
    now = now or utcnow()
    timeout = current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
    due = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.target_id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(WEBHOOK_BATCH)).all()
    failing: set[int] = set()
    sent = 0
    for delivery_id, target_id in due:
        if target_id in failing:
            continue  # its robot has just failed: the others go now, this one at a later run
        try:
            result = _deliver(delivery_id, now, timeout)
        except Exception:  # a bug with one delivery must not stop the rest
            db.session.rollback()
            log.exception("webhook delivery %s: unexpected error", delivery_id)
            failing.add(target_id)
            continue
        if result.ok:
            sent += 1
        else:
            failing.add(target_id)
    return sent


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
    if result.retryable and delivery.attempts < WEBHOOK_MAX_ATTEMPTS:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        log.warning("webhook delivery %s to target %s failed (attempt %d: %s); retrying at %s", delivery.id,
                    delivery.target_id, delivery.attempts, delivery.last_error, delivery.next_attempt_at)
    else:
        delivery.status = DeliveryStatus.FAILED
        log.error("webhook delivery %s to target %s failed for good after %d attempts: %s", delivery.id,
                  delivery.target_id, delivery.attempts, delivery.last_error)
