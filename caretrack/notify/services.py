"""Notifications to people (inbox, then the email digest) and to units' group robots. Called by every domain.

Each notification carries a key naming what it is about; inserting the same key for the same person again is
a no-op, so a job that reruns after a crash or a restart sends nothing twice. Services flush, never commit.
"""

import logging
import re

from flask import has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

# audit sits below notify (tests/core/test_layers.py): robot settings are audited like every other setting.
from caretrack.audit.services import record, register_action_labels
from caretrack.core import requests
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError, NotFound
from caretrack.core.timeutil import utcnow
from caretrack.core.web import local_target
from caretrack.extensions import db
from caretrack.notify import webhooks
from caretrack.notify.models import DeliveryStatus, Notification, WebhookDelivery, WebhookKind, WebhookTarget

log = logging.getLogger(__name__)

# 身份证号 (18 characters, or the old 15 digits) and bank card numbers: long runs of digits. None belongs in a
# notification: the inbox and the email are read on phones and forwarded; a group chat is read by everyone in it.
_LONG_NUMBER = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15,})(?![0-9])")
# Group chats also must not learn anyone's mobile number.
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


class PersonalDataError(ValueError):
    """A caller put an ID number (or, for a group chat, a mobile number) into a message. Names no value."""


class WebhookAction:
    ADDED = "webhook_added"
    DISABLED = "webhook_disabled"


register_action_labels({WebhookAction.ADDED: N_("添加群机器人"), WebhookAction.DISABLED: N_("停用群机器人")})


def _insert_once(model, values: dict, conflict_columns: list[str]):
    """INSERT ... ON CONFLICT DO NOTHING: the new row, or None when the unique columns already hold one.

    Race-safe without a SAVEPOINT: two jobs inserting the same key at once get one row and one None.
    """
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[db.session.get_bind().dialect.name]
    statement = (dialect.insert(model).values(**values)
                 .on_conflict_do_nothing(index_elements=conflict_columns).returning(model))
    return db.session.scalars(statement).one_or_none()


def check_no_id_numbers(*texts: str | None) -> None:
    """Refuse text holding an ID or bank card number; the error does not repeat it."""
    if any(text and _LONG_NUMBER.search(text) for text in texts):
        raise PersonalDataError("notification text holds a long number (an ID or card number?)")


def notify(user_id: int, key: str, subject: str, body: str = "", link: str | None = None) -> Notification | None:
    """Put a notification in the user's inbox once per key; None when that key was already there.

    `link` is a path of this app ("/followups/12"). The email digest picks the notification up later.
    """
    check_no_id_numbers(subject, body)
    if link is not None and local_target(link, None) is None:
        raise ValueError("a notification links to a path of this app")
    created = _insert_once(Notification, {
        "user_id": user_id, "key": key, "subject": subject[:200], "body": body or "", "link": link,
        "created_at": utcnow(),
    }, ["user_id", "key"])
    if created is not None:
        log.info("notification %s for user %s", created.id, user_id)
    return created


def check_shareable(text: str) -> None:
    """Refuse text that must not reach a group chat: ID, card and mobile numbers.

    Names cannot be told from other words; callers pass counts only ("3 项家访已逾期"), never names.
    """
    check_no_id_numbers(text)
    if _MOBILE.search(text):
        raise PersonalDataError("group message holds a mobile number")


def notify_unit(unit_id: int, key: str, text: str) -> list[WebhookDelivery]:
    """Queue `text` once per key for each active group robot of the unit; return the deliveries new this time.

    The text goes to a whole group chat: counts and what to do, never a student's name or number. Queued in a
    web request, they are posted once its transaction has committed (never if it rolls back); queued in a job,
    and whatever could not be posted, the `deliver_webhooks` job sends.
    """
    check_shareable(text)
    targets = db.session.scalars(select(WebhookTarget).where(
        WebhookTarget.unit_id == unit_id, WebhookTarget.is_active.is_(True)).order_by(WebhookTarget.id))
    queued = []
    for target in targets:
        delivery = _insert_once(WebhookDelivery, {
            "target_id": target.id, "key": f"{target.id}:{key}"[:250],
            "payload": webhooks.build_payload(WebhookKind(target.kind), text),
            "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": utcnow(), "created_at": utcnow(),
        }, ["key"])
        if delivery is not None:
            queued.append(delivery)
    log.info("unit %s: %d webhook deliveries queued for %s", unit_id, len(queued), key)
    if queued and has_request_context():
        _post_after_commit([delivery.id for delivery in queued])
    return queued


def _post_after_commit(delivery_ids: list[int]) -> None:
    from caretrack.notify import tasks  # the job bodies; they need nothing of this module's callers

    requests.after_commit(lambda: tasks.deliver_now(delivery_ids))


def unread_count(user) -> int:
    return db.session.scalar(_unread_of(user.id))


def _unread_of(user_id):
    return select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))


_UNREAD_AT_LOGIN = "caretrack.unread_at_login"


def unread_count_column(user_id_column):
    """The unread count as a column of the query that loads the request's user (accounts.sessions), so that the
    navigation's badge, on every page, costs no statement of its own. Hand the value to `keep_unread_count`.
    """
    return _unread_of(user_id_column).scalar_subquery()


def keep_unread_count(user_id: int, count: int) -> None:
    if has_request_context():
        request.environ[_UNREAD_AT_LOGIN] = (user_id, count)


def badge_count(user) -> int:
    """The user's unread count for this request's pages: the one read with the user, unless the request has
    written since (it may have read, dismissed or sent a notification); else counted now.
    """
    kept = request.environ.get(_UNREAD_AT_LOGIN) if has_request_context() else None
    if kept is not None and kept[0] == user.id and not requests.wrote_changes():
        return kept[1]
    return unread_count(user)


def mark_read(user, notification: Notification) -> None:
    """Mark one of the user's own notifications read (reading it again keeps the first time)."""
    if notification.user_id != user.id:
        raise NotFound(_("没有这条提醒。"))
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()


def mark_all_read(user) -> int:
    """Mark every unread notification of the user read; return how many."""
    result = db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    return result.rowcount


def add_webhook_target(actor, unit_id: int, kind: WebhookKind, url: str) -> WebhookTarget:
    """Add a group robot to a unit (the caller has checked the unit is in the actor's scope)."""
    url = (url or "").strip()
    problem = webhooks.url_problem(url, kind)
    if problem:
        raise DomainError(problem, field="url")
    target = WebhookTarget(unit_id=unit_id, kind=kind.value, url=url, is_active=True,
                           created_by_id=getattr(actor, "id", None))
    db.session.add(target)
    db.session.flush()
    # The URL holds the robot's secret token: the log names the target, never the URL.
    record(WebhookAction.ADDED, actor=actor, obj=target, unit_id=unit_id, detail=kind.value)
    return target


def disable_webhook_target(actor, target: WebhookTarget) -> None:
    """Stop sending to a robot; what is still queued for it is dropped by the delivery job."""
    if not target.is_active:
        return
    target.is_active = False
    db.session.flush()
    record(WebhookAction.DISABLED, actor=actor, obj=target, unit_id=target.unit_id, detail=target.kind)
