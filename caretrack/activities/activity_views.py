"""Activity pages: the list and its download, record and edit, photos, attendance by ticking, paste or sheet."""

from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.activities import bp, queries, services
from caretrack.activities.forms import ActivityForm, PasteForm, PhotoForm
from caretrack.activities.importers import AttendanceImporter
from caretrack.activities.models import Activity, ActivityPhoto, Club, Theme
from caretrack.core import uploads
from caretrack.core.access import Permission, can, get_or_404, has_permission, permission_required, scoped
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError
from caretrack.core.forms import flash_saved
from caretrack.core.i18n import format_date
from caretrack.core.pagination import paginate
from caretrack.core.requests import roll_back_anyway
from caretrack.core.timeutil import local_today
from caretrack.core.urls import parse_id
from caretrack.core.xlsx import download, table_workbook
from caretrack.extensions import db
from caretrack.jobs.import_views import ImportPage, register_import_routes
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, College, Unit

ORGANISER_MODELS = {"unit": Unit, "college": College, "club": Club}


def _activity(activity_id: int, permission: Permission = Permission.ACTIVITIES_VIEW) -> Activity:
    """An activity the user may see (404 otherwise) and act on with `permission` (403 otherwise)."""
    return get_or_404(Activity, activity_id, current_user, Permission.ACTIVITIES_VIEW, then=permission)


def _filters() -> queries.ActivityFilters:
    args = request.args
    year = parse_id(args.get("year"))
    when = args.get("when", "")
    return queries.ActivityFilters(
        theme_id=parse_id(args.get("theme")), q=args.get("q", "").strip(),
        when=when if when in queries.ACTIVITY_WHEN else "", today=local_today(),
        year=db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == year)) if year else None)


def _themes() -> list[Theme]:
    return list(db.session.scalars(select(Theme).order_by(Theme.sort_order)))


@bp.route("/")
@login_required
@permission_required(Permission.ACTIVITIES_VIEW)
def list_activities():
    filters = _filters()
    page = paginate(queries.activity_query(current_user, filters))
    counts = queries.attendance_counts([a.id for a in page.items])
    years = db.session.scalars(select(AcademicYear).order_by(AcademicYear.start_year.desc())).all()
    return render_template("activities/list.html", page=page, counts=counts, filters=filters, themes=_themes(),
                           years=years, may_create=bool(_organiser_choices()))


@bp.route("/export.xlsx")
@login_required
@permission_required(Permission.ACTIVITIES_VIEW)
def export_activities():
    activities = db.session.scalars(queries.activity_query(current_user, _filters())).all()
    counts = queries.attendance_counts([a.id for a in activities])
    rows = ([a.id, format_date(a.held_on), a.theme_names, a.title, a.organiser_name, a.place or "",
             *counts.get(a.id, (0, 0))] for a in activities)
    headers = [(_("编号"), 8), (_("日期"), 16), (_("主题"), 24), (_("活动名称"), 36), (_("组织方"), 28),
               (_("地点"), 20), (_("应到人数"), 10), (_("实到人数"), 10)]
    return download(table_workbook(_("主题教育活动"), headers, rows),
                    f"{_('主题教育活动')}-{local_today():%Y%m%d}.xlsx")


# --- recording an activity ---------------------------------------------------------------------------------

def _organiser_choices() -> list[tuple[str, str]]:
    """The units, colleges and clubs the user may organise for (a club leader: their clubs)."""
    manage = Permission.ACTIVITIES_MANAGE
    if not has_permission(current_user, manage):
        return []
    units = db.session.scalars(scoped(select(Unit), current_user, manage).order_by(Unit.code))
    colleges = db.session.execute(scoped(select(College, Unit.name).join(Unit, Unit.id == College.school_id),
                                         current_user, manage, College).order_by(Unit.code, College.name))
    clubs = db.session.execute(scoped(select(Club, Unit.name).join(Unit, Unit.id == Club.school_id),
                                      current_user, manage, Club).order_by(Unit.code, Club.name))
    return ([(f"club:{c.id}", f"{school} {c.name}") for c, school in clubs]
            + [(f"unit:{u.id}", u.name) for u in units]
            + [(f"college:{c.id}", f"{school} {c.name}") for c, school in colleges])


def _organiser_key(activity: Activity) -> str:
    if activity.club_id:
        return f"club:{activity.club_id}"
    if activity.college_id:
        return f"college:{activity.college_id}"
    return f"unit:{activity.unit_id}"


def _prepare(form: ActivityForm) -> None:
    form.organiser.choices = _organiser_choices()
    year = org.academic_year_of(local_today())
    form.theme_ids.choices = [(t.id, t.name) for t in services.themes_in_force(year)]


