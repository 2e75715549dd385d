"""Themes and coverage goals: whoever works with activities reads them; the city admin edits them."""

from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.activities import bp, services
from caretrack.activities.forms import GoalForm, ThemeForm
from caretrack.activities.models import CoverageGoal, Theme
from caretrack.core.access import Permission, permission_required
from caretrack.core.forms import flash_saved, save_form
from caretrack.extensions import db
from caretrack.org.models import UnitKind

SCHOOL_KINDS = [kind for kind in UnitKind if kind.is_school]


@bp.route("/themes")
@login_required
@permission_required(Permission.ACTIVITIES_VIEW)
def list_themes():
    themes = db.session.scalars(select(Theme).order_by(Theme.sort_order)).all()
    goals = db.session.scalars(select(CoverageGoal).join(Theme).order_by(Theme.sort_order, CoverageGoal.id)).all()
    return render_template("activities/themes.html", themes=themes, goals=goals, kind_labels={
        kind.value: kind.label for kind in UnitKind})




@bp.route("/themes/new", methods=["GET", "POST"], defaults={"theme_id": None})
@bp.route("/themes/<int:theme_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CATALOG_MANAGE)
def edit_theme(theme_id: int | None):
    theme = db.get_or_404(Theme, theme_id) if theme_id else None
    form = ThemeForm(obj=theme)
    if save_form(form, lambda: services.save_theme(current_user, form.name.data, form.first_year.data,
                                                 form.last_year.data, theme)):
        flash_saved(_("主题已保存。"))
        return redirect(url_for("activities.list_themes"))
    return render_template("activities/catalog_form.html", form=form, title=_("活动主题")), \
        400 if form.errors else 200


@bp.route("/goals/new", methods=["GET", "POST"], defaults={"goal_id": None})
@bp.route("/goals/<int:goal_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CATALOG_MANAGE)
def edit_goal(goal_id: int | None):
    goal = db.get_or_404(CoverageGoal, goal_id) if goal_id else None
    form = GoalForm(obj=goal, unit_kinds=goal.kinds if goal else [])
    form.theme_id.choices = [(t.id, t.name) for t in db.session.scalars(select(Theme).order_by(Theme.sort_order))]
    form.unit_kinds.choices = [(kind.value, kind.label) for kind in SCHOOL_KINDS]

    def save():
        theme = db.session.get(Theme, form.theme_id.data)
        services.save_goal(current_user, theme, [UnitKind(k) for k in form.unit_kinds.data or []],
                           form.first_year.data, form.last_year.data, goal)

    if save_form(form, save):
        flash_saved(_("覆盖目标已保存。"))
        return redirect(url_for("activities.list_themes"))
    return render_template("activities/catalog_form.html", form=form, title=_("覆盖目标")), \
        400 if form.errors else 200
