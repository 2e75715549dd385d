"""Caseloads: named lists of students, and counselors granted on them."""

import pytest
from sqlalchemy import func, select

from caretrack.accounts import services as accounts
from caretrack.core.access import Role, ScopeType
from caretrack.core.errors import DomainError
from caretrack.extensions import db
from caretrack.students import services
from caretrack.students.models import Caseload
from tests.factories import make_student, make_user


@pytest.fixture
def caseload(city):
    city.ann = make_student(city.class_a, name="安安", student_no="A1")
    city.bob = make_student(city.class_b, name="宝宝", student_no="B1")
    city.list = services.create_caseload(None, city.east_school, "心理关注名单")
    services.add_to_caseload(None, city.list, city.ann)
    return city


def test_a_caseload_holds_students_of_its_school_only(caseload):
    stranger = make_student(caseload.west_class)
    with pytest.raises(DomainError, match="只能加入本校学生"):
        services.add_to_caseload(None, caseload.list, stranger)
    with pytest.raises(DomainError, match="已在名单中"):
        services.add_to_caseload(None, caseload.list, caseload.ann)


def test_names_are_unique_per_school(caseload):
    with pytest.raises(DomainError, match="已有名为"):
        services.create_caseload(None, caseload.east_school, "心理关注名单")


def test_a_counselor_on_a_caseload_sees_exactly_its_students(caseload, login, client):
    counselor = make_user()
    accounts.grant_role(None, counselor, Role.COUNSELOR, ScopeType.CASELOAD, caseload.list)
    login(counselor)
    html = client.get("/students/").get_data(as_text=True)
    assert "安安" in html
    assert "宝宝" not in html
    assert client.get(f"/students/{caseload.bob.id}").status_code == 404
    services.remove_from_caseload(None, caseload.list, caseload.ann)
    db.session.flush()
    assert client.get(f"/students/{caseload.ann.id}").status_code == 404


def test_the_officer_manages_caseloads_on_the_web(city, login, client):
    student = make_student(city.class_a, name="安安", student_no="A1")
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.post("/caseloads/", data={"school_id": city.east_school.id, "name": "重点关注"})
    assert response.status_code == 302
    caseload = db.session.scalar(select(Caseload).where(Caseload.name == "重点关注"))
    client.post(f"/caseloads/{caseload.id}/members", data={"student_no": "A1"})
    assert "安安" in client.get(f"/caseloads/{caseload.id}").get_data(as_text=True)
    missing = client.post(f"/caseloads/{caseload.id}/members", data={"student_no": "NOPE"}, follow_redirects=True)
    assert "本校没有学号为“NOPE”的学生" in missing.get_data(as_text=True)
    client.post(f"/caseloads/{caseload.id}/members/{student.id}/remove")
    assert db.session.scalar(select(func.count()).select_from(Caseload.students.property.secondary)) == 0


def test_caseloads_of_another_school_are_404_and_teachers_403(caseload, login, client):
    login(make_user(Role.SCHOOL_OFFICER, caseload.west_school))
    assert client.get(f"/caseloads/{caseload.list.id}").status_code == 404
    assert "心理关注名单" not in client.get("/caseloads/").get_data(as_text=True)
    client.post("/logout")
    login(make_user(Role.CLASS_TEACHER, caseload.class_a))
    assert client.get("/caseloads/").status_code == 403
