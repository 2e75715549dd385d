"""Student pages: the list, the file, forms to register, edit, move, identify, reveal the ID, and the import."""

import secrets

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from caretrack.accounts.services import home_unit, home_unit_id
from caretrack.core import idnumber, totals
from caretrack.core.access import Permission, get_or_404, has_permission, permission_required, require
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError
from caretrack.core.forms import flash_saved
from caretrack.core.i18n import format_date
from caretrack.core.pagination import count_rows, paginate
from caretrack.core.requests import roll_back_anyway, roll_back_now
from caretrack.core.timeutil import local_today
from caretrack.core.urls import parse_id
from caretrack.core.validation import checked_data, typed
from caretrack.core.xlsx import download
from caretrack.extensions import db
from caretrack.jobs.import_views import ImportPage, register_import_routes
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, College, SchoolClass, Stage, Unit
from caretrack.students import bp, exports, queries, services
from caretrack.students.forms import IdentificationForm, MoveForm, StatusForm, StudentForm
from caretrack.students.importers import StudentImporter
from caretrack.students.models import Category, Gender, Level, Student, StudentStatus


def _int_arg(name: str) -> int | None:
    return parse_id(request.args.get(name))


def _year(start_year: int | None, unit: Unit | None) -> AcademicYear | None:
    """The year asked for, else the one today is in by the unit's own term dates."""
    if not start_year:
        return org.current_year(unit, local_today())
    return db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == start_year))


def _list_year(start_year: int | None) -> AcademicYear | None:
    """The list's year: the one asked for, else the one today is in by the term dates of the user's home unit."""
    years = org.all_years()  # read once per request: the year select lists them too
    if start_year:
        return next((year for year in years if year.start_year == start_year), None)
    year_id = totals.remembered(None, "default year", _default_year_id, home_unit_id(current_user), local_today(),
                                noted=False)
    return next((year for year in years if year.id == year_id), None)


def _default_year_id() -> int | None:
    """Remembered per home unit and day (term dates move a few times a year): the unit and its terms are two
    statements on every view of the list otherwise.
    """
    year = org.current_year(home_unit(current_user), local_today())
    return year.id if year else None


ID_SEARCHES = "student_id_searches"
FILTER_NAMES = ("q", "school", "college", "class", "stage", "status", "year", "identified", "category", "level")


def _search_text() -> str:
    """The search text; a searched ID number comes back from the session, never from the URL."""
    token = request.args.get("idq")
    if token:
        return session.get(ID_SEARCHES, {}).get(token, "")
    return request.args.get("q", "").strip()


def filters_from_request() -> queries.StudentFilters:
    args = request.args
    return queries.StudentFilters(
        q=_search_text(), school_id=_int_arg("school"), college_id=_int_arg("college"),
        class_id=_int_arg("class"), stage=args.get("stage", ""), status=args.get("status", "active"),
        year=_list_year(_int_arg("year")), identified=args.get("identified", ""),
        category=args.get("category", ""),
        level=args.get("level", ""))


def _list_context(filters: queries.StudentFilters) -> dict:
    choices = queries.filter_choices(current_user, filters.school_id)
    return {"filters": filters, "schools": choices.schools, "colleges": choices.colleges, "classes": choices.classes,
            "years": org.all_years(),
            "stages": Stage.choices(), "categories": Category.choices(), "levels": Level.choices(),
            "statuses": StudentStatus.choices()}


def _list_labels(context: dict) -> queries.ListLabels:
    """The rows' labels from the filter selects' own choices, already in the page's language."""
    return queries.ListLabels(stages=dict(context["stages"]), levels=dict(context["levels"]),
                              categories=dict(context["categories"]), separator=_("、"))


def _counted(filters: queries.StudentFilters, students) -> int:
    """The list's capped count, remembered per user and filters for HOME_TOTALS_SECONDS (core.totals): a
    university's first page would otherwise read ten thousand ids on every view. The rows are always read afresh.

    A search is counted on every view: it finds a few students by an index, and its text (perhaps a full ID
    number) is no key to keep.
    """
    cap = current_app.config["COUNT_CAP"]

    def count() -> int:
        return count_rows(queries.counted_students(students), cap)

    if filters.q:
        return count()
    return totals.remembered(current_user, "student list", count, queries.filters_key(filters), cap)


