"""Imports from the web as jobs on the task queue: upload, dry-run preview with the error report, confirm.

A job row records who imports what and how far it has got; the page polls it. The preview and the confirmed
import are tasks (jobs/tasks.py) taking the job's id; the CLI runs imports inline (cli.py).

An uploaded roster holds children's names and ID numbers, so it lives no longer than it must: written readable by
the app alone (0600), under a random name, and deleted as soon as nothing more can come of it (a preview refused
as a whole or with nothing to write, a failed one, a cancel, the confirmed import whatever its end), and in any
case after an hour (a sweep on every upload and a scheduled one). A preview whose valid rows can still be imported
keeps its file for that hour, and so does a job whose worker died, so that it can be rerun.
"""

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from flask import current_app

from caretrack.core import uploads
from caretrack.core.imports import ImportReport, RowError, run_import
from caretrack.core.tabular import count_rows
from caretrack.jobs import services as jobs
from caretrack.jobs.models import Job

log = logging.getLogger(__name__)

# importer name -> function(actor) returning the importer; each domain registers its own (import_views.py).
IMPORTERS: dict[str, Callable] = {}
KIND_PREFIX = "import."
FILE_LIFETIME = timedelta(hours=1)


def job_kind(importer: str) -> str:
    return KIND_PREFIX + importer


def importer_of(job: Job) -> str:
    return job.kind.removeprefix(KIND_PREFIX)


def _folder() -> Path:
    folder = Path(current_app.config.get("UPLOAD_FOLDER") or Path(current_app.instance_path) / "imports")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def file_path(job: Job) -> Path:
    return _folder() / f"{job.params['token']}{Path(job.params['filename']).suffix.lower()}"


def _save_private(storage, path: Path) -> None:
    """Write the upload readable and writable by the app's own user only, whatever the process umask."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        storage.save(target)


def discard_file(job: Job) -> None:
    """Delete the job's uploaded file (there may be none left)."""
    file_path(job).unlink(missing_ok=True)


def sweep_stale_files(max_age: timedelta = FILE_LIFETIME) -> int:
    """Delete uploaded files older than `max_age`, previewed and never confirmed; return how many."""
    return uploads.sweep_folder(_folder(), set(), max_age)


def import_report(job: Job) -> ImportReport | None:
    """The report of a finished import job (None while it runs, or when it failed)."""
    if job.result is None:
        return None
    data = dict(job.result)
    data["errors"] = [RowError(**e) for e in data.get("errors", [])]
    data["warnings"] = [RowError(**e) for e in data.get("warnings", [])]
    return ImportReport(**data)


def percent(job: Job) -> int:
    if job.status == "done":
        return 100
    now = jobs.live(job)
    done = now.rows_done / job.total if job.total else 0
    # validation is the first half of the work, writing the second
    return min(99, int(50 * done + (50 if now.phase == "write" else 0)))


def start_preview(importer: str, actor, storage, skip_invalid: bool, context: dict | None = None) -> Job:
    """Keep the uploaded file and queue its dry run; the caller commits, then enqueues (tasks.run_import).

    `context` (ids, e.g. the activity a sign-in sheet is of) is given to the importer's factory as keywords.
    """
    sweep_stale_files()
    params = {"filename": Path(storage.filename or "upload.csv").name, "token": secrets.token_urlsafe(16),
              "skip_invalid": skip_invalid, "dry_run": True, "context": context or {}}
    job = jobs.create(job_kind(importer), actor, params)
    _save_private(storage, file_path(job))
    job.total = count_rows(file_path(job))
    return job


def start_confirmed(preview: Job, actor) -> Job:
    """Queue the real import of the very file a finished dry run previewed; of a file with bad rows, its valid
    rows (what the preview's button said it would do). The caller commits, then enqueues.
    """
    params = dict(preview.params, token=secrets.token_urlsafe(16), dry_run=False,
                  skip_invalid=preview.params["skip_invalid"] or bool(import_report(preview).invalid))
    job = jobs.create(preview.kind, actor, params, total=preview.total)
    file_path(preview).rename(file_path(job))
    os.utime(file_path(job))  # its hour starts again: the sweep must not take it from under the queued job
    return job


def cancel(preview: Job) -> None:
    """The user dropped the preview: delete the file, so it can be neither confirmed nor left behind."""
    discard_file(preview)
    jobs.cancel(preview)


def may_confirm(report: ImportReport) -> bool:
    """Whether a finished preview offers to import its file (or its valid rows) for real: only when that would
    change something.
    """
    return not report.file_refused and report.changes_anything


def execute(run: jobs.JobRun) -> None:
    """The body of an import job: validate, write (or roll back a dry run), record the report, all or nothing.

    Idempotent: rows match on their natural key, and the data commits with the job's report in one transaction,
    so a rerun after a crash writes each row once.
    """
    job = run.job
    actor = job.user  # the actor of its writes (audit, scope)
    dry_run = job.params["dry_run"]
    importer = IMPORTERS[importer_of(job)](actor, **job.params.get("context", {}))
    with file_path(job).open("rb") as stream:
        report = run_import(importer, stream, job.params["filename"], skip_invalid=job.params["skip_invalid"],
                            dry_run=dry_run, progress=run.progress)
    run.finish(asdict(report), keep_work=not (report.refused or dry_run))
    if not (dry_run and may_confirm(report)):
        discard_file(job)  # nothing more can come of it: imported, or refused

