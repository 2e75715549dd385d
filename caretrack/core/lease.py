"""A lease row in the database, so that exactly one scheduler process runs the jobs.

One mechanism serves SQLite and PostgreSQL alike: the holder renews its lease well before it expires; a
second process finds the lease held and idles, and takes over once the holder has been silent too long.
"""

from datetime import datetime, timedelta

from sqlalchemy import String, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from caretrack.core.models import UTCDateTime
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db


class Lease(db.Model):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


def acquire(name: str, holder: str, duration: timedelta) -> bool:
    """Take or renew the lease; True when `holder` holds it afterwards. Commits."""
    now = utcnow()
    result = db.session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=now + duration)
    )
    if result.rowcount == 0:
        exists = db.session.scalar(select(Lease.name).where(Lease.name == name))
        if exists:
            db.session.rollback()
            return False
        try:
            db.session.execute(insert(Lease).values(name=name, holder=holder, expires_at=now + duration))
        except IntegrityError:  # another process inserted it first
            db.session.rollback()
            return False
    db.session.commit()
    return True


def release(name: str, holder: str) -> None:
    """Give the lease up at once, so a standby takes over without waiting for it to expire."""
    db.session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def holder_of(name: str) -> str | None:
    lease = db.session.get(Lease, name)
    return lease.holder if lease and lease.expires_at > utcnow() else None
