"""Pages of the duties: the compliance board, one unit's year (the inspection page), records, staff, visits."""

from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.accounts.models import User
from caretrack.core.access import Permission, can, get_or_404, permission_required
from caretrack.core.forms import save_form
from caretrack.core.requests import roll_back_anyway
from caretrack.core.timeutil import local_today
from caretrack.core.urls import parse_id
from caretrack.core.xlsx import download
from caretrack.duties import bp, exports, queries, services
from caretrack.duties.forms import (
    BudgetForm,
    CloseForm,
    DutyTypeForm,
    EndStaffForm,
    FileForm,
    RecordForm,
    StaffForm,
    VisitForm,
)
from caretrack.duties.models import AidStaff, DutyCheck, DutyFile, DutyRecord, DutyStatus, DutyType, Improvement
from caretrack.extensions import db
from caretrack.ledger.models import AidProject
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, Unit, UnitKind


def _year(create: bool = False) -> AcademicYear:
    """?year=2025 (its start year), by default the academic year today is in; 404 for a year not kept.

    The current year not kept yet is made when `create` (a POST that writes in it), else stands unsaved.
    """
    asked = request.args.get("year", type=parse_id)
    if asked is None and request.args.get("year"):
        abort(404)
    start_year = asked or org.academic_year_of(local_today())
    year = db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == start_year))
    if year is None:
        if asked:
            abort(404)
        if create:
            return org.ensure_academic_year(start_year)
        year = AcademicYear(start_year=start_year)  # not kept yet: nothing recorded in it, and a GET writes nothing
    return year


def _years() -> list[AcademicYear]:
    return list(db.session.scalars(select(AcademicYear).order_by(AcademicYear.start_year.desc())))


def _folder() -> Path:
    return services.DUTY_FILES.path()




# --- the board -------------------------------------------------------------------------------------------------

@bp.route("/")
@login_required
@permission_required(Permission.DUTIES_VIEW)
def board_home():
    unit = queries.home_unit_for(current_user)
    if unit is None:
        abort(404)
    return redirect(url_for("duties.show_board", unit_id=unit.id, **request.args))


@bp.route("/boards/<int:unit_id>")
@login_required
@permission_required(Permission.DUTIES_VIEW)
def show_board(unit_id: int):
    unit = get_or_404(Unit, unit_id, current_user, Permission.DUTIES_VIEW)
    year = _year()
    board = queries.build_board(queries.board_units(current_user, unit), year)
    return render_template("duties/board.html", unit=unit, board=board, years=_years(), DutyStatus=DutyStatus)


@bp.route("/units/<int:unit_id>")
@login_required
@permission_required(Permission.DUTIES_VIEW)
def show_unit(unit_id: int):
    unit = get_or_404(Unit, unit_id, current_user, Permission.DUTIES_VIEW)
    year = _year()
    board = queries.build_board([unit], year, full=True)
    staff_form = StaffForm(formdata=None)
    staff_form.user_id.choices = _user_choices(unit)
    budget_form = BudgetForm(formdata=None)
    budget_form.project_id.choices = _project_choices()
    return render_template(
        "duties/unit.html", unit=unit, year=year, years=_years(), row=board.rows[0], board=board,
        staff=queries.staff_of([unit.id]).get(unit.id, []), untrained=queries.untrained_staff(unit, year),
        visits=queries.visits_of(unit), budgets=queries.budget_lines(unit, year), staff_form=staff_form,
        budget_form=budget_form, end_form=EndStaffForm(formdata=None), close_form=CloseForm(formdata=None),
        visit_form=VisitForm(formdata=None), DutyStatus=DutyStatus, DutyCheck=DutyCheck)


@bp.route("/units/<int:unit_id>/inspection.xlsx")
@login_required
@permission_required(Permission.DUTIES_VIEW)
def export_unit(unit_id: int):
    unit = get_or_404(Unit, unit_id, current_user, Permission.DUTIES_VIEW)
    year = _year()
    buffer = exports.inspection_workbook(unit, year, local_today())
    return download(buffer, _("%(unit)s%(year)s学年资助工作职责检查.xlsx", unit=unit.name, year=year.label))


# --- records -------------------------------------------------------------------------------------------------

