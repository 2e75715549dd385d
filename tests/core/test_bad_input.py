"""Bad input gets a clear 400, 404 or 409, never a 500: tampered versions, huge ids, lost races, logged values."""

import importlib
import logging
from pathlib import Path

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import DateField

import caretrack
from caretrack.core.access import Role
from caretrack.core.forms import BaseForm
from caretrack.extensions import db
from caretrack.students import services as student_services
from caretrack.students.models import Student
from tests.factories import make_student, make_user


def edit_form(student, **changes) -> dict:
    return {"class_id": student.class_id, "student_no": student.student_no, "name": "改过的名字", "id_number": "",
            "gender": "", "stage": "compulsory", "hukou": "", "version": str(student.version), **changes}


@pytest.mark.parametrize("version", ["abc", "1.5", "-1", "9" * 5000, "١", "1\x00"])
def test_a_tampered_version_is_a_form_error_and_changes_nothing(city, login, version):
    student = make_student(city.class_a, name="安安")
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.post(f"/students/{student.id}/edit", data=edit_form(student, version=version))
    assert response.status_code == 400
    assert "表单已损坏，请刷新页面后重新填写。" in response.get_data(as_text=True)
    assert db.session.get(Student, student.id).name == "安安"


@pytest.mark.parametrize("number", ["0", str(2**31), str(2**63), str(2**64 + 1), "9" * 400])
def test_an_id_no_row_can_have_is_a_404_on_every_route_kind(city, login, number):
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert client.get(f"/students/{number}").status_code == 404
    assert client.post(f"/students/{number}/edit", data={}).status_code == 404
    assert client.get(f"/screening/units/{number}").status_code == 404


def test_the_largest_id_a_row_can_have_is_looked_up(city, login):
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert client.get(f"/students/{2**31 - 1}").status_code == 404  # looked up, not found: no overflow


def test_a_save_that_loses_the_race_at_flush_gets_the_stale_message(city, login, monkeypatch):
    student = make_student(city.class_a, name="安安")
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))

    def lose_the_race(*_args, **_kwargs):
        raise StaleDataError("UPDATE statement on table 'students' expected to update 1 row(s); 0 were matched.")

    monkeypatch.setattr(student_services, "move_student", lose_the_race)
    response = client.post(f"/students/{student.id}/move", data={"class_id": city.class_b.id, "confirm": "1",
                                                                 "version": str(student.version)})
    assert response.status_code == 409
    assert "该记录已被他人修改" in response.get_data(as_text=True)


def test_a_failed_write_never_puts_a_students_name_in_its_error_or_the_log(city, caplog):
    student = make_student(city.class_a, name="独一无二的名字")
    columns = {c.name: getattr(student, c.name) for c in Student.__table__.columns if c.name != "id"}
    with caplog.at_level(logging.INFO), pytest.raises(IntegrityError) as failed:
        with db.session.begin_nested():
            db.session.execute(insert(Student).values(**columns))  # the same ID number again
    assert "独一无二的名字" not in str(failed.value)
    assert "独一无二的名字" not in caplog.text
    assert db.session.scalar(select(func.count()).select_from(Student)) == 1


def test_an_unexpected_error_logs_the_endpoint_not_the_values(app, city, login, monkeypatch, caplog):
    student = make_student(city.class_a, name="独一无二的名字")
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    other = make_student(city.class_a, name="另一个")

    def clash(_actor, target, data, _version=None):
        target.name, target.student_no = data.name, other.student_no  # a unique key someone else holds
        db.session.flush()

    monkeypatch.setattr(student_services, "update_student", clash)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        with caplog.at_level(logging.ERROR):
            response = client.post(f"/students/{student.id}/edit", data=edit_form(student))
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    assert "students.edit_student" in caplog.text
    assert "独一无二的名字" not in caplog.text
    assert "改过的名字" not in caplog.text


def test_an_id_in_full_width_digits_is_not_an_alias_of_the_ascii_one(city, login):
    student = make_student(city.class_a)
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    wide = str(student.id).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert client.get(f"/students/{student.id}").status_code == 200
    assert client.get(f"/students/{wide}").status_code == 404


@pytest.mark.parametrize(("hours", "message"), [("1000000", "工时不能超过 9999.9。"), ("NaN", "数值超出允许范围。"),
                                                ("1e400", "数值超出允许范围。")])
def test_work_study_hours_that_no_column_holds_are_a_form_error(city, login, hours, message):
    from caretrack.ledger.models import SupportRecord

    student = make_student(city.class_a)
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.post(f"/ledger/students/{student.id}/records", data={
        "kind": "work_study", "happened_on": "2025-10-20", "summary": "图书馆勤工助学", "post": "图书馆",
        "hours": hours, "pay": "100.00", "tier": ""})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SupportRecord)) == 0


class DatedForm(BaseForm):
    on = DateField("on")


@pytest.mark.parametrize(("typed", "refused"), [
    ("1989-12-31", True), ("1990-01-01", False), ("2100-12-31", False), ("2101-01-01", True), ("9999-12-31", True),
])
def test_a_date_field_on_any_form_accepts_only_1990_to_2100(app, typed, refused):
    with app.test_request_context(method="POST", data={"on": typed}):
        form = DatedForm(meta={"csrf": False})
        assert form.validate() is not refused
        assert form.errors == ({"on": ["日期须在 1990年1月1日 到 2100年12月31日 之间。"]} if refused else {})


def test_every_form_of_the_app_gets_the_checks_of_the_base_form(app):
    """The date range (and the control-character check) live in BaseForm: a form beside it would skip them."""
    modules = [f"caretrack.{path.parent.name}.forms" for path in Path(caretrack.__file__).parent.glob("*/forms.py")]
    forms = [cls for name in modules for cls in vars(importlib.import_module(name)).values()
             if isinstance(cls, type) and issubclass(cls, FlaskForm) and cls.__module__.startswith("caretrack.")]
    assert len(forms) > 20
    assert [cls.__name__ for cls in forms if not issubclass(cls, BaseForm)] == []
