"""The one list of scheduled jobs, and the process that runs them (`flask caretrack scheduler`).

Jobs never run inside the web app: several gunicorn workers would each run every job. A second scheduler
process idles while the first holds the database lease, and takes over when the first stops renewing it: at most
SCHEDULER_LEASE_SECONDS plus a third of it after the holder's last renewal.

Every trigger runs in CARETRACK_TIMEZONE, whatever the host's own zone: APScheduler 3's CronTrigger takes the
host's zone unless it is given one, and does not inherit the scheduler's.

Exactly once. APScheduler only keeps the timing, in memory; which fire time of a job has run is recorded in the
database (`core.lease.JobRun`). Whenever a job fires, and once for every job when a process takes the lease, the
job's latest fire time within the misfire grace is computed from its cron trigger and claimed by one conditional
UPDATE (where the recorded fire time is older); only the process whose UPDATE changed the row runs the body. So a
fire time missed while no scheduler held the lease (a restart, a takeover, a database outage) runs once on
takeover, and two leaders racing, or a catch-up racing the regular firing, run it once between them. A claimed run
whose process dies midway is not rerun by another process (the body might still be running there); job bodies are
idempotent, so the next fire time finishes their work. APScheduler's SQLAlchemy job store was the alternative: it
stores the next run time, not which run happened, and updates it only after handing the job to an executor, so a
crash in between reruns a job and nothing tells whether two processes both ran one fire time.

A database error never ends the process: the lease loop logs it and asks again after a backoff. A job's claim is
retried while the process leads; a claimed body (they commit per item, so a rerun resumes) is retried until it
succeeds, its fire time leaves the misfire grace, or the process stops, even if the lease ran out meanwhile: no
other process will run that fire time.
"""

import importlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from caretrack.core import lease
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
MISFIRE_GRACE = timedelta(hours=6)
# Waits after a database error, in seconds: the first, doubled after each further failure up to the last.
RETRY_FIRST = 1.0
RETRY_MAX = 60.0


@dataclass(frozen=True)
class Job:
    """A scheduled job: a stable id, the dotted path of its body, and when it runs (local time)."""

    id: str
    func: str
    cron: dict

    def trigger(self, zone: str) -> CronTrigger:
        """The job's cron trigger in `zone`; never the host's zone."""
        return CronTrigger(timezone=zone, **self.cron)


JOBS = [
    Job("accounts.purge_login_attempts", "caretrack.accounts.tasks:purge_login_attempts", {"hour": 3, "minute": 15}),
    # Reminders and escalations first, so the 07:30 digest carries them.
    Job("followups.remind_due", "caretrack.followups.tasks:remind_due", {"hour": 7, "minute": 0}),
    Job("duties.remind_due", "caretrack.duties.tasks:remind_due_duties", {"hour": 7, "minute": 5}),
    Job("followups.escalate", "caretrack.followups.tasks:escalate", {"hour": 7, "minute": 10}),
    Job("screening.remind_deadlines", "caretrack.screening.tasks:remind_deadlines",
        {"month": "6,12", "day": "1,10", "hour": 7, "minute": 20}),
    # At notify.tasks.DIGEST_TIME, which the retries need to know (a test keeps the two equal).
    Job("notify.send_digests", "caretrack.notify.tasks:send_digests", {"hour": 7, "minute": 30}),
    # What the morning digest could not send (mail server down), every 30 minutes; off the digest's minute.
    Job("notify.retry_digests", "caretrack.notify.tasks:retry_digests", {"minute": "15,45"}),
    Job("notify.deliver_webhooks", "caretrack.notify.tasks:deliver_webhooks", {"minute": "*/5"}),
    # Uploaded rosters previewed and never confirmed (each upload also sweeps): gone within the hour.
    Job("imports.sweep_stale_files", "caretrack.jobs.imports:sweep_stale_files", {"minute": "*/10"}),
    # Attachments and photos whose request rolled back after the file was written (no row names them), and
    # renames a crash between the commit and the rename cut off.
    Job("uploads.sweep_orphans", "caretrack.core.uploads:sweep_orphans", {"hour": 4, "minute": 40}),
    # The night after a school's term ends (its own dates), its term summaries; once per school and term.
    Job("summaries.term_end_batches", "caretrack.summaries.tasks:start_term_end_batches", {"hour": 1, "minute": 30}),
    # The night after the year's last term ends everywhere, the yearly archive; after the term's summaries.
    Job("archive.close_ended_years", "caretrack.summaries.tasks:close_ended_years", {"hour": 2, "minute": 30}),
    # Batch downloads hold students' records: gone after a day.
    Job("summaries.sweep_batch_files", "caretrack.summaries.batches:sweep_stale_files", {"minute": 20}),
    # Graduated and departed students' sensitive fields after CARETRACK_RETENTION_YEARS; old audit rows.
    Job("ledger.apply_retention", "caretrack.ledger.tasks:apply_retention", {"hour": 3, "minute": 50}),
]


