"""Ledger pages: the timeline on a student's file, recording aid and care, removal, the payment list."""

from dataclasses import dataclass
from pathlib import Path

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from caretrack.core import uploads
from caretrack.core.access import Permission, can, get_or_404, permission_required, require
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError
from caretrack.core.forms import flash_saved
from caretrack.core.pagination import paginate
from caretrack.core.timeutil import local_today
from caretrack.core.urls import parse_id
from caretrack.core.validation import checked_data, typed
from caretrack.core.xlsx import download
from caretrack.extensions import db
from caretrack.jobs.import_views import ImportPage, register_import_routes
from caretrack.ledger import bp, exports, queries, services
from caretrack.ledger.forms import DisbursementForm, RecordForm, RemoveForm
from caretrack.ledger.importers import DisbursementImporter
from caretrack.ledger.models import Attachment, Disbursement, Grade, RecordKind, SupportRecord, Tier
from caretrack.org import services as org
from caretrack.org.models import AcademicYear
from caretrack.students.models import Student
from caretrack.students.queries import get_student
from caretrack.students.views import register_file_section


def _year_by_start(start_year: int | None) -> AcademicYear | None:
    if not start_year:
        return None
    return next((year for year in org.all_years() if year.start_year == start_year), None)


@dataclass(frozen=True)
class Closable:
    """An open follow-up of the student that a new record may complete, as the record form lists it."""

    id: int
    label: str
    record_kinds: tuple[str, ...]  # the kinds of record that fulfil it: ticked in advance for those


# Follow-ups sit above the ledger: they say here which of a student's follow-ups a new record may close. Each is
# a function(user, student) returning a list of Closable.
CLOSABLE_SOURCES: list = []


def register_closable_source(source) -> None:
    CLOSABLE_SOURCES.append(source)


def _prepare_record_form(form: RecordForm, student: Student, fresh: bool) -> list[Closable]:
    """List the follow-ups the record may close; on a fresh form, tick those its kind fulfils.

    `?close=<id>` (the follow-up page's link) ticks that one and picks the kind of record that fulfils it.
    """
    closables = [c for source in CLOSABLE_SOURCES for c in source(current_user, student)]
    form.closes.choices = [(c.id, c.label) for c in closables]
    if fresh:
        wanted = next((c for c in closables if str(c.id) == request.args.get("close")), None)
        if wanted is not None and wanted.record_kinds:
            form.kind.data = wanted.record_kinds[0]
        form.closes.data = [c.id for c in closables if c is wanted or form.kind.data in c.record_kinds]
    return closables


_FRESH_FIELDS = "caretrack.fresh_record_fields"
_FRESH_FIELDS_KEPT = 64  # languages x kinds x the two readers, for a day or two: never more than a few dozen


def fresh_record_fields(form: RecordForm, may_read_restricted: bool) -> Markup:
    """The fixed fields of a fresh record form (ledger/_record_fixed_fields.html), rendered once per process.

    Every file page shows the new-record form, and its fields are the same for everyone but for the language, the
    day, the kind it starts on and whether the reader may open restricted records: rendering them is most of the
    page's template time, so each combination is rendered once and kept on the app. A form holding input or
    errors is never rendered this way.
    """
    key = (str(get_locale()), form.kind.data, form.happened_on.data, may_read_restricted)
    kept = current_app.extensions.setdefault(_FRESH_FIELDS, {})
    html = kept.get(key)
    if html is None:
        if len(kept) >= _FRESH_FIELDS_KEPT:
            kept.clear()
        template = current_app.jinja_env.get_template("ledger/_record_fixed_fields.html")
        html = kept[key] = Markup(template.render(form=form, may_read_restricted=may_read_restricted))
    return html


