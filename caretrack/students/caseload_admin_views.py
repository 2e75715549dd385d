"""Caseloads (名单) administered: named lists of students that a counselor can be granted on, and their members."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from caretrack.core.access import Permission, get_or_404, permission_required
from caretrack.students import caseloads_bp as bp
from caretrack.students import services
from caretrack.students.forms import CaseloadForm
from caretrack.students.groups import add_by_student_no, create_group, groups_page, members_page, school_choices
from caretrack.students.models import Caseload, caseload_members


@bp.route("/", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CASELOADS_MANAGE)
def list_caseloads():
    form = CaseloadForm()
    form.school_id.choices = school_choices(current_user, Permission.CASELOADS_MANAGE)
    caseload = create_group(current_user, form, Permission.CASELOADS_MANAGE,
                            lambda school, name: services.create_caseload(current_user, school, name))
    if caseload is not None:
        flash(_("名单“%(name)s”已建立。", name=caseload.name), "success")
        return redirect(url_for("caseloads.show_caseload", caseload_id=caseload.id))
    page = groups_page(current_user, Permission.CASELOADS_MANAGE, Caseload, caseload_members,
                       caseload_members.c.caseload_id)
    return render_template("students/caseloads.html", page=page, form=form), 400 if form.errors else 200


@bp.route("/<int:caseload_id>")
@login_required
@permission_required(Permission.CASELOADS_MANAGE)
def show_caseload(caseload_id: int):
    caseload = get_or_404(Caseload, caseload_id, current_user, Permission.CASELOADS_MANAGE)
    return render_template("students/caseload.html", caseload=caseload,
                           page=members_page(caseload_members, caseload_members.c.caseload_id, caseload.id))


@bp.route("/<int:caseload_id>/members", methods=["POST"])
@login_required
@permission_required(Permission.CASELOADS_MANAGE)
def add_caseload_member(caseload_id: int):
    caseload = get_or_404(Caseload, caseload_id, current_user, Permission.CASELOADS_MANAGE)
    student = add_by_student_no(caseload.school_id, request.form.get("student_no", ""),
                                lambda s: services.add_to_caseload(current_user, caseload, s))
    if student is not None:
        flash(_("已将 %(name)s 加入名单。", name=student.name), "success")
    return redirect(url_for("caseloads.show_caseload", caseload_id=caseload.id))


@bp.route("/<int:caseload_id>/members/<int:student_id>/remove", methods=["POST"])
@login_required
@permission_required(Permission.CASELOADS_MANAGE)
def remove_caseload_member(caseload_id: int, student_id: int):
    caseload = get_or_404(Caseload, caseload_id, current_user, Permission.CASELOADS_MANAGE)
    student = next((s for s in caseload.students if s.id == student_id), None)
    if student is None:
        abort(404)
    services.remove_from_caseload(current_user, caseload, student)
    flash(_("已将 %(name)s 移出名单。", name=student.name), "success")
    return redirect(url_for("caseloads.show_caseload", caseload_id=caseload.id))
