"""The screening on the web: running it, the work on cases, follow-ups, submitting, downloads, rules, access."""

import io
import json
from datetime import date

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core import crypto
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.followups.models import FollowUp
from caretrack.ledger.models import AidProject, Grade
from caretrack.org.models import Stage, UnitKind
from caretrack.org.services import ensure_academic_year
from caretrack.screening import services
from caretrack.screening.models import ScreeningCase, ScreeningRule, ScreeningRun, TableSubmission
from caretrack.students.models import Category
from tests.factories import make_user, seed_catalog
from tests.screening.conftest import grant, student

TERM = "year=2025&term=1"


@pytest.fixture
def uni(world):
    """The university's aid officer and an orphan of the university without the grant."""
    world.officer = make_user(Role.SCHOOL_OFFICER, world.university, display_name="赵老师")
    world.orphan = student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="孤儿甲")
    return world


def unit_path(unit, suffix: str = "") -> str:
    return f"/screening/units/{unit.id}{suffix}?{TERM}"


def run(client, unit):
    return client.post(unit_path(unit, "/run"), follow_redirects=True)


def the_case(student) -> ScreeningCase:
    return db.session.scalar(select(ScreeningCase).where(ScreeningCase.student_id == student.id))


def work(case, **fields) -> dict:
    data = {"reason": "", "remedy": "", "deadline": "", "owner_id": "0", "version": str(case.version), **fields}
    return {f"case{case.id}-{name}": value for name, value in data.items()}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- running and the work on cases -------------------------------------------------------------------------

def test_an_officer_runs_the_screening_and_sees_the_case_on_the_form(uni, year, login):
    client = login(uni.officer)
    page = run(client, uni.university).get_data(as_text=True)
    assert "排查完成：2025-2026 学年第 1 学期发现 1 条应助未助情况。" in page
    assert "普通高校（中职学校）家庭经济困难学生排查统计汇总表" in page
    assert "孤儿甲" in page
    assert uni.orphan.id_masked in page
    assert crypto.decrypt(uni.orphan.id_cipher) not in page
    assert "机械工程学院" in page
    assert "应助未助" in page
    assert "☑是" in page  # 经排查是否发现有应助未助学生情况


def test_a_run_without_identifications_says_so_and_writes_nothing(uni, login):
    ensure_academic_year(2024)
    client = login(uni.officer)
    page = client.post(f"/screening/units/{uni.university.id}/run?year=2024&term=1", follow_redirects=True)
    assert "2024-2025 学年还没有家庭经济困难认定数据，无法排查。" in page.get_data(as_text=True)
    assert count(ScreeningRun) == 0
    assert count(ScreeningCase) == 0


def test_a_remedy_is_written_and_kept_after_a_rerun(uni, year, login):
    client = login(uni.officer)
    run(client, uni.university)
    case = the_case(uni.orphan)
    typed = work(case, reason="认定结果录入较晚", remedy="补发一档国家助学金", deadline="2025-12-31",
                 owner_id=str(uni.officer.id))
    response = client.post(f"/screening/cases/{case.id}?unit={uni.university.id}", data=typed)
    assert response.status_code == 302
    assert response.location.endswith(f"#case-{case.id}")
    run(client, uni.university)
    case = the_case(uni.orphan)
    assert (case.reason, case.remedy, case.deadline, case.owner_id) == (
        "认定结果录入较晚", "补发一档国家助学金", date(2025, 12, 31), uni.officer.id)
    page = client.get(unit_path(uni.university)).get_data(as_text=True)
    assert "补发一档国家助学金（2025-12-31 前完成）" in page
    assert "认定结果录入较晚" in page


def test_an_edit_made_on_a_stale_copy_is_refused_and_what_was_typed_stays(uni, year, login):
    client = login(uni.officer)
    run(client, uni.university)
    case = the_case(uni.orphan)
    stale = work(case, remedy="我写的措施：联系家长核实")
    assert client.post(f"/screening/cases/{case.id}", data=work(case, remedy="同事先写的措施")).status_code == 302
    response = client.post(f"/screening/cases/{case.id}", data=stale)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "已被他人修改" in page
    assert "我写的措施：联系家长核实" in page  # still in the form
    assert "同事先写的措施" in page  # what is saved now, shown beside it
    assert the_case(uni.orphan).remedy == "同事先写的措施"


