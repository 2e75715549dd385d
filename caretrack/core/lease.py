"""A lease row in the database, so that exactly one scheduler process runs the jobs; and a run row per job.

One mechanism serves SQLite and PostgreSQL alike: the holder renews its lease well before it expires; a
second process finds the lease held and idles, and takes over once the holder has been silent too long.

The lease keeps the standby idle, but it cannot by itself stop a job running twice (a leader that lost its
lease during an outage may not know it yet). A job run is therefore claimed in `job_runs` for its scheduled fire
time by one conditional statement: the claim succeeds only where the recorded fire time is older, so of two
processes claiming the same fire time exactly one sees its row changed.
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


class JobRun(db.Model):
    """The latest fire time of a scheduled job that some scheduler claimed, and when that run finished."""

    __tablename__ = "job_runs"

    job_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    fire_time: Mapped[datetime] = mapped_column(UTCDateTime())
    holder: Mapped[str] = mapped_column(String(100))
    # None while the run is in progress, or when it never finished (its process died or gave up).
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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
        # A transaction begun here (a lease released after the request's own commit) is ended here too.
        begun_here = not db.session().in_transaction()
        with db.session.begin_nested():
            yield db.session.connection()
        if begun_here:
            db.session.commit()
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


def last_run(job_id: str) -> JobRun | None:
    return db.session.get(JobRun, job_id)


def claim_run(job_id: str, fire_time: datetime, holder: str) -> bool:
    """Claim the run of `job_id` due at `fire_time`; True for exactly one caller per fire time. Flushes."""
    claim = (update(JobRun).where(JobRun.job_id == job_id, JobRun.fire_time < fire_time)
             .values(fire_time=fire_time, holder=holder, finished_at=None)
             .execution_options(synchronize_session=False))
    if db.session.execute(claim).rowcount:
        return True
    if db.session.scalar(select(JobRun.job_id).where(JobRun.job_id == job_id)):
        return False  # already claimed for this fire time or a later one
    try:
        with db.session.begin_nested():
            db.session.execute(insert(JobRun).values(job_id=job_id, fire_time=fire_time, holder=holder))
    except IntegrityError:  # the job's first run ever, claimed by another process at the same moment
        return bool(db.session.execute(claim).rowcount)
    return True


def finish_run(job_id: str, fire_time: datetime) -> None:
    """Record that the run claimed for `fire_time` finished. Flushes."""
    db.session.execute(update(JobRun).where(JobRun.job_id == job_id, JobRun.fire_time == fire_time)
                       .values(finished_at=utcnow()).execution_options(synchronize_session=False))