def _record_choices(form: RecordForm, unit: Unit, start_year: int) -> None:
    form.duty_type_id.choices = [(d.id, d.name) for d in queries.duty_types_in_force(start_year)
                                 if d.check_enum is DutyCheck.RECORDS and unit.kind in d.kinds]
    form.attending_unit_ids.choices = [(u.id, u.name) for u in queries.attending_choices(unit)]
    form.trainee_ids.choices = [(u.id, u.display_name) for u in queries.trainee_choices(unit)]


@bp.route("/units/<int:unit_id>/records/new", methods=["GET", "POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def create_record(unit_id: int):
    unit = get_or_404(Unit, unit_id, current_user, Permission.DUTIES_RECORD)
    today = local_today()
    form = RecordForm(duty_type_id=request.args.get("duty", type=parse_id), done_on=today)
    _record_choices(form, unit, org.academic_year_of(today))
    created = []

    def save():
        duty = db.session.get(DutyType, form.duty_type_id.data)
        data = services.RecordData(
            duty=duty, done_on=form.done_on.data, title=form.title.data, summary=form.summary.data,
            channel=form.channel.data, contact=form.contact.data,
            attending_units=[db.session.get(Unit, i) for i in form.attending_unit_ids.data or []],
            trainees=[db.session.get(User, i) for i in form.trainee_ids.data or []])
        entry = services.record_duty(current_user, unit, data, today, {i for i, _n in form.attending_unit_ids.choices},
                                     {i for i, _n in form.trainee_ids.choices})
        if form.file.data and form.file.data.filename:
            services.add_file(current_user, entry, form.file.data.filename, form.file.data.read(), _folder(),
                              current_app.config["MAX_ATTACHMENT_BYTES"])
        created.append(entry)

    if save_form(form, save):
        flash(_("已记录。"), "success")
        return redirect(url_for("duties.show_record", duty_record_id=created[0].id))
    return render_template("duties/record_form.html", form=form, unit=unit), 400 if form.errors else 200


@bp.route("/records/<int:duty_record_id>")
@login_required
@permission_required(Permission.DUTIES_VIEW)
def show_record(duty_record_id: int):
    entry = get_or_404(DutyRecord, duty_record_id, current_user, Permission.DUTIES_VIEW)
    return render_template("duties/record.html", entry=entry, form=FileForm(formdata=None))


@bp.route("/records/<int:duty_record_id>/files", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def add_file(duty_record_id: int):
    entry = get_or_404(DutyRecord, duty_record_id, current_user, Permission.DUTIES_RECORD)
    form = FileForm()
    if save_form(form, lambda: services.add_file(current_user, entry, form.file.data.filename, form.file.data.read(),
                                              _folder(), current_app.config["MAX_ATTACHMENT_BYTES"])):
        flash(_("附件已上传。"), "success")
        return redirect(url_for("duties.show_record", duty_record_id=entry.id))
    return render_template("duties/record.html", entry=entry, form=form), 400


@bp.route("/files/<int:duty_file_id>")
@login_required
@permission_required(Permission.DUTIES_VIEW)
def download_file(duty_file_id: int):
    stored = get_or_404(DutyFile, duty_file_id, current_user, Permission.DUTIES_VIEW)
    return send_file(_folder() / stored.stored_name, mimetype=stored.content_type, download_name=stored.filename,
                     as_attachment=stored.content_type == "application/pdf")


# --- staff, visits, budgets ------------------------------------------------------------------------------

def _user_choices(unit: Unit) -> list[tuple[int, str]]:
    return [(0, "—"), *((u.id, u.display_name) for u in queries.trainee_choices(unit))]


def _project_choices() -> list[tuple[int, str]]:
    from caretrack.org.models import Stage

    projects = db.session.scalars(select(AidProject).order_by(AidProject.stage, AidProject.id))
    return [(p.id, f"{Stage(p.stage).label} · {p.name}") for p in projects]


def _back_to_unit(unit: Unit, form, message: str):
    """After a small form of the unit page: the page again, with the form's errors flashed."""
    if form.errors:
        roll_back_anyway()  # a refusal writes nothing, whatever was read or made on the way
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
    else:
        flash(message, "success")
    return redirect(url_for("duties.show_unit", unit_id=unit.id, **({"year": request.args["year"]}
                                                                     if parse_id(request.args.get("year")) else {})))


@bp.route("/units/<int:unit_id>/staff", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def add_staff(unit_id: int):
    unit = get_or_404(Unit, unit_id, current_user, Permission.DUTIES_RECORD)
    form = StaffForm()
    form.user_id.choices = _user_choices(unit)
    save_form(form, lambda: services.add_staff(
        current_user, unit, form.name.data, form.is_full_time.data, form.is_head.data, form.starts_on.data,
        form.ends_on.data, db.session.get(User, form.user_id.data) if form.user_id.data else None))
    return _back_to_unit(unit, form, _("已登记。"))


@bp.route("/staff/<int:staff_id>/end", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def end_staff(staff_id: int):
    person = get_or_404(AidStaff, staff_id, current_user, Permission.DUTIES_RECORD)
    form = EndStaffForm()
    save_form(form, lambda: services.end_staff(current_user, person, form.ends_on.data))
    return _back_to_unit(db.session.get(Unit, person.unit_id), form, _("已登记离岗。"))


@bp.route("/units/<int:unit_id>/budgets", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def save_budget(unit_id: int):
    unit = get_or_404(Unit, unit_id, current_user, Permission.DUTIES_RECORD)
    _year()  # a bad ?year= is a 404 before anything is read from the form
    form = BudgetForm()
    form.project_id.choices = _project_choices()
    save_form(form, lambda: services.save_budget(current_user, unit, db.session.get(AidProject, form.project_id.data),
                                              _year(create=True), form.amount.data))
    return _back_to_unit(unit, form, _("预算已保存。"))


@bp.route("/visits")
@login_required
@permission_required(Permission.DUTIES_VIEW)
def list_visits():
    return render_template("duties/visits.html", visits=queries.visits_for(current_user))


@bp.route("/units/<int:unit_id>/visits", methods=["POST"])
@login_required
@permission_required(Permission.VISITS_MANAGE)
def record_visit(unit_id: int):
    unit = get_or_404(Unit, unit_id, current_user, Permission.VISITS_MANAGE)
    form = VisitForm()
    requirements = [(line, form.due_on.data) for line in (form.requirements.data or "").splitlines()]
    save_form(form, lambda: services.record_visit(current_user, unit, form.visited_on.data, form.findings.data,
                                               requirements, local_today()))
    return _back_to_unit(unit, form, _("走访调研已记录。"))


@bp.route("/improvements/<int:improvement_id>/close", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def close_improvement(improvement_id: int):
    improvement = get_or_404(Improvement, improvement_id, current_user, Permission.DUTIES_RECORD)
    form = CloseForm()
    save_form(form, lambda: services.close_improvement(current_user, improvement, form.closed_on.data, form.note.data,
                                                    local_today()))
    return _back_to_unit(improvement.visit.unit, form, _("整改已完成。"))


# --- the list of duties, kept by the city admin ------------------------------------------------------------

@bp.route("/types")
@login_required
@permission_required(Permission.DUTIES_VIEW)
def list_types():
    duties = db.session.scalars(select(DutyType).order_by(DutyType.sort_order, DutyType.id)).all()
    return render_template("duties/types.html", duties=duties, kind_labels={k.value: k.label for k in UnitKind})


@bp.route("/types/new", methods=["GET", "POST"], defaults={"duty_type_id": None})
@bp.route("/types/<int:duty_type_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CATALOG_MANAGE)
def edit_type(duty_type_id: int | None):
    duty = db.get_or_404(DutyType, duty_type_id) if duty_type_id else None
    form = DutyTypeForm(obj=duty, unit_kinds=duty.kinds if duty else [])
    form.unit_kinds.choices = [(kind.value, kind.label) for kind in UnitKind]

    def save():
        services.save_duty_type(current_user, services.DutyTypeData(
            name=form.name.data, unit_kinds=[UnitKind(k) for k in form.unit_kinds.data or []
                                             if k in UnitKind._value2member_map_],
            due_month=form.due_month.data, due_day=form.due_day.data, first_year=form.first_year.data,
            last_year=form.last_year.data, min_count=form.min_count.data, description=form.description.data,
            needs_contact=form.needs_contact.data, is_training=form.is_training.data), duty)

    if save_form(form, save):
        flash(_("职责已保存。"), "success")
        return redirect(url_for("duties.list_types"))
    return render_template("duties/type_form.html", form=form), 400 if form.errors else 200


def may_record(unit: Unit) -> bool:
    return can(current_user, Permission.DUTIES_RECORD, unit)


@bp.app_context_processor
def duty_helpers():
    return {"may_record_duties": may_record}
