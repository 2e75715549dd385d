"""Control characters: refused by every form field and import row, stripped from what an xlsx is given."""

import io
import unicodedata

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import IllegalCharacterError
from sqlalchemy import func, select
from wtforms import StringField, TextAreaField

from caretrack.core.access import Role
from caretrack.core.forms import BaseForm
from caretrack.core.imports import Column, Importer, run_import
from caretrack.core.text import has_control_characters, xlsx_safe
from caretrack.extensions import db
from caretrack.students.models import Student
from tests.factories import make_id_number, make_student, make_user


@pytest.mark.parametrize(("value", "multiline", "refused"), [
    ("王小明", False, False), ("王\x00明", False, True), ("A\x0bB", False, True), ("PZ\x1b[31m", False, True),
    ("a\u0085b", False, True), ("a\x7fb", False, True), ("第一行\n第二行", False, True),
    ("第一行\n第二行\t缩进\r\n", True, False), ("第一行\x0c第二行", True, True), ("", False, False),
    (None, False, False),
])
def test_control_characters_are_found_and_line_breaks_only_allowed_in_notes(value, multiline, refused):
    assert has_control_characters(value, multiline=multiline) is refused


def test_the_check_refuses_exactly_unicodes_control_characters():
    """The regular expressions stand for Unicode's "Cc" category: every code point, either way."""
    for code in range(0x110000):
        char = chr(code)
        control = unicodedata.category(char) == "Cc"
        assert has_control_characters(f"a{char}b") is control, hex(code)
        assert has_control_characters(f"a{char}b", multiline=True) is (control and char not in "\n\r\t"), hex(code)


def test_an_xlsx_cell_never_refuses_a_stored_value_once_made_safe():
    stored = "王\x01小\x1f明\n（第二行）"
    with pytest.raises(IllegalCharacterError):
        Workbook().active.append([stored])
    workbook = Workbook()
    workbook.active.append([xlsx_safe(stored), xlsx_safe(12), xlsx_safe(None)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert [c.value for c in next(load_workbook(buffer).active.iter_rows())] == ["王小明\n（第二行）", 12]


class NoteForm(BaseForm):
    name = StringField("name")
    note = TextAreaField("note")


@pytest.mark.parametrize(("data", "errors"), [
    ({"name": "王小明", "note": "第一行\r\n第二行\t完"}, {}),
    ({"name": "王\x00明", "note": ""}, {"name": ["不能包含控制字符。"]}),
    ({"name": "王小明\n", "note": ""}, {"name": ["不能包含控制字符。"]}),
    ({"name": "王小明", "note": "响铃\x07"}, {"note": ["不能包含控制字符。"]}),
])
def test_every_text_field_of_every_form_refuses_control_characters(app, data, errors):
    with app.test_request_context(method="POST", data=data):
        form = NoteForm(meta={"csrf": False})
        assert form.validate() is not errors
        assert form.errors == errors


def test_the_student_form_refuses_a_control_character_in_a_name_and_writes_nothing(city, login):
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    form = {"class_id": city.class_a.id, "student_no": "N1", "name": "新\x08生", "id_number": make_id_number(),
            "gender": "", "stage": "compulsory", "hukou": ""}
    response = client.post(f"/students/new?school={city.east_school.id}", data=form)
    assert response.status_code == 400
    assert "不能包含控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Student)) == 0


@pytest.mark.parametrize(("voucher", "paid_on", "message"), [
    ("PZ\x0c001", "2025-11-01", "不能包含控制字符"),
    ("PZ001", "9999-12-31", "日期须在 1990年1月1日 到 2100年12月31日 之间"),
])
def test_a_payment_with_a_control_character_or_a_far_date_is_refused(city, login, voucher, paid_on, message):
    from caretrack.ledger.models import Disbursement
    from caretrack.org.services import ensure_academic_year
    from tests.factories import project

    student = make_student(city.class_a)
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.post(f"/ledger/students/{student.id}/disbursements/new", data={
        "project_id": project("营养改善计划", "compulsory").id, "grade": "", "amount": "400.00",
        "paid_on": paid_on, "academic_year_id": ensure_academic_year(2025).id, "term": "1", "voucher": voucher})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Disbursement)) == 0


class NameImporter(Importer):
    columns = (Column("姓名", True), Column("备注"))

    def validate(self, line, row):
        return row["姓名"]

    def apply(self, parsed):
        return "created"


def test_an_import_refuses_a_row_with_a_control_character_in_a_known_column():
    content = "姓名,备注,其他\n王小明,,\n王\x01明,好\x02的,\n李四,,\x03\n".encode()
    report = run_import(NameImporter(), io.BytesIO(content), "names.csv")
    assert report.refused
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (3, "姓名", "不能包含控制字符。"), (3, "备注", "不能包含控制字符。")]
    assert report.invalid == 1