def _file_url_prefix() -> str:
    """A student file's URL without the id at its end (the route is …/<id>): fifty rows link their files without
    fifty url_for() calls.
    """
    return url_for("students.show_student", student_id=0).removesuffix("0")


def _filter_redirect():
    """Turn the posted filter form into a list URL; a full ID number is kept in the session behind a token."""
    args = {name: request.form.get(name, "").strip() for name in FILTER_NAMES}
    args = {name: value for name, value in args.items() if value}
    query = args.get("q", "")
    if _is_id_number(query):
        token = secrets.token_urlsafe(8)
        # Only the last few searches are kept, so the session cookie stays small.
        searches = dict(list(session.get(ID_SEARCHES, {}).items())[-4:])
        searches[token] = query
        session[ID_SEARCHES] = searches
        args.pop("q")
        args["idq"] = token
    return redirect(url_for("students.list_students", **args))


def _is_id_number(text: str) -> bool:
    try:
        idnumber.parse(text)
    except DomainError:
        return False
    return True


@bp.route("/", methods=["GET", "POST"])
@login_required
@permission_required(Permission.STUDENTS_VIEW)
def list_students():
    if request.method == "POST":
        return _filter_redirect()
    filters = filters_from_request()
    students = queries.student_query(current_user, filters)
    page = paginate(queries.listed(students, filters.year), scalars=False, cap=current_app.config["COUNT_CAP"],
                    total=_counted(filters, students))
    context = _list_context(filters)
    page.items = queries.listed_students(page.items, _list_labels(context))
    return render_template("students/list.html", page=page, file_url=_file_url_prefix(),
                           counted_at=totals.counted_at(), **context)


@bp.route("/export.xlsx")
@login_required
@permission_required(Permission.STUDENTS_VIEW)
def export_students():
    full_ids = has_permission(current_user, Permission.ID_REVEAL) and request.args.get("full_ids") == "1"
    workbook = exports.export_students(current_user, filters_from_request(), full_ids)
    return download(workbook, f"{_('学生名单')}-{local_today():%Y%m%d}.xlsx")


def _student_or_404(student_id: int) -> Student:
    student = queries.get_student(current_user, student_id)
    if student is None:
        abort(404)
    return student


def _require(permission: Permission, student: Student) -> None:
    """The student is visible; acting on them needs the permission on a scope that holds them."""
    require(current_user, permission, student)


# Domains above this one add their part of the student's file here (the ledger its timeline, follow-ups theirs):
# each is a function(user, student) returning a dict with the "template" to include and its context, or None.
FILE_SECTIONS: list = []


def register_file_section(section) -> None:
    FILE_SECTIONS.append(section)


@bp.route("/<int:student_id>")
@login_required
@permission_required(Permission.STUDENTS_VIEW)
def show_student(student_id: int, revealed_id: str | None = None):
    student = _student_or_404(student_id)
    move_form = _move_form(student, student.college_id)
    status_form = StatusForm(version=student.version, status=student.status, on=local_today())
    sections = [section for section in (build(current_user, student) for build in FILE_SECTIONS) if section]
    page = render_template("students/file.html", student=student, revealed_id=revealed_id, move_form=move_form,
                           sections=sections, status_form=status_form,
                           Stage=Stage, Gender=Gender, StudentStatus=StudentStatus)
    return page


@bp.route("/<int:student_id>/reveal", methods=["POST"])
@login_required
@permission_required(Permission.ID_REVEAL)
def reveal_id(student_id: int):
    student = _student_or_404(student_id)
    _require(Permission.ID_REVEAL, student)
    revealed = services.reveal_id_number(current_user, student)
    return show_student(student_id, revealed_id=revealed)