def test_a_case_closes_only_with_a_written_reason(uni, year, login):
    client = login(uni.officer)
    run(client, uni.university)
    case = the_case(uni.orphan)
    page = client.post(f"/screening/cases/{case.id}/close", data={f"close{case.id}-closed_reason": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert "请写明关闭的原因" in page
    assert the_case(uni.orphan).status == "open"
    page = client.post(f"/screening/cases/{case.id}/close", data={f"close{case.id}-closed_reason": "学生已退学"},
                       follow_redirects=True).get_data(as_text=True)
    assert "排查情况已关闭。" in page
    case = the_case(uni.orphan)
    assert (case.status, case.closed_reason) == ("closed", "学生已退学")
    assert f'name="case{case.id}-remedy"' not in page  # no more work form for it


def test_follow_ups_are_made_for_the_chosen_cases(uni, year, login):
    other = student(uni.uni_class, Category.DISABLED, stage=Stage.HIGHER, name="残疾乙")
    counselor = make_user(Role.COUNSELOR, uni.college, display_name="陈老师")
    client = login(uni.officer)
    run(client, uni.university)
    case = the_case(uni.orphan)
    client.post(f"/screening/cases/{case.id}", data=work(case, deadline="2025-12-20", owner_id=str(counselor.id)))
    page = client.post(unit_path(uni.university, "/followups"), data={"case_ids": [str(case.id)]},
                       follow_redirects=True).get_data(as_text=True)
    assert "已为 1 条排查情况安排跟进" in page
    followup = db.session.scalar(select(FollowUp))
    assert (followup.student_id, followup.assignee_id, followup.due_on, followup.source) == (
        uni.orphan.id, counselor.id, date(2025, 12, 20), "screening")
    assert db.session.scalar(select(func.count()).where(FollowUp.student_id == other.id)) == 0
    none_chosen = client.post(unit_path(uni.university, "/followups"), follow_redirects=True)
    assert "请先勾选要安排跟进的排查情况。" in none_chosen.get_data(as_text=True)


def test_the_owner_is_chosen_among_the_schools_people(uni, year, login):
    make_user(Role.COUNSELOR, uni.college, display_name="陈老师")
    make_user(Role.SCHOOL_OFFICER, uni.west_school, display_name="西城周老师")
    client = login(uni.officer)
    page = run(client, uni.university).get_data(as_text=True)
    assert "陈老师" in page
    assert "西城周老师" not in page


# --- submitting, and what the district and the city see ----------------------------------------------------

def confirmed(unit, year, **fields) -> dict:
    """What the confirmation page posts: confirmed, with the run it showed."""
    run = services.latest_run(unit, year, 1)
    return {"confirmed": "1", "run_id": str(run.id) if run else "", **fields}


def test_a_submission_is_frozen_and_a_correction_needs_a_reason(uni, year, login):
    client = login(uni.officer)
    run(client, uni.university)
    page = client.post(unit_path(uni.university, "/submit"), data=confirmed(uni.university, year),
                       follow_redirects=True).get_data(as_text=True)
    assert "附件1 已报送（第 1 版）。" in page
    page = client.post(unit_path(uni.university, "/submit"), follow_redirects=True).get_data(as_text=True)
    assert "该学期的统计表已经报送过。如需更正，请填写更正原因后重新报送。" in page  # before any confirmation
    page = client.post(unit_path(uni.university, "/submit"), data=confirmed(uni.university, year),
                       follow_redirects=True).get_data(as_text=True)
    assert "该学期的统计表已经报送过。如需更正，请填写更正原因后重新报送。" in page
    assert count(TableSubmission) == 1
    correction = confirmed(uni.university, year, correction_reason="补录一名学生")
    page = client.post(unit_path(uni.university, "/submit"), data=correction,
                       follow_redirects=True).get_data(as_text=True)
    assert "附件1 已报送（第 2 版）。" in page
    assert "补录一名学生" in page
    first = db.session.scalar(select(TableSubmission).where(TableSubmission.version == 1))
    frozen = client.get(f"/screening/submissions/{first.id}").get_data(as_text=True)
    assert "孤儿甲" in frozen
    assert "第 1 版" in frozen


def test_the_district_and_the_city_see_who_submitted_and_who_is_late(world, year, login, client):
    primary_kid = student(world.primary_class, Category.RURAL_DIBAO, stage=Stage.COMPULSORY, name="小学丙")
    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="孤儿甲")
    with time_machine.travel("2025-12-10 10:00:00+08:00", tick=False):
        services.run_screening(None, world.primary, year, 1)
        services.submit(None, world.primary, year, 1)
    with time_machine.travel("2025-12-20 10:00:00+08:00", tick=False):
        login(make_user(Role.DISTRICT_OFFICER, world.east))
        page = client.get("/screening/").get_data(as_text=True)
        assert "2025-2026 学年第 1 学期" in page
        for name in ("东城区", "东城区第一中学", "东城区实验小学"):
            assert name in page
        for outside in ("西城区", "示例理工大学", "示例市交通运输职业学校"):
            assert outside not in page
        assert "已报送 v1" in page
        assert "逾期" in page  # the district's own table and the other school are not in
        assert primary_kid.name not in page
        client.post("/logout")
        login(make_user(Role.CITY_ADMIN, world.city))
        page = client.get("/screening/").get_data(as_text=True)
        for name in ("东城区", "西城区", "示例理工大学", "示例市交通运输职业学校"):
            assert name in page
        assert "东城区实验小学" not in page  # it reports to its district
        assert page.count('ct-status">逾期</span>') == 4
        assert "已报送 0" in page
        assert "逾期未报送 4" in page


def test_a_late_first_submission_is_marked_late(world, year, login, client):
    student(world.primary_class, Category.RURAL_DIBAO, stage=Stage.COMPULSORY)
    with time_machine.travel("2025-12-18 10:00:00+08:00", tick=False):
        services.run_screening(None, world.primary, year, 1)
        services.submit(None, world.primary, year, 1)
        login(make_user(Role.DISTRICT_OFFICER, world.east))
        page = client.get("/screening/").get_data(as_text=True)
    assert "已报送 v1" in page
    assert "逾期报送" in page


# --- downloads ---------------------------------------------------------------------------------------------

def sheet_text(response) -> str:
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    return "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value is not None)


def downloads() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.detail).where(
        AuditEvent.action == "screening_table_exported").order_by(AuditEvent.id)))


