"""Unit pages through HTTP: create, edit, colleges and classes, term dates, the import, the list."""

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.org import services
from caretrack.org.models import College, SchoolClass, Stage, Term, Unit, UnitKind
from tests.factories import make_unit, make_user

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "units-sample.csv"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def unit(code: str) -> Unit | None:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def school_form(**overrides) -> dict:
    return {"code": "2199010103", "name": "东城区第三中学", "kind": "school", "parent_code": "990101",
            "stages": ["compulsory"], "owner_type": "public", **overrides}


@pytest.fixture
def district_officer(city, login):
    login(make_user(Role.DISTRICT_OFFICER, city.east))


# --- Create and edit ---------------------------------------------------------------------------------------

@pytest.mark.usefixtures("district_officer")
def test_a_district_officer_adds_a_school_to_their_district(city, client):
    assert 'value="990101"' in text_of(client.get("/units/new?parent=990101"))
    response = client.post("/units/new", data=school_form())
    created = unit("2199010103")
    assert response.status_code == 302
    assert response.location == f"/units/{created.id}"
    page = text_of(client.get(response.location))
    assert "单位“东城区第三中学”已创建" in page
    assert (created.parent, created.stages) == (city.east, [Stage.COMPULSORY])


@pytest.mark.usefixtures("district_officer")
def test_a_school_cannot_be_added_to_another_district(client):
    units = count(Unit)
    response = client.post("/units/new", data=school_form(parent_code="990102"))
    assert response.status_code == 403
    assert count(Unit) == units


@pytest.mark.usefixtures("district_officer")
@pytest.mark.parametrize(("changes", "message"), [
    ({"code": "12345"}, "单位代码为 6 位（市、区）或 10 位（学校标识码）数字。"),
    ({"code": "990103"}, "中小学的单位代码应为 10 位数字。"),
    ({"stages": []}, "学校须至少有一个学段。"),
    ({"name": ""}, "此项必填。"),
    ({"code": "2199010101"}, "单位代码“2199010101”已存在。"),
])
def test_a_bad_unit_form_says_why_and_writes_nothing(client, changes, message):
    units, events = count(Unit), count(AuditEvent)
    response = client.post("/units/new", data=school_form(**changes))
    assert response.status_code == 400
    assert message in text_of(response)
    assert (count(Unit), count(AuditEvent)) == (units, events)


def test_an_unknown_parent_code_is_a_form_error_for_the_city_admin(city, client, login):
    login(make_user(Role.CITY_ADMIN, city.city))
    response = client.post("/units/new", data=school_form(parent_code="990199"))
    assert response.status_code == 400
    assert "上级单位代码“990199”不存在" in text_of(response)
    assert unit("2199010103") is None


@pytest.mark.usefixtures("district_officer")
def test_saving_a_unit_unchanged_says_so_and_audits_nothing(city, client):
    from tests.html_forms import form_data

    url = f"/units/{city.east_school.id}/edit"
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.post(url, data=form_data(text_of(client.get(url)), url))
    assert response.status_code == 302
    shown = text_of(client.get(response.location))
    assert "没有改动，未作保存" in shown
    assert "单位信息已保存" not in shown
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


@pytest.mark.usefixtures("district_officer")
def test_editing_a_unit_saves_and_audits_the_change(city, client):
    form = text_of(client.get(f"/units/{city.east_school.id}/edit"))
    assert 'value="东城区第一中学"' in form
    response = client.post(f"/units/{city.east_school.id}/edit",
                           data=school_form(code="2199010101", name="东城区第一中学（集团）",
                                            stages=["compulsory", "senior_high"]))
    assert response.location == f"/units/{city.east_school.id}"
    assert "东城区第一中学（集团）" in text_of(client.get(response.location))
    updated = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "unit_updated"))
    assert updated.fields == ["name"]


# --- Colleges, classes and term dates ----------------------------------------------------------------------

def test_a_school_officer_adds_colleges_and_classes(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.university))
    path = f"/units/{city.university.id}"
    assert client.post(f"{path}/colleges", data={"name": "化学学院"}).location == path
    chemistry = db.session.scalar(select(College).where(College.name == "化学学院"))
    assert client.post(f"{path}/classes", data={"name": "化学2401", "college_id": str(chemistry.id)}).location == path
    page = text_of(client.get(path))
    assert "化学学院" in page
    assert "化学2401" in page
    school_class = db.session.scalar(select(SchoolClass).where(SchoolClass.name == "化学2401"))
    assert school_class.college == chemistry


