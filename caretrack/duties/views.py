"""Pages of the duties: the compliance board, one unit's year (the inspection page), records, staff, visits."""

from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.accounts.models import User
from caretrack.core import uploads
from caretrack.core.access import Permission, can, get_or_404, permission_required
from caretrack.core.choices import N_
from caretrack.core.forms import flash_saved, save_form
from caretrack.core.requests import roll_back_anyway
from caretrack.core.timeutil import local_today
from caretrack.core.urls import parse_id
from caretrack.core.xlsx import download
from caretrack.duties import bp, exports, queries, services
from caretrack.duties.forms import (
    BudgetForm,
    CloseForm,
    DeleteForm,
    DutyTypeForm,
    EditVisitForm,
    EndStaffForm,
    FileForm,
    RecordForm,
    StaffForm,
    VisitForm,
)
from caretrack.duties.importers import BudgetImporter
from caretrack.duties.models import (
    AidStaff,
    Budget,
    CityVisit,
    DutyCheck,
    DutyFile,
    DutyRecord,
    DutyStatus,
    DutyType,
    Improvement,
)
from caretrack.extensions import db
from caretrack.jobs.import_views import ImportPage, register_import_routes
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


def _changeable(model, object_id: int, permission: Permission = Permission.DUTIES_RECORD):
    """A row the user may see (404 otherwise) and change with `permission` (403 otherwise)."""
    return get_or_404(model, object_id, current_user, Permission.DUTIES_VIEW, then=permission)


def _confirmed() -> bool:
    """A delete's confirmation form came back whole (its CSRF token); else a message, and nothing is deleted."""
    if DeleteForm().validate_on_submit():
        return True
    flash(_("表单已过期，请刷新页面后重试。"), "danger")
    return False


def _delete(model, object_id: int, remove, message: str, back, done=None,
            permission: Permission = Permission.DUTIES_RECORD):
    """Every delete of the duties: the row (404 / 403 as `_changeable`), its confirmation, `remove`, a flash.

    `back(row)` is the page to return to, `done(row)` the one after a delete when that differs; both are read
    before the row is gone.
    """
    row = _changeable(model, object_id, permission)
    back_to = back(row)
    done_at = done(row) if done else back_to
    if not _confirmed():
        return redirect(back_to)
    remove(current_user, row)
    flash(message, "success")
    return redirect(done_at)


def _edit(form, save, message: str, done: str, template: str, **context):
    """The end of every edit page: `save()` returns the fields it changed; then a flash and `done`, else the form.

    The form comes back with 400 when it was refused, 200 when it is only shown.
    """
    changed = []
    if save_form(form, lambda: changed.extend(save())):
        flash_saved(message, bool(changed))
        return redirect(done)
    return render_template(template, form=form, **context), 400 if form.errors else 200



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
        visit_form=VisitForm(formdata=None), delete_form=DeleteForm(formdata=None), DutyStatus=DutyStatus,
        DutyCheck=DutyCheck)


@bp.route("/units/<int:unit_id>/inspection.xlsx")
@login_required
@permission_required(Permission.DUTIES_VIEW)
def export_unit(unit_id: int):
    unit = get_or_404(Unit, unit_id, current_user, Permission.DUTIES_VIEW)
    year = _year()
    buffer = exports.inspection_workbook(unit, year, local_today())
    return download(buffer, _("%(unit)s%(year)s学年资助工作职责检查.xlsx", unit=unit.name, year=year.label))


# --- records -------------------------------------------------------------------------------------------------

def _record_choices(form: RecordForm, unit: Unit, start_year: int, entry: DutyRecord | None = None) -> None:
    """The duties, units and people a record of the unit may name; an edited record's own stay among them."""
    duties = [d for d in queries.duty_types_in_force(start_year)
              if d.check_enum is DutyCheck.RECORDS and unit.kind in d.kinds]
    units, people = queries.attending_choices(unit), queries.trainee_choices(unit)
    if entry is not None:
        duties += [entry.duty_type] if entry.duty_type not in duties else []
        units += [u for u in entry.attending_units if u not in units]
        people += [u for u in entry.trainees if u not in people]
    form.duty_type_id.choices = [(d.id, d.name) for d in duties]
    form.attending_unit_ids.choices = [(u.id, u.name) for u in units]
    form.trainee_ids.choices = [(u.id, u.display_name) for u in people]


def _record_data(form: RecordForm) -> services.RecordData:
    return services.RecordData(
        duty=db.session.get(DutyType, form.duty_type_id.data), done_on=form.done_on.data, title=form.title.data,
        summary=form.summary.data, channel=form.channel.data, contact=form.contact.data,
        attending_units=[db.session.get(Unit, i) for i in form.attending_unit_ids.data or []],
        trainees=[db.session.get(User, i) for i in form.trainee_ids.data or []])


def _allowed(field) -> set[int]:
    return {value for value, _label in field.choices}


