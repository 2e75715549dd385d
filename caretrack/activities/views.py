"""Club pages: the clubs a user may see, one club's members; officers create clubs and manage members."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from caretrack.activities import bp, services
from caretrack.activities.models import Club, club_members
from caretrack.core.access import Permission, can, get_or_404, permission_required
from caretrack.students.forms import CaseloadForm
from caretrack.students.groups import add_by_student_no, create_group, groups_page, members_page, schools_for


@bp.route("/", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CLUBS_VIEW)
def list_clubs():
    form = CaseloadForm()
    form.name.label.text = _("自强社名称")
    form.school_id.choices = [(s.id, s.name) for s in schools_for(current_user, Permission.CLUBS_MANAGE)]
    if request.method == "POST":
        if not form.school_id.choices:
            abort(403)  # a club leader may look at clubs, not make them
        club = create_group(current_user, form, Permission.CLUBS_MANAGE,
                            lambda school, name: services.create_club(current_user, school, name))
        if club is not None:
            flash(_("自强社“%(name)s”已建立。", name=club.name), "success")
            return redirect(url_for("activities.show_club", club_id=club.id))
    page = groups_page(current_user, Permission.CLUBS_VIEW, Club, club_members, club_members.c.club_id)
    return render_template("activities/clubs.html", page=page, form=form), 400 if form.errors else 200


def _club(club_id: int, permission: Permission) -> Club:
    club = get_or_404(Club, club_id, current_user, Permission.CLUBS_VIEW)
    if not can(current_user, permission, club):
        abort(403)
    return club


@bp.route("/<int:club_id>")
@login_required
@permission_required(Permission.CLUBS_VIEW)
def show_club(club_id: int):
    club = _club(club_id, Permission.CLUBS_VIEW)
    return render_template("activities/club.html", club=club,
                           page=members_page(club_members, club_members.c.club_id, club.id),
                           may_manage=can(current_user, Permission.CLUBS_MANAGE, club))


@bp.route("/<int:club_id>/members", methods=["POST"])
@login_required
@permission_required(Permission.CLUBS_MANAGE)
def add_member(club_id: int):
    club = _club(club_id, Permission.CLUBS_MANAGE)
    student = add_by_student_no(club.school_id, request.form.get("student_no", ""),
                                lambda s: services.add_member(current_user, club, s))
    if student is not None:
        flash(_("已将 %(name)s 加入自强社。", name=student.name), "success")
    return redirect(url_for("activities.show_club", club_id=club.id))


@bp.route("/<int:club_id>/members/<int:student_id>/remove", methods=["POST"])
@login_required
@permission_required(Permission.CLUBS_MANAGE)
def remove_member(club_id: int, student_id: int):
    club = _club(club_id, Permission.CLUBS_MANAGE)
    student = next((s for s in club.members if s.id == student_id), None)
    if student is None:
        abort(404)
    services.remove_member(current_user, club, student)
    flash(_("%(name)s 已退出自强社。", name=student.name), "success")
    return redirect(url_for("activities.show_club", club_id=club.id))
