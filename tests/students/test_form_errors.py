"""The student and identification forms show every error of a submit at once, each next to its field."""

from sqlalchemy import func, select

from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.students.models import Student
from tests.factories import make_id_number, make_student, make_user
from tests.html_forms import errors_by_field


def students() -> int:
    return db.session.scalar(select(func.count(Student.id)))


def test_a_new_student_with_three_wrong_fields_shows_three_errors_and_writes_nothing(city, login):
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    good = make_id_number()
    response = client.post(f"/students/new?school={city.east_school.id}", data={
        "class_id": city.class_a.id, "student_no": "A1", "name": "安安", "stage": "compulsory",
        "id_number": good[:-1] + ("0" if good[-1] != "0" else "1"),  # a wrong check digit
        "enrolment_year": "1980", "guardian_phone": "12345", "gender": "", "hukou": ""})
    assert response.status_code == 400
    shown = errors_by_field(response.get_data(as_text=True))
    assert set(shown) == {"id_number", "enrolment_year", "guardian_phone"}
    assert "入学年份应为四位年份" in shown["enrolment_year"][0]
    assert "监护人电话应为 11 位手机号或固定电话号码" in shown["guardian_phone"][0]
    assert students() == 0


def test_an_edit_shows_shape_and_rule_errors_together(city, login):
    taken = make_student(city.class_a, student_no="T1")
    student = make_student(city.class_a, student_no="T2")
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.post(f"/students/{student.id}/edit", data={
        "class_id": city.class_a.id, "student_no": taken.student_no, "name": "", "stage": "compulsory",
        "guardian_phone": "1380000", "gender": "", "hukou": "", "version": student.version})
    shown = errors_by_field(response.get_data(as_text=True))
    assert set(shown) == {"student_no", "name", "guardian_phone"}
    assert "已被使用" in shown["student_no"][0]
    db.session.refresh(student)
    assert (student.student_no, student.version) == ("T2", 1)


def test_an_identification_with_three_wrong_fields_shows_three_errors_and_writes_nothing(city, login):
    from caretrack.org.services import ensure_academic_year

    year = ensure_academic_year(2025)
    student = make_student(city.class_a)
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.post(f"/students/{student.id}/identification?year=2025", data={
        "academic_year": year.id, "level": "", "decided_on": "2025-13-40", "note": ""})
    assert response.status_code == 400
    shown = errors_by_field(response.get_data(as_text=True))
    assert set(shown) == {"categories", "level", "decided_on"}
    assert shown["categories"] == ["请至少选择一种家庭经济困难类型。"]
    db.session.refresh(student)
    assert student.identifications == []
