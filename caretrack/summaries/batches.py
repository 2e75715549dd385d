"""Batches of term summaries on the task queue: start one (or join the same one already on its way), run it,
keep its file for download; and the batches the scheduler starts at the end of each term.

A batch is a job row (jobs.models.Job, kind "summaries.batch") whose params name the target (a school or a
class), the year, the term and the file's format; its file is written readable by the app alone (0600) under a
random name and swept after FILE_LIFETIME. Anyone who may see the target sees the job and downloads its file: a
second user asking for the same batch is sent to the first one's job rather than making it again.
"""

import logging
import os
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.core import uploads
from caretrack.core.requests import after_commit
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.jobs import services as jobs
from caretrack.jobs.models import QUEUED, RUNNING, Job
from caretrack.jobs.queue import enqueue
from caretrack.org.models import AcademicYear, SchoolClass, Unit
from caretrack.org.services import terms_for
from caretrack.summaries import files, queries, services, tasks

log = logging.getLogger(__name__)

JOB_KIND = "summaries.batch"
FILE_LIFETIME = timedelta(days=1)
TARGET_KINDS = {"unit": Unit, "class": SchoolClass}


@dataclass(frozen=True)
class BatchRequest:
    """What a batch makes: the same request twice is the same batch."""

    target: str  # "unit:ID" or "class:ID"
    start_year: int
    term: int
    file_format: str

    @property
    def params(self) -> dict:
        return {"target": self.target, "start_year": self.start_year, "term": self.term,
                "format": self.file_format}

    @classmethod
    def of(cls, job: Job) -> "BatchRequest":
        params = job.params
        return cls(params["target"], params["start_year"], params["term"], params["format"])


def parse_target(target: str) -> tuple[type, int] | None:
    """The model and id a target names ("unit:3", "class:7"); None for anything else."""
    kind, _sep, raw_id = (target or "").partition(":")
    if kind not in TARGET_KINDS or not raw_id.isdigit():
        return None
    return TARGET_KINDS[kind], int(raw_id)


def _filters(target: str) -> dict:
    model, target_id = parse_target(target)
    if model is Unit:
        return {"unit_id": target_id}
    school_class = db.session.get(SchoolClass, target_id)
    return {"unit_id": school_class.school_id, "class_id": target_id}


def running_batch(request: BatchRequest) -> Job | None:
    """The job already making this batch (queued, or running with a live worker), if any."""
    candidates = db.session.scalars(select(Job).where(Job.kind == JOB_KIND, Job.status.in_([QUEUED, RUNNING]))
                                    .order_by(Job.id)).all()
    return next((job for job in candidates if job.params == {**job.params, **request.params}
                 and not jobs.is_stalled(job)), None)


def start(actor, request: BatchRequest, year: AcademicYear) -> tuple[Job, bool]:
    """The job making the batch, and whether it was already on its way (joined). A new one is queued after the
    request commits. Raises DomainError for a term that has not begun in one of the target's schools.
    """
    existing = running_batch(request)
    if existing is not None:
        return existing, True
    filters = _filters(request.target)
    students = queries.batch_students(year, **filters)
    services.check_all_started({filters["unit_id"], *{s.school_id for s in students}}, year, request.term,
                               local_today())
    job = jobs.create(JOB_KIND, actor, dict(request.params, token=secrets.token_urlsafe(16)), total=len(students))
    job_id, attempt = job.id, job.attempt
    after_commit(lambda: _enqueue(job_id, attempt))
    return job, False


def _enqueue(job_id: int, attempt: int) -> None:
    try:
        enqueue(tasks.run_batch, job_id, attempt)
    except Exception:  # the queue's server is down: the job says so, and the user may start it again
        log.exception("summary batch %s could not be queued", job_id)
        jobs.mark_failed(job_id, attempt, "not queued")


# --- running ------------------------------------------------------------------------------------------------

def _folder() -> Path:
    folder = Path(current_app.config.get("SUMMARY_BATCH_FOLDER")
                  or Path(current_app.instance_path) / "summary-batches")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def file_path(job: Job) -> Path:
    return _folder() / f"{job.params['token']}.{job.params['format']}"


def _write_private(path: Path, content: bytes) -> None:
    """Write under a temporary name and rename: a worker killed half-way never leaves a partial file under the
    name a download reads (its temporary file is swept with the stale ones).
    """
    temporary = path.with_name(path.name + uploads.TEMPORARY_SUFFIX)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        target.write(content)
    os.replace(temporary, path)


def execute(run: jobs.JobRun) -> None:
    """The body of a batch job: the summaries class by class (each committed), then the file and the result."""
    job = run.job
    request = BatchRequest.of(job)
    model, target_id = parse_target(request.target)
    several_schools = model is Unit and not db.session.get(Unit, target_id).is_school
    out = files.writer(request.file_format, local_today(), several_schools)
    year = services.resolve_year(request.start_year)
    made = tasks.generate_batch(**_filters(request.target), year=request.start_year, term=request.term,
                                progress=lambda done, _total: run.progress("generate", done), on_class=out.add)
    _write_private(file_path(job), out.close())
    run.finish({"count": made, "filename": files.batch_filename(year.label, request.term, request.file_format)})


def percent(job: Job) -> int:
    if job.status == "done":
        return 100
    return min(99, int(100 * jobs.live(job).rows_done / job.total)) if job.total else 0


def sweep_stale_files(max_age: timedelta = FILE_LIFETIME) -> int:
    """Delete batch files older than `max_age` (their jobs then offer no download); return how many."""
    return uploads.sweep_folder(_folder(), set(), max_age)


def has_file(job: Job) -> bool:
    return job.status == "done" and file_path(job).exists()


def not_ready_message() -> str:
    return _("这批小结的文件还没有生成，或已过期被删除（文件保留一天）。请重新生成。")


# --- the end of each term, by the scheduler ----------------------------------------------------------------

def ended_terms(schools: list[Unit], today: date) -> dict[int, tuple[AcademicYear, int, date]]:
    """Each school's latest term that has ended before `today` (its own dates): school id -> (year, term, end)."""
    years = db.session.scalars(select(AcademicYear).where(AcademicYear.start_year <= today.year)
                               .order_by(AcademicYear.start_year.desc()).limit(2)).all()
    latest: dict[int, tuple[AcademicYear, int, date]] = {}
    for year in years:
        for number in services.TERMS:
            for school_id, term in terms_for(schools, year, number).items():
                if term.ends_on < today and (school_id not in latest or latest[school_id][2] < term.ends_on):
                    latest[school_id] = (year, number, term.ends_on)
    return latest
