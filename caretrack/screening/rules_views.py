"""The screening rules: everyone who screens reads them; the city admin edits them."""

from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.core.access import Permission, permission_required
from caretrack.core.errors import DomainError
from caretrack.core.forms import flash_saved
from caretrack.extensions import db
from caretrack.ledger.models import Grade
from caretrack.org.models import Stage
from caretrack.screening import bp, services
from caretrack.screening.forms import RULE_FLAGS, RuleForm
from caretrack.screening.models import ScreeningRule
from caretrack.students.models import Category

BOARDER_CHOICES = {None: "", True: "1", False: "0"}


@bp.route("/rules")
@login_required
@permission_required(Permission.SCREENING_VIEW)
def list_rules():
    rules = db.session.scalars(select(ScreeningRule).order_by(ScreeningRule.id)).all()
    return render_template("screening/rules.html", rules=rules, Stage=Stage, Category=Category, Grade=Grade,
                           flag_labels=dict(RULE_FLAGS))


def _rule_data(form: RuleForm) -> services.RuleData:
    return services.RuleData(
        name=form.name.data, stage=form.stage.data or None, categories=list(form.categories.data or []),
        flags=list(form.flags.data or []), boarder={"1": True, "0": False}.get(form.boarder.data),
        project_name=(form.project_name.data or "").strip() or None, min_grade=form.min_grade.data or None,
        coverage_form=form.coverage_form.data or None, valid_from=form.valid_from.data,
        valid_to=form.valid_to.data, is_active=form.is_active.data)


@bp.route("/rules/new", methods=["GET", "POST"], defaults={"rule_id": None})
@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CATALOG_MANAGE)
def edit_rule(rule_id: int | None):
    rule = db.get_or_404(ScreeningRule, rule_id) if rule_id else None
    form = RuleForm(obj=rule) if rule else RuleForm()
    if rule and not form.is_submitted():
        form.stage.data, form.boarder.data = rule.stage or "", BOARDER_CHOICES[rule.boarder]
        form.min_grade.data, form.coverage_form.data = rule.min_grade or "", rule.coverage_form or ""
    if form.validate_on_submit():
        try:
            services.save_rule(current_user, _rule_data(form), rule)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash_saved(_("排查规则已保存，下次运行排查时生效。"))
            return redirect(url_for("screening.list_rules"))
    return render_template("screening/rule_form.html", form=form, rule=rule), 400 if form.errors else 200