def transient(error: SQLAlchemyError) -> bool:
    """A lost connection, a locked SQLite file, a full pool: the database is back later, so try the work again."""
    return (isinstance(error, (OperationalError, InterfaceError, PoolTimeoutError))
            or (isinstance(error, DBAPIError) and error.connection_invalidated))


def describe(error: SQLAlchemyError) -> str:
    """The error's class and the driver's first line; never the statement's parameters, which may be personal."""
    orig = getattr(error, "orig", None)
    detail = str(orig).strip().splitlines()[0][:200] if orig is not None and str(orig).strip() else ""
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def latest_fire_time(trigger: CronTrigger, now: datetime, grace: timedelta = MISFIRE_GRACE) -> datetime | None:
    """The trigger's last fire time in [now - grace, now], in UTC; None when it did not fire in that window."""
    latest = None
    fire = trigger.get_next_fire_time(None, now - grace)
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))  # cron's finest unit is a second
    return latest.astimezone(timezone.utc) if latest else None


class JobRunner:
    """Runs the due fire time of a job unless a process already claimed it, retrying database errors.

    Until its claim is made, a run gives up when `ended` is set (this process no longer leads: the next leader
    catches up). A claimed run is this process's alone, so its body is retried until it succeeds, the fire time
    leaves its misfire grace, or the process stops (`stopping`).
    """

    def __init__(self, app: Flask, holder: str, ended: threading.Event, stopping: threading.Event):
        self.app, self.holder, self.ended, self.stopping = app, holder, ended, stopping
        self.zone = app.config["CARETRACK_TIMEZONE"]

    def run_due(self, job: Job) -> bool:
        """Claim the job's latest due fire time and run the body; True when this call ran it."""
        fire_time = self._retrying(f"job {job.id}: claim", lambda: self._claim(job), self.ended)
        if fire_time is None:
            return False
        due = fire_time.isoformat()
        log.info("job %s (due %s) starting", job.id, due)
        until = fire_time + MISFIRE_GRACE
        if not self._retrying(f"job {job.id}", lambda: _call(job.func), self.stopping, until):
            log.error("job %s (due %s) did not finish; what it left undone waits for its next run", job.id, due)
            return False
        self._retrying(f"job {job.id}: record", lambda: self._finish(job, fire_time), self.stopping, until)
        log.info("job %s (due %s) done", job.id, due)
        return True

    def _claim(self, job: Job) -> datetime | None:
        fire_time = latest_fire_time(job.trigger(self.zone), utcnow())
        if fire_time is None:
            return None
        claimed = lease.claim_run(job.id, fire_time, self.holder)
        db.session.commit()
        if not claimed:
            log.info("job %s (due %s) already claimed, not run again", job.id, fire_time.isoformat())
        return fire_time if claimed else None

    @staticmethod
    def _finish(job: Job, fire_time: datetime) -> bool:
        lease.finish_run(job.id, fire_time)
        db.session.commit()
        return True

    def _retrying(self, what: str, attempt: Callable, give_up: threading.Event, until: datetime | None = None):
        """`attempt()` in an app context, again after each database error until it succeeds; None on giving up."""
        delay = RETRY_FIRST
        while True:
            try:
                with self.app.app_context():
                    return attempt()
            except SQLAlchemyError as error:
                if not transient(error):
                    raise
                log.warning("%s: database error (%s); trying again in %.1f s", what, describe(error), delay)
            if until is not None and utcnow() + timedelta(seconds=delay) > until:
                log.error("%s: gave up, the database stayed unavailable past the misfire grace", what)
                return None
            if give_up.wait(delay):
                return None
            delay = min(delay * 2, RETRY_MAX)


