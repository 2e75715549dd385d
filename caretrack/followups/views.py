"""Follow-up pages: a person's list, scheduling, one follow-up, the calendar subscription, the visit cadence."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from caretrack.accounts.models import User
from caretrack.core.access import Permission, Role, can, get_or_404, permission_required, require
from caretrack.core.errors import DomainError
from caretrack.core.i18n import format_date
from caretrack.core.pagination import paginate
from caretrack.core.timeutil import local_today
from caretrack.core.urls import parse_id
from caretrack.followups import bp, cadence, queries, services
from caretrack.followups.forms import CancelForm, FollowUpForm
from caretrack.followups.models import FollowUp, FollowUpKind, FollowUpStatus
from caretrack.ledger.queries import may_read, prime_may_read
from caretrack.ledger.views import Closable, register_closable_source
from caretrack.ledger.worklist_views import register_caseload_column
from caretrack.notify.calendar import FeedEntry, masked_name, new_token, register_feed_source
from caretrack.org import services as org
from caretrack.students.queries import get_student
from caretrack.students.views import register_file_section


def followups_section(user, student) -> dict | None:
    """The student's follow-ups and what the visit cadence asks for this year, on the file page."""
    if not can(user, Permission.LEDGER_VIEW, student):
        return None
    today = local_today()
    year = org.current_year(student.school, today)
    owed = cadence.obligations([student], year, today).get(student.id, []) if year else []
    return {"template": "followups/_section.html", "student": student, "followups": queries.for_student(student),
            "obligations": owed, "today": today, "may_schedule": can(user, Permission.CARE_RECORD, student)}


register_file_section(followups_section)


def closable_followups(user, student) -> list[Closable]:
    """The student's open follow-ups the user may read, for the record form to tick the ones a record completes."""
    closables = []
    for followup in sorted(queries.for_student(student), key=lambda f: (f.due_on, f.id)):
        if followup.status != FollowUpStatus.OPEN or not may_read(user, followup):
            continue
        label = _("%(what)s · 期限 %(day)s · %(who)s", what=followup.kind_enum.label,
                  day=format_date(followup.due_on), who=followup.assignee.display_name)
        if followup.note:
            label += f" · {followup.note[:40]}"
        closables.append(Closable(followup.id, label, tuple(k.value for k in followup.kind_enum.closing_record_kinds)))
    return closables


register_closable_source(closable_followups)


def cadence_column(rows, year, today) -> tuple[str, dict]:
    """For the caseload: the visits and talks each student is owed now, overdue ones in red."""
    owed = cadence.obligations([row.student for row in rows], year, today)
    css = {cadence.DUE: "text-bg-warning", cadence.OVERDUE: "text-bg-danger"}
    return _("走访要求"), {student_id: [(f"{o.label} {o.state_label}", css[o.state]) for o in cadence.attention(items)]
                          for student_id, items in owed.items()}


register_caseload_column(cadence_column)


@bp.route("/")
@login_required
@permission_required(Permission.LEDGER_VIEW)
def list_followups():
    status = request.args.get("status", "open")
    mine = request.args.get("mine", "1") == "1"
    due = request.args.get("due", "")
    due = due if due in queries.DUE_WINDOWS else ""
    class_id = parse_id(request.args.get("class"))
    today = local_today()
    page = paginate(queries.followup_query(current_user, status, mine_only=mine, due=due, today=today,
                                           class_id=class_id))
    prime_may_read(current_user, page.items)
    return render_template("followups/list.html", page=page, status=status, mine=mine, today=today, due=due,
                           class_id=class_id)


@bp.route("/owed")
@login_required
@permission_required(Permission.LEDGER_VIEW)
def list_owed():
    """The students the visit cadence says are owed a visit or talk now (the home page counts them)."""
    from caretrack.accounts.services import home_unit

    today = local_today()
    year = org.current_year(home_unit(current_user), today)
    page = queries.owing_students(current_user, year, today) if year else None
    return render_template("followups/owed.html", page=page, year=year)


