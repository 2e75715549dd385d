"""Import student rosters (IMPORT-FORMATS.md "students"), 50,000 rows in seconds.

Rows are matched on the 身份证号 (through its blind index): a new number creates a student, a known one
updates that student when a field differs. A batch costs the same statements whatever its size: its new
colleges and classes are inserted in one statement each and audited as one set; its new students, guardians and
identifications are written in bulk (COPY on PostgreSQL, core/database.insert_rows); its known students are
compared as plain column values in three queries, and only those whose row differs are loaded as ORM objects and
go through the same service functions as the forms (apply_student, apply_identification), so both paths keep
the same rules and an unchanged row costs no write. What does not change within a file (today, each school's
stages, the blind-index key and the cipher) is looked up once.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from caretrack.audit.services import AuditAction, record, record_each
from caretrack.core import crypto, idnumber
from caretrack.core.access import Permission, scope_for
from caretrack.core.database import among, insert_rows
from caretrack.core.errors import DomainError
from caretrack.core.imports import Column, Importer, RowError, RowInvalid, parse_yes_no, split_multi
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, College, SchoolClass, Stage, Unit
from caretrack.students import services
from caretrack.students.models import (
    Category,
    Gender,
    Guardian,
    Hukou,
    Identification,
    IdentificationCategory,
    Level,
    Student,
    StudentStatus,
)

FIELD_COLUMNS = {"name": "姓名", "stage": "学段", "enrolment_year": "入学年份", "guardian_phone": "监护人电话",
                 "categories": "家庭经济困难类型", "is_registered_poverty": "是否建档立卡家庭", "class_id": "班级"}


@dataclass
class StudentRow:
    """A validated row: the school's names for college and class, resolved to ids when written."""

    line: int
    school: Unit
    college_name: str
    class_name: str
    data: services.StudentData | None
    identification: services.IdentificationData | None
    index: str