def _activity_data(form: ActivityForm) -> services.ActivityData:
    kind, _sep, raw_id = form.organiser.data.partition(":")
    if kind not in ORGANISER_MODELS or not parse_id(raw_id):
        abort(400)
    target = get_or_404(ORGANISER_MODELS[kind], parse_id(raw_id), current_user, Permission.ACTIVITIES_MANAGE)
    themes = list(db.session.scalars(select(Theme).where(Theme.id.in_(form.theme_ids.data or []))))
    return services.ActivityData(
        organiser=services.organiser_for(kind, target), themes=themes, title=form.title.data or "",
        held_on=form.held_on.data, starts_at=form.starts_at.data, place=form.place.data or "",
        summary=form.summary.data or "")


def _save(form: ActivityForm, activity: Activity | None):
    """Save the form's activity; the page to go to, or None with the errors on the form."""
    if not form.validate_on_submit():
        return None
    try:
        saved, warnings = services.save_activity(current_user, _activity_data(form), local_today(), activity)
    except DomainError as error:
        roll_back_anyway()
        form.add_domain_error(error)
        return None
    for warning in warnings:
        flash(warning, "warning")
    flash_saved(_("活动“%(title)s”已保存。", title=saved.title))
    return redirect(url_for("activities.show_activity", activity_id=saved.id))


@bp.route("/new", methods=["GET", "POST"])
@login_required
@permission_required(Permission.ACTIVITIES_MANAGE)
def create_activity():
    form = ActivityForm(held_on=local_today(), organiser=request.args.get("organiser"))
    _prepare(form)
    if not form.organiser.choices:
        abort(403)
    return _save(form, None) or (render_template("activities/form.html", form=form, activity=None),
                                 400 if form.errors else 200)