def _uploaded_file(form: RecordForm, entry: DutyRecord) -> bool:
    if not (form.file.data and form.file.data.filename):
        return False
    services.add_file(current_user, entry, form.file.data.filename, form.file.data.read(), _folder(),
                      current_app.config["MAX_ATTACHMENT_BYTES"])
    return True


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
        entry = services.record_duty(current_user, unit, _record_data(form), today, _allowed(form.attending_unit_ids),
                                     _allowed(form.trainee_ids))
        _uploaded_file(form, entry)
        created.append(entry)

    if save_form(form, save):
        flash(_("已记录。"), "success")
        return redirect(url_for("duties.show_record", duty_record_id=created[0].id))
    return render_template("duties/record_form.html", form=form, unit=unit, entry=None), 400 if form.errors else 200


@bp.route("/records/<int:duty_record_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def edit_record(duty_record_id: int):
    entry = _changeable(DutyRecord, duty_record_id)
    unit, today = entry.unit, local_today()
    if request.method == "GET":
        form = RecordForm(obj=entry, attending_unit_ids=[u.id for u in entry.attending_units],
                          trainee_ids=[u.id for u in entry.trainees])
    else:
        form = RecordForm()
    _record_choices(form, unit, entry.academic_year.start_year, entry)

    def save():
        changed = services.update_record(
            current_user, entry, _record_data(form), today, _allowed(form.attending_unit_ids),
            _allowed(form.trainee_ids), int(form.version.data) if form.version.data else None)
        return [*changed, "files"] if _uploaded_file(form, entry) else changed

    return _edit(form, save, _("记录已修改。"), url_for("duties.show_record", duty_record_id=entry.id),
                 "duties/record_form.html", unit=unit, entry=entry)


@bp.route("/records/<int:duty_record_id>/delete", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def delete_record(duty_record_id: int):
    def duty_on_unit_page(entry: DutyRecord) -> str:
        return url_for("duties.show_unit", unit_id=entry.unit_id, year=entry.academic_year.start_year,
                       _anchor=f"duty-{entry.duty_type_id}")

    return _delete(DutyRecord, duty_record_id, services.delete_record, _("记录已删除，其附件一并删除。"),
                   back=lambda entry: url_for("duties.show_record", duty_record_id=entry.id), done=duty_on_unit_page)


@bp.route("/records/<int:duty_record_id>")
@login_required
@permission_required(Permission.DUTIES_VIEW)
def show_record(duty_record_id: int):
    entry = get_or_404(DutyRecord, duty_record_id, current_user, Permission.DUTIES_VIEW)
    return render_template("duties/record.html", entry=entry, form=FileForm(formdata=None),
                           delete_form=DeleteForm(formdata=None))


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
    return render_template("duties/record.html", entry=entry, form=form, delete_form=DeleteForm(formdata=None)), 400


@bp.route("/files/<int:duty_file_id>/delete", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def delete_file(duty_file_id: int):
    return _delete(DutyFile, duty_file_id, services.delete_file, _("附件已删除。"),
                   back=lambda stored: url_for("duties.show_record", duty_record_id=stored.record_id))


@bp.route("/files/<int:duty_file_id>")
@login_required
@permission_required(Permission.DUTIES_VIEW)
def download_file(duty_file_id: int):
    stored = get_or_404(DutyFile, duty_file_id, current_user, Permission.DUTIES_VIEW)
    return uploads.send_stored(_folder(), stored.stored_name, mimetype=stored.content_type,
                               download_name=stored.filename, as_attachment=stored.content_type == "application/pdf")


# --- staff, visits, budgets ------------------------------------------------------------------------------

def _user_choices(unit: Unit) -> list[tuple[int, str]]:
    return [(0, "—"), *((u.id, u.display_name) for u in queries.trainee_choices(unit))]


def _project_choices() -> list[tuple[int, str]]:
    from caretrack.org.models import Stage

    projects = db.session.scalars(select(AidProject).order_by(AidProject.stage, AidProject.id))
    return [(p.id, f"{Stage(p.stage).label} · {p.name}") for p in projects]


def _unit_page(unit_id: int, anchor: str | None = None) -> str:
    """The unit page, in the year the request named (?year=), at `anchor`."""
    year = {"year": request.args["year"]} if parse_id(request.args.get("year")) else {}
    return url_for("duties.show_unit", unit_id=unit_id, _anchor=anchor, **year)


def _back_to_unit(unit: Unit, form, message: str, changed: bool = True, anchor: str | None = None):
    """After a small form of the unit page: the page again, with the form's errors flashed."""
    if form.errors:
        roll_back_anyway()  # a refusal writes nothing, whatever was read or made on the way
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
    else:
        flash_saved(message, changed)
    return redirect(_unit_page(unit.id, anchor))


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
    return _back_to_unit(unit, form, _("已登记。"), anchor="staff")


@bp.route("/staff/<int:staff_id>/end", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def end_staff(staff_id: int):
    person = get_or_404(AidStaff, staff_id, current_user, Permission.DUTIES_RECORD)
    form = EndStaffForm()
    save_form(form, lambda: services.end_staff(current_user, person, form.ends_on.data))
    return _back_to_unit(db.session.get(Unit, person.unit_id), form, _("已登记离岗。"), anchor="staff")


@bp.route("/staff/<int:staff_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def edit_staff(staff_id: int):
    person = _changeable(AidStaff, staff_id)
    unit = db.session.get(Unit, person.unit_id)
    form = StaffForm(obj=person, user_id=person.user_id or 0) if request.method == "GET" else StaffForm()
    form.user_id.choices = _user_choices(unit)
    if person.user_id and person.user_id not in _allowed(form.user_id):
        form.user_id.choices.append((person.user_id, person.user.display_name))

    def save():
        user = db.session.get(User, form.user_id.data) if form.user_id.data else None
        return services.update_staff(current_user, person, services.StaffData(
            name=form.name.data, is_full_time=form.is_full_time.data, is_head=form.is_head.data,
            starts_on=form.starts_on.data, ends_on=form.ends_on.data, user=user))

    return _edit(form, save, _("资助工作人员信息已保存。"), _unit_page(unit.id, "staff"), "duties/staff_form.html",
                 unit=unit, person=person)


@bp.route("/staff/<int:staff_id>/delete", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def delete_staff(staff_id: int):
    return _delete(AidStaff, staff_id, services.delete_staff, _("已删除。"),
                   back=lambda person: _unit_page(person.unit_id, "staff"))


@bp.route("/units/<int:unit_id>/budgets", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def save_budget(unit_id: int):
    unit = get_or_404(Unit, unit_id, current_user, Permission.DUTIES_RECORD)
    _year()  # a bad ?year= is a 404 before anything is read from the form
    form = BudgetForm()
    form.project_id.choices = _project_choices()
    outcome = []
    save_form(form, lambda: outcome.append(services.put_budget(
        current_user, unit, db.session.get(AidProject, form.project_id.data), _year(create=True), form.amount.data)[1]))
    return _back_to_unit(unit, form, _("预算已保存。"), changed=outcome != ["unchanged"], anchor="budgets")


@bp.route("/budgets/<int:budget_id>/delete", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def delete_budget(budget_id: int):
    return _delete(Budget, budget_id, services.delete_budget, _("预算已删除。"),
                   back=lambda budget: _unit_page(budget.unit_id, "budgets"))


register_import_routes(bp, ImportPage(
    kind="budgets", title=N_("导入资助经费预算"), permission=Permission.DUTIES_RECORD,
    columns_help=N_("列：单位代码、资助项目、学段（同名项目在多个学段都有时必填）、学年、预算金额（元）。"
                    "只能导入本单位及下属单位的预算；同一单位、项目和学年再次导入时更新金额，不会重复。")),
    BudgetImporter)


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
    return _back_to_unit(unit, form, _("走访调研已记录。"), anchor="visits")


@bp.route("/visits/<int:visit_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.VISITS_MANAGE)
def edit_visit(visit_id: int):
    visit = _changeable(CityVisit, visit_id, Permission.VISITS_MANAGE)
    form = EditVisitForm(obj=visit) if request.method == "GET" else EditVisitForm()
    return _edit(form, lambda: services.update_visit(current_user, visit, form.visited_on.data, form.findings.data,
                                                     local_today()),
                 _("走访调研已修改。"), _unit_page(visit.unit_id, "visits"), "duties/visit_form.html", visit=visit,
                 delete_form=DeleteForm(formdata=None))


@bp.route("/visits/<int:visit_id>/delete", methods=["POST"])
@login_required
@permission_required(Permission.VISITS_MANAGE)
def delete_visit(visit_id: int):
    return _delete(CityVisit, visit_id, services.delete_visit, _("走访调研已删除，其整改要求一并删除。"),
                   back=lambda visit: _unit_page(visit.unit_id, "visits"), permission=Permission.VISITS_MANAGE)


@bp.route("/improvements/<int:improvement_id>/delete", methods=["POST"])
@login_required
@permission_required(Permission.VISITS_MANAGE)
def delete_improvement(improvement_id: int):
    return _delete(Improvement, improvement_id, services.delete_improvement, _("整改要求已删除。"),
                   back=lambda improvement: url_for("duties.edit_visit", visit_id=improvement.visit_id),
                   permission=Permission.VISITS_MANAGE)


@bp.route("/improvements/<int:improvement_id>/close", methods=["POST"])
@login_required
@permission_required(Permission.DUTIES_RECORD)
def close_improvement(improvement_id: int):
    improvement = get_or_404(Improvement, improvement_id, current_user, Permission.DUTIES_RECORD)
    form = CloseForm()
    save_form(form, lambda: services.close_improvement(current_user, improvement, form.closed_on.data, form.note.data,
                                                    local_today()))
    return _back_to_unit(improvement.visit.unit, form, _("整改已完成。"), anchor="visits")


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