def test_the_excel_holds_masked_ids_and_full_ones_only_for_those_who_may_reveal_them(uni, year, login, client):
    full = crypto.decrypt(uni.orphan.id_cipher)
    login(uni.officer)
    run(client, uni.university)
    masked = sheet_text(client.get(unit_path(uni.university, "/table.xlsx")))
    assert "普通高校（中职学校）家庭经济困难学生排查统计汇总表" in masked
    assert "孤儿甲" in masked
    assert uni.orphan.id_masked in masked
    assert full not in masked
    assert full in sheet_text(client.get(unit_path(uni.university, "/table.xlsx") + "&full_ids=1"))
    client.post("/logout")
    login(make_user(Role.INSPECTOR, uni.city))
    inspected = sheet_text(client.get(unit_path(uni.university, "/table.xlsx") + "&full_ids=1"))
    assert uni.orphan.id_masked in inspected
    assert full not in inspected
    assert downloads() == ["附件1 2025-2026/1 xlsx full_ids=False", "附件1 2025-2026/1 xlsx full_ids=True",
                           "附件1 2025-2026/1 xlsx full_ids=False"]


def test_the_json_uses_the_forms_names_and_masks_ids(uni, year, login, client):
    login(uni.officer)
    run(client, uni.university)
    response = client.get(unit_path(uni.university, "/table.json") + "&full_ids=1")
    assert response.mimetype == "application/json"
    data = json.loads(response.data)
    assert (data["表"], data["单位代码"], data["孤儿学生数"], data["是否全覆盖"]) == ("附件1", "4199010001", 1, "否")
    assert [(c["姓名"], c["身份证号"], c["类型"]) for c in data["应助未助"]] == [
        ("孤儿甲", uni.orphan.id_masked, "应助未助")]
    assert downloads() == ["附件1 2025-2026/1 json full_ids=False"]