@bp.route("/<int:activity_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.ACTIVITIES_MANAGE)
def edit_activity(activity_id: int):
    activity = _activity(activity_id, Permission.ACTIVITIES_MANAGE)
    form = ActivityForm(obj=activity, organiser=_organiser_key(activity), theme_ids=[t.id for t in activity.themes])
    _prepare(form)
    return _save(form, activity) or (render_template("activities/form.html", form=form, activity=activity),
                                     400 if form.errors else 200)


def _paste_form(activity: Activity, form: PasteForm | None = None) -> PasteForm:
    """The paste form, its hint for the organiser's kind (school codes only above one school)."""
    form = form or PasteForm()
    if activity.unit.is_school:
        form.student_nos.description = _("每行一个学号，也可用空格或逗号隔开。粘贴的学生记为到场。")
    return form


@bp.route("/<int:activity_id>")
@login_required
@permission_required(Permission.ACTIVITIES_VIEW)
def show_activity(activity_id: int):
    activity = _activity(activity_id)
    sheet = queries.attendance_sheet(activity)
    may_manage = can(current_user, Permission.ACTIVITIES_MANAGE, activity)
    return render_template("activities/show.html", activity=activity, sheet=sheet, may_manage=may_manage,
                           present=sum(1 for a in sheet if a.is_present), paste_form=_paste_form(activity),
                           photo_form=PhotoForm())


# --- photos ------------------------------------------------------------------------------------------------

def _photo_folder() -> Path:
    return Path(current_app.instance_path) / "activity_photos"


@bp.route("/<int:activity_id>/photos", methods=["POST"])
@login_required
@permission_required(Permission.ACTIVITIES_MANAGE)
def add_photo(activity_id: int):
    activity = _activity(activity_id, Permission.ACTIVITIES_MANAGE)
    form = PhotoForm()
    if form.validate_on_submit():
        upload = form.photo.data
        try:
            services.add_photo(current_user, activity, upload.filename, upload.read(), _photo_folder(),
                               current_app.config["MAX_ATTACHMENT_BYTES"])
        except DomainError as error:
            roll_back_anyway()
            flash(error.message, "danger")
        else:
            flash(_("照片已上传。"), "success")
    else:
        flash(_("请选择要上传的照片。"), "danger")
    return redirect(url_for("activities.show_activity", activity_id=activity.id) + "#photos")


@bp.route("/photos/<int:photo_id>")
@login_required
@permission_required(Permission.ACTIVITIES_VIEW)
def show_photo(photo_id: int):
    photo = db.session.get(ActivityPhoto, photo_id)
    if photo is None:
        abort(404)
    _activity(photo.activity_id)
    return uploads.send_stored(_photo_folder(), photo.stored_name, mimetype=photo.content_type,
                               download_name=photo.filename)


# --- attendance --------------------------------------------------------------------------------------------

def _picked_group(activity: Activity, school: Unit | None) -> tuple[list[queries.Group], queries.Group | None]:
    groups = queries.groups_for(activity, school) if school is not None else []
    wanted = request.values.get("group", "")
    picked = next((g for g in groups if g.key == wanted), None)
    if picked is None and len(groups) == 1:
        picked = groups[0]  # a club's activity: its one group, no choosing
    return groups, picked


@bp.route("/<int:activity_id>/attendance", methods=["GET", "POST"])
@login_required
@permission_required(Permission.ACTIVITIES_MANAGE)
def take_attendance(activity_id: int):
    activity = _activity(activity_id, Permission.ACTIVITIES_MANAGE)
    schools = queries.group_schools(activity)
    school_id = request.values.get("school", "")
    school = schools[0] if len(schools) == 1 else next((s for s in schools if str(s.id) == school_id), None)
    groups, group = _picked_group(activity, school)
    students = queries.group_students(activity, group) if group else []
    if request.method == "POST":
        if group is None:
            abort(400)
        present = {i for i in map(parse_id, request.form.getlist("present")) if i} & {s.id for s in students}
        try:
            services.record_attendance(current_user, activity, students, present)
        except DomainError as error:
            roll_back_anyway()
            flash(error.message, "danger")
        else:
            flash(_("已记录 %(group)s 的签到：到场 %(present)d 人，缺席 %(absent)d 人。", group=group.label,
                    present=len(present), absent=len(students) - len(present)), "success")
            return redirect(url_for("activities.show_activity", activity_id=activity.id))
    recorded = {a.student_id: a.is_present for a in queries.attendance_sheet(activity)}
    return render_template("activities/attendance.html", activity=activity, schools=schools, school=school,
                           groups=groups, group=group, students=students, recorded=recorded)


@bp.route("/<int:activity_id>/attendance/paste", methods=["POST"])
@login_required
@permission_required(Permission.ACTIVITIES_MANAGE)
def paste_attendance(activity_id: int):
    activity = _activity(activity_id, Permission.ACTIVITIES_MANAGE)
    form = PasteForm()
    if form.validate_on_submit():
        try:
            students = services.students_by_number(activity, form.student_nos.data)
            counts = services.record_attendance(current_user, activity, students, {s.id for s in students})
        except DomainError as error:
            roll_back_anyway()
            form.add_domain_error(error)
        else:
            flash(_("已记录 %(n)d 名学生到场（新增 %(created)d 人）。", n=counts.present, created=counts.created),
                  "success")
            return redirect(url_for("activities.show_activity", activity_id=activity.id))
    sheet = queries.attendance_sheet(activity)
    return render_template("activities/show.html", activity=activity, sheet=sheet, may_manage=True,
                           present=sum(1 for a in sheet if a.is_present), paste_form=_paste_form(activity, form),
                           photo_form=PhotoForm()), 400


@bp.route("/<int:activity_id>/sheet.xlsx")
@login_required
@permission_required(Permission.ACTIVITIES_VIEW)
def export_sheet(activity_id: int):
    """The attendance sheet: who was expected and who came, in the columns the sign-in import reads back."""
    activity = _activity(activity_id)
    yes, no = _("是"), _("否")
    rows = ([activity.id, a.student.school.code, a.student.student_no, a.student.name, a.student.school_class.name,
             yes if a.is_present else no] for a in queries.attendance_sheet(activity))
    headers = [("活动编号", 10), ("单位代码", 14), ("学号", 16), ("姓名", 12), ("班级", 18), ("是否到场", 10)]
    return download(table_workbook(_("签到表"), headers, rows), f"{_('签到表')}-{activity.id}.xlsx")


def _sheet_context() -> tuple[dict, str | None]:
    """From an activity's own page (?activity=ID) the sheet is of that activity: it needs no 活动编号 column."""
    raw = request.args.get("activity")
    if raw is None:
        return {}, None
    activity_id = parse_id(raw)
    if activity_id is None:
        abort(404)
    activity = _activity(activity_id, Permission.ACTIVITIES_MANAGE)
    columns = (_("列：学号；是否到场可空（空为到场）。") if activity.unit.is_school
               else _("列：学号、单位代码（学生所在学校）；是否到场可空（空为到场）。"))
    return {"activity_id": activity.id}, _("导入“%(title)s”（#%(id)d）的签到表。", title=activity.title,
                                           id=activity.id) + columns


def _attendance_importer(actor, activity_id: int | None = None) -> AttendanceImporter:
    return AttendanceImporter(actor, db.session.get(Activity, activity_id) if activity_id else None)


register_import_routes(bp, ImportPage(
    kind="attendance", title=N_("导入签到表"), permission=Permission.ACTIVITIES_MANAGE,
    columns_help=N_("列：活动编号、学号，市、区组织的活动还需单位代码；是否到场可空（空为到场）。"
                    "可先在活动页面下载签到表，填好后导入。"), context=_sheet_context),
    _attendance_importer)