def _call(func_path: str) -> bool:
    module_name, func_name = func_path.split(":")
    getattr(importlib.import_module(module_name), func_name)()
    return True


def build_scheduler(app: Flask, holder: str | None = None, ended: threading.Event | None = None,
                    stopping: threading.Event | None = None) -> BackgroundScheduler:
    """An APScheduler with every job of JOBS in the configured zone; each first runs at once, to catch up.

    `ended` is set when this process stops leading, `stopping` when it stops (see JobRunner).
    """
    zone = app.config["CARETRACK_TIMEZONE"]
    runner = JobRunner(app, holder or holder_name(), ended or threading.Event(), stopping or threading.Event())
    scheduler = BackgroundScheduler(timezone=zone, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
    })
    now = utcnow()
    for job in JOBS:
        scheduler.add_job(runner.run_due, job.trigger(zone), args=(job,), id=job.id, name=job.id,
                          next_run_time=now, replace_existing=True)
    return scheduler


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _Leadership:
    """The APScheduler running the jobs while this process holds the lease."""

    def __init__(self, app: Flask, holder: str, stopping: threading.Event):
        self.app, self.holder, self.stopping = app, holder, stopping
        self.scheduler = None
        self.ended = threading.Event()

    def start(self) -> None:
        if self.scheduler is None:
            log.info("scheduler %s holds the lease; starting jobs", self.holder)
            self.ended = threading.Event()
            self.scheduler = build_scheduler(self.app, self.holder, self.ended, self.stopping)
            self.scheduler.start()

    def stop(self, why: str) -> None:
        if self.scheduler is not None:
            log.warning("scheduler %s %s; stopping jobs", self.holder, why)
            self.ended.set()  # runs not yet claimed give up; a claimed one finishes first (see JobRunner)
            self.scheduler.shutdown(wait=True)
            self.scheduler = None


def _acquire(app: Flask, holder: str, duration: timedelta) -> bool:
    with app.app_context():
        held = lease.acquire(LEASE_NAME, holder, duration)
        db.session.commit()  # the loop owns its transaction, whatever acquire does
        return held


def _release(app: Flask, holder: str) -> None:
    try:
        with app.app_context():
            lease.release(LEASE_NAME, holder)
            db.session.commit()
    except SQLAlchemyError as error:  # the lease then runs out by itself
        log.warning("scheduler %s could not release the lease (%s)", holder, describe(error))


def run_forever(app: Flask, stop: threading.Event | None = None, holder: str | None = None) -> None:
    """Hold the lease and run the jobs; idle while another process holds it. Returns when `stop` is set.

    A database error does not end it: it is logged and the lease asked for again after a backoff. Once the
    lease has run out without a renewal, the jobs stop until this process holds it again.
    """
    stop = stop or threading.Event()
    holder = holder or holder_name()
    duration = timedelta(seconds=app.config["SCHEDULER_LEASE_SECONDS"])
    renew_every = duration.total_seconds() / 3
    leadership = _Leadership(app, holder, stop)
    held_until = None  # time.monotonic() at which this process's lease runs out
    delay = RETRY_FIRST
    try:
        while not stop.is_set():
            asked_at = time.monotonic()
            try:
                leading = _acquire(app, holder, duration)
            except SQLAlchemyError as error:
                log.warning("scheduler %s: lease not renewed, database error (%s); trying again in %.1f s",
                            holder, describe(error), delay)
                if held_until is not None and time.monotonic() > held_until:
                    leadership.stop("lost the lease during the database outage")
                stop.wait(delay)
                delay = min(delay * 2, renew_every)
                continue
            delay = RETRY_FIRST
            if leading:
                held_until = asked_at + duration.total_seconds()
                leadership.start()
            else:
                leadership.stop("lost the lease")
                log.debug("scheduler %s standing by", holder)
            stop.wait(renew_every)
    finally:
        leadership.stop("is stopping")
        if held_until is not None:
            _release(app, holder)