class StudentImporter(Importer):
    columns = (
        Column("单位代码", True), Column("学院（系）"), Column("班级", True), Column("学号", True),
        Column("姓名", True), Column("性别"), Column("身份证号", True), Column("学段", True),
        Column("入学年份"), Column("是否寄宿"), Column("户口类型"), Column("家庭经济困难类型"),
        Column("困难等级"), Column("是否建档立卡家庭"), Column("是否烈士子女"),
        Column("是否遭遇自然灾害或突发事件"), Column("认定学年"), Column("监护人姓名"), Column("监护人电话"),
    )

    def __init__(self, actor):
        self.actor = actor
        self.schools: dict[str, Unit] = {}
        self.schools_in_scope: set[int] | None = None
        self.years: dict[int, AcademicYear] = {}
        self.classes: dict[tuple[int, str], SchoolClass] = {}
        self.colleges: dict[tuple[int, str], College] = {}
        self.saved_classes: dict[tuple[int, str], SchoolClass] = {}  # the classes of the schools in `placed`
        self.placed: set[int] = set()
        self.class_stubs: dict[tuple[int, str], SchoolClass] = {}
        self.registered: dict[str, int] | None = None  # the rows' ID numbers (indexes) already registered: their ids
        self.created_by_school: dict[int, int] = defaultdict(int)
        self.encrypt = None  # crypto.encryptor(), made when the first new student is written

    # --- validation ----------------------------------------------------------------------------------------

    def prepare(self) -> None:
        self.today = local_today()
        self.index_of = crypto.blind_indexer()  # services.id_lookup with its key derived once
        self.schools = {u.code: u for u in db.session.scalars(select(Unit).options(selectinload(Unit.stage_rows)))
                        if u.is_school}
        self.stages = {school.id: school.stages for school in self.schools.values()}
        self.years = {y.start_year: y for y in db.session.scalars(select(AcademicYear))}
        if self.actor is not None:
            scope = scope_for(self.actor, Permission.STUDENTS_IMPORT)
            self.schools_in_scope = None if scope.everything else set(scope.unit_ids)

    def _school(self, code: str) -> Unit:
        school = self.schools.get(code)
        if school is None:
            raise RowInvalid(("单位代码", _("单位代码“%(code)s”不存在或不是学校。", code=code)))
        if self.schools_in_scope is not None and school.id not in self.schools_in_scope:
            raise RowInvalid(("单位代码", _("单位代码“%(code)s”不在您的管理范围内。", code=code)))
        return school

    def _year(self, label: str) -> AcademicYear:
        """The academic year of a label; a year not yet known stays unsaved until the rows are written,
        so that validation writes nothing.
        """
        start_year = org.parse_year_label(label)
        return self.years.get(start_year) or AcademicYear(start_year=start_year)

    def _saved_year(self, year: AcademicYear) -> AcademicYear:
        if year.start_year not in self.years:
            self.years[year.start_year] = org.ensure_academic_year(year.start_year)
        return self.years[year.start_year]

    def validate(self, line: int, row: dict[str, str]) -> StudentRow:
        errors: list[tuple[str, str]] = []
        school = _attempt(errors, "单位代码", self._school, row.get("单位代码", ""))
        number = _attempt(errors, "身份证号", idnumber.parse, row.get("身份证号", ""), self.today)
        stage = _attempt(errors, "学段", _stage, row.get("学段", ""))
        for column in ("班级", "学号", "姓名"):
            if not row.get(column):
                errors.append((column, _("%(column)s不能为空。", column=column)))
        if stage is Stage.HIGHER and not row.get("学院（系）"):
            errors.append(("学院（系）", _("高等教育学生须填写学院（系）。")))
        values = _attempt(errors, "", _plain_values, row)
        identification = _attempt(errors, "家庭经济困难类型", self._identification, row)
        if errors or school is None:
            raise RowInvalid(*errors)
        data = services.StudentData(
            school=school, school_class=self._class_stub(school, row["班级"]), college=None,
            student_no=row["学号"], name=row["姓名"], id_number=number, stage=stage, **values)
        for warning in _attempt(errors, "", self._check_student, data) or []:
            self.report.warnings.append(RowError(line, "性别", warning))
        if errors:
            raise RowInvalid(*errors)
        return StudentRow(line, school, row.get("学院（系）", ""), row["班级"], data, identification,
                          self.index_of(number.value))

    def _check_student(self, data: services.StudentData) -> list[str]:
        return services.check_student(data, today=self.today, stages=self.stages[data.school.id])

    def _class_stub(self, school: Unit, name: str) -> SchoolClass:
        """An unsaved class standing for the row's class until it is written; one per class, not per row."""
        key = (school.id, name)
        if key not in self.class_stubs:
            self.class_stubs[key] = SchoolClass(school_id=school.id, name=name)
        return self.class_stubs[key]

    def _identification(self, row: dict[str, str]) -> services.IdentificationData | None:
        names = split_multi(row.get("家庭经济困难类型", ""))
        if not names:
            return None
        categories = []
        for name in names:
            category = Category.from_zh(name)
            if category is None:
                raise RowInvalid(("家庭经济困难类型", _(
                    "“%(value)s”不是有效的困难类型（建档立卡、残疾、农村低保、农村特困救助供养、孤儿、其他）。",
                    value=name)))
            categories.append(category)
        level = Level.from_zh(row.get("困难等级", ""))
        if level is None:
            raise RowInvalid(("困难等级", _("已认定的学生须填写困难等级（特别困难、困难、一般困难）。")))
        if not row.get("认定学年"):
            raise RowInvalid(("认定学年", _("已认定的学生须填写认定学年，如 2025-2026。")))
        try:
            year = self._year(row["认定学年"])
        except DomainError as error:
            raise RowInvalid(("认定学年", error.message)) from None
        registered = parse_yes_no(row.get("是否建档立卡家庭", ""), "是否建档立卡家庭", default=None)
        data = services.IdentificationData(
            academic_year=year, categories=categories, level=level,
            is_registered_poverty=Category.REGISTERED in categories if registered is None else registered,
            is_martyr_child=parse_yes_no(row.get("是否烈士子女", ""), "是否烈士子女"),
            is_disaster=parse_yes_no(row.get("是否遭遇自然灾害或突发事件", ""), "是否遭遇自然灾害或突发事件"))
        services.check_identification(data)
        return data

    def check_file(self, parsed: list[tuple[int, StudentRow]]):
        """Repeated ID numbers or 学号 in the file, and clashes with students already registered."""
        yield from _repeats(parsed, lambda r: r.index, "身份证号", _("身份证号与第 %(other)d 行重复%(where)s。"))
        yield from _repeats(parsed, lambda r: (r.school.id, r.data.student_no), "学号",
                            _("学号与第 %(other)d 行重复%(where)s。"))
        existing = _registered_by_index([row.index for _line, row in parsed])
        self.registered = {index: student_id for index, (student_id, _school_id) in existing.items()}
        for line, row in parsed:
            known = existing.get(row.index)
            if known is not None and known[1] != row.school.id:
                yield RowError(line, "身份证号", services.registered_elsewhere_message())
        yield from self._student_no_clashes(parsed)

    def _student_no_clashes(self, parsed):
        by_school: dict[int, list[tuple[int, StudentRow]]] = defaultdict(list)
        for line, row in parsed:
            by_school[row.school.id].append((line, row))
        for school_id, rows in by_school.items():
            taken = dict(db.session.execute(select(Student.student_no, Student.id_index).where(
                Student.school_id == school_id)).all())
            for line, row in rows:
                owner = taken.get(row.data.student_no)
                if owner is not None and owner != row.index:
                    yield RowError(line, "学号", _("学号 %(no)s 在本校已属于另一名学生。", no=row.data.student_no))

    # --- writing -------------------------------------------------------------------------------------------

    def _load_places(self, school_ids: set[int]) -> None:
        """The saved colleges and classes of the schools, in two queries, so that only new ones cost a query."""
        school_ids = school_ids - self.placed
        if not school_ids:
            return
        self.placed |= school_ids
        for college in db.session.scalars(select(College).where(College.school_id.in_(school_ids))):
            self.colleges.setdefault((college.school_id, college.name), college)
        for school_class in db.session.scalars(select(SchoolClass).where(SchoolClass.school_id.in_(school_ids))):
            self.saved_classes[(school_class.school_id, school_class.name)] = school_class

    def _create_places(self, batch: list[StudentRow]) -> None:
        """The batch's new colleges, then its new classes, each set in one statement and audited as one set
        (what org.get_or_create_college / get_or_create_class do one at a time); a saved class named in another
        college moves to it, as get_or_create_class moves it.
        """
        new_colleges: dict[tuple[int, str], dict] = {}
        for row in batch:
            key = (row.school.id, row.college_name)
            if row.college_name and key not in self.colleges and key not in new_colleges:
                new_colleges[key] = {"school_id": row.school.id, "name": row.college_name.strip()}
        self.colleges.update(self._insert_places(College, new_colleges, AuditAction.COLLEGE_CREATED))
        new_classes: dict[tuple[int, str], dict] = {}
        for row in batch:
            key = (row.school.id, row.class_name)
            if key in self.classes or key in new_classes:
                continue
            college = self.colleges[(row.school.id, row.college_name)] if row.college_name else None
            saved = self.saved_classes.get(key)
            if saved is None:
                new_classes[key] = {"school_id": row.school.id, "name": row.class_name.strip(),
                                    "college_id": college.id if college else None}
                continue
            if college is not None and saved.college_id != college.id:
                saved.college_id = college.id
            self.classes[key] = saved
        self.classes.update(self._insert_places(SchoolClass, new_classes, AuditAction.CLASS_CREATED))

    def _insert_places(self, model, new: dict[tuple[int, str], dict], action: str) -> dict[tuple[int, str], object]:
        """Insert colleges or classes in one statement (RETURNING the new rows) and audit each, in one more;
        the new rows by the keys they were asked for.
        """
        if not new:
            return {}
        created = {(place.school_id, place.name): place
                   for place in db.session.scalars(insert(model).returning(model), list(new.values()))}
        record_each(action, actor=self.actor, object_type=model.__tablename__,
                    objects=[(place.id, place.school_id) for place in created.values()])
        return {key: created[(values["school_id"], values["name"])] for key, values in new.items()}

    def _place(self, row: StudentRow) -> None:
        """Resolve the row's college and class names to the rows of the school made by _create_places."""
        college = self.colleges[(row.school.id, row.college_name)] if row.college_name else None
        row.data.school_class, row.data.college = self.classes[(row.school.id, row.class_name)], college
        if row.identification is not None:
            row.identification.academic_year = self._saved_year(row.identification.academic_year)

    def apply(self, row: StudentRow) -> str:
        return self.apply_batch([row])[0]

    def apply_batch(self, batch: list[StudentRow]) -> list[str]:
        self._load_places({row.school.id for row in batch})
        self._create_places(batch)
        for row in batch:
            self._place(row)
        if self.registered is None:  # rows applied without check_file
            self.registered = {index: found[0] for index, found in
                               _registered_by_index([row.index for row in batch]).items()}
        stored = _stored_files([self.registered[row.index] for row in batch if row.index in self.registered])
        self._insert_new([row for row in batch if row.index not in stored])
        changed = [row for row in batch if row.index in stored and not _same(row, stored[row.index])]
        students = self._registered_students([row.index for row in changed])
        outcomes = {row.index: self._update(students[row.index], row) for row in changed}
        return ["created" if row.index not in stored else outcomes.get(row.index, "unchanged") for row in batch]

    @staticmethod
    def _registered_students(indexes: list[str]) -> dict[str, Student]:
        """Whole files (guardians, identifications) of the students whose rows differ from what is stored."""
        if not indexes:
            return {}
        return {s.id_index: s for s in db.session.scalars(
            select(Student).where(among(Student.id_index, indexes))
            .options(selectinload(Student.guardians),
                     selectinload(Student.identifications).selectinload(Identification.category_rows)))}

    def _update(self, student: Student, row: StudentRow) -> str:
        changed = services.apply_student(student, row.data)
        if row.identification is not None:
            _identification, identification_changed = services.apply_identification(
                self.actor, student, row.identification)
            changed += [f"identification.{name}" for name in identification_changed]
        if not changed:
            return "unchanged"
        record(services.StudentAction.UPDATED, actor=self.actor, obj=student, unit_id=student.school_id,
               fields=changed, detail="import")
        return "updated"

    def _insert_new(self, rows: list[StudentRow]) -> None:
        if not rows:
            return
        if self.encrypt is None:
            self.encrypt = crypto.encryptor()
        values = [{**services.identity_values(row.data),
                   **services.id_columns(row.data.id_number, index=row.index, encrypt=self.encrypt),
                   "status": StudentStatus.ACTIVE.value, "version": 1} for row in rows]
        ids = dict(insert_rows(Student.__table__, values, returning=("id_index", "id")))
        guardians = [{"student_id": ids[row.index], "name": row.data.guardian_name or "",
                      "phone": row.data.guardian_phone or None}
                     for row in rows if row.data.guardian_name or row.data.guardian_phone]
        insert_rows(Guardian.__table__, guardians)
        self._insert_identifications([row for row in rows if row.identification], ids)
        for row in rows:
            self.created_by_school[row.school.id] += 1

    def _insert_identifications(self, rows: list[StudentRow], ids: dict[str, int]) -> None:
        if not rows:
            return
        decided_by = getattr(self.actor, "id", None)
        values = [{**services.identification_values(row.identification, row.data.is_boarder),
                   "student_id": ids[row.index], "academic_year_id": row.identification.academic_year.id,
                   "decided_by_id": decided_by, "decided_on": row.identification.decided_on, "version": 1}
                  for row in rows]
        # The students are new, so each has only the identification just written.
        by_student = dict(insert_rows(Identification.__table__, values, returning=("student_id", "id")))
        insert_rows(IdentificationCategory.__table__, [
            {"identification_id": by_student[ids[row.index]], "category": category.value}
            for row in rows for category in set(row.identification.categories)])

    def finish(self, report) -> None:
        for school_id, count in self.created_by_school.items():
            record(services.StudentAction.IMPORTED, actor=self.actor, unit_id=school_id, object_type="units",
                   object_id=school_id, detail=f"created {count}")

    def describe(self, row: StudentRow) -> str:
        return f"{row.school.name} {row.class_name} {row.data.student_no} {row.data.name}"