def test_a_submitted_tables_excel_reveals_ids_from_the_snapshot_only_to_revealers(uni, year, login, client):
    full = crypto.decrypt(uni.orphan.id_cipher)
    login(uni.officer)
    run(client, uni.university)
    client.post(unit_path(uni.university, "/submit"), data=confirmed(uni.university, year))
    submission = db.session.scalar(select(TableSubmission))
    path = f"/screening/submissions/{submission.id}/table.xlsx"
    assert full in sheet_text(client.get(path + "?full_ids=1"))
    assert uni.orphan.id_masked in sheet_text(client.get(path))
    client.post("/logout")
    login(make_user(Role.INSPECTOR, uni.city))
    assert full not in sheet_text(client.get(path + "?full_ids=1"))
    assert client.get(f"/screening/submissions/{submission.id}").status_code == 200


def test_a_district_download_holds_only_its_own_schools(world, year, login, client):
    student(world.primary_class, Category.RURAL_DIBAO, stage=Stage.COMPULSORY, name="小学丙")
    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="孤儿甲")
    services.run_screening(None, world.university, year, 1)
    login(make_user(Role.DISTRICT_OFFICER, world.east))
    run(client, world.east)
    text = sheet_text(client.get(unit_path(world.east, "/table.xlsx")))
    assert "区教育局家庭经济困难学生排查统计汇总表" in text
    assert "小学丙" in text
    assert "孤儿甲" not in text


# --- access ------------------------------------------------------------------------------------------------

def test_a_unit_outside_ones_scope_is_404(uni, year, login, client):
    services.run_screening(None, uni.university, year, 1)
    case = the_case(uni.orphan)
    login(make_user(Role.SCHOOL_OFFICER, uni.west_school))
    assert client.get(unit_path(uni.university)).status_code == 404
    assert client.get(unit_path(uni.university, "/table.xlsx")).status_code == 404
    assert client.post(unit_path(uni.university, "/run")).status_code == 404
    assert client.post(f"/screening/cases/{case.id}", data=work(case, remedy="x")).status_code == 404
    assert client.get(f"/screening/units/{uni.city.id}?{TERM}").status_code == 404
    assert "示例理工大学" not in client.get("/screening/").get_data(as_text=True)
    assert the_case(uni.orphan).remedy is None


def test_an_inspector_reads_and_downloads_but_never_acts(uni, year, login, client):
    services.run_screening(None, uni.university, year, 1)
    case = the_case(uni.orphan)
    login(make_user(Role.INSPECTOR, uni.city))
    page = client.get(unit_path(uni.university)).get_data(as_text=True)
    assert "孤儿甲" in page
    assert "运行排查" not in page
    assert f'name="case{case.id}-remedy"' not in page
    assert client.get(unit_path(uni.university, "/table.json")).status_code == 200
    assert client.post(unit_path(uni.university, "/run")).status_code == 403
    assert client.post(f"/screening/cases/{case.id}", data=work(case, remedy="x")).status_code == 403
    assert client.post(f"/screening/cases/{case.id}/close", data={f"close{case.id}-closed_reason": "x"}).status_code \
        == 403
    assert client.post(unit_path(uni.university, "/followups"), data={"case_ids": [case.id]}).status_code == 403
    assert client.post(unit_path(uni.university, "/submit")).status_code == 403
    assert (the_case(uni.orphan).remedy, the_case(uni.orphan).status, count(TableSubmission)) == (None, "open", 0)


def test_a_class_teacher_has_no_screening(uni, login, client):
    login(make_user(Role.CLASS_TEACHER, uni.uni_class))
    assert client.get("/screening/").status_code == 403
    assert 'href="/screening/"' not in client.get("/").get_data(as_text=True)


