"""The student file's rules, without HTTP."""

from datetime import date

import pytest
from sqlalchemy import select

from caretrack.audit.models import AuditEvent
from caretrack.core import crypto, idnumber
from caretrack.core.access import Role
from caretrack.core.errors import DomainError
from caretrack.extensions import db
from caretrack.org.models import Stage
from caretrack.org.services import ensure_academic_year
from caretrack.students import services
from caretrack.students.models import Category, Gender, Level, Student, StudentStatus
from tests.factories import FULL_WIDTH, identify, make_id_number, make_student, make_user


def data_for(city, **overrides) -> services.StudentData:
    values = {"school": city.east_school, "school_class": city.class_a, "student_no": "2025001", "name": "王小明",
              "id_number": idnumber.parse(make_id_number(gender="m")), "stage": Stage.COMPULSORY}
    values.update(overrides)
    return services.StudentData(**values)


def test_a_student_is_stored_with_the_id_number_encrypted_indexed_and_masked(city):
    number = make_id_number(gender="f")
    student, warnings = services.create_student(None, data_for(city, id_number=idnumber.parse(number)))
    assert warnings == []
    stored = db.session.execute(select(Student.id_cipher, Student.id_index, Student.id_masked)
                                .where(Student.id == student.id)).one()
    assert number.encode() not in stored.id_cipher
    assert crypto.decrypt(stored.id_cipher) == number
    assert stored.id_index == crypto.blind_index(number)
    assert stored.id_masked == number[:6] + "********" + number[-4:]
    assert (student.gender, student.birth_date) == ("f", date(2008, 1, 1))


def test_gender_that_contradicts_the_id_number_is_a_warning_not_an_error(city):
    student, warnings = services.create_student(None, data_for(
        city, id_number=idnumber.parse(make_id_number(gender="f")), gender=Gender.MALE))
    assert student.id is not None
    assert warnings == ["性别与身份证号不一致（身份证号显示为女）。"]


def test_the_same_id_number_cannot_be_registered_twice_even_in_another_school(city):
    number = idnumber.parse(make_id_number())
    services.create_student(None, data_for(city, id_number=number))
    with pytest.raises(DomainError) as refused:
        services.create_student(None, data_for(city, school=city.west_school, school_class=city.west_class,
                                               student_no="X1", id_number=number))
    assert refused.value.message == ("该身份证号已在其他学校登记，不能重复登记。"
                                     "如学生转学或信息有误，请联系区或市学生资助管理中心核实。")


def test_a_number_registered_elsewhere_never_names_the_other_school_or_its_student_number(city):
    other = make_student(city.class_a, student_no="EAST-007")
    number = idnumber.parse(crypto.decrypt(other.id_cipher))
    with pytest.raises(DomainError) as refused:
        services.create_student(None, data_for(city, school=city.west_school, school_class=city.west_class,
                                               student_no="X1", id_number=number))
    assert "东城区第一中学" not in refused.value.message
    assert "EAST-007" not in refused.value.message
    assert refused.value.field == "id_number"


def test_a_number_registered_in_ones_own_school_names_the_student_number(city):
    other = make_student(city.class_a, student_no="EAST-008")
    with pytest.raises(DomainError, match="该身份证号在本校已登记（学号 EAST-008）"):
        services.create_student(None, data_for(city, student_no="X2",
                                               id_number=idnumber.parse(crypto.decrypt(other.id_cipher))))


def test_a_full_width_spelling_of_a_registered_number_is_the_same_child(city):
    other = make_student(city.class_a)
    full_width = crypto.decrypt(other.id_cipher).translate(FULL_WIDTH)
    with pytest.raises(DomainError, match="在本校已登记"):
        services.create_student(None, data_for(city, student_no="X3", id_number=idnumber.parse(full_width)))


def test_student_numbers_are_unique_within_a_school_only(city):
    make_student(city.class_a, student_no="001")
    with pytest.raises(DomainError, match="学号 001 在本校已被使用"):
        services.create_student(None, data_for(city, student_no="001"))
    other = make_student(city.west_class, student_no="001")
    assert other.school_id == city.west_school.id


def test_stage_must_be_one_of_the_schools_stages(city):
    with pytest.raises(DomainError, match="不是东城区第一中学的学段"):
        services.create_student(None, data_for(city, stage=Stage.HIGHER))


def test_class_must_belong_to_the_school(city):
    with pytest.raises(DomainError, match="班级不属于该学校"):
        services.create_student(None, data_for(city, school_class=city.west_class))


def test_bad_guardian_phone_is_refused(city):
    with pytest.raises(DomainError, match="监护人电话"):
        services.create_student(None, data_for(city, guardian_phone="1380013800"))


