"""The duties pages: the board and its scope, recording a duty, files, staff, visits, budgets, the xlsx, the CLI."""

import io
import json
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from caretrack.duties import services
from caretrack.duties.models import AidStaff, CityVisit, DutyFile, DutyRecord
from caretrack.extensions import db

PDF = b"%PDF-1.4\n% minutes\n"


def test_a_district_officer_sees_its_district_and_schools_only(city, people, client_for, year):
    browser = client_for(people["east"])
    page = browser.get(f"/duties/boards/{city.east.id}?year=2025").get_data(as_text=True)
    assert "东城区第一中学" in page
    assert "西城区民族中学" not in page
    assert browser.get(f"/duties/boards/{city.west.id}?year=2025").status_code == 404
    assert browser.get(f"/duties/units/{city.west_school.id}?year=2025").status_code == 404
    assert browser.get(f"/duties/units/{city.west_school.id}/inspection.xlsx").status_code == 404
    assert browser.get("/duties/").headers["Location"].endswith(f"/duties/boards/{city.east.id}")


def test_roles_without_duties_get_403(city, people, client_for, year):
    browser = client_for(people["teacher"])
    assert browser.get(f"/duties/boards/{city.east.id}").status_code == 403
    assert browser.get("/duties/").status_code == 403
    inspector = client_for(people["inspector"])
    assert inspector.get(f"/duties/boards/{city.city.id}").status_code == 200
    assert inspector.get(f"/duties/units/{city.east.id}/records/new").status_code == 403


def test_the_city_board_lists_districts_and_the_schools_reporting_to_it(city, people, client_for, year):
    page = client_for(people["admin"]).get(f"/duties/boards/{city.city.id}?year=2025").get_data(as_text=True)
    assert "东城区" in page
    assert "西城区" in page
    assert "示例理工大学" in page
    assert "东城区第一中学" not in page  # on the district's board


def test_a_bad_year_is_404_not_500(city, people, client_for, year):
    browser = client_for(people["east"])
    for bad in ("abc", "99999999999", "1800", "²"):
        assert browser.get(f"/duties/boards/{city.east.id}?year={bad}").status_code == 404


