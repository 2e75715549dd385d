"""Summary pages: a student's term summary and its narrative, PDF and batch downloads, the yearly archive."""

import json

from flask import abort, flash, g, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.core.access import Permission, can, get_or_404, permission_required, require, scoped
from caretrack.core.errors import DomainError
from caretrack.core.forms import flash_saved
from caretrack.core.requests import roll_back_anyway
from caretrack.core.timeutil import local_today
from caretrack.core.xlsx import download
from caretrack.extensions import db
from caretrack.jobs import services as jobs
from caretrack.jobs.models import Job
from caretrack.ledger.models import Grade
from caretrack.ledger.services import audit_reads
from caretrack.org.models import AcademicYear, SchoolClass, Unit
from caretrack.org.services import term_on
from caretrack.students.models import Student
from caretrack.students.queries import get_student
from caretrack.students.views import register_file_section
from caretrack.summaries import archive, batches, bp, files, pdf, queries, services
from caretrack.summaries.forms import BatchForm, CloseYearForm, NarrativeForm
from caretrack.summaries.models import SnapshotKind

PDF_MIMETYPE = "application/pdf"


def summaries_section(user, student: Student) -> dict | None:
    """Links to the student's term summaries on the file page, for the current year's terms that have begun."""
    if not can(user, Permission.SUMMARIES_VIEW, student):
        return None
    today = local_today()
    current = term_on(student.school, today)
    if current is None:
        return None
    terms = [number for number in services.TERMS
             if today >= queries.term_window(student, current.year, number).starts_on]
    return {"template": "summaries/_file_section.html", "student": student, "year": current.year, "terms": terms}


register_file_section(summaries_section)


def _student_for(permission: Permission, student_id: int) -> Student:
    student = get_student(current_user, student_id)
    if student is None:
        abort(404)
    return require(current_user, permission, student)


def _year_or_404(start_year: int) -> AcademicYear:
    year = queries.year_by_start(start_year)
    if year is None:
        abort(404)
    return year


def _summary(student: Student, year: AcademicYear, term: int, reader):
    """The summary, or a DomainError for a term that is not one or has not begun."""
    services.check_term(term)
    services.check_started(queries.term_window(student, year, term), local_today())
    return queries.build_summaries([student], year, term, reader=reader)[0]


@bp.route("/students/<int:student_id>/<int:start_year>/<int:term>")
@login_required
@permission_required(Permission.SUMMARIES_VIEW)
def show_summary(student_id: int, start_year: int, term: int):
    student, year = _student_for(Permission.SUMMARIES_VIEW, student_id), _year_or_404(start_year)
    try:
        summary = _summary(student, year, term, current_user)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("students.show_student", student_id=student.id))
    may_write = can(current_user, Permission.NARRATIVE_WRITE, student)
    form = NarrativeForm(text=summary.narrative_text,
                         version=summary.narrative.version if summary.narrative else "") if may_write else None
    audit_reads(current_user, [line for line in summary.care + summary.contacts if line.summary is not None],
                g.client_address)
    return _render_summary(summary, form)


def _render_summary(summary, form, status: int = 200):
    return render_template("summaries/summary.html", summary=summary, form=form, term_label=services.term_label,
                           grade_label=lambda grade: Grade(grade).label if grade else "—"), status


@bp.route("/students/<int:student_id>/<int:start_year>/<int:term>/narrative", methods=["POST"])
@login_required
@permission_required(Permission.NARRATIVE_WRITE)
def save_narrative(student_id: int, start_year: int, term: int):
    student, year = _student_for(Permission.NARRATIVE_WRITE, student_id), _year_or_404(start_year)
    form = NarrativeForm()
    if form.validate_on_submit():
        # A form opened before any narrative existed carries version 0: someone writing one since makes it stale.
        version = int(form.version.data) if (form.version.data or "").isdigit() else 0
        try:
            services.save_narrative(current_user, student, year, term, form.text.data, expected_version=version)
        except DomainError as error:
            roll_back_anyway()
            form.add_domain_error(error)
        else:
            flash_saved(_("评语已保存。"))
            return redirect(url_for("summaries.show_summary", student_id=student.id, start_year=start_year,
                                    term=term))
    try:
        summary = _summary(student, year, term, current_user)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("students.show_student", student_id=student.id))
    return _render_summary(summary, form, 400)


