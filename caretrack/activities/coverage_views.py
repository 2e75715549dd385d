"""Coverage pages: per school, college and district, how many identified students each goal reached, and who not.

The counts are no one's secret; the list of the unreached is a list of poor students (隐性资助), so it is shown
only through the viewer's student scope, to those who may see the students' identification.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.activities import bp, queries, services
from caretrack.activities.exports import coverage_workbook
from caretrack.activities.models import CoverageGoal
from caretrack.core.access import Permission, get_or_404, has_permission, permission_required, scope_for, scoped
from caretrack.core.timeutil import local_today
from caretrack.core.urls import parse_id
from caretrack.core.xlsx import download
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, College, Unit


def _year(unit: Unit) -> AcademicYear:
    asked = parse_id(request.values.get("year"))
    year = db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == asked)) if asked \
        else org.current_year(unit, local_today())
    if year is None:
        abort(404)
    return year


def _may_list() -> bool:
    return has_permission(current_user, Permission.STUDENTS_VIEW)


@bp.route("/coverage")
@login_required
@permission_required(Permission.COVERAGE_VIEW)
def coverage_home():
    """The coverage of the highest unit (or college) the user works on."""
    scope = scope_for(current_user, Permission.COVERAGE_VIEW)
    top = db.session.scalar(scoped(select(Unit), current_user, Permission.COVERAGE_VIEW)
                            .where(Unit.parent_id.is_(None) | Unit.parent_id.not_in(scope.unit_ids or [0]))
                            .order_by(Unit.code)) if not scope.everything else \
        db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code))
    if top is not None:
        return redirect(url_for("activities.unit_coverage", unit_id=top.id))
    college = db.session.scalar(scoped(select(College), current_user, Permission.COVERAGE_VIEW).order_by(College.id))
    if college is None:
        abort(404)
    return redirect(url_for("activities.college_coverage", college_id=college.id))


def _render(unit: Unit, college: College | None):
    year = _year(unit)
    entries = queries.coverage(unit, year, college=college, viewer=current_user, list_unreached=_may_list())
    years = db.session.scalars(select(AcademicYear).order_by(AcademicYear.start_year.desc())).all()
    return render_template("activities/coverage.html", unit=unit, college=college, year=year, years=years,
                           entries=entries, may_list=_may_list(),
                           may_invite=has_permission(current_user, Permission.COVERAGE_INVITE))


@bp.route("/coverage/units/<int:unit_id>")
@login_required
@permission_required(Permission.COVERAGE_VIEW)
def unit_coverage(unit_id: int):
    return _render(get_or_404(Unit, unit_id, current_user, Permission.COVERAGE_VIEW), None)


@bp.route("/coverage/colleges/<int:college_id>")
@login_required
@permission_required(Permission.COVERAGE_VIEW)
def college_coverage(college_id: int):
    college = get_or_404(College, college_id, current_user, Permission.COVERAGE_VIEW)
    return _render(college.school, college)


@bp.route("/coverage/units/<int:unit_id>/coverage.xlsx")
@login_required
@permission_required(Permission.COVERAGE_VIEW)
def export_coverage(unit_id: int):
    unit = get_or_404(Unit, unit_id, current_user, Permission.COVERAGE_VIEW)
    year = _year(unit)
    entries = queries.coverage(unit, year, viewer=current_user, list_unreached=_may_list())
    return download(coverage_workbook(unit.name, year.label, entries, _may_list()),
                    f"{_('主题教育覆盖情况')}-{unit.code}-{year.label}.xlsx")


@bp.route("/coverage/units/<int:unit_id>/invite", methods=["POST"])
@login_required
@permission_required(Permission.COVERAGE_INVITE)
def invite_unreached(unit_id: int):
    """Tell the class teachers and counselors of the unreached students (of the officer's scope) to invite them."""
    unit = get_or_404(Unit, unit_id, current_user, Permission.COVERAGE_INVITE)
    year = _year(unit)
    goal_id = parse_id(request.form.get("goal"))
    goal = db.session.get(CoverageGoal, goal_id) if goal_id else None
    entry = next((e for e in queries.coverage(unit, year, viewer=current_user) if goal and e.goal.id == goal.id),
                 None)
    if entry is None:
        abort(404)
    result = services.invite_unreached(current_user, entry.goal, year.label, entry.unreached,
                                       queries.unreached_contacts(entry.unreached))
    flash(_("已通知 %(n)d 名学生的班主任或辅导员邀请其参加%(theme)s活动。", n=result.students,
            theme=entry.goal.theme.name), "success")
    if result.without_contact:
        names = "、".join(s.name for s in result.without_contact[:20])
        flash(_("以下学生没有班主任或辅导员可通知，请直接联系：%(names)s。", names=names), "warning")
    return redirect(url_for("activities.unit_coverage", unit_id=unit.id, year=year.start_year))