def test_edit_with_a_stale_version_is_refused_and_changes_nothing(city):
    student = make_student(city.class_a, name="原名")
    stale = student.version
    services.update_student(None, student, data_for(city, name="第一次修改", student_no=student.student_no,
                                                    id_number=idnumber.parse(crypto.decrypt(student.id_cipher))),
                            expected_version=stale)
    with pytest.raises(DomainError, match="已被他人修改"):
        services.update_student(None, student, data_for(city, name="第二次修改", student_no=student.student_no),
                                expected_version=stale)
    assert student.name == "第一次修改"


def test_edit_audits_field_names_never_values(city):
    student = make_student(city.class_a, name="原名")
    number = crypto.decrypt(student.id_cipher)
    services.update_student(None, student, data_for(city, name="新名", student_no=student.student_no,
                                                    id_number=idnumber.parse(number)))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "student_updated"))
    assert "name" in event.fields
    assert "新名" not in str(event.fields) + str(event.detail)
    assert number not in str(event.fields) + str(event.detail)


def test_move_to_another_class_of_the_same_school_only(city):
    student = make_student(city.class_a)
    services.move_student(None, student, city.class_b)
    assert student.class_id == city.class_b.id
    with pytest.raises(DomainError, match="只能调到本校的班级"):
        services.move_student(None, student, city.west_class)


def test_graduating_keeps_the_file(city):
    student = make_student(city.class_a)
    services.set_status(None, student, StudentStatus.GRADUATED, date(2026, 7, 1), "毕业")
    db.session.flush()
    assert db.session.get(Student, student.id).status == "graduated"
    with pytest.raises(DomainError, match="已是"):
        services.set_status(None, student, StudentStatus.GRADUATED, date(2026, 7, 1), None)


def test_identification_of_a_new_year_never_overwrites_last_year(city):
    student = make_student(city.class_a)
    identify(student, 2024, Category.ORPHAN, level=Level.SPECIAL)
    identify(student, 2025, Category.OTHER, level=Level.GENERAL)
    years = {i.academic_year.label: ([c.value for c in i.categories], i.level) for i in student.identifications}
    assert years == {"2024-2025": (["orphan"], "special"), "2025-2026": (["other"], "general")}


def test_primary_category_follows_the_notices_priority(city):
    student = make_student(city.class_a)
    identification = identify(student, 2025, Category.ORPHAN, Category.DISABLED, Category.OTHER)
    assert identification.primary_category == "disabled"
    assert identification.is_disabled is True


def test_registered_category_requires_the_registered_family_flag(city):
    student = make_student(city.class_a)
    with pytest.raises(DomainError, match="是否建档立卡家庭"):
        identify(student, 2025, Category.REGISTERED, is_registered_poverty=False)


def test_an_identification_needs_a_category(city):
    student = make_student(city.class_a)
    year = ensure_academic_year(2025)
    with pytest.raises(DomainError, match="至少选择一种"):
        services.identify(None, student, services.IdentificationData(academic_year=year, categories=[],
                                                                     level=Level.GENERAL))


def test_reveal_is_audited_without_the_number(city):
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    number = make_id_number()
    student = make_student(city.class_a, id_number=number)
    assert services.reveal_id_number(officer, student) == number
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "id_number_revealed"))
    assert (event.user_id, event.object_id, event.unit_id) == (officer.id, student.id, city.east_school.id)
    assert number not in str(event.detail) + str(event.fields)


def test_what_hangs_off_a_student_bumps_its_version(city):
    student = make_student(city.class_a, guardian_name="家长", guardian_phone="13800138000")
    version = student.version
    student.guardians[0].phone = "13900139000"
    db.session.flush()
    assert student.version == version + 1
    identification = identify(student, 2025, Category.ORPHAN)
    db.session.flush()
    assert student.version == version + 2
    services.apply_identification(None, student, services.IdentificationData(
        academic_year=identification.academic_year, categories=[Category.ORPHAN, Category.DISABLED],
        level=Level.DIFFICULT))
    db.session.flush()
    assert (student.version, identification.version) == (version + 3, 2)
    student.guardians.clear()
    db.session.flush()
    assert student.version == version + 4


def test_a_stale_form_cannot_revert_a_guardian_phone_changed_alone(city):
    student = make_student(city.class_a, guardian_name="家长", guardian_phone="13800138000")
    opened = student.version
    services.update_student(None, student, services.StudentData(
        school=student.school, school_class=student.school_class, student_no=student.student_no, name=student.name,
        id_number=idnumber.parse(crypto.decrypt(student.id_cipher)), stage=Stage(student.stage),
        guardian_name="家长", guardian_phone="13900139000"), opened)
    with pytest.raises(DomainError) as stale:
        services.update_student(None, student, services.StudentData(
            school=student.school, school_class=student.school_class, student_no=student.student_no, name="改名",
            id_number=idnumber.parse(crypto.decrypt(student.id_cipher)), stage=Stage(student.stage),
            guardian_name="家长", guardian_phone="13800138000"), opened)
    assert stale.value.field == "version"
    assert student.guardians[0].phone == "13900139000"
