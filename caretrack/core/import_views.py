"""The import pages every domain shares: upload, progress, preview with the error report, confirm.

`register_import_routes(bp, ...)` adds five endpoints to a domain's blueprint: import_<kind> (upload),
show_import (progress, then the report), import_progress (JSON for the progress bar), confirm_import and
cancel_import (which deletes the uploaded file).
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from caretrack.core import import_jobs
from caretrack.core.access import Permission, permission_required
from caretrack.core.forms import ImportForm
from caretrack.extensions import db


@dataclass(frozen=True)
class ImportPage:
    """What one import's pages say and who may use them."""

    kind: str
    title: str  # message id, translated when shown
    columns_help: str  # message id
    permission: Permission
    allowed: Callable[[object], bool] = lambda user: True


def register_import_routes(bp: Blueprint, page: ImportPage, importer_factory) -> None:
    """Add the upload, progress, report and confirm pages of one import to `bp`."""
    import_jobs.IMPORTERS[page.kind] = importer_factory
    upload_endpoint = f"{bp.name}.import_{page.kind}"

    def guard():
        if not page.allowed(current_user):
            abort(403)

    def own_job(job_id: int) -> import_jobs.ImportJob:
        # A job is seen only by the person who started it: its report names rows of their scope.
        job = db.session.get(import_jobs.ImportJob, job_id)
        if job is None or job.user_id != current_user.id or job.kind != page.kind:
            abort(404)
        return job

    @login_required
    @permission_required(page.permission)
    def upload():
        guard()
        form = ImportForm()
        if form.validate_on_submit():
            job = import_jobs.start_preview(page.kind, current_user, form.file.data, form.skip_invalid.data)
            return redirect(url_for(f"{bp.name}.show_import", job_id=job.id))
        return render_template("imports/upload.html", form=form, page=page), 400 if form.errors else 200

    @login_required
    @permission_required(page.permission)
    def show_import(job_id: int):
        guard()
        job = own_job(job_id)
        report = job.import_report()
        return render_template("imports/job.html", job=job, report=report, page=page, upload_endpoint=upload_endpoint,
                               blueprint=bp.name, may_confirm=report is not None and import_jobs.may_confirm(report))

    @login_required
    @permission_required(page.permission)
    def import_progress(job_id: int):
        guard()
        job = own_job(job_id)
        phase, processed = job.progress
        return jsonify(status=job.status, phase=phase, processed=processed, total=job.total, percent=job.percent)

    @login_required
    @permission_required(page.permission)
    def confirm_import(job_id: int):
        guard()
        preview = own_job(job_id)
        report = preview.import_report()
        if not preview.dry_run or preview.status != "done" or report is None or not import_jobs.may_confirm(report):
            flash(_("这个预览不能确认导入，请重新上传文件。"), "warning")
            return redirect(url_for(upload_endpoint))
        if not import_jobs.file_path(preview).exists():
            flash(_("待导入的文件已失效，请重新上传。"), "warning")
            return redirect(url_for(upload_endpoint))
        job = import_jobs.start_confirmed(preview)
        return redirect(url_for(f"{bp.name}.show_import", job_id=job.id))

    @login_required
    @permission_required(page.permission)
    def cancel_import(job_id: int):
        guard()
        import_jobs.cancel(own_job(job_id))
        db.session.commit()
        flash(_("已取消导入，上传的文件已删除。"), "info")
        return redirect(url_for(upload_endpoint))

    bp.add_url_rule("/import", f"import_{page.kind}", upload, methods=["GET", "POST"])
    bp.add_url_rule("/import/jobs/<int:job_id>", "show_import", show_import)
    bp.add_url_rule("/import/jobs/<int:job_id>.json", "import_progress", import_progress)
    bp.add_url_rule("/import/jobs/<int:job_id>/confirm", "confirm_import", confirm_import, methods=["POST"])
    bp.add_url_rule("/import/jobs/<int:job_id>/cancel", "cancel_import", cancel_import, methods=["POST"])