def test_recording_a_training_with_attendance_turns_the_cell_done(city, people, client_for, year, duties):
    browser = client_for(people["east"])
    training = duties["district_training"]
    form = browser.get(f"/duties/units/{city.east.id}/records/new?duty={training.id}").get_data(as_text=True)
    assert "东城区第一中学" in form
    assert "一中 周老师" in form
    assert "理工 赵老师" not in form
    response = browser.post(f"/duties/units/{city.east.id}/records/new", data={
        "duty_type_id": training.id, "done_on": "2025-10-20", "title": "资助政策专题培训",
        "attending_unit_ids": [city.east_school.id], "trainee_ids": [people["school"].id],
        "file": (io.BytesIO(PDF), "纪要.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    entry = db.session.scalar(select(DutyRecord))
    assert [u.name for u in entry.attending_units] == ["东城区第一中学"]
    assert [f.filename for f in entry.files] == ["纪要.pdf"]
    page = browser.get(f"/duties/boards/{city.east.id}?year=2025").get_data(as_text=True)
    cell = page.split(f'data-duty="district_training" data-unit="{city.east.code}"')[1].split("</td>")[0]
    assert "已完成" in cell
    shown = browser.get(f"/duties/records/{entry.id}").get_data(as_text=True)
    assert "一中 周老师" in shown
    assert "纪要.pdf" in shown
    stored = db.session.scalar(select(DutyFile))
    assert browser.get(f"/duties/files/{stored.id}").get_data() == PDF
    assert client_for(people["west"]).get(f"/duties/files/{stored.id}").status_code == 404
    assert client_for(people["west"]).get(f"/duties/records/{entry.id}").status_code == 404


def test_bad_input_shows_messages_and_writes_nothing(city, people, client_for, year, duties):
    browser = client_for(people["east"])
    response = browser.post(f"/duties/units/{city.east.id}/records/new", data={
        "duty_type_id": duties["district_training"].id, "done_on": "2099-01-01", "title": "培训",
        "attending_unit_ids": [city.west_school.id]})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(DutyRecord.id))) == 0
    response = browser.post(f"/duties/units/{city.east.id}/records/new", data={
        "duty_type_id": duties["district_training"].id, "done_on": "2025-10-01", "title": "",
        "file": (io.BytesIO(b"MZ not a pdf"), "x.exe")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "此项必填" in response.get_data(as_text=True)
    entry = services.record_duty(None, city.east, services.RecordData(
        duty=duties["district_training"], done_on=date(2025, 10, 1), title="培训"), date(2025, 10, 2), set(), set())
    response = browser.post(f"/duties/records/{entry.id}/files", data={"file": (io.BytesIO(b"MZ"), "x.exe")},
                            content_type="multipart/form-data")
    assert response.status_code == 400
    assert "JPG、PNG" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(DutyFile.id))) == 0
    response = browser.post(f"/duties/units/{city.east.id}/staff", data={"name": "", "starts_on": "x"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(AidStaff.id))) == 0


def test_another_districts_unit_cannot_be_written(city, people, client_for, year, duties):
    browser = client_for(people["east"])
    assert browser.post(f"/duties/units/{city.west.id}/records/new", data={
        "duty_type_id": duties["district_training"].id, "done_on": "2025-10-01", "title": "x"}).status_code == 404
    assert browser.post(f"/duties/units/{city.west.id}/staff", data={
        "name": "x", "starts_on": "2025-09-01"}).status_code == 404
    assert browser.post(f"/duties/units/{city.east.id}/visits", data={
        "visited_on": "2025-10-01", "findings": "x"}).status_code == 403  # visits are the city's


def test_staff_visits_and_budgets_on_the_unit_page(city, people, client_for, year):
    from tests.factories import make_student, pay

    admin = client_for(people["admin"])
    assert admin.post(f"/duties/units/{city.east.id}/visits?year=2025", data={
        "visited_on": "2025-10-01", "findings": "培训未覆盖民办幼儿园", "requirements": "补办培训\n建立台账",
        "due_on": "2025-12-31"}).status_code == 302
    visit = db.session.scalar(select(CityVisit))
    assert [i.requirement for i in visit.improvements] == ["补办培训", "建立台账"]
    east = client_for(people["east"])
    assert east.post(f"/duties/units/{city.east.id}/staff", data={
        "name": "李老师", "is_full_time": "y", "is_head": "y", "starts_on": "2024-09-01"}).status_code == 302
    assert east.post(f"/duties/improvements/{visit.improvements[0].id}/close", data={
        "closed_on": "2025-11-01", "note": "已补办"}).status_code == 302
    assert client_for(people["west"]).post(f"/duties/improvements/{visit.improvements[1].id}/close", data={
        "closed_on": "2025-11-01", "note": "x"}).status_code == 404
    student = make_student(city.class_a)
    payment = pay(student, "家庭经济困难寄宿生生活补助", "1250.00", 2025, paid_on=date(2025, 10, 20))
    response = east.post(f"/duties/units/{city.east.id}/budgets?year=2025", data={
        "project_id": payment.project_id, "amount": "5000.00"})
    assert response.status_code == 302
    page = east.get(f"/duties/units/{city.east.id}?year=2025").get_data(as_text=True)
    assert "已整改" in page
    assert "整改中" in page
    assert "李老师" in page
    board = east.get(f"/duties/boards/{city.east.id}?year=2025").get_data(as_text=True)
    assert "25.0%" in board  # the district's budget against its school's payment
    assert "¥5,000.00" in page
    assert "¥1,250.00" in page
    assert "25.0%" in page
    assert "2025-10" in page


def test_the_inspection_xlsx_opens_with_the_units_year(city, people, client_for, year, duties):
    services.record_duty(None, city.east, services.RecordData(
        duty=duties["district_training"], done_on=date(2025, 10, 1), title="=HYPERLINK(\"x\")",
        attending_units=[city.east_school]), date(2025, 10, 2), {city.east_school.id}, set())
    response = client_for(people["east"]).get(f"/duties/units/{city.east.id}/inspection.xlsx?year=2025")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    sheet = workbook.worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    training = next(row for row in rows if row[0] == duties["district_training"].name)
    assert training[2] == "已完成"
    assert "东城区第一中学" in training[3]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert {ws.title for ws in workbook.worksheets} >= {"职责完成情况", "资助工作人员", "走访调研"}


def test_the_board_runs_a_fixed_number_of_queries(city, people, client_for, year, duties, count_queries):
    from caretrack.org.models import Stage, UnitKind
    from tests.factories import make_unit
    from tests.factories import project as catalog_project

    project = catalog_project("免学杂费", Stage.COMPULSORY)
    services.save_budget(None, city.east, project, year, Decimal("100.00"))
    browser = client_for(people["east"])
    url = f"/duties/boards/{city.east.id}?year=2025"
    browser.get(url)
    with count_queries() as few:
        browser.get(url)
    for number in range(4):
        school = make_unit(f"21990101{number + 50}", f"新学校{number}", UnitKind.SCHOOL, city.east)
        services.record_duty(None, school, services.RecordData(
            duty=duties["school_training"], done_on=date(2025, 10, 1), title="培训"), date(2025, 10, 2), set(), set())
        services.add_staff(None, school, f"老师{number}", True, True, date(2024, 9, 1))
        services.save_budget(None, school, project, year, Decimal("100.00"))
    db.session.flush()  # the test's own writes, before counting the page's reads
    with count_queries() as many:
        assert "新学校3" in browser.get(url).get_data(as_text=True)
    assert many.count == few.count, "\n".join(s[:150] for s in many.statements)


def test_only_the_city_admin_edits_the_duty_list(city, people, client_for, year):
    assert client_for(people["east"]).get("/duties/types/new").status_code == 403
    assert client_for(people["east"]).get("/duties/types").status_code == 200
    admin = client_for(people["admin"])
    response = admin.post("/duties/types/new", data={"name": "资助育人研讨", "unit_kinds": ["district"],
                                                     "due_month": "3", "due_day": "31", "min_count": "1",
                                                     "first_year": "2025"})
    assert response.status_code == 302
    assert "资助育人研讨" in admin.get(f"/duties/boards/{city.east.id}?year=2025").get_data(as_text=True)
    response = admin.post("/duties/types/new", data={"name": "x", "unit_kinds": ["nope"], "due_month": "13",
                                                     "due_day": "1", "min_count": "1", "first_year": "2025"})
    assert response.status_code == 400


def test_the_cli_writes_the_board_as_json_and_xlsx(city, people, runner, year, duties, tmp_path, monkeypatch):
    from caretrack.duties import queries
    from tests.factories import make_student

    monkeypatch.setattr(queries, "STUDENTS_PER_FULL_TIME_STAFF", 2)
    for _number in range(3):
        make_student(city.uni_class)
    services.add_staff(None, city.university, "赵老师", True, True, date(2024, 9, 1))
    services.record_duty(None, city.east, services.RecordData(
        duty=duties["district_training"], done_on=date(2025, 10, 1), title="专题培训",
        attending_units=[city.east_school], trainees=[people["school"]]), date(2025, 10, 2),
        {city.east_school.id}, {people["school"].id})
    db.session.flush()
    output = tmp_path / "board.json"
    result = runner.invoke(args=["caretrack", "duties", "board", "--unit", city.city.code, "--year", "2025-2026",
                                 "--format", "json", "-o", str(output)])
    assert result.exit_code == 0, result.output
    data = json.loads(output.read_text(encoding="utf-8"))
    units = {u["代码"]: u for u in data["单位"]}
    university = units[city.university.code]
    assert (university["在校生数"], university["应配专职人员数"], university["实有专职人员数"], university["缺口"]) == \
        (3, 2, 1, 1)
    assert {d["状态"] for u in data["单位"] for d in u["职责"]} <= {"已完成", "未到期", "逾期"}
    training = next(d for d in units[city.east.code]["职责"] if d["职责"] == duties["district_training"].name)
    assert training["状态"] == "已完成"
    assert training["记录"][0]["参加单位"] == ["东城区第一中学"]
    assert training["记录"][0]["参训人员"] == ["一中 周老师"]
    assert "在校生数" not in units[city.east.code]
    xlsx = tmp_path / "board.xlsx"
    result = runner.invoke(args=["caretrack", "duties", "board", "--unit", city.east.code, "--year", "2025-2026",
                                 "--format", "xlsx", "-o", str(xlsx)])
    assert result.exit_code == 0, result.output
    assert load_workbook(xlsx).worksheets[0]["A1"].value == "单位代码"
    result = runner.invoke(args=["caretrack", "duties", "board", "--unit", "000", "--year", "2025-2026",
                                 "-o", str(output)])
    assert result.exit_code != 0
    assert "does not exist" in result.output


def test_board_summary_counts_per_unit(city, people, year, duties, app):
    from caretrack.duties.queries import board_summary

    with app.test_request_context():
        summary = board_summary(people["east"], year, date(2026, 7, 1))
    assert [item["unit"].name for item in summary] == ["东城区", "东城区第一中学"]
    assert summary[0]["done"] == 0
    assert summary[0]["late"] == 6
    assert summary[0]["due"] == 0


def test_a_budget_of_the_current_year_not_kept_yet_is_saved(city, people, client_for):
    from caretrack.duties.models import Budget
    from caretrack.org.models import Stage
    from tests.factories import project as catalog_project

    project = catalog_project("免学杂费", Stage.COMPULSORY)
    response = client_for(people["east"]).post(f"/duties/units/{city.east.id}/budgets", data={
        "project_id": project.id, "amount": "100.00"})
    assert response.status_code == 302
    assert db.session.scalar(select(Budget)).amount == Decimal("100.00")