def test_the_unit_page_runs_the_same_queries_for_2_or_20_cases(world, year, login, client, count_queries):
    officer = make_user(Role.SCHOOL_OFFICER, world.university)
    counselor = make_user(Role.COUNSELOR, world.college)
    login(officer)

    def page_queries(cases: int) -> int:
        kids = [student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER) for _ in range(cases)]
        services.run_screening(None, world.university, year, 1)
        for kid in kids[:cases // 2]:  # half have their work written and a lower grade; one is closed by a payment
            written = services.CaseWork("原因", "措施", date(2025, 12, 1), counselor.id)
            services.update_case(None, the_case(kid), written)
            grant(kid, grade=Grade.SECOND, amount="1850.00")
        grant(kids[-1])
        services.run_screening(None, world.university, year, 1)
        with count_queries() as counter:
            response = client.get(unit_path(world.university))
        assert response.status_code == 200
        return counter.count

    assert page_queries(2) == page_queries(18)  # 2 cases, then 20


def test_the_district_page_runs_the_same_queries_for_2_or_4_schools(world, year, login, client, count_queries):
    from caretrack.org.services import get_or_create_class
    from tests.factories import make_unit

    login(make_user(Role.DISTRICT_OFFICER, world.east))
    make_user(Role.SCHOOL_OFFICER, world.east_school)

    def page_queries(extra_schools: int) -> int:
        for i in range(extra_schools):
            school = make_unit(f"21990101{50 + i}", f"东城区新校{i}", UnitKind.SCHOOL, world.east)
            student(get_or_create_class(None, school, "一年级1班"), Category.OTHER, stage=Stage.COMPULSORY)
            make_user(Role.SCHOOL_OFFICER, school)
        student(world.class_a, Category.OTHER, stage=Stage.COMPULSORY)
        services.run_screening(None, world.east, year, 1)
        with count_queries() as counter:
            response = client.get(unit_path(world.east))
        assert response.status_code == 200
        return counter.count

    assert page_queries(0) == page_queries(2)  # 2 schools (with their cases and officers), then 4


# --- the rules ---------------------------------------------------------------------------------------------

RULE = {"name": "高等教育：孤儿须获国家助学金", "stage": "higher", "categories": ["orphan"], "boarder": "",
        "project_name": "国家助学金", "min_grade": "1", "coverage_form": "附件1", "valid_from": "2026",
        "is_active": "y"}


def test_the_rules_are_listed_in_chinese_and_only_the_city_admin_edits_them(world, login, client):
    login(make_user(Role.INSPECTOR, world.city))
    page = client.get("/screening/rules").get_data(as_text=True)
    assert "义务教育：已认定的寄宿生须获家庭经济困难寄宿生生活补助" in page
    assert "建档立卡、残疾、农村低保、农村特困救助供养、孤儿、烈士子女、家庭遭遇自然灾害或突发事件" in page
    assert "国家助学金 <span class=\"ct-muted\">（一档）</span>" in page
    assert "仅寄宿生" in page
    assert client.get("/screening/rules/new").status_code == 403
    client.post("/logout")
    seed_catalog()
    login(make_user(Role.CITY_ADMIN, world.city))
    assert client.post("/screening/rules/new", data=RULE).status_code == 302
    rule = db.session.scalar(select(ScreeningRule).where(ScreeningRule.name == RULE["name"]))
    assert (rule.stage, rule.categories, rule.flags, rule.boarder, rule.min_grade, rule.valid_from) == (
        "higher", ["orphan"], [], None, "1", 2026)
    edit = client.get(f"/screening/rules/{rule.id}/edit").get_data(as_text=True)
    assert 'value="orphan" checked' in edit


def test_a_rule_naming_a_project_not_in_the_catalog_is_refused(world, login, client):
    seed_catalog()
    login(make_user(Role.CITY_ADMIN, world.city))
    rules = count(ScreeningRule)
    response = client.post("/screening/rules/new", data={**RULE, "project_name": "不存在的补助"})
    assert response.status_code == 400
    assert "资助项目目录中没有“不存在的补助”（该学段）。" in response.get_data(as_text=True)
    assert count(ScreeningRule) == rules
    rule = db.session.scalar(select(ScreeningRule).where(ScreeningRule.stage == "higher"))
    before = rule.project_name
    response = client.post(f"/screening/rules/{rule.id}/edit", data={**RULE, "project_name": "不存在的补助"})
    assert response.status_code == 400
    assert db.session.get(ScreeningRule, rule.id).project_name == before
    assert db.session.scalar(select(func.count()).select_from(AidProject).where(
        AidProject.name == "不存在的补助")) == 0


# --- issue 10: what a case asks for, the table's name, confirming 报送, local time, shares, 催报 -----------------

def test_every_case_on_the_page_and_in_the_excel_says_what_it_asks_for(uni, year, login, client):
    login(uni.officer)
    page = run(client, uni.university).get_data(as_text=True)
    assert "应享受：国家助学金（一档）" in page
    sheet = load_workbook(io.BytesIO(client.get(unit_path(uni.university, "/table.xlsx")).data)).active
    assert sheet.cell(11, 11).value == "【应助未助】应享受：国家助学金（一档）"
    case = the_case(uni.orphan)
    client.post(f"/screening/cases/{case.id}", data=work(case, reason="认定结果录入较晚"))
    sheet = load_workbook(io.BytesIO(client.get(unit_path(uni.university, "/table.xlsx")).data)).active
    assert sheet.cell(11, 11).value == "【应助未助】认定结果录入较晚"  # the officer's reason, when written
    data = json.loads(client.get(unit_path(uni.university, "/table.json")).data)
    assert data["应助未助"][0]["应享受资助项目"] == "国家助学金（一档）"


def test_a_district_school_is_called_by_its_district_table_everywhere(world, year, login, client):
    student(world.primary_class, Category.RURAL_DIBAO, stage=Stage.COMPULSORY, name="小学丙")
    login(make_user(Role.DISTRICT_OFFICER, world.east))
    overview = client.get(f"/screening/?{TERM}").get_data(as_text=True)
    row = overview[overview.index(f'/screening/units/{world.primary.id}?'):]
    assert row[:row.index("</tr>")].count("<td>附件2</td>") == 1
    assert "<td>附件1</td>" not in overview
    page = run(client, world.primary).get_data(as_text=True)
    assert "东城区实验小学 <small class=\"ct-muted\">附件2 ·" in page
    assert "附件1" not in page
    response = client.get(unit_path(world.primary, "/table.xlsx"))
    assert "filename*=UTF-8''%E9%99%84%E4%BB%B62" in response.headers["Content-Disposition"]  # 附件2
    assert load_workbook(io.BytesIO(response.data)).sheetnames == ["附件2"]


def test_submitting_asks_for_confirmation_and_lists_the_cases_without_a_remedy_first(uni, year, login):
    remedied = student(uni.uni_class, Category.DISABLED, stage=Stage.HIGHER, name="有措施乙")
    client = login(uni.officer)
    run(client, uni.university)
    case = the_case(remedied)
    client.post(f"/screening/cases/{case.id}", data=work(case, remedy="补发一档国家助学金"))
    response = client.post(unit_path(uni.university, "/submit"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert count(TableSubmission) == 0  # the first POST only asks
    assert "以下 1 条待解决情况还没有填写解决措施和时限" in page
    listed = page[page.index('id="unremedied"'):]
    assert "孤儿甲" in listed
    assert "有措施乙" not in listed
    assert "国家助学金（一档）" in listed
    assert "确认报送（含 1 条无解决措施的情况）" in page
    assert 'name="confirmed" type="hidden" value="1"' in page
    page = client.post(unit_path(uni.university, "/submit"), data=confirmed(uni.university, year),
                       follow_redirects=True)
    assert "附件1 已报送（第 1 版）。" in page.get_data(as_text=True)
    assert count(TableSubmission) == 1


def test_a_confirmation_made_before_another_run_asks_again(uni, year, login):
    client = login(uni.officer)
    run(client, uni.university)
    shown = confirmed(uni.university, year)
    student(uni.uni_class, Category.DISABLED, stage=Stage.HIGHER, name="新认定丁")
    run(client, uni.university)
    response = client.post(unit_path(uni.university, "/submit"), data=shown)
    assert response.status_code == 200
    assert "确认后排查又运行过一次，统计表已更新。" in response.get_data(as_text=True)
    assert count(TableSubmission) == 0
    client.post(unit_path(uni.university, "/submit"), data=confirmed(uni.university, year))
    assert [c["name"] for c in db.session.scalar(select(TableSubmission)).snapshot["cases"]] == ["孤儿甲", "新认定丁"]


def test_a_correction_carries_its_reason_through_the_confirmation(uni, year, login):
    client = login(uni.officer)
    run(client, uni.university)
    client.post(unit_path(uni.university, "/submit"), data=confirmed(uni.university, year))
    page = client.post(unit_path(uni.university, "/submit"), data={"correction_reason": "补录一名学生"})
    text = page.get_data(as_text=True)
    assert "第 2 版（更正）：补录一名学生" in text
    assert 'name="correction_reason" value="补录一名学生"' in text
    assert count(TableSubmission) == 1


def test_the_excel_footer_and_the_page_show_the_same_local_run_time(uni, year, login, client):
    with time_machine.travel("2025-12-01 08:06:00+00:00", tick=False):
        login(uni.officer)
        page = run(client, uni.university).get_data(as_text=True)
        assert "2025年12月1日 16:06" in page
        sheet = load_workbook(io.BytesIO(client.get(unit_path(uni.university, "/table.xlsx")).data)).active
        assert sheet.oddFooter.left.text == "排查时间：2025-12-01 16:06"
        client.post(unit_path(uni.university, "/submit"), data=confirmed(uni.university, year))
        submission = db.session.scalar(select(TableSubmission))
        frozen = client.get(f"/screening/submissions/{submission.id}/table.xlsx")
        assert load_workbook(io.BytesIO(frozen.data)).active.oddFooter.left.text == "排查时间：2025-12-01 16:06"
        assert "2025年12月1日 16:06" in client.get(f"/screening/submissions/{submission.id}").get_data(as_text=True)


def test_the_district_page_shows_each_schools_share_and_how_many_submitted(world, year, login, client):
    for name in ("东一", "东二", "东三"):
        student(world.class_a, Category.REGISTERED, stage=Stage.COMPULSORY, name=name)
    student(world.primary_class, Category.RURAL_DIBAO, stage=Stage.COMPULSORY, name="小学丙")
    student(world.west_class, Category.OTHER, stage=Stage.COMPULSORY)  # another district
    services.run_screening(None, world.primary, year, 1)
    services.submit(None, world.primary, year, 1)
    login(make_user(Role.DISTRICT_OFFICER, world.east))
    page = run(client, world.east).get_data(as_text=True)
    shares = page[page.index('id="shares"'):]
    shares = shares[:shares.index("</table>")]
    assert "1 / 2 所学校已报送" in shares
    rows = {name: shares[shares.index(name):][:shares[shares.index(name):].index("</tr>")]
            for name in ("东城区第一中学", "东城区实验小学")}
    assert '<td class="text-end">3</td>' in rows["东城区第一中学"]
    assert "75.0%" in rows["东城区第一中学"]
    assert "25.0%" in rows["东城区实验小学"]
    assert "已报送 v1" in rows["东城区实验小学"]
    assert "已报送 v1" not in rows["东城区第一中学"]
    assert "西城区民族中学" not in shares


def late_setup(world, year):
    """The university submitted; it is past the autumn deadline; everyone else is late."""
    make_user(Role.SCHOOL_OFFICER, world.university)
    world.voc_officer = make_user(Role.SCHOOL_OFFICER, world.vocational)
    world.east_officer = make_user(Role.DISTRICT_OFFICER, world.east)
    world.west_officer = make_user(Role.DISTRICT_OFFICER, world.west)
    world.school_officer = make_user(Role.SCHOOL_OFFICER, world.east_school)
    world.primary_officer = make_user(Role.SCHOOL_OFFICER, world.primary)
    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER)
    services.run_screening(None, world.university, year, 1)
    services.submit(None, world.university, year, 1)
    return world


def inbox(user) -> list[str]:
    from caretrack.notify.models import Notification

    return list(db.session.scalars(select(Notification.body).where(Notification.user_id == user.id)))


def test_the_city_admin_sees_the_counts_and_reminds_the_late_units(world, year, login, client):
    late_setup(world, year)
    with time_machine.travel("2025-12-20 10:00:00+08:00", tick=False):
        login(make_user(Role.CITY_ADMIN, world.city))
        page = client.get(f"/screening/?{TERM}").get_data(as_text=True)
        assert "示例市 所辖单位报送情况" in page
        for text in ("共 4 个单位", "已报送 1", "逾期未报送 3", "未到截止日未报送 0", ">催报</button>"):
            assert text in page
        page = client.post(f"/screening/units/{world.city.id}/remind?{TERM}", follow_redirects=True)
        assert "已向 3 个逾期未报送的单位发送催报提醒。" in page.get_data(as_text=True)
        assert inbox(world.east_officer) == [
            "东城区 2025-2026 学年第 1 学期的附件2已超过报送截止日 2025年12月15日，尚未报送。请尽快完成排查并报送。"]
        assert inbox(world.school_officer) == []  # schools of a district are the district's to chase
        again = client.post(f"/screening/units/{world.city.id}/remind?{TERM}", follow_redirects=True)
        assert "没有需要催报的单位" in again.get_data(as_text=True)
        assert len(inbox(world.east_officer)) == 1
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "screening_late_reminded")).all()
    assert sorted(e.unit_id for e in events) == sorted([world.east.id, world.west.id, world.vocational.id])