def _registered_by_index(indexes: list[str]) -> dict[str, tuple[int, int]]:
    """The id and school of each registered student among the indexes, in one statement (nothing else is needed
    to tell a new row from a known one, or to refuse a number registered in another school).
    """
    if not indexes:
        return {}
    return {index: (student_id, school_id) for index, student_id, school_id in db.session.execute(
        select(Student.id_index, Student.id, Student.school_id).where(among(Student.id_index, indexes)))}


def _attempt(errors: list[tuple[str, str]], column: str, parse, *args):
    """parse(*args), or None with its errors added to `errors` (a DomainError's under the column of its field)."""
    try:
        return parse(*args)
    except RowInvalid as invalid:
        errors.extend(invalid.errors)
    except DomainError as error:
        errors.extend((FIELD_COLUMNS.get(one.field, column), one.message) for one in error.errors)
    return None


@dataclass
class _Stored:
    """What the import compares of a registered student: the columns a row sets, the first guardian's contact,
    each year's identification (its columns and categories); plain values, no ORM objects.
    """

    values: dict
    guardian: tuple[str, str | None] | None = None
    # academic year id -> (its compared columns, its decision date, its categories)
    identifications: dict = field(default_factory=dict)


def _stored_files(student_ids: list[int]) -> dict[str, _Stored]:
    """The compared columns of these registered students by their indexes, in three queries (a field
    services.identity_values or identification_values gains makes every row differ, never pass unseen).
    """
    stored: dict[str, _Stored] = {}
    if not student_ids:
        return stored
    fields = list(services.IDENTITY_FIELDS)
    identification_fields = list(services.IDENTIFICATION_FIELDS)
    by_id: dict[int, _Stored] = {}
    for row in db.session.execute(select(Student.id, Student.id_index, *(getattr(Student, f) for f in fields))
                                  .where(among(Student.id, student_ids))):
        by_id[row[0]] = stored[row[1]] = _Stored(dict(zip(fields, row[2:], strict=True)))
    for student_id, name, phone in db.session.execute(
            select(Guardian.student_id, Guardian.name, Guardian.phone).where(among(Guardian.student_id, student_ids))
            .order_by(Guardian.id)):
        if by_id[student_id].guardian is None:  # the first guardian, as Student.guardians is ordered
            by_id[student_id].guardian = (name, phone)
    for row in db.session.execute(
            select(Identification.student_id, Identification.academic_year_id, Identification.decided_on,
                   IdentificationCategory.category, *(getattr(Identification, f) for f in identification_fields))
            .outerjoin(IdentificationCategory, IdentificationCategory.identification_id == Identification.id)
            .where(among(Identification.student_id, student_ids))):
        _columns, _decided_on, categories = by_id[row[0]].identifications.setdefault(
            row[1], (dict(zip(identification_fields, row[4:], strict=True)), row[2], set()))
        if row[3] is not None:
            categories.add(row[3])
    return stored