def _move_form(student: Student, college_id: int | None) -> MoveForm:
    """The move form with the classes of one college (None: the whole school), the current one preselected."""
    form = MoveForm(version=student.version, class_id=student.class_id)
    form.class_id.choices = _class_choices(student.school_id, college_id)
    return form


@bp.route("/<int:student_id>/move/classes")
@login_required
@permission_required(Permission.STUDENTS_EDIT)
def move_picker(student_id: int):
    """Every class of the school, for a move to another college: the file lists only the student's own college,
    since a university's nine hundred classes would weigh on every view of every file.
    """
    student = _student_or_404(student_id)
    _require(Permission.STUDENTS_EDIT, student)
    return render_template("students/move.html", student=student, move_form=_move_form(student, None))


def _class_choices(school_id: int, college_id: int | None = None) -> list[SelectChoice]:
    """The school's classes (or one college's) in one query, grouped by college (outside any college first)."""
    statement = (select(SchoolClass.id, SchoolClass.name, College.name)
                 .outerjoin(College, College.id == SchoolClass.college_id)
                 .where(SchoolClass.school_id == school_id)
                 .order_by(College.name.is_not(None), College.name, SchoolClass.name))
    if college_id is not None:
        statement = statement.where(SchoolClass.college_id == college_id)
    rows = db.session.execute(statement)
    return [SelectChoice(value=class_id, label=name, optgroup=college) for class_id, name, college in rows]


def _prepare_student_form(form: StudentForm, school: Unit) -> None:
    form.class_id.choices = _class_choices(school.id)
    form.stage.choices = [(s.value, s.label) for s in school.stages]


def _student_data(form: StudentForm, school: Unit, keep: Student | None, errors) -> services.StudentData:
    """The typed student; a bad ID number goes to `errors` and leaves the ID None."""
    school_class = typed(form.class_id, lambda class_id: db.session.get(SchoolClass, class_id))
    id_number = None if form.id_number.errors else errors.run(_parse_id_field, form, keep)
    return services.StudentData(
        school=school, school_class=school_class, college=school_class.college if school_class else None,
        student_no=typed(form.student_no), name=typed(form.name), id_number=id_number,
        stage=typed(form.stage, Stage), gender=typed(form.gender, Gender), enrolment_year=typed(form.enrolment_year),
        is_boarder=form.is_boarder.data, hukou=form.hukou.data or None, guardian_name=form.guardian_name.data,
        guardian_phone=typed(form.guardian_phone))


def _checked_student(form: StudentForm, school: Unit, keep: Student | None) -> services.StudentData | None:
    """The typed student when the form is right so far, else None with every error of the form shown at once."""
    return checked_data(form, lambda errors: _student_data(form, school, keep, errors),
                        lambda data, errors: services.check_student_form(data, keep, errors))


def _parse_id_field(form: StudentForm, keep: Student | None) -> idnumber.IdNumber:
    """The typed ID number; on an edit an empty field keeps the stored one."""
    if keep is not None and not form.id_number.data:
        from caretrack.core import crypto

        return idnumber.parse(crypto.decrypt(keep.id_cipher))
    try:
        return idnumber.parse(form.id_number.data)
    except DomainError as error:
        raise DomainError(error.message, field="id_number") from None


