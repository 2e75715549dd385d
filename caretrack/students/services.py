"""The student file: create, edit, move, graduate, identify, reveal the ID number.

Services take the acting user, check the rules, flush and never commit. The same rules serve the forms and
the roster import (`check_student`, `check_identification`).
"""

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.audit.services import record, register_action_labels
from caretrack.core import crypto, idnumber
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError, ErrorCollector
from caretrack.core.models import check_version, flush_versioned
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.org.models import AcademicYear, College, SchoolClass, Stage, Unit
from caretrack.students.models import (
    Category,
    Gender,
    Guardian,
    Identification,
    IdentificationCategory,
    Level,
    Student,
    StudentStatus,
)


class StudentAction:
    CREATED = "student_created"
    UPDATED = "student_updated"
    MOVED = "student_moved"
    STATUS_CHANGED = "student_status_changed"
    IDENTIFIED = "student_identified"
    ID_REVEALED = "id_number_revealed"
    IMPORTED = "students_imported"
    EXPORTED = "students_exported"
    CASELOAD_CREATED = "caseload_created"
    CASELOAD_MEMBER_ADDED = "caseload_member_added"
    CASELOAD_MEMBER_REMOVED = "caseload_member_removed"


register_action_labels({
    StudentAction.CREATED: N_("登记学生"),
    StudentAction.UPDATED: N_("修改学生信息"),
    StudentAction.MOVED: N_("调整班级"),
    StudentAction.STATUS_CHANGED: N_("变更学籍状态"),
    StudentAction.IDENTIFIED: N_("家庭经济困难认定"),
    StudentAction.ID_REVEALED: N_("查看完整身份证号"),
    StudentAction.IMPORTED: N_("导入学生名单"),
    StudentAction.EXPORTED: N_("下载学生名单"),
    StudentAction.CASELOAD_CREATED: N_("建立名单"),
    StudentAction.CASELOAD_MEMBER_ADDED: N_("加入名单"),
    StudentAction.CASELOAD_MEMBER_REMOVED: N_("移出名单"),
})


@dataclass
class StudentData:
    """A student's identity and place, as a form or an import row gives it."""

    school: Unit
    school_class: SchoolClass
    student_no: str
    name: str
    id_number: idnumber.IdNumber
    stage: Stage
    college: College | None = None
    gender: Gender | None = None
    enrolment_year: int | None = None
    is_boarder: bool = False
    hukou: str | None = None
    guardian_name: str | None = None
    guardian_phone: str | None = None


@dataclass
class IdentificationData:
    """家庭经济困难认定 for one academic year."""

    academic_year: AcademicYear
    categories: list[Category]
    level: Level
    is_registered_poverty: bool = False
    is_martyr_child: bool = False
    is_disaster: bool = False
    decided_on: date | None = None
    note: str | None = None

    @property
    def primary_category(self) -> Category:
        return min(self.categories, key=lambda c: c.priority)


def id_lookup(id_value: str) -> str:
    """The blind index of a checked ID number."""
    return crypto.blind_index(id_value)


def check_phone(phone: str | None) -> None:
    """An 11-digit mobile, or a landline of digits with an optional area code and dash."""
    if not phone:
        return
    digits = phone.replace("-", "")
    if not digits.isdigit() or not (7 <= len(digits) <= 12) or (phone.startswith("1") and len(digits) != 11):
        raise DomainError(_("监护人电话应为 11 位手机号或固定电话号码。"), field="guardian_phone")


