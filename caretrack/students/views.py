"""Student pages: the list, the file, forms to register, edit, move, identify, reveal the ID, and the import."""

import secrets

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.core import idnumber
from caretrack.core.access import Permission, can, get_or_404, has_permission, permission_required
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError
from caretrack.core.pagination import paginate
from caretrack.core.timeutil import local_today
from caretrack.core.xlsx import download
from caretrack.extensions import db
from caretrack.jobs.import_views import ImportPage, register_import_routes
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, SchoolClass, Stage, Unit
from caretrack.students import bp, exports, queries, services
from caretrack.students.forms import IdentificationForm, MoveForm, StatusForm, StudentForm
from caretrack.students.groups import schools_for
from caretrack.students.importers import StudentImporter
from caretrack.students.models import Category, Gender, Level, Student, StudentStatus


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


def _year(start_year: int | None) -> AcademicYear | None:
    start_year = start_year or org.academic_year_of(local_today())
    return db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == start_year))


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
        year=_year(_int_arg("year")), identified=args.get("identified", ""), category=args.get("category", ""),
        level=args.get("level", ""))


def _list_context(filters: queries.StudentFilters) -> dict:
    colleges, classes = queries.filter_choices(current_user, filters.school_id)
    schools = schools_for(current_user, Permission.STUDENTS_VIEW)
    years = db.session.scalars(select(AcademicYear).order_by(AcademicYear.start_year.desc())).all()
    return {"filters": filters, "schools": [(u.id, u.name) for u in schools],
            "colleges": [(c.id, c.name) for c in colleges], "classes": [(c.id, c.name) for c in classes],
            "years": years,
            "stages": Stage.choices(), "categories": Category.choices(), "levels": Level.choices(),
            "statuses": StudentStatus.choices()}


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
    page = paginate(queries.with_places(queries.student_query(current_user, filters)))
    identifications = queries.identifications_by_student([s.id for s in page.items], filters.year)
    return render_template("students/list.html", page=page, identifications=identifications,
                           **_list_context(filters))


@bp.route("/export.xlsx")
@login_required
@permission_required(Permission.STUDENTS_VIEW)
def export_students():
    full_ids = has_permission(current_user, Permission.ID_REVEAL) and request.args.get("full_ids") == "1"
    workbook = exports.export_students(current_user, filters_from_request(), full_ids)
    db.session.commit()  # the export's audit event
    return download(workbook, f"{_('学生名单')}-{local_today():%Y%m%d}.xlsx")


def _student_or_404(student_id: int) -> Student:
    student = queries.get_student(current_user, student_id)
    if student is None:
        abort(404)
    return student


def _require(permission: Permission, student: Student) -> None:
    """The student is visible; acting on them needs the permission on a scope that holds them."""
    if not can(current_user, permission, student):
        abort(403)


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
    move_form = MoveForm(version=student.version)
    move_form.class_id.choices = _class_choices(student.school_id)
    sections = [section for section in (build(current_user, student) for build in FILE_SECTIONS) if section]
    page = render_template("students/file.html", student=student, revealed_id=revealed_id, move_form=move_form,
                           sections=sections, status_form=StatusForm(version=student.version, on=local_today()),
                           Stage=Stage, Gender=Gender, StudentStatus=StudentStatus)
    # Sections audit what they showed (confidential records); committing after rendering keeps the loaded
    # rows fresh instead of reloading each one.
    db.session.commit()
    return page


@bp.route("/<int:student_id>/reveal", methods=["POST"])
@login_required
@permission_required(Permission.ID_REVEAL)
def reveal_id(student_id: int):
    student = _student_or_404(student_id)
    _require(Permission.ID_REVEAL, student)
    revealed = services.reveal_id_number(current_user, student)
    db.session.commit()
    return show_student(student_id, revealed_id=revealed)


def _class_choices(school_id: int) -> list[tuple[int, str]]:
    classes = db.session.scalars(select(SchoolClass).where(SchoolClass.school_id == school_id)
                                 .order_by(SchoolClass.name)).all()
    return [(c.id, f"{c.college.name} · {c.name}" if c.college else c.name) for c in classes]


def _prepare_student_form(form: StudentForm, school: Unit) -> None:
    form.class_id.choices = _class_choices(school.id)
    form.stage.choices = [(s.value, s.label) for s in school.stages]


