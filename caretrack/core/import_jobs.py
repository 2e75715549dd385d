"""Imports run as jobs with visible progress: upload, dry-run preview with the error report, confirm.

A job records who imports what and how far it has got; the page polls it. The work runs in a thread of the
web process with its own app context and session (CARETRACK_IMPORTS_IN_BACKGROUND, on by default), or inline
(tests, and the CLI, which calls run_import directly).

An uploaded roster holds children's names and ID numbers, so it lives no longer than it must: written readable by
the app alone (0600), under a random name, and deleted as soon as nothing more can come of it (a preview refused
as a whole or with nothing to write, a failed one, a cancel, the confirmed import whatever its end), and in any
case after an hour (a sweep on every upload and a scheduled one). A preview whose valid rows can still be imported
keeps its file for that hour.
"""

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from caretrack.core.database import begin_writing
from caretrack.core.imports import ImportReport, RowError, run_import
from caretrack.core.models import UTCDateTime
from caretrack.core.tabular import count_rows
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db

log = logging.getLogger(__name__)

# kind -> function(actor) returning the importer; each domain registers its own at import time.
IMPORTERS: dict[str, Callable] = {}

# job id -> (phase, rows processed) of the SQLite jobs running in this process (see _run).
_LOCAL_PROGRESS: dict[int, tuple[str, int]] = {}


class ImportJob(db.Model):
    """One run of an import over one uploaded file, dry or for real."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    token: Mapped[str] = mapped_column(String(40), unique=True)
    skip_invalid: Mapped[bool] = mapped_column(default=False)
    dry_run: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued, running, done, failed
    phase: Mapped[str | None] = mapped_column(String(10))
    processed: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def progress(self) -> tuple[str | None, int]:
        """(phase, rows processed) as far as this process knows: SQLite jobs report in memory, see _run."""
        return _LOCAL_PROGRESS.get(self.id, (self.phase, self.processed))

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        phase, processed = self.progress
        done = processed / self.total if self.total else 0
        # validation is the first half of the work, writing the second
        return min(99, int(50 * done + (50 if phase == "write" else 0)))

    def import_report(self) -> ImportReport | None:
        if self.report is None:
            return None
        data = dict(self.report)
        data["errors"] = [RowError(**e) for e in data.get("errors", [])]
        data["warnings"] = [RowError(**e) for e in data.get("warnings", [])]
        return ImportReport(**data)


FILE_LIFETIME = timedelta(hours=1)


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def file_path(job: ImportJob) -> Path:
    return _folder() / f"{job.token}{Path(job.filename).suffix.lower()}"


def _save_private(storage, path: Path) -> None:
    """Write the upload readable and writable by the app's own user only, whatever the process umask."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        storage.save(target)


def discard_file(job: ImportJob) -> None:
    """Delete the job's uploaded file (there may be none left)."""
    file_path(job).unlink(missing_ok=True)


def sweep_stale_files(max_age: timedelta = FILE_LIFETIME) -> int:
    """Delete uploaded files older than `max_age`, previewed and never confirmed; return how many."""
    oldest = time.time() - max_age.total_seconds()
    removed = 0
    for path in _folder().iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < oldest:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # a job finished with it meanwhile
            continue
    if removed:
        log.info("deleted %d stale import files", removed)
    return removed


def start_preview(kind: str, actor, storage, skip_invalid: bool) -> ImportJob:
    """Keep the uploaded file and start its dry run."""
    sweep_stale_files()
    job = ImportJob(kind=kind, user_id=actor.id, filename=Path(storage.filename or "upload.csv").name,
                    token=secrets.token_urlsafe(16), skip_invalid=skip_invalid, dry_run=True)
    _save_private(storage, file_path(job))
    job.total = count_rows(file_path(job))
    db.session.add(job)
    db.session.commit()
    _launch(job.id)
    return job


def start_confirmed(preview: ImportJob) -> ImportJob:
    """Import for real the very file a finished dry run previewed; of a file with bad rows, its valid rows (what
    the preview's button said it would do).
    """
    skip_invalid = preview.skip_invalid or bool(preview.import_report().invalid)
    job = ImportJob(kind=preview.kind, user_id=preview.user_id, filename=preview.filename,
                    token=secrets.token_urlsafe(16), skip_invalid=skip_invalid, dry_run=False, total=preview.total)
    file_path(preview).rename(file_path(job))
    os.utime(file_path(job))  # its hour starts again: the sweep must not take it from under the queued job
    db.session.add(job)
    db.session.commit()
    _launch(job.id)
    return job


def cancel(preview: ImportJob) -> None:
    """The user dropped the preview: delete the file, so it can be neither confirmed nor left behind."""
    discard_file(preview)
    if preview.status == "done":
        preview.status = "cancelled"


def _launch(job_id: int) -> None:
    app = current_app._get_current_object()
    if app.config.get("CARETRACK_IMPORTS_IN_BACKGROUND", True):
        threading.Thread(target=run_job_in_context, args=(app, job_id), name=f"import-{job_id}", daemon=True).start()
    else:
        run_job(job_id)


def run_job_in_context(app: Flask, job_id: int) -> None:
    with app.app_context():
        run_job(job_id)


def run_job(job_id: int) -> None:
    """Run one job to its end, reporting progress; never leave it 'running' after a crash."""
    from caretrack.accounts.models import User

    job = db.session.get(ImportJob, job_id)
    actor = db.session.get(User, job.user_id)
    job.status = "running"
    db.session.commit()
    try:
        report = _run(job, actor)
    except Exception:
        log.exception("import job %s failed", job_id)
        db.session.rollback()
        job = db.session.get(ImportJob, job_id)
        job.status, job.finished_at = "failed", utcnow()
        db.session.commit()
        discard_file(job)
        return
    finally:
        _LOCAL_PROGRESS.pop(job_id, None)
    job.report, job.status, job.finished_at = asdict(report), "done", utcnow()
    db.session.commit()
    if not (job.dry_run and may_confirm(report)):
        discard_file(job)  # nothing more can come of it: imported, or refused


def may_confirm(report: ImportReport) -> bool:
    """Whether a finished preview offers to import its file (or its valid rows) for real: only when that would
    change something.
    """
    return not report.file_refused and report.changes_anything


def _run(job: ImportJob, actor) -> ImportReport:
    progress_session = db.session

    sqlite = db.engine.dialect.name == "sqlite"

    def progress(phase: str, count: int) -> None:
        # Progress is written on its own connection so the page sees it before the import commits. Not on SQLite,
        # where the import holds the only write lock: there it stays in this process's memory.
        if sqlite:
            _LOCAL_PROGRESS[job.id] = (phase, count)
            return
        with db.engine.begin() as connection:
            connection.execute(ImportJob.__table__.update().where(ImportJob.id == job.id)
                               .values(phase=phase, processed=count))

    in_background = current_app.config.get("CARETRACK_IMPORTS_IN_BACKGROUND", True)
    if in_background:
        begin_writing()  # the thread's own session: hold SQLite's write lock from the start
    importer = IMPORTERS[job.kind](actor)
    with file_path(job).open("rb") as stream:
        report = run_import(importer, stream, job.filename, skip_invalid=job.skip_invalid, dry_run=job.dry_run,
                            progress=progress if in_background else None)
    if report.refused or job.dry_run:
        progress_session.rollback()
    else:
        progress_session.commit()
    return report