def _same(row: StudentRow, stored: _Stored) -> bool:
    """True when writing the row would change nothing: what services.apply_student and apply_identification
    would find (they decide for every row this says differs).
    """
    if services.identity_values(row.data) != stored.values:
        return False
    name, phone = row.data.guardian_name, row.data.guardian_phone
    if (name or phone) and (stored.guardian is None
                            or stored.guardian != (name or stored.guardian[0], phone or None)):
        return False
    identification = row.identification
    if identification is None:
        return True
    found = stored.identifications.get(identification.academic_year.id)
    if found is None:
        return False
    columns, decided_on, categories = found
    if identification.decided_on and identification.decided_on != decided_on:
        return False
    return (services.identification_values(identification, row.data.is_boarder) == columns
            and categories == {category.value for category in identification.categories})


def _stage(name: str) -> Stage:
    stage = Stage.from_zh(name)
    if stage is None:
        raise RowInvalid(("学段", _("“%(value)s”不是有效的学段。", value=name)))
    return stage


def _plain_values(row: dict[str, str]) -> dict:
    """The optional cells of a row, parsed; raise RowInvalid naming each bad cell."""
    errors = []
    gender = Gender.from_zh(row.get("性别", "")) if row.get("性别") else None
    if row.get("性别") and gender is None:
        errors.append(("性别", _("性别只能是男或女。")))
    hukou = Hukou.from_zh(row.get("户口类型", "")) if row.get("户口类型") else None
    if row.get("户口类型") and hukou is None:
        errors.append(("户口类型", _("户口类型只能是农村或城镇。")))
    year = row.get("入学年份", "")
    if year and not (year.isdigit() and len(year) == 4):
        errors.append(("入学年份", _("入学年份应为四位年份，如 2024。")))
    try:
        boarder = parse_yes_no(row.get("是否寄宿", ""), "是否寄宿")
    except RowInvalid as invalid:
        errors.extend(invalid.errors)
        boarder = False
    if errors:
        raise RowInvalid(*errors)
    return {"gender": gender, "hukou": hukou.value if hukou else None, "enrolment_year": int(year) if year else None,
            "is_boarder": boarder, "guardian_name": row.get("监护人姓名") or None,
            "guardian_phone": row.get("监护人电话") or None}


def _repeats(parsed, key, column: str, message: str):
    first: dict = {}
    for line, row in parsed:
        seen = first.setdefault(key(row), (line, row))
        if seen[0] != line:
            other_line, other = seen
            where = (_("（分别在%(a)s和%(b)s）", a=other.school.name, b=row.school.name)
                     if other.school.id != row.school.id else "")
            yield RowError(line, column, message % {"other": other_line, "where": where})
            yield RowError(other_line, column, message % {"other": line, "where": where})
