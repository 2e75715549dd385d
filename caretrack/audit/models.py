"""The append-only audit log."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from caretrack.core.models import UTCDateTime
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db


class AuditEvent(db.Model):
    """Who did what to which object, when and from where.

    `fields` names the fields that changed, never their values: ID numbers and confidential notes must not
    be copied here. Rows are never updated or deleted (a database trigger refuses it).
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_object", "object_type", "object_id"),
        # The trail of a change is not a change: a form saved unchanged may still log who opened what.
        {"info": {"not_a_change": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    username: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(50), index=True)
    object_type: Mapped[str | None] = mapped_column(String(30))
    object_id: Mapped[int | None]
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    fields: Mapped[list | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(String(200))


AuditEvent.__access_columns__ = {"unit": AuditEvent.unit_id}