def _student_data(form: StudentForm, school: Unit, id_number: idnumber.IdNumber) -> services.StudentData:
    school_class = db.session.get(SchoolClass, form.class_id.data)
    return services.StudentData(
        school=school, school_class=school_class, college=school_class.college if school_class else None,
        student_no=form.student_no.data, name=form.name.data, id_number=id_number, stage=Stage(form.stage.data),
        gender=Gender(form.gender.data) if form.gender.data else None, enrolment_year=form.enrolment_year.data,
        is_boarder=form.is_boarder.data, hukou=form.hukou.data or None, guardian_name=form.guardian_name.data,
        guardian_phone=form.guardian_phone.data)


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
    if form.validate_on_submit():
        try:
            student, warnings = services.create_student(current_user, _student_data(
                form, school, _parse_id_field(form, None)))
        except DomainError as error:
            form.add_domain_error(error)
        else:
            db.session.commit()
            flash(_("学生 %(name)s 已登记。", name=student.name), "success")
            for warning in warnings:
                flash(warning, "warning")
            return redirect(url_for("students.show_student", student_id=student.id))
    return render_template("students/form.html", form=form, school=school, student=None), 400 if form.errors else 200


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
    if form.validate_on_submit():
        try:
            data = _student_data(form, student.school, _parse_id_field(form, student))
            warnings = services.update_student(current_user, student, data, int(form.version.data or 0))
        except DomainError as error:
            db.session.rollback()
            form.add_domain_error(error)
        else:
            db.session.commit()
            flash(_("学生信息已保存。"), "success")
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
        return redirect(url_for("students.show_student", student_id=student.id))
    try:
        services.move_student(current_user, student, db.session.get(SchoolClass, form.class_id.data),
                              int(form.version.data or 0))
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(url_for("students.show_student", student_id=student.id))
    db.session.commit()
    flash(_("已调整班级。"), "success")
    return redirect(url_for("students.show_student", student_id=student.id))


@bp.route("/<int:student_id>/status", methods=["POST"])
@login_required
@permission_required(Permission.STUDENTS_EDIT)
def set_status(student_id: int):
    student = _student_or_404(student_id)
    _require(Permission.STUDENTS_EDIT, student)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            services.set_status(current_user, student, StudentStatus(form.status.data), form.on.data,
                                form.note.data, int(form.version.data or 0))
        except DomainError as error:
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("学生状态已更新为“%(s)s”。", s=StudentStatus(form.status.data).label), "success")
    else:
        flash(_("请填写状态和日期。"), "danger")
    return redirect(url_for("students.show_student", student_id=student.id))


def _identification_data(form: IdentificationForm) -> services.IdentificationData:
    year = db.session.get(AcademicYear, int(form.academic_year.data))
    return services.IdentificationData(
        academic_year=year, categories=[Category(c) for c in form.categories.data or []],
        level=Level(form.level.data), is_registered_poverty=form.is_registered_poverty.data,
        is_martyr_child=form.is_martyr_child.data, is_disaster=form.is_disaster.data,
        decided_on=form.decided_on.data, note=form.note.data)


def _identification_form(student: Student) -> IdentificationForm:
    years = db.session.scalars(select(AcademicYear).order_by(AcademicYear.start_year.desc())).all()
    chosen = _year(_int_arg("year"))
    current = services.identification_for(student, chosen) if chosen else None
    if request.method == "GET" and current is not None:
        form = IdentificationForm(obj=current, academic_year=str(chosen.id), version=current.version,
                                  categories=[c.value for c in current.categories])
    else:
        form = IdentificationForm(academic_year=str(chosen.id) if chosen else None, decided_on=local_today())
    form.academic_year.choices = [(str(y.id), y.label) for y in years]
    return form


@bp.route("/<int:student_id>/identification", methods=["GET", "POST"])
@login_required
@permission_required(Permission.STUDENTS_IDENTIFY)
def identify_student(student_id: int):
    student = _student_or_404(student_id)
    _require(Permission.STUDENTS_IDENTIFY, student)
    form = _identification_form(student)
    if form.validate_on_submit():
        try:
            services.identify(current_user, student, _identification_data(form),
                              int(form.version.data) if form.version.data else None)
        except DomainError as error:
            db.session.rollback()
            form.add_domain_error(error)
        else:
            db.session.commit()
            flash(_("认定信息已保存。"), "success")
            return redirect(url_for("students.show_student", student_id=student.id))
    return render_template("students/identify.html", form=form, student=student), 400 if form.errors else 200


register_import_routes(bp, ImportPage(
    kind="students", title=N_("导入学生名单"), permission=Permission.STUDENTS_IMPORT,
    columns_help=N_("列：单位代码、学院（系）、班级、学号、姓名、性别、身份证号、学段、入学年份、是否寄宿、户口类型、"
                    "家庭经济困难类型、困难等级、是否建档立卡家庭、是否烈士子女、是否遭遇自然灾害或突发事件、认定学年、"
                    "监护人姓名、监护人电话。")), StudentImporter)

from caretrack.students import caseload_views  # noqa: E402,F401 - registers the caseload pages
