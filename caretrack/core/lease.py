"""A lease row in the database, so that exactly one scheduler process runs the jobs.

One mechanism serves SQLite and PostgreSQL alike: the holder renews its lease well before it expires; a
second process finds the lease held and idles, and takes over once the holder has been silent too long.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Connection, String, insert, or_, select, update
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


@contextmanager
def _own_transaction() -> Iterator[Connection]:
    """A transaction of the lease's own, committed at once: never the caller's (a request's) session's commit.

    Two cases join the session instead, in a savepoint: a session bound to one connection (the tests' rolled-back
    transaction), which has no other; and SQLite while the session is in a transaction, since a second connection
    could not write while the session holds the write lock, nor the session write after the second one committed
    (a stale snapshot). There SQLite's single writer keeps a second run out until the session's transaction ends.
    """
    bind = db.session.get_bind()
    if isinstance(bind, Connection) or (bind.dialect.name == "sqlite" and db.session().in_transaction()):
        with db.session.begin_nested():
            yield db.session.connection()
        return
    with bind.begin() as connection:
        yield connection


def acquire(name: str, holder: str, duration: timedelta) -> bool:
    """Take or renew the lease; True when `holder` holds it afterwards. In a transaction of its own."""
    now = utcnow()
    with _own_transaction() as connection:
        result = connection.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
            .values(holder=holder, expires_at=now + duration)
        )
        if result.rowcount:
            return True
        if connection.scalar(select(Lease.name).where(Lease.name == name)):
            return False
    try:
        with _own_transaction() as connection:
            connection.execute(insert(Lease).values(name=name, holder=holder, expires_at=now + duration))
    except IntegrityError:  # another process inserted it first
        return False
    return True


def release(name: str, holder: str) -> None:
    """Give the lease up at once, so a standby takes over without waiting for it to expire."""
    with _own_transaction() as connection:
        connection.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                           .values(expires_at=utcnow() - timedelta(seconds=1)))


def holder_of(name: str) -> str | None:
    # Columns, not the mapped object: the lease is written beside the session, whose identity map would be stale.
    row = db.session.execute(select(Lease.holder, Lease.expires_at).where(Lease.name == name)).first()
    return row.holder if row and row.expires_at > utcnow() else None
