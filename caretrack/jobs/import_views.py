"""The import pages every domain shares: upload, progress, preview with the error report, confirm, rerun.

`register_import_routes(bp, ...)` adds six endpoints to a domain's blueprint: import_<kind> (upload),
show_import (progress, then the report), import_progress (JSON for the progress bar), confirm_import,
cancel_import (which deletes the uploaded file) and rerun_import (a job whose worker died, by its starter).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from caretrack.core.access import Permission, permission_required
from caretrack.core.forms import ImportForm
from caretrack.core.requests import after_commit
from caretrack.extensions import db
from caretrack.jobs import imports
from caretrack.jobs import services as jobs
from caretrack.jobs.models import Job
from caretrack.jobs.queue import enqueue
from caretrack.jobs.tasks import run_import

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportPage:
    """What one import's pages say and who may use them."""

    kind: str
    title: str  # message id, translated when shown
    columns_help: str  # message id
    permission: Permission
    allowed: Callable[[object], bool] = lambda user: True
    # What the upload's query string says the import is of (e.g. ?activity=7): () -> (params for the importer,
    # the columns help to show instead of columns_help, or None). It aborts (404) for what the user may not use.
    context: Callable[[], tuple[dict, str | None]] | None = None


def _launch(job: Job) -> int:
    """Queue the job's task once the request has committed its row (a worker must find the row it is given).

    The ids are read before the commit: nothing reads the database after it (the task may be running already).
    """
    db.session.flush()
    job_id, attempt = job.id, job.attempt
    after_commit(lambda: _enqueue(job_id, attempt))
    return job_id


def _enqueue(job_id: int, attempt: int) -> None:
    try:
        enqueue(run_import, job_id, attempt)
    except Exception:  # the queue's server is down: say so on the job, which can be rerun once it is back
        log.exception("import job %s could not be queued", job_id)
        jobs.mark_failed(job_id, attempt, "not queued")
        flash(_("后台任务队列暂时不可用，导入没有开始。请稍后点“重新运行”。"), "danger")


# Each import's page of one job (the endpoint of its show_import), and its title: for lists of a user's imports.
IMPORT_PAGES: dict[str, tuple[str, str]] = {}


def register_import_routes(bp: Blueprint, page: ImportPage, importer_factory) -> None:
    """Add the upload, progress, report, confirm and rerun pages of one import to `bp`."""
    imports.IMPORTERS[page.kind] = importer_factory
    IMPORT_PAGES[page.kind] = (f"{bp.name}.show_import", page.title)
    upload_endpoint = f"{bp.name}.import_{page.kind}"

    def guard():
        if not page.allowed(current_user):
            abort(403)

    def own_job(job_id: int) -> Job:
        # A job is seen only by the person who started it: its report names rows of their scope.
        job = db.session.get(Job, job_id)
        if job is None or job.user_id != current_user.id or job.kind != imports.job_kind(page.kind):
            abort(404)
        return job

    def show(job_id: int):
        return redirect(url_for(f"{bp.name}.show_import", job_id=job_id))

    @login_required
    @permission_required(page.permission)
    def upload():
        guard()
        context, columns_help = page.context() if page.context else ({}, None)
        form = ImportForm()
        if form.validate_on_submit():
            job = imports.start_preview(page.kind, current_user, form.file.data, form.skip_invalid.data, context)
            return show(_launch(job))
        return render_template("imports/upload.html", form=form, page=page,
                               columns_help=columns_help), 400 if form.errors else 200

    @login_required
    @permission_required(page.permission)
    def show_import(job_id: int):
        guard()
        job = own_job(job_id)
        report = imports.import_report(job)
        return render_template("imports/job.html", job=job, report=report, page=page, upload_endpoint=upload_endpoint,
                               blueprint=bp.name, status=jobs.shown_status(job), live=jobs.live(job),
                               may_rerun=jobs.may_rerun(job, current_user) and imports.file_path(job).exists(),
                               may_confirm=report is not None and imports.may_confirm(report))

    @login_required
    @permission_required(page.permission)
    def import_progress(job_id: int):
        guard()
        job = own_job(job_id)
        now = jobs.live(job)
        return jsonify(status=jobs.shown_status(job), phase=now.phase, processed=now.rows_done, total=job.total,
                       percent=imports.percent(job))

    @login_required
    @permission_required(page.permission)
    def confirm_import(job_id: int):
        guard()
        preview = own_job(job_id)
        report = imports.import_report(preview)
        if (not preview.params["dry_run"] or preview.status != "done" or report is None
                or not imports.may_confirm(report)):
            flash(_("这个预览不能确认导入，请重新上传文件。"), "warning")
            return redirect(url_for(upload_endpoint))
        if not imports.file_path(preview).exists():
            flash(_("待导入的文件已失效，请重新上传。"), "warning")
            return redirect(url_for(upload_endpoint))
        return show(_launch(imports.start_confirmed(preview, current_user)))

    @login_required
    @permission_required(page.permission)
    def cancel_import(job_id: int):
        guard()
        imports.cancel(own_job(job_id))
        flash(_("已取消导入，上传的文件已删除。"), "info")
        return redirect(url_for(upload_endpoint))

    @login_required
    @permission_required(page.permission)
    def rerun_import(job_id: int):
        guard()
        job = own_job(job_id)
        if not jobs.may_rerun(job, current_user):
            flash(_("这个任务正在运行或已经完成，不能重新运行。"), "warning")
            return show(job_id)
        if not imports.file_path(job).exists():
            flash(_("待导入的文件已失效，请重新上传。"), "warning")
            return redirect(url_for(upload_endpoint))
        jobs.rerun(job, current_user)
        flash(_("已重新开始这个任务。"), "info")
        return show(_launch(job))

    bp.add_url_rule("/import", f"import_{page.kind}", upload, methods=["GET", "POST"])
    bp.add_url_rule("/import/jobs/<int:job_id>", "show_import", show_import)
    bp.add_url_rule("/import/jobs/<int:job_id>.json", "import_progress", import_progress)
    bp.add_url_rule("/import/jobs/<int:job_id>/confirm", "confirm_import", confirm_import, methods=["POST"])
    bp.add_url_rule("/import/jobs/<int:job_id>/cancel", "cancel_import", cancel_import, methods=["POST"])
    bp.add_url_rule("/import/jobs/<int:job_id>/rerun", "rerun_import", rerun_import, methods=["POST"])
