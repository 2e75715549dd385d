"""Exemplary students (优秀典型): nominate, approve, record the consent, publish, record outreach talks."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from caretrack.activities import bp, services
from caretrack.activities.forms import ConsentForm, NominationForm, TalkForm
from caretrack.activities.models import Exemplar
from caretrack.core.access import Permission, can, get_or_404, permission_required, scoped
from caretrack.core.errors import DomainError
from caretrack.core.requests import roll_back_anyway
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.students.groups import school_choices
from caretrack.students.models import Student


def _exemplar(exemplar_id: int, permission: Permission) -> Exemplar:
    return get_or_404(Exemplar, exemplar_id, current_user, Permission.EXEMPLARS_NOMINATE, then=permission)


def _list_page(form: NominationForm, status: int = 200):
    exemplars = db.session.scalars(scoped(select(Exemplar), current_user, Permission.EXEMPLARS_NOMINATE)
                                   .options(joinedload(Exemplar.student).joinedload(Student.school))
                                   .order_by(Exemplar.id.desc())).all()
    return render_template("activities/exemplars.html", exemplars=exemplars, form=form), status


@bp.route("/exemplars", methods=["GET", "POST"])
@login_required
@permission_required(Permission.EXEMPLARS_NOMINATE)
def list_exemplars():
    form = NominationForm()
    form.school_id.choices = school_choices(current_user, Permission.EXEMPLARS_NOMINATE)
    if not form.validate_on_submit():
        return _list_page(form, 400 if form.errors else 200)
    student = db.session.scalar(scoped(select(Student), current_user, Permission.STUDENTS_VIEW).where(
        Student.school_id == form.school_id.data, Student.student_no == form.student_no.data.strip()))
    try:
        if student is None:
            raise DomainError(_("本校没有学号为“%(no)s”的学生。", no=form.student_no.data.strip()), field="student_no")
        exemplar = services.nominate(current_user, student, form.story.data)
    except DomainError as error:
        roll_back_anyway()
        form.add_domain_error(error)
        return _list_page(form, 400)
    flash(_("已推荐 %(name)s 为优秀典型，待学校资助中心审定。", name=student.name), "success")
    return redirect(url_for("activities.show_exemplar", exemplar_id=exemplar.id))


@bp.route("/exemplars/<int:exemplar_id>")
@login_required
@permission_required(Permission.EXEMPLARS_NOMINATE)
def show_exemplar(exemplar_id: int):
    exemplar = _exemplar(exemplar_id, Permission.EXEMPLARS_NOMINATE)
    return render_template("activities/exemplar.html", exemplar=exemplar,
                           consent_form=ConsentForm(consent_on=local_today()),
                           talk_form=TalkForm(held_on=local_today()),
                           may_approve=can(current_user, Permission.EXEMPLARS_APPROVE, exemplar))


def _act(exemplar_id: int, permission: Permission, act, done: str, form=None):
    """Run one step on an exemplar (approve, consent, publish, a talk) and go back to its page."""
    exemplar = _exemplar(exemplar_id, permission)
    if form is not None and not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "danger")  # lazy messages
        return redirect(url_for("activities.show_exemplar", exemplar_id=exemplar.id))
    try:
        act(exemplar)
    except DomainError as error:
        roll_back_anyway()
        flash(error.message, "danger")
    else:
        flash(done, "success")
    return redirect(url_for("activities.show_exemplar", exemplar_id=exemplar.id))


@bp.route("/exemplars/<int:exemplar_id>/approve", methods=["POST"])
@login_required
@permission_required(Permission.EXEMPLARS_APPROVE)
def approve_exemplar(exemplar_id: int):
    return _act(exemplar_id, Permission.EXEMPLARS_APPROVE,
                lambda e: services.approve_exemplar(current_user, e), _("已审定。"))


@bp.route("/exemplars/<int:exemplar_id>/consent", methods=["POST"])
@login_required
@permission_required(Permission.EXEMPLARS_APPROVE)
def record_consent(exemplar_id: int):
    form = ConsentForm()
    return _act(exemplar_id, Permission.EXEMPLARS_APPROVE, lambda e: services.record_consent(
        current_user, e, form.consent_on.data, form.guardian_name.data), _("已记录同意。"), form)


@bp.route("/exemplars/<int:exemplar_id>/publish", methods=["POST"])
@login_required
@permission_required(Permission.EXEMPLARS_APPROVE)
def publish_exemplar(exemplar_id: int):
    return _act(exemplar_id, Permission.EXEMPLARS_APPROVE,
                lambda e: services.publish_exemplar(current_user, e), _("已公开姓名和事迹。"))


@bp.route("/exemplars/<int:exemplar_id>/talks", methods=["POST"])
@login_required
@permission_required(Permission.EXEMPLARS_NOMINATE)
def add_talk(exemplar_id: int):
    form = TalkForm()
    return _act(exemplar_id, Permission.EXEMPLARS_NOMINATE, lambda e: services.add_talk(
        current_user, e, form.held_on.data, form.audience.data, form.note.data), _("已记录宣讲。"), form)


@bp.route("/exemplars/published")
@login_required
@permission_required(Permission.ACTIVITIES_VIEW)
def published_exemplars():
    """The published stories: a name, a school, a story and talks; never category, aid or ID."""
    exemplars = db.session.scalars(select(Exemplar).where(Exemplar.is_published.is_(True))
                                   .options(joinedload(Exemplar.student).joinedload(Student.school))
                                   .order_by(Exemplar.id.desc())).all()
    return render_template("activities/published.html", exemplars=exemplars)
