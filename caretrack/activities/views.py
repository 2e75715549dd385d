"""Club pages: the clubs a user may see, one club's members and activities; officers create clubs and manage members,
leaders propose members for the officer to approve.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from caretrack.activities import bp, services
from caretrack.activities.models import Activity, Attendance, Club, ClubProposal, ProposalStatus, club_members
from caretrack.core.access import Permission, can, get_or_404, permission_required
from caretrack.core.errors import DomainError
from caretrack.core.requests import roll_back_anyway
from caretrack.extensions import db
from caretrack.students.forms import CaseloadForm
from caretrack.students.groups import add_by_student_no, create_group, groups_page, members_page, school_choices
from caretrack.students.models import Student


@bp.route("/clubs/", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CLUBS_VIEW)
def list_clubs():
    form = CaseloadForm()
    form.name.label.text = _("自强社名称")
    form.school_id.choices = school_choices(current_user, Permission.CLUBS_MANAGE)
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
    return get_or_404(Club, club_id, current_user, Permission.CLUBS_VIEW, then=permission)


@bp.route("/clubs/<int:club_id>")
@login_required
@permission_required(Permission.CLUBS_VIEW)
def show_club(club_id: int):
    club = _club(club_id, Permission.CLUBS_VIEW)
    activities = db.session.scalars(select(Activity).where(Activity.club_id == club.id)
                                    .order_by(Activity.held_on.desc()).limit(20)).all()
    proposals = db.session.scalars(select(ClubProposal).where(
        ClubProposal.club_id == club.id, ClubProposal.status == ProposalStatus.PENDING)
        .options(joinedload(ClubProposal.student).joinedload(Student.school_class))).all()
    return render_template("activities/club.html", club=club, activities=activities, proposals=proposals,
                           page=members_page(club_members, club_members.c.club_id, club.id),
                           attended=club_attendance(club),
                           may_manage=can(current_user, Permission.CLUBS_MANAGE, club),
                           may_propose=can(current_user, Permission.CLUBS_PROPOSE, club),
                           may_record=can(current_user, Permission.ACTIVITIES_MANAGE, club))


def club_attendance(club: Club) -> dict[int, int]:
    """Member id -> the number of the club's activities they attended (one query)."""
    return dict(db.session.execute(
        select(Attendance.student_id, func.count()).join(Activity, Activity.id == Attendance.activity_id)
        .where(Activity.club_id == club.id, Attendance.is_present.is_(True)).group_by(Attendance.student_id)).all())


@bp.route("/clubs/<int:club_id>/proposals", methods=["POST"])
@login_required
@permission_required(Permission.CLUBS_PROPOSE)
def propose_member(club_id: int):
    club = _club(club_id, Permission.CLUBS_PROPOSE)
    student = add_by_student_no(club.school_id, request.form.get("student_no", ""),
                                lambda s: services.propose_member(current_user, club, s))
    if student is not None:
        flash(_("已推荐 %(name)s 加入自强社，待学校资助中心审核。", name=student.name), "success")
    return redirect(url_for("activities.show_club", club_id=club.id))


@bp.route("/clubs/proposals/<int:proposal_id>", methods=["POST"])
@login_required
@permission_required(Permission.CLUBS_MANAGE)
def decide_proposal(proposal_id: int):
    proposal = get_or_404(ClubProposal, proposal_id, current_user, Permission.CLUBS_MANAGE)
    approve = request.form.get("decision") == "approve"
    try:
        services.decide_proposal(current_user, proposal, approve)
    except DomainError as error:
        roll_back_anyway()
        flash(error.message, "danger")
    else:
        flash(_("已批准 %(name)s 加入自强社。", name=proposal.student.name) if approve
              else _("未批准 %(name)s 加入自强社。", name=proposal.student.name), "success")
    return redirect(url_for("activities.show_club", club_id=proposal.club_id))


@bp.route("/clubs/<int:club_id>/members", methods=["POST"])
@login_required
@permission_required(Permission.CLUBS_MANAGE)
def add_member(club_id: int):
    club = _club(club_id, Permission.CLUBS_MANAGE)
    student = add_by_student_no(club.school_id, request.form.get("student_no", ""),
                                lambda s: services.add_member(current_user, club, s))
    if student is not None:
        flash(_("已将 %(name)s 加入自强社。", name=student.name), "success")
    return redirect(url_for("activities.show_club", club_id=club.id))


@bp.route("/clubs/<int:club_id>/members/<int:student_id>/remove", methods=["POST"])
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