@bp.route("/students/<int:student_id>/<int:start_year>/<int:term>.pdf")
@login_required
@permission_required(Permission.SUMMARIES_VIEW)
def download_pdf(student_id: int, start_year: int, term: int):
    student, year = _student_for(Permission.SUMMARIES_VIEW, student_id), _year_or_404(start_year)
    try:
        summary = _summary(student, year, term, None)  # a PDF leaves the screen: confidential text stays out
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("students.show_student", student_id=student.id))
    content = pdf.render([summary], local_today())
    return download_bytes(content, files.pdf_filename(summary), PDF_MIMETYPE)


def download_bytes(content: bytes, filename: str, mimetype: str):
    from io import BytesIO

    return download(BytesIO(content), filename, mimetype)


# --- batches ------------------------------------------------------------------------------------------------

def _scope_choices(user) -> list[tuple[str, str]]:
    """The schools and classes the user may download summaries of."""
    schools = db.session.scalars(scoped(select(Unit), user, Permission.SUMMARIES_VIEW, Unit)
                                 .where(Unit.kind.notin_(["city", "district"])).order_by(Unit.code)).all()
    classes = db.session.scalars(scoped(select(SchoolClass), user, Permission.SUMMARIES_VIEW, SchoolClass)
                                 .join(Unit, Unit.id == SchoolClass.school_id)
                                 .order_by(Unit.code, SchoolClass.name)).all()
    return ([(f"unit:{s.id}", s.name) for s in schools]
            + [(f"class:{c.id}", f"{c.school.name} {c.name}") for c in classes])


def _target_or_404(target: str):
    """The school or class a batch is of, when the user may see its summaries; else 404."""
    parsed = batches.parse_target(target)
    if parsed is None:
        abort(404)
    return get_or_404(*parsed, current_user, Permission.SUMMARIES_VIEW)


@bp.route("/narratives")
@login_required
@permission_required(Permission.NARRATIVE_WRITE)
def list_narratives():
    """The students whose narrative of the current term is still to write (the home page counts them)."""
    from caretrack.accounts.services import home_unit
    from caretrack.core.pagination import paginate
    from caretrack.students.queries import with_places

    current = term_on(home_unit(current_user), local_today())
    page = paginate(with_places(queries.narratives_to_write(current_user, current.year, current.number))) \
        if current else None
    return render_template("summaries/narratives.html", page=page, current=current)


@bp.route("/", methods=["GET", "POST"])
@login_required
@permission_required(Permission.SUMMARIES_VIEW)
def list_batches():
    current = term_on(None, local_today())
    form = BatchForm(year=current.year.start_year if current else None,
                     term=str(current.number) if current else "1")
    form.scope.choices = _scope_choices(current_user)
    if form.validate_on_submit():
        year = _year_or_404(form.year.data)
        _target_or_404(form.scope.data)
        wanted = batches.BatchRequest(form.scope.data, year.start_year, int(form.term.data), form.format.data)
        try:
            job, joined = batches.start(current_user, wanted, year)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if joined:
                flash(_("同样的一批小结已在生成中，这是它的进度；完成后即可下载。"), "info")
            return redirect(url_for("summaries.show_batch", job_id=job.id))
    recent = db.session.scalars(select(Job).where(Job.kind == batches.JOB_KIND, Job.user_id == current_user.id)
                                .order_by(Job.id.desc()).limit(5)).all()
    return render_template("summaries/batches.html", form=form, recent=recent,
                           describe=_describe_batch), 400 if form.errors else 200


def _describe_batch(job: Job) -> str:
    """The batch's school or class, year, term and format, as a line of the page."""
    wanted = batches.BatchRequest.of(job)
    model, target_id = batches.parse_target(wanted.target)
    target = db.session.get(model, target_id)
    name = target.name if model is Unit else f"{target.school.name} {target.name}"
    formats = dict(BatchForm.format_choices())
    return (f"{name} {wanted.start_year}-{wanted.start_year + 1} {services.term_label(wanted.term)} "
            f"{formats.get(wanted.file_format, wanted.file_format)}")


