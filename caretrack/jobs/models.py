"""The row every long job keeps: who started what, how far it has got, how it ended."""

from datetime import datetime, timedelta

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caretrack.core.models import UTCDateTime
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"


class Job(db.Model):
    """One run of long work on the task queue; any web worker reads it to show progress."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. "import.students"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    phase: Mapped[str | None] = mapped_column(String(20))
    rows_done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    # Each (re)run gets a new attempt number: a message of an older attempt, delivered late, does nothing.
    attempt: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # By name: the accounts room is above this one and is not imported here.
    user = relationship("User")

    def stalled(self, heartbeat_at: datetime | None, limit: timedelta, now: datetime | None = None) -> bool:
        """Whether the job says it runs but its worker has not beaten for `limit`: it died (kill -9, a restart)."""
        last = heartbeat_at or self.started_at
        return self.status == RUNNING and last is not None and (now or utcnow()) - last > limit