def check_student(data: StudentData, *, today: date | None = None, stages=None) -> list[str]:
    """The rules of a student's place, every broken one at once; returns warnings for a person to look at.

    A part the form could not read (None) is left to the form's own message. An import checking many rows gives
    `today` and the school's `stages` it looked up once.
    """
    errors = ErrorCollector()
    if data.name is not None and not data.name.strip():
        errors.add(_("姓名不能为空。"), field="name")
    if data.stage is not None and data.stage not in (data.school.stages if stages is None else stages):
        errors.add(_("学段“%(stage)s”不是%(school)s的学段。", stage=data.stage.label, school=data.school.name),
                   field="stage")
    if data.school_class is not None and data.school_class.school_id != data.school.id:
        errors.add(_("班级不属于该学校。"), field="class_id")
    if data.enrolment_year and not (1990 <= data.enrolment_year <= (today or local_today()).year + 1):
        errors.add(_("入学年份不正确。"), field="enrolment_year")
    errors.run(check_phone, data.guardian_phone)
    errors.raise_if_any()
    warnings = []
    if data.gender and data.id_number and data.gender.value != data.id_number.gender:
        warnings.append(_("性别与身份证号不一致（身份证号显示为%(g)s）。", g=Gender(data.id_number.gender).label))
    return warnings


def check_identification(data: IdentificationData) -> None:
    """Categories and level together; 建档立卡 in the categories implies the 建档立卡 family flag."""
    if not data.categories:
        raise DomainError(_("请至少选择一种家庭经济困难类型。"), field="categories")
    if Category.REGISTERED in data.categories and not data.is_registered_poverty:
        raise DomainError(_("困难类型含建档立卡时，“是否建档立卡家庭”须为是。"), field="is_registered_poverty")


def registered_elsewhere_message() -> str:
    """What anyone is told of a number registered in another school: not which school, nor the student's 学号."""
    return _("该身份证号已在其他学校登记，不能重复登记。如学生转学或信息有误，请联系区或市学生资助管理中心核实。")


def _find_conflicts(data: StudentData, student: Student | None) -> None:
    errors = ErrorCollector()
    if data.id_number is not None:
        indexes = crypto.blind_indexes(data.id_number.value)  # both keys' while a rotation runs
        other = db.session.scalar(select(Student).where(Student.id_index.in_(indexes)))
        if other is not None and other is not student:
            if other.school_id == data.school.id:
                errors.add(_("该身份证号在本校已登记（学号 %(no)s）。", no=other.student_no), field="id_number")
            else:
                errors.add(registered_elsewhere_message(), field="id_number")
    same_no = db.session.scalar(select(Student).where(
        Student.school_id == data.school.id, Student.student_no == data.student_no))
    if same_no is not None and same_no is not student:
        errors.add(_("学号 %(no)s 在本校已被使用。", no=data.student_no), field="student_no")
    errors.raise_if_any()


def check_student_form(data: StudentData, student: Student | None = None, errors: ErrorCollector | None = None) \
        -> list[str]:
    """Every rule of a typed student at once (its place and clashes with other students), with earlier errors."""
    errors = errors or ErrorCollector()
    warnings = errors.run(check_student, data)
    errors.run(_find_conflicts, data, student)
    errors.raise_if_any()
    return warnings


# The keys of identity_values and identification_values: the columns an import compares in bulk.
IDENTITY_FIELDS = ("school_id", "college_id", "class_id", "student_no", "name", "gender", "birth_date", "stage",
                   "enrolment_year", "is_boarder", "hukou")
IDENTIFICATION_FIELDS = ("level", "primary_category", "is_registered_poverty", "is_martyr_child", "is_disaster",
                         "is_disabled", "is_boarder", "note")


def identity_values(data: StudentData) -> dict:
    return {
        "school_id": data.school.id,
        "college_id": data.college.id if data.college else data.school_class.college_id,
        "class_id": data.school_class.id,
        "student_no": data.student_no.strip(),
        "name": data.name.strip(),
        "gender": (data.gender.value if data.gender else data.id_number.gender),
        "birth_date": data.id_number.birth_date,
        "stage": data.stage.value,
        "enrolment_year": data.enrolment_year,
        "is_boarder": data.is_boarder,
        "hukou": data.hukou,
    }


def id_columns(id_number: idnumber.IdNumber, index: str | None = None, encrypt=None) -> dict:
    """The three stored forms of an ID number: ciphertext, blind index and mask (an import gives the index it
    computed already and a `crypto.encryptor()`).
    """
    return {"id_cipher": (encrypt or crypto.encrypt)(id_number.value), "id_index": index or id_lookup(id_number.value),
            "id_masked": id_number.masked}