@bp.route("/new", methods=["GET", "POST"])
@login_required
@permission_required(Permission.STUDENTS_EDIT)
def create_student():
    school = get_or_404(Unit, _int_arg("school") or 0, current_user, Permission.STUDENTS_EDIT)
    form = StudentForm()
    _prepare_student_form(form, school)
    data = _checked_student(form, school, None)
    if data is not None:
        try:
            student, warnings = services.create_student(current_user, data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash(_("学生 %(name)s 已登记。", name=student.name), "success")
            for warning in warnings:
                flash(warning, "warning")
            return redirect(url_for("students.show_student", student_id=student.id))
    return render_template("students/form.html", form=form, school=school, student=None), 400 if form.errors else 200


def _saved_student(student: Student) -> dict:
    """What is saved now, as the student form's fields hold it."""
    guardian = student.guardians[0] if student.guardians else None
    guardian_name, guardian_phone = (guardian.name, guardian.phone or "") if guardian else ("", "")
    return {"class_id": student.class_id, "student_no": student.student_no, "name": student.name,
            "gender": student.gender or "", "stage": student.stage, "enrolment_year": student.enrolment_year,
            "is_boarder": student.is_boarder, "hukou": student.hukou or "",
            "guardian_name": guardian_name, "guardian_phone": guardian_phone}


@bp.route("/<int:student_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.STUDENTS_EDIT)
def edit_student(student_id: int):
    student = _student_or_404(student_id)
    _require(Permission.STUDENTS_EDIT, student)
    form = StudentForm(obj=student, version=student.version) if request.method == "GET" else StudentForm()
    if request.method == "GET":
        form.id_number.data = ""
        guardian = student.guardians[0] if student.guardians else None
        form.guardian_name.data, form.guardian_phone.data = (guardian.name, guardian.phone) if guardian else ("", "")
    _prepare_student_form(form, student.school)
    data = _checked_student(form, student.school, student)
    if data is not None:
        version_before = student.version
        try:
            warnings = services.update_student(current_user, student, data, int(form.version.data or 0))
        except DomainError as error:
            form.add_domain_error(error)
            if error.field == "version":
                roll_back_now()  # the lost flush is undone before what is saved now is read
                form.show_saved(_saved_student(student), student.version)
        else:
            flash_saved(_("学生信息已保存。"), student.version != version_before)
            for warning in warnings:
                flash(warning, "warning")
            return redirect(url_for("students.show_student", student_id=student.id))
    return render_template("students/form.html", form=form, school=student.school, student=student), \
        400 if form.errors else 200


@bp.route("/<int:student_id>/move", methods=["POST"])
@login_required
@permission_required(Permission.STUDENTS_EDIT)
def move_student(student_id: int):
    student = _student_or_404(student_id)
    _require(Permission.STUDENTS_EDIT, student)
    form = MoveForm()
    form.class_id.choices = _class_choices(student.school_id)
    if not form.validate_on_submit():
        flash(_("请选择要调入的班级。"), "danger")
        return _back_to_file(student)
    new_class = db.session.get(SchoolClass, form.class_id.data)
    try:
        services.check_move(student, new_class, int(form.version.data or 0))
        if form.confirm.data != "1":
            change = _("将 %(name)s 从“%(old)s”调到“%(new)s”。", name=student.name,
                       old=_class_label(student.school_class), new=_class_label(new_class))
            return _confirm_page(student, _("确认调班"), [change],
                                 url_for("students.move_student", student_id=student.id), _("确认调班"))
        services.move_student(current_user, student, new_class, int(form.version.data or 0))
    except DomainError as error:
        flash(error.message, "danger")
        roll_back_anyway()
        return _back_to_file(student)
    flash(_("已调整班级。"), "success")
    return _back_to_file(student)


def _back_to_file(student: Student):
    return redirect(url_for("students.show_student", student_id=student.id))


def _class_label(school_class: SchoolClass) -> str:
    return f"{school_class.college.name} · {school_class.name}" if school_class.college else school_class.name


def _confirm_page(student: Student, title: str, changes: list[str], action: str, button: str):
    """Show what a structural change will do; the same fields are posted again with confirm=1 to do it."""
    fields = [(name, value) for name, value in request.form.items(multi=True) if name not in ("csrf_token", "confirm")]
    return render_template("students/confirm.html", student=student, title=title, changes=changes, action=action,
                           button=button, fields=fields)


@bp.route("/<int:student_id>/status", methods=["POST"])
@login_required
@permission_required(Permission.STUDENTS_EDIT)
def set_status(student_id: int):
    student = _student_or_404(student_id)
    _require(Permission.STUDENTS_EDIT, student)
    form = StatusForm()
    if not form.validate_on_submit():
        flash(_("请填写状态和日期。"), "danger")
        return _back_to_file(student)
    status = StudentStatus(form.status.data)
    try:
        services.check_status(student, status, int(form.version.data or 0))
        if form.confirm.data != "1":
            change = _("将 %(name)s 的学籍状态从“%(old)s”改为“%(new)s”，日期 %(day)s。", name=student.name,
                       old=StudentStatus(student.status).label, new=status.label, day=format_date(form.on.data))
            return _confirm_page(student, _("确认变更学籍状态"), [change],
                                 url_for("students.set_status", student_id=student.id), _("确认变更"))
        services.set_status(current_user, student, status, form.on.data, form.note.data, int(form.version.data or 0))
    except DomainError as error:
        flash(error.message, "danger")
        roll_back_anyway()
        return _back_to_file(student)
    flash(_("学生状态已更新为“%(s)s”。", s=status.label), "success")
    return _back_to_file(student)


def _identification_data(form: IdentificationForm) -> services.IdentificationData:
    return services.IdentificationData(
        academic_year=typed(form.academic_year, lambda year_id: db.session.get(AcademicYear, int(year_id))),
        categories=[Category(c) for c in form.categories.data or []] if not form.categories.errors else [],
        level=typed(form.level, Level), is_registered_poverty=form.is_registered_poverty.data,
        is_martyr_child=form.is_martyr_child.data, is_disaster=form.is_disaster.data,
        decided_on=form.decided_on.data, note=form.note.data)


def _identification_form(student: Student) -> IdentificationForm:
    years = db.session.scalars(select(AcademicYear).order_by(AcademicYear.start_year.desc())).all()
    chosen = _year(_int_arg("year"), student.school)
    current = services.identification_for(student, chosen) if chosen else None
    if request.method == "GET" and current is not None:
        form = IdentificationForm(obj=current, version=current.version,
                                  categories=[c.value for c in current.categories])
        form.academic_year.data = str(chosen.id)  # obj's academic_year is the row, which would win over a keyword
    else:
        form = IdentificationForm(academic_year=str(chosen.id) if chosen else None, decided_on=local_today())
    form.academic_year.choices = [(str(y.id), y.label) for y in years]
    return form


def _saved_identification(saved) -> dict:
    """What is saved now, as the identification form's fields hold it."""
    return {"categories": [c.value for c in saved.categories], "level": saved.level,
            "is_registered_poverty": saved.is_registered_poverty, "is_martyr_child": saved.is_martyr_child,
            "is_disaster": saved.is_disaster, "decided_on": saved.decided_on, "note": saved.note or ""}


@bp.route("/<int:student_id>/identification", methods=["GET", "POST"])
@login_required
@permission_required(Permission.STUDENTS_IDENTIFY)
def identify_student(student_id: int):
    student = _student_or_404(student_id)
    _require(Permission.STUDENTS_IDENTIFY, student)
    form = _identification_form(student)
    data = checked_data(form, lambda _errors: _identification_data(form),
                        lambda data, _errors: services.check_identification(data))
    if data is not None:
        before = services.identification_for(student, data.academic_year)
        version_before = before.version if before is not None else None
        try:
            identification = services.identify(current_user, student, data,
                                               int(form.version.data) if form.version.data else None)
        except DomainError as error:
            form.add_domain_error(error)
            saved = services.identification_for(student, _identification_data(form).academic_year)
            if error.field == "version" and saved is not None:
                form.show_saved(_saved_identification(saved), saved.version)
        else:
            flash_saved(_("认定信息已保存。"), identification.version != version_before)
            return redirect(url_for("students.show_student", student_id=student.id))
    return render_template("students/identify.html", form=form, student=student), 400 if form.errors else 200


register_import_routes(bp, ImportPage(
    kind="students", title=N_("导入学生名单"), permission=Permission.STUDENTS_IMPORT,
    columns_help=N_("列：单位代码、学院（系）、班级、学号、姓名、性别、身份证号、学段、入学年份、是否寄宿、户口类型、"
                    "家庭经济困难类型、困难等级、是否建档立卡家庭、是否烈士子女、是否遭遇自然灾害或突发事件、认定学年、"
                    "监护人姓名、监护人电话。")), StudentImporter)

from caretrack.students import caseload_admin_views  # noqa: E402,F401 - registers the caseload pages