def test_an_empty_class_name_is_refused_with_a_message(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    classes = count(SchoolClass)
    response = client.post(f"/units/{city.east_school.id}/classes", data={"name": "", "college_id": "0"},
                           follow_redirects=True)
    assert "请填写班级名称" in text_of(response)
    assert count(SchoolClass) == classes


def test_a_district_sets_its_term_dates_and_its_schools_show_them(city, client, login):
    services.ensure_academic_year(2025)
    login(make_user(Role.DISTRICT_OFFICER, city.east))
    response = client.post(f"/units/{city.east.id}/terms", data={
        "academic_year": "2025-2026", "number": "1", "starts_on": "2025-08-25", "ends_on": "2026-01-20"})
    assert "学期日期已保存" in text_of(client.get(response.location))
    school_page = text_of(client.get(f"/units/{city.east_school.id}"))
    assert "2025年8月25日" in school_page
    assert "2026年1月20日" in school_page
    assert "2026年2月1日" in school_page  # term 2 keeps the default


def test_term_dates_outside_the_year_are_refused_with_a_message(city, client, login):
    services.ensure_academic_year(2025)
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.post(f"/units/{city.east_school.id}/terms", data={
        "academic_year": "2025-2026", "number": "1", "starts_on": "2024-09-01", "ends_on": "2025-01-31"},
        follow_redirects=True)
    assert "学期日期须在学年 2025-2026 之内" in text_of(response)
    assert db.session.scalar(select(func.count(Term.id)).where(Term.unit_id.is_not(None))) == 0


# --- Import ------------------------------------------------------------------------------------------------

@pytest.fixture
def city_admin(client, login):
    city = make_unit("990000", "示例市", UnitKind.CITY)
    login(make_user(Role.CITY_ADMIN, city))
    return city


def upload(client, data: bytes, filename: str = "units.csv"):
    return client.post("/units/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


@pytest.mark.usefixtures("city_admin")
def test_an_upload_shows_a_preview_and_writes_nothing_until_confirmed(client):
    response = upload(client, SAMPLE.read_bytes())
    assert response.status_code == 302
    preview = text_of(client.get(response.location))
    assert "预览" in preview
    assert "新增 10" in preview
    assert "未变 1" in preview
    assert "新增：2199010101 东城区第一中学" in preview
    assert count(Unit) == 1
    confirm = re.search(r'action="(/units/import/jobs/\d+/confirm)"', preview).group(1)
    response = client.post(confirm)
    result = text_of(client.get(response.location))
    assert "导入完成" in result
    assert "新增 10" in result
    assert count(Unit) == 11
    assert unit("2199010202").parent == unit("990102")


@pytest.mark.usefixtures("city_admin")
def test_a_preview_with_bad_rows_lists_them_and_offers_to_import_the_valid_rows(client):
    rows = SAMPLE.read_text(encoding="utf-8-sig").splitlines()
    rows[8] = rows[8].replace("义务教育", "小学教育")
    response = upload(client, "\n".join(rows).encode())
    preview = text_of(client.get(response.location))
    assert "文件中有 1 行有误，未导入任何数据。" in preview
    assert '<td class="text-nowrap">1 行</td><td>学段</td><td>“小学教育”不是有效的学段。</td><td>9</td>' in preview
    assert "10 行无误，1 行有误：可以只导入无误的行" in preview
    assert "确认导入" not in preview
    assert "只导入无误的 10 行" in preview
    assert count(Unit) == 1
    job_id = re.search(r"/units/import/jobs/(\d+)", response.location).group(1)
    result = text_of(client.post(f"/units/import/jobs/{job_id}/confirm", follow_redirects=True))
    assert "导入完成" in result
    assert count(Unit) == 10  # the city, and the nine new units of the valid rows


@pytest.mark.usefixtures("city_admin")
def test_an_upload_that_is_not_csv_or_xlsx_is_refused_by_the_form(client):
    response = upload(client, b"%PDF-1.4", "units.pdf")
    assert response.status_code == 400
    assert "只支持 CSV 和 XLSX 文件" in text_of(response)


def test_only_the_city_admin_imports_units(city, client, login):
    login(make_user(Role.DISTRICT_OFFICER, city.east))
    assert client.get("/units/import").status_code == 403
    assert upload(client, SAMPLE.read_bytes()).status_code == 403
    assert count(Unit) == 6


# --- The list ----------------------------------------------------------------------------------------------

def test_the_unit_list_filters_by_text_and_kind(city, client, login):
    login(make_user(Role.CITY_ADMIN, city.city))
    by_text = text_of(client.get("/units/?q=东城"))
    assert "东城区第一中学" in by_text
    assert "西城区民族中学" not in by_text
    by_kind = text_of(client.get("/units/?kind=university"))
    assert "示例理工大学" in by_kind
    assert "东城区第一中学" not in by_kind


def test_the_unit_list_runs_the_same_queries_for_3_or_30_schools(client, login, count_queries):
    city = make_unit("990000", "示例市", UnitKind.CITY)
    login(make_user(Role.CITY_ADMIN, city))

    def add_schools(start: int, stop: int):
        for number in range(start, stop):  # each school in a district of its own, so parents differ
            district = make_unit(f"99{number + 1:04d}", f"第{number + 1}区", UnitKind.DISTRICT, city)
            make_unit(f"21{number + 1:08d}", f"第{number + 1}中学", UnitKind.SCHOOL, district,
                      [Stage.COMPULSORY, Stage.SENIOR_HIGH] if number % 2 else [Stage.COMPULSORY])

    def queries_for_list(expected_rows: int) -> int:
        db.session.flush()
        with count_queries() as counter:
            page = text_of(client.get("/units/?kind=school"))
        assert f"共 {expected_rows} 条" in page
        assert f"第{expected_rows}区" in page  # the parent column
        return counter.count

    add_schools(0, 3)
    few = queries_for_list(3)
    add_schools(3, 30)
    assert queries_for_list(30) == few
