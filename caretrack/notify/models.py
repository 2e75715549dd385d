"""The inbox (one notification per recipient and key) and the group-robot webhooks of each unit."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caretrack.core.choices import N_, LabelledEnum
from caretrack.core.models import TimestampMixin, UTCDateTime
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db

# The people notify mails (id, email, display_name, is_active_user): accounts registers its user model here, as
# org registers its units with core.access; notify sits below accounts and never imports it.
_recipient_model: type | None = None


def register_recipient_model(model: type) -> None:
    global _recipient_model
    _recipient_model = model


def recipient_model() -> type:
    if _recipient_model is None:
        raise RuntimeError("no recipient model registered: caretrack.accounts.models registers it")
    return _recipient_model


class Notification(db.Model):
    """One reminder to one person. `key` names what it is about (e.g. "followup:12:due:2026-11-29"), so the
    same reminder is never created twice for the same person, whatever reruns or crashes.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        # The inbox reads one person's unread first; the digest reads recent ones not yet emailed.
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class WebhookKind(LabelledEnum):
    WECOM = "wecom", N_("企业微信群机器人")
    DINGTALK = "dingtalk", N_("钉钉群机器人")


class WebhookTarget(TimestampMixin, db.Model):
    """A group robot's webhook URL, configured by a unit's officers. The URL holds the robot's secret token."""

    __tablename__ = "webhook_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(500))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def kind_enum(self) -> WebhookKind:
        return WebhookKind(self.kind)


WebhookTarget.__access_columns__ = {"unit": WebhookTarget.unit_id}


class DeliveryStatus(LabelledEnum):
    PENDING = "pending", N_("待发送")
    SENT = "sent", N_("已发送")
    FAILED = "failed", N_("发送失败")
    # The robot did not answer in time: the message may have been posted. Not repeated blindly (a robot that
    # hangs after posting would get it six times); an officer may send it again from the settings page.
    UNCERTAIN = "uncertain", N_("可能已发送")


class DigestEmail(db.Model):
    """One digest email, recorded before it is handed to the mail server.

    Its Message-ID is derived from the recipient and the notifications it lists, so the same digest always has
    the same id. A row still `sending` at the next run is a digest whose run died between the server's accept and
    the commit: it counts as sent (the mail server's log has its Message-ID), never as something to send again.
    """

    __tablename__ = "digest_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    notification_ids: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="sending")
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookDelivery(db.Model):
    """One message to one robot, queued by `notify_unit` and posted by the `deliver_webhooks` job."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("webhook_targets.id"), index=True)
    key: Mapped[str] = mapped_column(String(250), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    target: Mapped[WebhookTarget] = relationship()