def test_a_district_officer_reminds_its_own_late_schools_only(world, year, login, client):
    from tests.factories import make_unit

    late_setup(world, year)
    make_unit("2199010199", "东城区无人校", UnitKind.SCHOOL, world.east)
    with time_machine.travel("2025-12-20 10:00:00+08:00", tick=False):
        login(world.east_officer)
        page = client.get(unit_path(world.east)).get_data(as_text=True)
        assert "0 / 3 所学校已报送" in page
        assert ">催报</button>" in page
        response = client.post(unit_path(world.east, "/remind"))
        assert response.status_code == 302
        assert response.location.endswith("#reporting")
        page = client.get(response.location).get_data(as_text=True)
        assert "已向 2 个逾期未报送的单位发送催报提醒。" in page
        assert "东城区无人校 没有资助工作人员账号，无法催报，请电话联系。" in page
        assert len(inbox(world.school_officer)) == len(inbox(world.primary_officer)) == 1
        assert client.post(unit_path(world.west, "/remind")).status_code == 404
        assert client.post(unit_path(world.city, "/remind")).status_code == 404
        assert client.post(unit_path(world.east_school, "/remind")).status_code == 404
    assert inbox(world.west_officer) == []


def test_who_may_not_remind(world, year, login, client):
    late_setup(world, year)
    with time_machine.travel("2025-12-20 10:00:00+08:00", tick=False):
        login(world.school_officer)
        assert client.post(unit_path(world.east, "/remind")).status_code == 404
        client.post("/logout")
        login(make_user(Role.INSPECTOR, world.city))
        assert ">催报</button>" not in client.get(f"/screening/?{TERM}").get_data(as_text=True)
        assert client.post(unit_path(world.city, "/remind")).status_code == 403
        client.post("/logout")
        login(make_user(Role.CLASS_TEACHER, world.class_a))
        assert client.post(unit_path(world.east, "/remind")).status_code == 403
    assert inbox(world.east_officer) == []