def timeline_section(user, student: Student) -> dict | None:
    """The student's aid and care, for the file page; confidential records shown open are audited."""
    if not can(user, Permission.LEDGER_VIEW, student):
        return None
    args = request.args
    year_arg = args.get("year", "")
    filters = queries.TimelineFilters(kind=args.get("kind", ""),
                                      year=_year_by_start(parse_id(year_arg)))
    entries = queries.timeline(user, student, filters)
    services.audit_reads(user, [e.entry for e in entries if isinstance(e.entry, SupportRecord) and e.readable],
                         g.client_address)
    may_record = can(user, Permission.CARE_RECORD, student)
    may_read_restricted = can(user, Permission.CARE_RESTRICTED, student)
    form = RecordForm(happened_on=local_today(), formdata=None) if may_record else None
    closables = _prepare_record_form(form, student, fresh=True) if form else []
    return {"template": "ledger/_timeline.html", "student": student, "entries": entries, "filters": filters,
            "totals": queries.aid_totals_by_year(student), "kinds": RecordKind.choices(),
            "years": org.all_years(), "may_record": may_record, "may_disburse": can(user, Permission.DISBURSE, student),
            "record_form": form, "closables": closables, "open_record_form": bool(request.args.get("close")),
            "fresh_fields": fresh_record_fields(form, may_read_restricted) if form else None,
            "may_read_restricted": may_read_restricted}


register_file_section(timeline_section)


def _student_for(permission: Permission, student_id: int) -> Student:
    """A student the user may see (404 otherwise) and may act on with `permission` (403 otherwise)."""
    student = get_student(current_user, student_id)
    if student is None:
        abort(404)
    return require(current_user, permission, student)


def _back_to_file(student: Student):
    return redirect(url_for("students.show_student", student_id=student.id) + "#timeline")


# --- payments ----------------------------------------------------------------------------------------------

def _prepare_disbursement_form(form: DisbursementForm, student: Student) -> None:
    from caretrack.ledger.models import AidProject

    projects = db.session.scalars(select(AidProject).where(AidProject.stage == student.stage)
                                  .order_by(AidProject.id)).all()
    form.project_id.choices = [(p.id, p.name) for p in projects]
    form.academic_year_id.choices = [(y.id, y.label) for y in db.session.scalars(
        select(AcademicYear).order_by(AcademicYear.start_year.desc()))]


def _disbursement_data(form: DisbursementForm, student: Student, errors) -> services.DisbursementData:
    """The typed payment; a bad amount goes to `errors` and leaves the amount None."""
    from caretrack.ledger.models import AidProject

    return services.DisbursementData(
        student=student, project=typed(form.project_id, lambda project_id: db.session.get(AidProject, project_id)),
        grade=typed(form.grade, Grade),
        amount=typed(form.amount, lambda text: errors.run(services.parse_amount, text)),
        paid_on=typed(form.paid_on), academic_year=typed(form.academic_year_id, lambda year_id: db.session.get(
            AcademicYear, year_id)), term=typed(form.term, int), voucher=(form.voucher.data or "").strip() or None)


def _checked_disbursement(form: DisbursementForm, student: Student, current: Disbursement | None):
    """The typed payment when the form is right so far, else None with every error of the form shown at once."""
    return checked_data(form, lambda errors: _disbursement_data(form, student, errors),
                        lambda data, errors: services.check_disbursement_form(data, current, errors))


