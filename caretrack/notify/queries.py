"""Reads of notify: a person's inbox, and the group robots of the units in an officer's scope."""

from flask import abort
from sqlalchemy import func, select

from caretrack.core.access import SCOPE_MODELS, Permission, ScopeType, get_or_404, scoped
from caretrack.extensions import db
from caretrack.notify.models import Notification, WebhookTarget


def _unit_model() -> type:
    """The units the robot settings hang on: the model org registered with core.access (notify imports no domain)."""
    return SCOPE_MODELS[ScopeType.UNIT]


def inbox(user, unread_only: bool = False):
    """The user's notifications (only the unread ones when asked), unread first, newest first."""
    statement = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return (statement
            .order_by(Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id.desc()))


def own_notification_or_404(user, notification_id: int) -> Notification:
    """One of the user's own notifications; someone else's answers 404 like one that does not exist."""
    notification = db.session.scalar(select(Notification).where(
        Notification.id == notification_id, Notification.user_id == user.id))
    if notification is None:
        abort(404)
    return notification


def webhook_units(user):
    """The units whose robots the user manages, by code."""
    unit = _unit_model()
    return scoped(select(unit), user, Permission.WEBHOOKS_MANAGE).order_by(unit.code)


def webhook_unit_or_404(user, unit_id: int):
    return get_or_404(_unit_model(), unit_id, user, Permission.WEBHOOKS_MANAGE)


def active_robot_counts(unit_ids: list[int]) -> dict[int, int]:
    """Active robots per unit, for the units of one page (one query)."""
    rows = db.session.execute(
        select(WebhookTarget.unit_id, func.count()).where(WebhookTarget.unit_id.in_(unit_ids),
                                                          WebhookTarget.is_active.is_(True))
        .group_by(WebhookTarget.unit_id))
    return dict(rows.all())


def unit_targets(unit_id: int) -> list[WebhookTarget]:
    """A unit's robots, active ones first."""
    return list(db.session.scalars(select(WebhookTarget).where(WebhookTarget.unit_id == unit_id)
                                   .order_by(WebhookTarget.is_active.desc(), WebhookTarget.id)))
