"""The visit cadence as the city admin keeps it."""

from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.core.access import Permission, permission_required
from caretrack.core.errors import DomainError
from caretrack.core.forms import flash_saved
from caretrack.extensions import db
from caretrack.followups import bp, services
from caretrack.followups.forms import CadenceForm
from caretrack.followups.models import CadencePeriod, CadenceRule
from caretrack.ledger.models import RecordKind
from caretrack.students.models import Category, Level


@bp.route("/cadence")
@login_required
@permission_required(Permission.LEDGER_VIEW)
def list_cadence():
    rules = db.session.scalars(select(CadenceRule).order_by(CadenceRule.id)).all()
    return render_template("followups/cadence.html", rules=rules, Category=Category, Level=Level)


@bp.route("/cadence/new", methods=["GET", "POST"], defaults={"rule_id": None})
@bp.route("/cadence/<int:rule_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CATALOG_MANAGE)
def edit_cadence(rule_id: int | None):
    rule = db.get_or_404(CadenceRule, rule_id) if rule_id else None
    form = CadenceForm(obj=rule) if rule else CadenceForm()
    if rule and not form.is_submitted():
        form.category.data, form.level.data = rule.category or "", rule.level or ""
    if form.validate_on_submit():
        data = services.CadenceData(
            name=form.name.data, record_kind=RecordKind(form.record_kind.data), period=CadencePeriod(form.period.data),
            category=Category(form.category.data) if form.category.data else None,
            level=Level(form.level.data) if form.level.data else None, valid_from=form.valid_from.data,
            valid_to=form.valid_to.data, is_active=form.is_active.data)
        try:
            services.save_cadence_rule(current_user, data, rule)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash_saved(_("走访要求已保存。"))
            return redirect(url_for("followups.list_cadence"))
    return render_template("followups/cadence_form.html", form=form, rule=rule), 400 if form.errors else 200
