"""Unit pages: list, detail with colleges, classes and terms, create, edit, import."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.core import requests
from caretrack.core.access import Permission, can, get_or_404, permission_required, scope_for
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError
from caretrack.core.forms import flash_saved
from caretrack.core.pagination import paginate
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.jobs.import_views import ImportPage, register_import_routes
from caretrack.org import bp, queries, services
from caretrack.org.forms import ClassForm, NamedForm, TermDatesForm, UnitForm
from caretrack.org.importers import UnitImporter
from caretrack.org.models import College, OwnerType, Stage, Unit, UnitKind


@bp.route("/")
@login_required
@permission_required(Permission.ORG_VIEW)
def list_units():
    q, kind = request.args.get("q", ""), request.args.get("kind", "")
    page = paginate(queries.visible_units(current_user, q, kind))
    return render_template("org/units.html", page=page, q=q, kind=kind, kinds=UnitKind.choices())


def _manageable_unit_or_error(unit_id: int) -> Unit:
    return get_or_404(Unit, unit_id, current_user, Permission.ORG_VIEW, then=Permission.ORG_MANAGE)


def _term_form(unit: Unit) -> TermDatesForm:
    """The term-dates form opened on the term today is in, with the dates that apply to the unit now."""
    current = services.term_on(unit, local_today())
    if current is None:
        return TermDatesForm()
    return TermDatesForm(academic_year=current.year.label, number=str(current.number),
                         starts_on=current.starts_on, ends_on=current.ends_on)


@bp.route("/<int:unit_id>")
@login_required
@permission_required(Permission.ORG_VIEW)
def show_unit(unit_id: int):
    unit = get_or_404(Unit, unit_id, current_user, Permission.ORG_VIEW)
    colleges, classes, class_counts = queries.school_structure(unit) if unit.is_school else ([], [], {})
    class_form = ClassForm()
    class_form.college_id.choices = [(0, _("（不属于学院）"))] + [(c.id, c.name) for c in colleges]
    return render_template(
        "org/unit.html", unit=unit, colleges=colleges, classes=classes, class_counts=class_counts,
        college_form=NamedForm(), class_form=class_form, term_form=_term_form(unit),
        own_terms=queries.own_term_rows(unit), years=queries.recent_years(),
        term_dates=services.term_dates, may_manage=can(current_user, Permission.ORG_MANAGE, unit),
    )


def _unit_data(form: UnitForm) -> services.UnitData:
    return services.UnitData(
        code=form.code.data.strip(), name=form.name.data.strip(), kind=UnitKind(form.kind.data),
        parent_code=(form.parent_code.data or "").strip() or None,
        stages=[Stage(s) for s in form.stages.data or []], owner_type=OwnerType(form.owner_type.data),
    )


def _manages_whole_city() -> bool:
    return scope_for(current_user, Permission.ORG_MANAGE).everything


def _check_parent_in_scope(parent_code: str | None) -> None:
    """A new or moved unit must sit under a unit the actor manages; only the city admin places the city."""
    parent = db.session.scalar(select(Unit).where(Unit.code == parent_code)) if parent_code else None
    if parent is None:
        if not parent_code and not _manages_whole_city():
            abort(403)
        return  # an unknown parent code is reported on the form by save_unit
    if not can(current_user, Permission.ORG_MANAGE, parent):
        abort(403)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@permission_required(Permission.ORG_MANAGE)
def create_unit():
    form = UnitForm(parent_code=request.args.get("parent", ""))
    if form.validate_on_submit():
        _check_parent_in_scope(form.parent_code.data)
        try:
            unit, _changed = services.save_unit(current_user, _unit_data(form))
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash(_("单位“%(name)s”已创建。", name=unit.name), "success")
            return redirect(url_for("org.show_unit", unit_id=unit.id))
    return render_template("org/unit_form.html", form=form, unit=None), 400 if form.errors else 200


@bp.route("/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.ORG_MANAGE)
def edit_unit(unit_id: int):
    unit = _manageable_unit_or_error(unit_id)
    form = UnitForm(obj=unit, parent_code=unit.parent.code if unit.parent else "",
                    stages=[s.value for s in unit.stages])
    form.code.render_kw = {"readonly": True}
    if form.validate_on_submit():
        if _unit_data(form).parent_code != (unit.parent.code if unit.parent else None):
            _check_parent_in_scope(form.parent_code.data)  # only a move needs the new parent to be the actor's
        version_before = unit.version
        try:
            services.save_unit(current_user, _unit_data(form), unit)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash_saved(_("单位信息已保存。"), unit.version != version_before)
            return redirect(url_for("org.show_unit", unit_id=unit.id))
    return render_template("org/unit_form.html", form=form, unit=unit), 400 if form.errors else 200


@bp.route("/<int:unit_id>/colleges", methods=["POST"])
@login_required
@permission_required(Permission.ORG_MANAGE)
def add_college(unit_id: int):
    unit = _manageable_unit_or_error(unit_id)
    form = NamedForm()
    return _add_to_school(unit, form, _("请填写学院（系）名称。"), _("学院（系）已添加。"),
                          lambda: services.get_or_create_college(current_user, unit, form.name.data))


@bp.route("/<int:unit_id>/classes", methods=["POST"])
@login_required
@permission_required(Permission.ORG_MANAGE)
def add_class(unit_id: int):
    unit = _manageable_unit_or_error(unit_id)
    form = ClassForm()
    form.college_id.choices = [(0, "")] + [(c.id, c.name) for c in db.session.scalars(
        select(College).where(College.school_id == unit.id))]
    return _add_to_school(unit, form, _("请填写班级名称。"), _("班级已添加。"), lambda: services.get_or_create_class(
        current_user, unit, form.name.data,
        db.session.get(College, form.college_id.data) if form.college_id.data else None))


def _add_to_school(unit: Unit, form, missing: str, done: str, add):
    """The shared end of adding a college or a class: validate, add, say so, back to the unit."""
    if not form.validate_on_submit():
        flash(missing, "danger")
    else:
        try:
            add()
        except DomainError as error:
            requests.roll_back_anyway()
            flash(error.message, "danger")
        else:
            flash(done, "success")
    return redirect(url_for("org.show_unit", unit_id=unit.id))


@bp.route("/<int:unit_id>/terms", methods=["POST"])
@login_required
@permission_required(Permission.ORG_MANAGE)
def set_term_dates(unit_id: int):
    unit = _manageable_unit_or_error(unit_id)
    form = TermDatesForm()
    if form.validate_on_submit():
        try:
            year = services.ensure_academic_year(services.parse_year_label(form.academic_year.data))
            services.set_term_dates(current_user, unit, year, int(form.number.data),
                                    form.starts_on.data, form.ends_on.data)
        except DomainError as error:
            requests.roll_back_anyway()  # the academic year it may have added goes too
            flash(error.message, "danger")
        else:
            flash_saved(_("学期日期已保存。"))
    else:
        flash(_("；").join(str(e) for errors in form.errors.values() for e in errors), "danger")
    return redirect(url_for("org.show_unit", unit_id=unit.id))


register_import_routes(bp, ImportPage(
    kind="units", title=N_("导入单位"), permission=Permission.ORG_MANAGE, allowed=lambda user: _manages_whole_city(),
    columns_help=N_("列：单位代码、单位名称、单位类型、上级单位代码、学段、举办者。")), UnitImporter)
