"""Structural changes on the student file: current values preselected, confirmed, unchanged forms write nothing."""

import pytest
from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.students.models import StudentStatus
from tests.factories import make_student, make_user
from tests.html_forms import marked, selected


def audit_rows(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))


@pytest.fixture
def officer(city, login):
    city.ann = make_student(city.class_b, name="安安")
    return login(make_user(Role.SCHOOL_OFFICER, city.east_school))


def file_html(client, student) -> str:
    response = client.get(f"/students/{student.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_file_preselects_the_current_class_and_status(city, officer):
    chosen = marked(file_html(officer, city.ann))
    assert chosen["class_id"] == [str(city.class_b.id)]  # not the first class of the list
    assert chosen["status"] == [StudentStatus.ACTIVE.value]


def test_submitting_the_move_form_as_shown_moves_no_one(city, officer):
    version = city.ann.version
    defaults = selected(file_html(officer, city.ann))
    response = officer.post(f"/students/{city.ann.id}/move", data={
        "class_id": defaults["class_id"], "version": version}, follow_redirects=True)
    assert "学生已在该班级，未作改动" in response.get_data(as_text=True)
    db.session.refresh(city.ann)
    assert (city.ann.class_id, city.ann.version, audit_rows("student_moved")) == (city.class_b.id, version, 0)


def test_a_move_asks_first_and_names_both_classes_then_moves_on_confirm(city, officer):
    data = {"class_id": city.class_a.id, "version": city.ann.version}
    asked = officer.post(f"/students/{city.ann.id}/move", data=data)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "将 安安 从“初一(2)班”调到“初一(1)班”。" in html
    assert 'name="confirm" value="1"' in html
    db.session.refresh(city.ann)
    assert (city.ann.class_id, audit_rows("student_moved")) == (city.class_b.id, 0)
    done = officer.post(f"/students/{city.ann.id}/move", data={**data, "confirm": "1"})
    assert done.status_code == 302
    db.session.refresh(city.ann)
    assert (city.ann.class_id, audit_rows("student_moved")) == (city.class_a.id, 1)


def test_graduation_asks_first_and_says_what_changes(city, officer):
    data = {"status": StudentStatus.GRADUATED.value, "on": "2026-07-01", "note": "", "version": city.ann.version}
    html = officer.post(f"/students/{city.ann.id}/status", data=data).get_data(as_text=True)
    assert "将 安安 的学籍状态从“在校”改为“已毕业”，日期 2026年7月1日。" in html
    db.session.refresh(city.ann)
    assert city.ann.status == StudentStatus.ACTIVE.value
    officer.post(f"/students/{city.ann.id}/status", data={**data, "confirm": "1"})
    db.session.refresh(city.ann)
    assert city.ann.status == StudentStatus.GRADUATED.value


def test_submitting_the_status_form_as_shown_changes_nothing(city, officer):
    version = city.ann.version
    defaults = selected(file_html(officer, city.ann))
    response = officer.post(f"/students/{city.ann.id}/status", data={
        "status": defaults["status"], "on": "2026-07-01", "version": version, "confirm": "1"}, follow_redirects=True)
    assert "未作改动" in response.get_data(as_text=True)
    db.session.refresh(city.ann)
    assert (city.ann.version, audit_rows("student_status_changed")) == (version, 0)


def test_the_class_list_of_a_university_is_grouped_by_college_and_costs_the_same_queries(city, login,
                                                                                        count_queries):
    """The file offers the classes of the student's college; the picker it links to, every class by college."""
    student = make_student(city.uni_class)
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))

    def queries_for_file():
        with count_queries() as counter:
            response = client.get(f"/students/{student.id}/move/classes")
            assert response.status_code == 200
        return counter.count, response.get_data(as_text=True)

    few, _html = queries_for_file()
    for index in range(6):
        college = org.get_or_create_college(None, city.university, f"学院{index}")
        for number in range(4):
            org.get_or_create_class(None, city.university, f"班{index}-{number}", college)
    db.session.flush()
    many, html = queries_for_file()
    assert many == few
    assert '<optgroup label="机械工程学院">' in html
    assert html.index('<optgroup label="学院3">') < html.index("班3-0") < html.index('<optgroup label="学院4">')