def _set_guardian(student: Student, name: str | None, phone: str | None) -> bool:
    """Keep the first guardian in step with the given contact; True when something changed."""
    if not name and not phone:
        return False
    current = student.guardians[0] if student.guardians else None
    if current is not None and (current.name, current.phone) == (name or current.name, phone or None):
        return False
    if current is None:
        student.guardians.append(Guardian(name=name or "", phone=phone or None))
    else:
        current.name, current.phone = name or current.name, phone or None
    return True


def apply_student(student: Student, data: StudentData) -> list[str]:
    """Copy the data onto the student; return the names of the fields that changed (never their values)."""
    changed = [name for name, value in identity_values(data).items() if getattr(student, name) != value]
    for name in changed:
        setattr(student, name, identity_values(data)[name])
    if student.id_index != id_lookup(data.id_number.value):
        student.id_cipher, student.id_index, student.id_masked = id_columns(data.id_number).values()
        changed.append("id_number")
    if _set_guardian(student, data.guardian_name, data.guardian_phone):
        changed.append("guardian")
    return changed


def create_student(actor, data: StudentData) -> tuple[Student, list[str]]:
    """Register a student; return it with any warnings for the person entering it."""
    warnings = check_student_form(data)
    student = Student(**identity_values(data), **id_columns(data.id_number), status=StudentStatus.ACTIVE)
    _set_guardian(student, data.guardian_name, data.guardian_phone)
    db.session.add(student)
    db.session.flush()
    record(StudentAction.CREATED, actor=actor, obj=student, unit_id=student.school_id)
    return student, warnings


def update_student(actor, student: Student, data: StudentData, expected_version: int | None = None) -> list[str]:
    """Change a student's identity or place; returns warnings."""
    check_version(student.version, expected_version)
    warnings = check_student_form(data, student)
    changed = apply_student(student, data)
    if changed:
        flush_versioned(db.session)
        record(StudentAction.UPDATED, actor=actor, obj=student, unit_id=student.school_id, fields=changed)
    return warnings


def check_move(student: Student, new_class: SchoolClass, expected_version: int | None = None) -> None:
    """A move goes to another class of the same school, on the copy of the file the user saw."""
    check_version(student.version, expected_version)
    if new_class.school_id != student.school_id:
        raise DomainError(_("只能调到本校的班级；转学请由新学校登记。"), field="class_id")
    if new_class.id == student.class_id:
        raise DomainError(_("学生已在该班级，未作改动。"), field="class_id")


def move_student(actor, student: Student, new_class: SchoolClass, expected_version: int | None = None) -> None:
    """Move a student to another class of the same school."""
    check_move(student, new_class, expected_version)
    student.class_id = new_class.id
    student.college_id = new_class.college_id
    flush_versioned(db.session)
    record(StudentAction.MOVED, actor=actor, obj=student, unit_id=student.school_id, fields=["class_id"],
           detail=f"class:{new_class.id}")


def check_status(student: Student, status: StudentStatus, expected_version: int | None = None) -> None:
    """A status change changes the status, on the copy of the file the user saw."""
    check_version(student.version, expected_version)
    if status.value == student.status:
        raise DomainError(_("学生状态已是“%(s)s”，未作改动。", s=status.label), field="status")


def set_status(actor, student: Student, status: StudentStatus, on: date, note: str | None,
               expected_version: int | None = None) -> None:
    """Mark a student graduated or left (or back in school); the file and its records stay."""
    check_status(student, status, expected_version)
    student.status, student.status_changed_on, student.status_note = status.value, on, (note or None)
    flush_versioned(db.session)
    record(StudentAction.STATUS_CHANGED, actor=actor, obj=student, unit_id=student.school_id,
           fields=["status"], detail=status.value)


def identification_for(student: Student, year: AcademicYear) -> Identification | None:
    return next((i for i in student.identifications if i.academic_year_id == year.id), None)