def _assignees(student) -> list[User]:
    """Who may be put in charge: the acting user and the class teachers and counselors of the student."""
    people = {current_user.id: current_user._get_current_object()}
    for role in (Role.CLASS_TEACHER, Role.COUNSELOR):
        people.update({u.id: u for u in queries.responsible_users(student, role)})
    return list(people.values())


@bp.route("/new", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CARE_RECORD)
def schedule_followup():
    student = get_student(current_user, parse_id(request.args.get("student")) or 0)
    if student is None:
        abort(404)
    require(current_user, Permission.CARE_RECORD, student)
    people = _assignees(student)
    form = FollowUpForm(assignee_id=current_user.id)
    form.assignee_id.choices = [(u.id, u.display_name) for u in people]
    if form.validate_on_submit():
        data = services.FollowUpData(student=student, kind=FollowUpKind(form.kind.data),
                                     assignee=next(u for u in people if u.id == form.assignee_id.data),
                                     due_on=form.due_on.data, note=form.note.data)
        try:
            followup = services.schedule(current_user, data, local_today(), form.confirm_past.data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash(_("已安排%(what)s，期限 %(day)s。", what=followup.kind_enum.label, day=followup.due_on.isoformat()),
                  "success")
            return redirect(url_for("students.show_student", student_id=student.id) + "#followups")
    return render_template("followups/form.html", form=form, student=student), 400 if form.errors else 200


@bp.route("/<int:followup_id>")
@login_required
@permission_required(Permission.LEDGER_VIEW)
def show_followup(followup_id: int):
    followup = get_or_404(FollowUp, followup_id, current_user, Permission.LEDGER_VIEW)
    return render_template("followups/show.html", followup=followup, cancel_form=CancelForm(version=followup.version),
                           today=local_today(), may_act=_may_act(followup))


def _may_act(followup: FollowUp) -> bool:
    """Closing or cancelling a follow-up takes care work on its student, and reading it when it is confidential."""
    return can(current_user, Permission.CARE_RECORD, followup) and may_read(current_user, followup)


@bp.route("/<int:followup_id>/cancel", methods=["POST"])
@login_required
@permission_required(Permission.CARE_RECORD)
def cancel_followup(followup_id: int):
    followup = get_or_404(FollowUp, followup_id, current_user, Permission.LEDGER_VIEW)
    if not _may_act(followup):
        abort(403)
    form = CancelForm()
    try:
        if not form.validate_on_submit():
            raise DomainError(_("请填写取消原因。"))
        services.cancel(current_user, followup, form.reason.data, int(form.version.data or 0))
    except DomainError as error:
        flash(error.message, "danger")
    else:
        flash(_("跟进已取消。"), "success")
    return redirect(url_for("followups.show_followup", followup_id=followup.id))


# --- the calendar feed -------------------------------------------------------------------------------------

@bp.route("/calendar", methods=["GET", "POST"])
@login_required
@permission_required(Permission.LEDGER_VIEW)
def calendar_settings():
    user = current_user._get_current_object()
    if request.method == "POST":
        # A new token is a new URL: the old one stops working at once.
        user.calendar_token = new_token() if request.form.get("action") != "revoke" else None
        flash(_("日历订阅地址已更新，旧地址已失效。") if user.calendar_token else _("日历订阅已关闭。"), "success")
        return redirect(url_for("followups.calendar_settings"))
    feed_url = url_for("calendar.feed", token=user.calendar_token, _external=True) if user.calendar_token else None
    return render_template("followups/calendar.html", feed_url=feed_url)


def calendar_entries(user) -> list[FeedEntry]:
    """The user's open follow-ups in their phone calendar (notify/calendar.py serves the feed)."""
    return [FeedEntry(uid=f"followup-{followup.id}@caretrack", day=followup.due_on,
                      summary=f"{followup.shareable_label}：{masked_name(followup.student.name)}",
                      path=f"/followups/{followup.id}")
            for followup in queries.open_for_calendar(user)]


register_feed_source(calendar_entries)


from caretrack.followups import cadence_views  # noqa: E402,F401 - registers the cadence pages on bp