def test_reminding_needs_the_csrf_token(world, year, login, client, app):
    late_setup(world, year)
    login(make_user(Role.CITY_ADMIN, world.city))
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        with time_machine.travel("2025-12-20 10:00:00+08:00", tick=False):
            assert client.post(unit_path(world.city, "/remind")).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert inbox(world.east_officer) == []


def test_a_district_officer_gets_404_on_another_districts_pages(world, year, login, client):
    student(world.west_class, Category.OTHER, stage=Stage.COMPULSORY)
    services.run_screening(None, world.west, year, 1)
    login(make_user(Role.DISTRICT_OFFICER, world.east))
    for path in ("", "/table.xlsx", "/table.json"):
        assert client.get(unit_path(world.west, path)).status_code == 404
    for path in ("/run", "/submit", "/followups", "/remind"):
        assert client.post(unit_path(world.west, path), data=confirmed(world.west, year)).status_code == 404
    assert count(TableSubmission) == 0
def test_a_rule_name_with_a_percent_sign_keeps_the_rules_pages_working(world, login, client):
    seed_catalog()
    login(make_user(Role.CITY_ADMIN, world.city))
    name = "100% 覆盖：孤儿须获国家助学金 %(x)s %"
    assert client.post("/screening/rules/new", data={**RULE, "name": name}).status_code == 302
    page = client.get("/screening/rules")
    assert page.status_code == 200
    assert "100% 覆盖：孤儿须获国家助学金 %(x)s %" in page.get_data(as_text=True)
    assert "义务教育：已认定的寄宿生须获家庭经济困难寄宿生生活补助" in page.get_data(as_text=True)