def identification_values(data: IdentificationData, is_boarder: bool) -> dict:
    """The columns of an identification row; boarding is the student's at the time of the identification."""
    return {
        "level": data.level.value,
        "primary_category": data.primary_category.value,
        "is_registered_poverty": data.is_registered_poverty,
        "is_martyr_child": data.is_martyr_child,
        "is_disaster": data.is_disaster,
        "is_disabled": Category.DISABLED in data.categories,
        "is_boarder": is_boarder,
        "note": data.note or None,
    }


def apply_identification(actor, student: Student, data: IdentificationData) -> tuple[Identification, list[str]]:
    """Create or change the student's identification for that year only; other years are never touched."""
    identification = identification_for(student, data.academic_year)
    values = identification_values(data, student.is_boarder)
    if identification is None:
        identification = Identification(academic_year_id=data.academic_year.id, academic_year=data.academic_year,
                                        decided_by_id=getattr(actor, "id", None),
                                        decided_on=data.decided_on, category_rows=[], **values)
        student.identifications.append(identification)
        changed = ["created"]
    else:
        changed = [name for name, value in values.items() if getattr(identification, name) != value]
        for name in changed:
            setattr(identification, name, values[name])
        if data.decided_on and identification.decided_on != data.decided_on:
            identification.decided_on = data.decided_on
            changed.append("decided_on")
    wanted = {c.value for c in data.categories}
    if {row.category for row in identification.category_rows} != wanted:
        identification.category_rows = [IdentificationCategory(category=c) for c in sorted(wanted)]
        changed.append("categories")
    return identification, changed


def identify(actor, student: Student, data: IdentificationData, expected_version: int | None = None):
    """Record the identification of one year from the form."""
    check_identification(data)
    current = identification_for(student, data.academic_year)
    if current is not None:
        check_version(current.version, expected_version)
    identification, changed = apply_identification(actor, student, data)
    if changed:
        flush_versioned(db.session)
        record(StudentAction.IDENTIFIED, actor=actor, obj=identification, unit_id=student.school_id,
               fields=changed, detail=data.academic_year.label)
    return identification


def reveal_id_number(actor, student: Student) -> str:
    """Decrypt the full ID number for someone allowed to see it; every reveal is audited."""
    record(StudentAction.ID_REVEALED, actor=actor, obj=student, unit_id=student.school_id)
    return crypto.decrypt(student.id_cipher)


def create_caseload(actor, school: Unit, name: str):
    """A named list of students of one school, on which a counselor can be granted."""
    from caretrack.students.models import Caseload

    name = name.strip()
    if not school.is_school:
        raise DomainError(_("名单只能建在学校下。"), field="school_id")
    if db.session.scalar(select(Caseload.id).where(Caseload.school_id == school.id, Caseload.name == name)):
        raise DomainError(_("本校已有名为“%(name)s”的名单。", name=name), field="name")
    caseload = Caseload(school_id=school.id, name=name)
    db.session.add(caseload)
    db.session.flush()
    record(StudentAction.CASELOAD_CREATED, actor=actor, obj=caseload, unit_id=school.id)
    return caseload


def add_to_caseload(actor, caseload, student: Student) -> None:
    """Put a student of the caseload's school on the list (once)."""
    from caretrack.students.groups import check_joinable

    check_joinable(caseload.school_id, caseload.students, student)
    caseload.students.append(student)
    db.session.flush()
    record(StudentAction.CASELOAD_MEMBER_ADDED, actor=actor, obj=caseload, unit_id=caseload.school_id,
           detail=f"student:{student.id}")


def remove_from_caseload(actor, caseload, student: Student) -> None:
    if student not in caseload.students:
        raise DomainError(_("该学生不在名单中。"))
    caseload.students.remove(student)
    db.session.flush()
    record(StudentAction.CASELOAD_MEMBER_REMOVED, actor=actor, obj=caseload, unit_id=caseload.school_id,
           detail=f"student:{student.id}")
