"""Jobs: create, claim, report progress and a heartbeat, finish or fail, notice a dead worker, rerun.

A task body runs `with running(job_id, attempt) as run:` and calls `run.progress(phase, rows)` as it goes and
`run.finish(result)` at the end; an exception marks the job failed. A thread beats the heartbeat meanwhile, so a
job whose worker died (kill -9, a machine restart) is noticed by its stale heartbeat and can be rerun.

Progress and heartbeat are written outside the task's own transaction, so any web worker sees them before the
work commits: on the job row through a connection of their own, except on SQLite, where a long writer holds the
database's only write lock: there they go on the queue's board (its SQLite file, Redis or PostgreSQL).
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import update

from caretrack.core.database import begin_writing
from caretrack.core.errors import DomainError
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db
from caretrack.jobs.models import CANCELLED, DONE, FAILED, QUEUED, RUNNING, Job
from caretrack.jobs.queue import queue_of

log = logging.getLogger(__name__)

def create(kind: str, actor, params: dict, total: int = 0) -> Job:
    """A queued job started by `actor`; the caller commits, then enqueues its task with (job.id, job.attempt)."""
    job = Job(kind=kind, user_id=actor.id, params=params, total=total, status=QUEUED, attempt=1)
    db.session.add(job)
    db.session.flush()
    return job


@dataclass(frozen=True)
class Live:
    """How far a job has got, as any process sees it now."""

    phase: str | None
    rows_done: int
    heartbeat_at: datetime | None


def _on_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def _board_key(job_id: int) -> str:
    return f"job:{job_id}"


def live(job: Job) -> Live:
    """The job's progress and heartbeat, wherever the running task writes them (see the module's docstring)."""
    if job.status == RUNNING and _on_sqlite():
        seen = queue_of().get(_board_key(job.id))
        if seen and seen["run"] == _run_label(job):  # not a note left by an earlier run of the same id
            return Live(seen["phase"], seen["rows_done"], datetime.fromisoformat(seen["heartbeat_at"]))
    return Live(job.phase, job.rows_done, job.heartbeat_at)


def _run_label(job: Job) -> str:
    return f"{job.attempt}@{job.started_at.isoformat() if job.started_at else ''}"


def write_live(job: Job, phase: str | None, rows_done: int) -> None:
    """Publish progress and a heartbeat at once, outside the task's transaction (`job` is the running one)."""
    now = utcnow()
    if _on_sqlite():
        queue_of().put(_board_key(job.id), {"run": _run_label(job), "phase": phase, "rows_done": rows_done,
                                            "heartbeat_at": now.isoformat()})
        return
    with db.engine.begin() as connection:
        # Only the attempt that runs, and only while it runs: a late beat never overwrites a finished job.
        connection.execute(update(Job).where(Job.id == job.id, Job.attempt == job.attempt, Job.status == RUNNING)
                           .values(phase=phase, rows_done=rows_done, heartbeat_at=now))


def is_stalled(job: Job) -> bool:
    return job.stalled(live(job).heartbeat_at, current_app.config["JOB_HEARTBEAT_LIMIT"])


def shown_status(job: Job) -> str:
    """The status a page shows: a running job whose worker died is failed, whatever its row still says."""
    return FAILED if is_stalled(job) else job.status


def may_rerun(job: Job, actor) -> bool:
    """Only its starter reruns a job, and only one that failed or whose worker died."""
    return job.user_id == actor.id and shown_status(job) == FAILED


def rerun(job: Job, actor) -> Job:
    """Queue the job again under a new attempt; the caller commits, then enqueues its task."""
    if not may_rerun(job, actor):
        raise DomainError(_("这个任务正在运行或已经完成，不能重新运行。"))
    job.attempt += 1
    job.status, job.phase, job.rows_done, job.error, job.result = QUEUED, None, 0, None, None
    job.started_at = job.finished_at = job.heartbeat_at = None
    db.session.flush()
    return job


class _Heartbeat(threading.Thread):
    """Beats while the task runs, so a long step without progress (a big commit) is not taken for death."""

    def __init__(self, app, run: "JobRun"):
        super().__init__(name=f"job-{run.job_id}-heartbeat", daemon=True)
        self.app, self.run_, self.stopped = app, run, threading.Event()

    def run(self) -> None:
        every = self.app.config["JOB_HEARTBEAT_LIMIT"].total_seconds() / 4
        while not self.stopped.wait(every):
            try:
                with self.app.app_context():
                    write_live(self.run_.claimed, *self.run_.position)
            except Exception:  # noqa: BLE001 - a missed beat is retried; the job itself must go on
                log.warning("job %s: heartbeat not written", self.run_.job_id, exc_info=True)


class JobRun:
    """The running attempt of a job, as its task body sees it."""

    def __init__(self, job: Job):
        self.job, self.job_id, self.attempt = job, job.id, job.attempt
        # What the heartbeat thread needs of the job, detached from the task's session (which it must not use).
        self.claimed = Job(id=job.id, attempt=job.attempt, started_at=job.started_at)
        self.position: tuple[str | None, int] = (None, 0)
        self.heartbeat = _Heartbeat(current_app._get_current_object(), self)

    def progress(self, phase: str, rows_done: int) -> None:
        self.position = (phase, rows_done)
        write_live(self.claimed, phase, rows_done)

    def finish(self, result: dict | None, keep_work: bool = True) -> None:
        """Mark the job done with its result, in one commit with the work (or after rolling the work back)."""
        self.heartbeat.stopped.set()
        if not keep_work:
            db.session.rollback()
        job = db.session.get(Job, self.job_id)
        job.status, job.result, job.finished_at = DONE, result, utcnow()
        job.phase, job.rows_done = self.position
        db.session.commit()
        _clear_board(self.job_id)


def _clear_board(job_id: int) -> None:
    if _on_sqlite():
        queue_of().drop(_board_key(job_id))


def _claim(job_id: int, attempt: int) -> Job | None:
    """Mark this attempt running, unless another worker has it or it is no longer the job's latest."""
    now = utcnow()
    claimed = db.session.execute(update(Job).where(Job.id == job_id, Job.attempt == attempt, Job.status == QUEUED)
                                 .values(status=RUNNING, started_at=now, heartbeat_at=now)).rowcount
    db.session.commit()
    if not claimed:
        log.info("job %s attempt %s: not queued any more, skipped", job_id, attempt)
        return None
    begin_writing()  # the work's transaction starts here, as a writer: SQLite's write lock at once
    return db.session.get(Job, job_id)


def mark_failed(job_id: int, attempt: int, error: str) -> None:
    db.session.rollback()
    db.session.execute(update(Job).where(Job.id == job_id, Job.attempt == attempt)
                       .values(status=FAILED, error=error[:500], finished_at=utcnow()))
    db.session.commit()
    _clear_board(job_id)


@contextmanager
def running(job_id: int, attempt: int, on_failure: Callable[[Job], None] | None = None) -> Iterator[JobRun | None]:
    """Claim the job for the task body; yield None when there is nothing to do (a duplicate message)."""
    job = _claim(job_id, attempt)
    if job is None:
        yield None
        return
    run = JobRun(job)
    run.heartbeat.start()
    try:
        yield run
    except Exception as error:
        log.exception("job %s attempt %s failed", job_id, attempt)
        mark_failed(job_id, attempt, type(error).__name__)
        if on_failure is not None:
            on_failure(db.session.get(Job, job_id))
    finally:
        run.heartbeat.stopped.set()


def cancel(job: Job) -> None:
    """A finished preview the user dropped."""
    if job.status == DONE:
        job.status = CANCELLED