def _batch_job_or_404(job_id: int) -> Job:
    """A batch job, seen by anyone who may see its school or class (a joined batch is everyone's who asked)."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind != batches.JOB_KIND:
        abort(404)
    _target_or_404(job.params["target"])
    return job


@bp.route("/batches/<int:job_id>")
@login_required
@permission_required(Permission.SUMMARIES_VIEW)
def show_batch(job_id: int):
    job = _batch_job_or_404(job_id)
    return render_template("summaries/batch_job.html", job=job, status=jobs.shown_status(job), live=jobs.live(job),
                           percent=batches.percent(job), has_file=batches.has_file(job),
                           description=_describe_batch(job))


@bp.route("/batches/<int:job_id>.json")
@login_required
@permission_required(Permission.SUMMARIES_VIEW)
def batch_progress(job_id: int):
    job = _batch_job_or_404(job_id)
    return jsonify(status=jobs.shown_status(job), phase=jobs.live(job).phase, processed=jobs.live(job).rows_done,
                   total=job.total, percent=batches.percent(job))


@bp.route("/batches/<int:job_id>/download")
@login_required
@permission_required(Permission.SUMMARIES_VIEW)
def download_batch(job_id: int):
    job = _batch_job_or_404(job_id)
    if not batches.has_file(job):
        flash(batches.not_ready_message(), "warning")
        return redirect(url_for("summaries.show_batch", job_id=job.id))
    file_format = job.params["format"]
    return download_bytes(batches.file_path(job).read_bytes(), job.result["filename"], files.MIMETYPES[file_format])


# --- the archive --------------------------------------------------------------------------------------------

@bp.route("/archive/")
@login_required
@permission_required(Permission.ARCHIVE_VIEW)
def list_archive():
    units = db.session.scalars(scoped(select(Unit), current_user, Permission.ARCHIVE_VIEW, Unit)
                               .order_by(Unit.code)).all()
    form = CloseYearForm() if can(current_user, Permission.ARCHIVE_CLOSE) else None
    return render_template("summaries/archive.html", years=archive.closed_years(), units=units, form=form)


@bp.route("/archive/close", methods=["POST"])
@login_required
@permission_required(Permission.ARCHIVE_CLOSE)
def close_year():
    form = CloseYearForm()
    if not form.validate_on_submit():
        flash(_("请填写要归档的学年。"), "error")
        return redirect(url_for("summaries.list_archive"))
    year = _year_or_404(form.year.data)
    try:
        report = archive.close_year(current_user, year, force=form.force.data)
    except DomainError as error:
        roll_back_anyway()
        flash(error.message, "error")
        return redirect(url_for("summaries.list_archive"))
    flash(_("%(year)s 学年已归档：%(units)s 个单位，%(n)s 条快照；已归档的单位 %(old)s 个未改动。", year=year.label,
            units=len(report.closed), n=report.snapshots, old=report.already_closed), "success")
    return redirect(url_for("summaries.list_archive"))


@bp.route("/archive/<int:start_year>/units/<int:unit_id>")
@login_required
@permission_required(Permission.ARCHIVE_VIEW)
def show_archive(start_year: int, unit_id: int):
    year, unit = _year_or_404(start_year), get_or_404(Unit, unit_id, current_user, Permission.ARCHIVE_VIEW)
    closure = archive.closure_of(year, unit)
    snapshots = archive.snapshots_of(year, unit) if closure else []
    return render_template("summaries/archive_unit.html", year=year, unit=unit, closure=closure,
                           snapshots=snapshots, corrections=archive.corrections(year, unit, snapshots),
                           contents={s.id: json.loads(s.content) for s in snapshots},
                           SUMMARY=SnapshotKind.SUMMARY)


@bp.route("/archive/<int:start_year>/units/<int:unit_id>.json")
@login_required
@permission_required(Permission.ARCHIVE_VIEW)
def export_archive(start_year: int, unit_id: int):
    year, unit = _year_or_404(start_year), get_or_404(Unit, unit_id, current_user, Permission.ARCHIVE_VIEW)
    if archive.closure_of(year, unit) is None:
        abort(404)
    return download_bytes(archive.export_unit(year, unit), f"归档_{year.label}_{unit.code}.json",
                          "application/json")
