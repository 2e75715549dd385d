"""The one list of scheduled jobs, and the process that runs them (`flask caretrack scheduler`).

Jobs never run inside the web app: several gunicorn workers would each run every job. A second scheduler
process idles while the first holds the database lease, and takes over when the first stops renewing it.
"""

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from caretrack.core import lease

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
MISFIRE_GRACE = int(timedelta(hours=6).total_seconds())


@dataclass(frozen=True)
class Job:
    """A scheduled job: a stable id, the dotted path of its body, and when it runs (local time)."""

    id: str
    func: str
    cron: dict


JOBS = [
    Job("accounts.purge_login_attempts", "caretrack.accounts.tasks:purge_login_attempts", {"hour": 3, "minute": 15}),
    # Reminders and escalations first, so the 07:30 digest carries them.
    Job("followups.remind_due", "caretrack.followups.tasks:remind_due", {"hour": 7, "minute": 0}),
    Job("followups.escalate", "caretrack.followups.tasks:escalate", {"hour": 7, "minute": 10}),
    Job("followups.remind_screening_deadlines", "caretrack.followups.tasks:remind_screening_deadlines",
        {"month": "6,12", "day": "1,10", "hour": 7, "minute": 20}),
    # At notify.tasks.DIGEST_TIME, which the retries need to know (a test keeps the two equal).
    Job("notify.send_digests", "caretrack.notify.tasks:send_digests", {"hour": 7, "minute": 30}),
    # What the morning digest could not send (mail server down), every 30 minutes; off the digest's minute.
    Job("notify.retry_digests", "caretrack.notify.tasks:retry_digests", {"minute": "15,45"}),
    Job("notify.deliver_webhooks", "caretrack.notify.tasks:deliver_webhooks", {"minute": "*/5"}),
    # Uploaded rosters previewed and never confirmed (each upload also sweeps): gone within the hour.
    Job("imports.sweep_stale_files", "caretrack.jobs.imports:sweep_stale_files", {"minute": "*/10"}),
]


def _run_in_app(app: Flask, func_path: str):
    module_name, func_name = func_path.split(":")

    def run():
        import importlib

        func = getattr(importlib.import_module(module_name), func_name)
        with app.app_context():
            log.info("job %s starting", func_path)
            func()
            log.info("job %s done", func_path)

    return run


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """An APScheduler with every job of JOBS, coalescing missed runs into one."""
    scheduler = BackgroundScheduler(timezone=app.config["CARETRACK_TIMEZONE"], job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE,
    })
    for job in JOBS:
        scheduler.add_job(_run_in_app(app, job.func), CronTrigger(**job.cron), id=job.id, name=job.id,
                          replace_existing=True)
    return scheduler


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_forever(app: Flask, stop: threading.Event | None = None, holder: str | None = None) -> None:
    """Hold the lease and run the jobs; idle while another process holds it. Returns when `stop` is set."""
    stop = stop or threading.Event()
    holder = holder or holder_name()
    duration = timedelta(seconds=app.config["SCHEDULER_LEASE_SECONDS"])
    renew_every = duration.total_seconds() / 3
    scheduler = None
    try:
        while not stop.is_set():
            with app.app_context():
                leading = lease.acquire(LEASE_NAME, holder, duration)
            if leading and scheduler is None:
                log.info("scheduler %s holds the lease; starting jobs", holder)
                scheduler = build_scheduler(app)
                scheduler.start()
            elif not leading and scheduler is not None:
                log.warning("scheduler %s lost the lease; stopping jobs", holder)
                scheduler.shutdown(wait=True)
                scheduler = None
            elif not leading:
                log.debug("scheduler %s standing by", holder)
            stop.wait(renew_every)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
            with app.app_context():
                lease.release(LEASE_NAME, holder)