@bp.route("/students/<int:student_id>/disbursements/new", methods=["GET", "POST"])
@login_required
@permission_required(Permission.DISBURSE)
def record_disbursement(student_id: int):
    student = _student_for(Permission.DISBURSE, student_id)
    today = local_today()
    current = org.term_on(student.school, today)
    form = DisbursementForm(paid_on=today, academic_year_id=current.year.id if current else None,
                            term=str(current.number) if current else "")
    _prepare_disbursement_form(form, student)
    data = _checked_disbursement(form, student, None)
    if data is not None:
        try:
            services.record_disbursement(current_user, data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash(_("发放记录已保存。"), "success")
            return _back_to_file(student)
    return render_template("ledger/disbursement_form.html", form=form, student=student, disbursement=None), \
        400 if form.errors else 200


def _entry_or_404(model, entry_id: int, permission: Permission):
    return get_or_404(model, entry_id, current_user, Permission.LEDGER_VIEW, then=permission)


@bp.route("/disbursements/<int:disbursement_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.DISBURSE)
def edit_disbursement(disbursement_id: int):
    disbursement = _entry_or_404(Disbursement, disbursement_id, Permission.DISBURSE)
    student = disbursement.student
    form = DisbursementForm(obj=disbursement) if request.method == "GET" else DisbursementForm()
    if request.method == "GET":
        form.term.data = str(disbursement.term or "")
        form.grade.data = disbursement.grade or ""
        form.amount.data = f"{disbursement.amount:.2f}"
    _prepare_disbursement_form(form, student)
    data = _checked_disbursement(form, student, disbursement)
    if data is not None:
        try:
            changed = services.update_disbursement(current_user, disbursement, data, int(form.version.data or 0))
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash_saved(_("发放记录已修改。"), changed)
            return _back_to_file(student)
    return render_template("ledger/disbursement_form.html", form=form, student=student,
                           disbursement=disbursement), 400 if form.errors else 200


# --- care records ------------------------------------------------------------------------------------------

def _record_data(form: RecordForm, student: Student) -> services.RecordData:
    return services.RecordData(
        student=student, kind=typed(form.kind, RecordKind), happened_on=typed(form.happened_on),
        summary=typed(form.summary), outcome=form.outcome.data, next_step=form.next_step.data,
        next_step_due=typed(form.next_step_due), tier=typed(form.tier, Tier),
        post=form.post.data, hours=typed(form.hours), pay=typed(form.pay),
        closes=tuple(form.closes.data or ()))


def _checked_record(form: RecordForm, student: Student) -> services.RecordData | None:
    """The typed record when the form is right so far, else None with every error of the form shown at once."""
    return checked_data(form, lambda _errors: _record_data(form, student),
                        lambda data, errors: services.check_record(data, local_today(), errors))


def _save_attachment(form: RecordForm, support: SupportRecord) -> list[str]:
    """Store the uploaded file, if any; what it changed, as `update_record` says it."""
    upload = form.attachment.data
    if not (upload and getattr(upload, "filename", "")):
        return []
    services.add_attachment(current_user, support, upload.filename, upload.read(), _attachment_folder(),
                            current_app.config["MAX_ATTACHMENT_BYTES"])
    return ["attachments"]


def _attachment_folder() -> Path:
    return Path(current_app.instance_path) / "attachments"


@bp.route("/students/<int:student_id>/records", methods=["POST"])
@login_required
@permission_required(Permission.CARE_RECORD)
def create_record(student_id: int):
    student = _student_for(Permission.CARE_RECORD, student_id)
    form = RecordForm()
    closables = _prepare_record_form(form, student, fresh=False)
    data = _checked_record(form, student)
    if data is not None:
        try:
            support = services.create_record(current_user, data, local_today())
            _save_attachment(form, support)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash(_("%(kind)s记录已保存。", kind=RecordKind(form.kind.data).label), "success")
            return _back_to_file(student)
    return render_template("ledger/record_form.html", form=form, student=student, support=None,
                           closables=closables, may_read_restricted=can(current_user, Permission.CARE_RESTRICTED,
                                                                        student)), 400


def _readable_record(record_id: int, permission: Permission) -> SupportRecord:
    """A record in the user's scope; a confidential one needs the confidential-care permission too."""
    support = _entry_or_404(SupportRecord, record_id, permission)
    if not queries.may_read(current_user, support):
        abort(403)
    return support


def _changeable_record(record_id: int) -> SupportRecord:
    """A record in the user's scope (404 otherwise) that they may edit or remove (403 otherwise)."""
    support = _entry_or_404(SupportRecord, record_id, Permission.CARE_RECORD)
    if not queries.may_change_record(current_user, support):
        abort(403)
    return support


@bp.app_context_processor
def confidential_helpers():
    """`may_read(entry)` and `may_change_record(record)` for every template: the ledger's rules, asked once."""
    return {"may_read": lambda entry: queries.may_read(current_user, entry),
            "may_change_record": lambda support: queries.may_change_record(current_user, support)}


@bp.route("/records/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CARE_RECORD)
def edit_record(record_id: int):
    support = _changeable_record(record_id)
    form = RecordForm(obj=support) if request.method == "GET" else RecordForm()
    data = _checked_record(form, support.student)
    if data is not None:
        try:
            changed = services.update_record(current_user, support, data, local_today(), int(form.version.data or 0))
            changed += _save_attachment(form, support)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash_saved(_("记录已修改。"), changed)
            return _back_to_file(support.student)
    services.audit_reads(current_user, [support], g.client_address)
    return render_template("ledger/record_form.html", form=form, student=support.student, support=support,
                           closables=[], may_read_restricted=can(current_user, Permission.CARE_RESTRICTED,
                                                                 support.student)), 400 if form.errors else 200


@bp.route("/attachments/<int:attachment_id>")
@login_required
@permission_required(Permission.LEDGER_VIEW)
def download_attachment(attachment_id: int):
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        abort(404)
    support = _readable_record(attachment.record_id, Permission.LEDGER_VIEW)
    services.audit_attachment_read(current_user, attachment, support)
    return uploads.send_stored(_attachment_folder(), attachment.stored_name, mimetype=attachment.content_type,
                               download_name=attachment.filename,
                               as_attachment=attachment.content_type not in ("image/jpeg", "image/png"))


# --- removal and restoring ---------------------------------------------------------------------------------

ENTRY_MODELS = {"disbursements": (Disbursement, Permission.DISBURSE),
                "records": (SupportRecord, Permission.CARE_RECORD)}


def _removable(kind: str, entry_id: int):
    if kind not in ENTRY_MODELS:
        abort(404)
    model, permission = ENTRY_MODELS[kind]
    if model is SupportRecord:
        return _changeable_record(entry_id)
    return _entry_or_404(model, entry_id, permission)


@bp.route("/<kind>/<int:entry_id>/remove", methods=["POST"])
@login_required
@permission_required(Permission.LEDGER_VIEW)
def remove_entry(kind: str, entry_id: int):
    entry = _removable(kind, entry_id)
    form = RemoveForm()
    try:
        if not form.validate_on_submit():
            raise DomainError(_("请填写删除原因。"))
        services.remove_entry(current_user, entry, form.reason.data)
    except DomainError as error:
        flash(error.message, "danger")
    else:
        flash(_("已删除。学校资助中心可以在“已删除”中恢复。"), "success")
    return _back_to_file(entry.student)


@bp.route("/<kind>/<int:entry_id>/restore", methods=["POST"])
@login_required
@permission_required(Permission.LEDGER_RESTORE)
def restore_entry(kind: str, entry_id: int):
    if kind not in ENTRY_MODELS:
        abort(404)
    entry = _entry_or_404(ENTRY_MODELS[kind][0], entry_id, Permission.LEDGER_RESTORE)
    try:
        services.restore_entry(current_user, entry)
    except DomainError as error:
        flash(error.message, "danger")
    else:
        flash(_("已恢复。"), "success")
    return _back_to_file(entry.student)


@bp.route("/students/<int:student_id>/removed")
@login_required
@permission_required(Permission.LEDGER_RESTORE)
def removed_entries(student_id: int):
    student = _student_for(Permission.LEDGER_RESTORE, student_id)
    entries = [e for e in queries.timeline(current_user, student, queries.TimelineFilters(include_removed=True))
               if getattr(e.entry, "is_deleted", False)]  # activities on the timeline are never removed
    return render_template("ledger/removed.html", student=student, entries=entries)


# --- the payment list --------------------------------------------------------------------------------------

def _disbursement_filters() -> queries.DisbursementFilters:
    args = request.args
    year = args.get("year", "")
    return queries.DisbursementFilters(
        school_id=parse_id(args.get("school")), year=_year_by_start(parse_id(year)),
        term=int(args["term"]) if args.get("term") in ("1", "2") else None,
        project_name=args.get("project", ""), q=args.get("q", "").strip())


@bp.route("/disbursements")
@login_required
@permission_required(Permission.LEDGER_VIEW)
def list_disbursements():
    filters = _disbursement_filters()
    statement = queries.disbursement_query(current_user, filters)
    from sqlalchemy.orm import joinedload

    page = paginate(statement.options(joinedload(Disbursement.student).joinedload(Student.school)))
    from caretrack.ledger.models import AidProject

    project_names = sorted(set(db.session.scalars(select(AidProject.name))))
    years = db.session.scalars(select(AcademicYear).order_by(AcademicYear.start_year.desc())).all()
    return render_template("ledger/disbursements.html", page=page, filters=filters, years=years,
                           totals=queries.totals_by_project(statement), project_names=project_names)


@bp.route("/disbursements/export.xlsx")
@login_required
@permission_required(Permission.LEDGER_VIEW)
def export_disbursements():
    workbook = exports.disbursements_workbook(current_user, _disbursement_filters())
    return download(workbook, f"{_('资助资金发放')}-{local_today():%Y%m%d}.xlsx")


register_import_routes(bp, ImportPage(
    kind="disbursements", title=N_("导入资助资金发放"), permission=Permission.DISBURSE,
    columns_help=N_("列：身份证号（或单位代码和学号）、资助项目、档次、金额、发放日期、学年、学期、凭证号。")),
    DisbursementImporter)

from caretrack.ledger import catalog_views, worklist_views  # noqa: E402,F401 - register their pages on bp
