"""The screening: each rule and each kind of finding on hand-made students, the counts, re-runs, the tables."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from caretrack.core import lease
from caretrack.core.errors import DomainError
from caretrack.extensions import db
from caretrack.ledger.models import Grade
from caretrack.org.models import Stage, UnitKind
from caretrack.screening import services
from caretrack.screening.models import ScreeningCase
from caretrack.screening.tables import ScreeningTable
from caretrack.students.models import Category, Level
from tests.factories import make_unit
from tests.screening.conftest import grant, student


def findings(unit, year, term=1) -> dict[str, set[str]]:
    """Run the screening; return {student name: {kinds of its open cases}}."""
    services.run_screening(None, unit, year, term)
    cases = db.session.scalars(select(ScreeningCase).where(ScreeningCase.status == "open",
                                                           ScreeningCase.term == term)).all()
    result: dict[str, set[str]] = {}
    for case in cases:
        result.setdefault(case.student.name, set()).add(case.kind_enum.zh_name)
    return result


# --- higher education and vocational: the highest grade of 国家助学金 ------------------------------------------

def test_an_orphan_at_university_without_the_grant_is_unaided(world, year):
    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="孤儿甲")
    assert findings(world.university, year) == {"孤儿甲": {"应助未助"}}


def test_a_grant_below_the_highest_grade_is_reported_as_such(world, year):
    kid = student(world.uni_class, Category.RURAL_DIBAO, stage=Stage.HIGHER, name="低保乙")
    grant(kid, grade=Grade.SECOND, amount="1850.00")
    assert findings(world.university, year) == {"低保乙": {"未按最高档"}}


def test_the_highest_grade_satisfies_the_rule(world, year):
    grant(student(world.uni_class, Category.REGISTERED, stage=Stage.HIGHER, name="建档丙"))
    assert findings(world.university, year) == {}


@pytest.mark.parametrize("flag", ["is_martyr_child", "is_disaster"])
def test_martyrs_children_and_families_hit_by_disaster_need_the_highest_grade(world, year, flag):
    kid = student(world.uni_class, Category.OTHER, stage=Stage.HIGHER, name="标记丁", **{flag: True})
    grant(kid, name="学校奖助学金", grade=None, amount="500.00")
    assert findings(world.university, year) == {"标记丁": {"应助未助"}}


def test_the_same_rule_holds_for_vocational_schools(world, year):
    student(world.voc_class, Category.DISABLED, stage=Stage.VOCATIONAL, name="中职戊")
    assert findings(world.vocational, year) == {"中职戊": {"应助未助"}}


# --- compulsory education: living subsidies -------------------------------------------------------------------

def test_an_identified_boarder_without_the_boarding_subsidy_is_unaided(world, year):
    student(world.primary_class, Category.OTHER, stage=Stage.COMPULSORY, boarder=True, name="寄宿己")
    assert findings(world.primary, year) == {"寄宿己": {"应助未助"}}


def test_the_boarding_subsidy_satisfies_it(world, year):
    kid = student(world.primary_class, Category.OTHER, stage=Stage.COMPULSORY, boarder=True, name="寄宿庚")
    grant(kid, name="家庭经济困难寄宿生生活补助", grade=None, amount="1250.00")
    assert findings(world.primary, year) == {}


@pytest.mark.parametrize("category", [Category.REGISTERED, Category.DISABLED, Category.RURAL_DIBAO,
                                      Category.RURAL_TEKUN])
def test_the_four_categories_not_boarding_need_the_non_boarding_subsidy(world, year, category):
    student(world.primary_class, category, stage=Stage.COMPULSORY, name="走读辛")
    assert findings(world.primary, year) == {"走读辛": {"应助未助"}}


def test_other_non_boarders_only_need_some_aid(world, year):
    student(world.primary_class, Category.ORPHAN, stage=Stage.COMPULSORY, name="走读壬")
    assert findings(world.primary, year) == {"走读壬": {"其他应资助未资助"}}
    kid = student(world.primary_class, Category.OTHER, stage=Stage.COMPULSORY, name="走读癸")
    grant(kid, name="营养改善计划", grade=None, amount="400.00")
    assert "走读癸" not in findings(world.primary, year)


def test_identified_with_no_aid_at_all_is_flagged_for_review(world, year):
    student(world.uni_class, Category.OTHER, stage=Stage.HIGHER, name="无助子")
    assert findings(world.university, year) == {"无助子": {"其他应资助未资助"}}


def test_a_student_missing_a_required_project_is_not_reported_twice(world, year):
    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="孤儿丑")
    assert findings(world.university, year) == {"孤儿丑": {"应助未助"}}  # not also 其他应资助未资助


# --- which payments count ------------------------------------------------------------------------------------

def test_a_payment_of_another_year_does_not_count(world, year):
    from caretrack.org.services import ensure_academic_year

    ensure_academic_year(2024)
    kid = student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="去年寅")
    grant(kid, year=2024)
    assert findings(world.university, year) == {"去年寅": {"应助未助"}}


def test_a_payment_of_a_later_term_does_not_count_but_one_for_the_year_does(world, year):
    kid = student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="学期卯")
    grant(kid, term=2)
    assert findings(world.university, year, term=1) == {"学期卯": {"应助未助"}}
    assert findings(world.university, year, term=2) == {}
    other = student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="全年辰")
    grant(other, term=None, paid_on=date(2025, 11, 1))
    assert "全年辰" not in findings(world.university, year, term=1)


def test_a_removed_payment_does_not_count(world, year):
    from caretrack.ledger.services import remove_entry

    kid = student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="删除巳")
    remove_entry(None, grant(kid), "录入错误")
    assert findings(world.university, year) == {"删除巳": {"应助未助"}}


# --- counts --------------------------------------------------------------------------------------------------

def test_each_student_is_counted_once_by_priority_and_the_sub_counts_add_up(world, year):
    student(world.uni_class, Category.ORPHAN, Category.DISABLED, stage=Stage.HIGHER)  # counts as disabled
    student(world.uni_class, Category.REGISTERED, Category.RURAL_DIBAO, stage=Stage.HIGHER)  # registered
    student(world.uni_class, Category.OTHER, Category.RURAL_TEKUN, stage=Stage.HIGHER)  # rural tekun
    student(world.uni_class, Category.OTHER, stage=Stage.HIGHER, level=Level.SPECIAL)
    counts = services.counts([world.university.id], year)
    assert counts == {"家庭困难学生总数": 4, "建档立卡学生数": 1, "非建档立卡的家庭经济困难残疾学生数": 1,
                      "农村低保家庭学生数": 0, "农村特困救助供养学生数": 1, "孤儿学生数": 0,
                      "学校认定的其他家庭经济困难学生数": 1}
    assert sum(list(counts.values())[1:]) == counts["家庭困难学生总数"]


def test_a_district_table_equals_the_sum_of_its_schools(world, year):
    student(world.class_a, Category.REGISTERED, stage=Stage.COMPULSORY, name="东一")
    student(world.class_b, Category.ORPHAN, stage=Stage.COMPULSORY, boarder=True, name="东二")
    student(world.primary_class, Category.OTHER, stage=Stage.COMPULSORY, name="东三")
    student(world.west_class, Category.OTHER, stage=Stage.COMPULSORY, name="西一")  # another district
    tables = []
    for unit in (world.east_school, world.primary, world.east):
        services.run_screening(None, unit, year, 1)
        tables.append(services.build_table(unit, year, 1))
    school_a, school_b, district = tables
    assert district.form == "附件2"
    for field in district.counts:
        assert district.counts[field] == school_a.counts[field] + school_b.counts[field]
    assert {c.name for c in district.cases} == {c.name for c in school_a.cases + school_b.cases} == {
        "东一", "东二", "东三"}
    assert {c.place for c in district.cases} == {"东城区第一中学", "东城区实验小学"}


def test_coverage_counts_the_students_the_forms_question_is_about(world, year):
    covered = student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER)
    grant(covered)
    student(world.uni_class, Category.REGISTERED, stage=Stage.HIGHER, name="未覆盖")
    student(world.uni_class, Category.OTHER, stage=Stage.HIGHER)  # not asked about by the question
    services.run_screening(None, world.university, year, 1)
    table = services.build_table(world.university, year, 1)
    assert (table.should_cover, table.covered, table.fully_covered) == (2, 1, False)
    assert table.reasons_and_measures == (
        "应助未助 1 人，原因：未填写原因 1 人；已有整改措施 0 人，尚未填写整改措施 1 人。"
        "每名学生的原因和整改措施见下方名单。")


# --- re-runs keep the work; cases close when paid ------------------------------------------------------------

def test_a_rerun_keeps_the_work_done_on_a_case_and_a_payment_closes_it(world, year):
    kid = student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="跟踪午")
    services.run_screening(None, world.university, year, 1)
    case = db.session.scalar(select(ScreeningCase))
    services.update_case(None, case, services.CaseWork(reason="资料未齐", remedy="补齐材料后发放",
                                                       deadline=date(2025, 12, 10), owner_id=None))
    services.run_screening(None, world.university, year, 1)
    assert (case.remedy, case.status, db.session.scalar(select(ScreeningCase.id).where(
        ScreeningCase.id != case.id))) == ("补齐材料后发放", "open", None)
    payment = grant(kid)
    services.run_screening(None, world.university, year, 1)
    assert (case.status, case.closed_by_disbursement_id, case.remedy) == ("closed", payment.id, "补齐材料后发放")
    table = services.build_table(world.university, year, 1)
    assert table.cases[0].remedy == "已于 2025-10-20 发放国家助学金"


def test_a_case_closed_with_a_reason_stays_closed(world, year):
    student(world.uni_class, Category.OTHER, stage=Stage.HIGHER)
    services.run_screening(None, world.university, year, 1)
    case = db.session.scalar(select(ScreeningCase))
    services.close_case(None, case, "学生本人放弃申请，已签字确认")
    services.run_screening(None, world.university, year, 1)
    assert (case.status, case.closed_reason) == ("closed", "学生本人放弃申请，已签字确认")


# --- bad input ------------------------------------------------------------------------------------------------

def test_a_year_without_identification_is_refused(world):
    from caretrack.org.services import ensure_academic_year

    with pytest.raises(DomainError, match="还没有家庭经济困难认定数据"):
        services.run_screening(None, world.university, ensure_academic_year(2023), 1)


def test_a_district_without_schools_is_refused(world, year):
    empty = make_unit("990199", "新区", UnitKind.DISTRICT, world.city)
    with pytest.raises(DomainError, match="下没有学校"):
        services.run_screening(None, empty, year, 1)


def test_a_table_before_any_run_is_refused(world, year):
    student(world.uni_class, Category.OTHER, stage=Stage.HIGHER)
    with pytest.raises(DomainError, match="请先运行排查"):
        services.build_table(world.university, year, 1)


def test_a_second_run_while_one_is_in_progress_is_refused(world, year):
    student(world.uni_class, Category.OTHER, stage=Stage.HIGHER)
    assert lease.acquire(f"screening:{world.university.id}:{year.id}:1", "other", timedelta(minutes=5))
    with pytest.raises(DomainError, match="正在进行中"), services.exclusive_run(world.university, year, 1):
        services.run_screening(None, world.university, year, 1)


def test_the_city_has_no_table(world, year):
    with pytest.raises(DomainError, match="市级单位没有汇总表"):
        services.form_of(world.city)


def test_a_run_issues_the_same_queries_for_2_or_20_students(world, year, count_queries):
    def queries() -> int:
        with count_queries() as counter:
            services.run_screening(None, world.university, year, 1)
        return counter.count

    for _ in range(2):
        student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER)
    queries()  # the first run creates the cases
    few = queries()
    for index in range(18):
        kid = student(world.uni_class, Category.ORPHAN if index % 2 else Category.OTHER, stage=Stage.HIGHER)
        if index % 3 == 0:
            grant(kid, grade=Grade.THIRD, amount="1000.00")
    queries()
    assert queries() == few


# --- the JSON table and submissions --------------------------------------------------------------------------

def test_the_json_names_its_fields_as_the_form_and_masks_ids(world, year):
    kid = student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="表格未")
    services.run_screening(None, world.university, year, 1)
    data = services.build_table(world.university, year, 1).to_json()
    assert (data["表"], data["单位代码"], data["家庭困难学生总数"]) == ("附件1", "4199010001", 1)
    assert data["是否全覆盖"] == "否"
    (case,) = data["应助未助"]
    assert (case["姓名"], case["类型"], case["身份证号"], case["是否已享受部分资助"]) == (
        "表格未", "应助未助", kid.id_masked, "否")
    revealed = services.build_table(world.university, year, 1, reveal_ids=True).to_json()["应助未助"][0]
    from caretrack.core import crypto

    assert revealed["身份证号"] == crypto.decrypt(kid.id_cipher)


def test_a_submitted_table_is_frozen_and_a_correction_needs_a_reason(world, year):
    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="报送申")
    services.run_screening(None, world.university, year, 1)
    first = services.submit(None, world.university, year, 1)
    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="后来酉")
    services.run_screening(None, world.university, year, 1)
    with pytest.raises(DomainError, match="更正原因"):
        services.submit(None, world.university, year, 1)
    second = services.submit(None, world.university, year, 1, "补报一名学生")
    assert (first.version, second.version) == (1, 2)
    frozen = ScreeningTable.from_snapshot(first.snapshot)
    assert [c.name for c in frozen.cases] == ["报送申"]
    assert first.snapshot["counts"]["家庭困难学生总数"] == 1
    assert services.deadline_of(year, 1) == date(2025, 12, 15)
    assert services.deadline_of(year, 2) == date(2026, 6, 15)


def test_a_rule_naming_a_project_not_in_the_catalog_is_refused(world):
    from tests.factories import seed_catalog

    seed_catalog()
    data = services.RuleData(name="测试规则", stage="higher", categories=["orphan"], flags=[], boarder=None,
                             project_name="不存在的助学金", min_grade=None, coverage_form=None, valid_from=2025)
    with pytest.raises(DomainError, match="资助项目目录中没有“不存在的助学金”"):
        services.save_rule(None, data)
    data.project_name, data.min_grade = "国家奖学金", "1"
    with pytest.raises(DomainError, match="不分档次"):
        services.save_rule(None, data)
    data.min_grade = None
    assert services.save_rule(None, data).project_name == "国家奖学金"


def test_cases_become_follow_ups_for_their_owner(world, year):
    from caretrack.core.access import Role
    from caretrack.followups.models import FollowUp
    from tests.factories import make_user

    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="跟进戌")
    services.run_screening(None, world.university, year, 1)
    officer = make_user(Role.SCHOOL_OFFICER, world.university)
    case = db.session.scalar(select(ScreeningCase))
    services.update_case(None, case, services.CaseWork(None, "补发国家助学金一档", date(2025, 12, 10), officer.id))
    assert services.create_followups(officer, [case], date(2025, 11, 20)) == 1
    followup = db.session.scalar(select(FollowUp))
    assert (followup.assignee_id, followup.due_on, followup.source) == (officer.id, date(2025, 12, 10), "screening")


def test_unit_statuses_show_submitted_and_late(world, year):
    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER)
    services.run_screening(None, world.university, year, 1)
    services.submit(None, world.university, year, 1)
    rows = {s.unit.code: s for s in services.statuses(services.reporting_units(world.city), year, 1)}
    assert rows["4199010001"].latest.version == 1
    assert rows["4199010001"].open_cases == 1
    assert rows["990101"].latest is None
    assert rows["990101"].is_late(date(2025, 12, 16))
    assert not rows["990101"].is_late(date(2025, 12, 15))


def test_a_school_of_a_district_reports_its_share_of_the_district_table(world, year):
    student(world.class_a, Category.REGISTERED, stage=Stage.COMPULSORY, name="区校亥")
    services.run_screening(None, world.east_school, year, 1)
    table = services.build_table(world.east_school, year, 1)
    assert (table.form, table.place_column, table.unit_label) == ("附件2", "学校", "学校名称（公章）：")
    assert table.title == "区教育局家庭经济困难学生排查统计汇总表（学校填报）"
    assert (table.should_cover, table.covered) == (1, 0)
    assert services.form_of(world.university) == "附件1"


def test_a_payment_recorded_on_the_form_closes_the_case_at_once(world, year):
    kid = student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="即时甲")
    services.run_screening(None, world.university, year, 1)
    case = db.session.scalar(select(ScreeningCase))
    grant(kid, grade=Grade.SECOND, amount="1850.00")  # not the highest grade: stays open
    assert case.status == "open"
    payment = grant(kid, grade=Grade.FIRST, term=1, paid_on=date(2025, 11, 2))
    assert (case.status, case.closed_by_disbursement_id) == ("closed", payment.id)


# --- issue 10: the table's name, what a case asks for, the reasons summary, local time, 催报 ------------------

def test_one_function_names_each_units_table(world):
    from caretrack.screening.tables import form_for

    district_voc = make_unit("3199010101", "东城区职业学校", UnitKind.VOCATIONAL, world.east, [Stage.VOCATIONAL])
    names = {unit.name: form_for(unit) for unit in (world.city, world.east, world.university, world.vocational,
                                                   world.primary, world.east_school, district_voc)}
    assert names == {"示例市": None, "东城区": "附件2", "示例理工大学": "附件1", "示例市交通运输职业学校": "附件1",
                     "东城区实验小学": "附件2", "东城区第一中学": "附件2", "东城区职业学校": "附件2"}
    statuses = services.statuses([world.university, world.primary, world.east], ensure_year(), 1)
    assert [s.form for s in statuses] == ["附件1", "附件2", "附件2"]


def ensure_year():
    from caretrack.org.services import ensure_academic_year

    return ensure_academic_year(2025)


def test_every_case_says_what_its_rule_asks_for(world, year):
    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name="孤儿甲")
    student(world.primary_class, Category.OTHER, stage=Stage.COMPULSORY, boarder=True, name="寄宿乙")
    student(world.primary_class, Category.OTHER, stage=Stage.COMPULSORY, name="走读丙")
    services.run_screening(None, world.university, year, 1)
    services.run_screening(None, world.primary, year, 1)
    rows = services.build_table(world.university, year, 1).cases + services.build_table(world.primary, year, 1).cases
    assert {(r.name, r.required) for r in rows} == {("孤儿甲", "国家助学金（一档）"),
                                                    ("寄宿乙", "家庭经济困难寄宿生生活补助"), ("走读丙", "任一资助")}
    data = services.build_table(world.university, year, 1).to_json()
    assert data["应助未助"][0]["应享受资助项目"] == "国家助学金（一档）"


def test_a_rule_asking_for_a_lower_grade_says_or_higher():
    from caretrack.screening.models import ScreeningRule

    assert ScreeningRule(project_name="国家助学金", min_grade="2").required_aid == "国家助学金（二档及以上）"


def test_the_reasons_summary_stays_short_whatever_the_number_of_cases():
    from caretrack.screening.tables import summarise_reasons

    cases = ([("应助未助", None, False)] * 6000 + [("应助未助", "认定结果录入较晚", True)] * 900
             + [("应助未助", f"个别原因{i}", True) for i in range(98)] + [("未按最高档", "档次\n评定有误", False)] * 3)
    text = summarise_reasons(cases)
    assert text.startswith("应助未助 6998 人，原因：未填写原因 6000 人、认定结果录入较晚 900 人、")
    assert "其他原因 95 人；已有整改措施 998 人，尚未填写整改措施 6000 人" in text
    assert "未按最高档 3 人，原因：档次 评定有误 3 人；已有整改措施 0 人，尚未填写整改措施 3 人" in text
    assert text.endswith("每名学生的原因和整改措施见下方名单。")
    assert len(text) < 600
    long_reasons = summarise_reasons([("应助未助", "长" * 5000 + str(i), False) for i in range(7000)])
    assert len(long_reasons) < 600
    assert summarise_reasons([]) == ""


def test_the_run_time_of_a_table_is_local(world, year, app):
    import time_machine

    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER)
    with time_machine.travel("2025-12-01 08:06:00+00:00", tick=False):
        services.run_screening(None, world.university, year, 1)
    table = services.build_table(world.university, year, 1)
    assert table.run_at_local == "2025-12-01 16:06"  # Asia/Shanghai
    assert ScreeningTable.from_snapshot(table.snapshot()).run_at_local == "2025-12-01 16:06"
    app.config["CARETRACK_TIMEZONE"] = "Europe/London"
    try:
        assert table.run_at_local == "2025-12-01 08:06"
    finally:
        app.config["CARETRACK_TIMEZONE"] = "Asia/Shanghai"


def test_the_cases_without_a_remedy_are_the_open_ones_with_nothing_written(world, year):
    for name in ("措施甲", "时限乙", "空白丙", "关闭丁"):
        student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name=name)
    services.run_screening(None, world.university, year, 1)
    case_of = {c.student.name: c for c in db.session.scalars(select(ScreeningCase))}
    services.update_case(None, case_of["措施甲"], services.CaseWork(None, "补发", None, None))
    services.update_case(None, case_of["时限乙"], services.CaseWork(None, "  ", date(2025, 12, 10), None))
    services.update_case(None, case_of["空白丙"], services.CaseWork("原因", "   ", None, None))
    services.close_case(None, case_of["关闭丁"], "学生已退学")
    assert [c.student.name for c in services.without_remedy(world.university, year, 1)] == ["空白丙"]


@pytest.fixture
def late_world(world, year):
    """After the autumn deadline: the university submitted, the vocational school and both districts did not."""
    from caretrack.core.access import Role
    from tests.factories import make_user

    world.officers = {name: make_user(Role.SCHOOL_OFFICER, unit) for name, unit in (
        ("uni", world.university), ("voc", world.vocational), ("east_school", world.east_school),
        ("primary", world.primary))}
    world.officers["east"] = make_user(Role.DISTRICT_OFFICER, world.east)
    world.officers["west"] = make_user(Role.DISTRICT_OFFICER, world.west)
    world.officers["gone"] = make_user(Role.DISTRICT_OFFICER, world.west)
    world.officers["gone"].is_active_user = False
    student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER)
    services.run_screening(None, world.university, year, 1)
    services.submit(None, world.university, year, 1)
    return world


def inbox(user) -> list[str]:
    from caretrack.notify.models import Notification

    return list(db.session.scalars(select(Notification.subject).where(Notification.user_id == user.id)))


def reminders() -> list[str]:
    from caretrack.audit.models import AuditEvent

    return list(db.session.scalars(select(AuditEvent.detail).where(
        AuditEvent.action == "screening_late_reminded").order_by(AuditEvent.id)))


def test_the_city_reminds_its_late_units_once_a_day(late_world, year):
    w = late_world
    link = lambda unit: f"/screening/units/{unit.id}"  # noqa: E731
    done = services.remind_late(None, w.city, year, 1, date(2025, 12, 16), link)
    assert sorted(u.name for u in done.units) == ["东城区", "示例市交通运输职业学校", "西城区"]
    assert done.unreachable == []
    assert inbox(w.officers["voc"]) == ["请尽快报送附件1"]
    assert inbox(w.officers["east"]) == inbox(w.officers["west"]) == ["请尽快报送附件2"]
    for quiet in ("uni", "east_school", "primary", "gone"):  # submitted, or not reporting to the city, or inactive
        assert inbox(w.officers[quiet]) == []
    assert len(reminders()) == 3
    assert services.remind_late(None, w.city, year, 1, date(2025, 12, 16), link).units == []
    assert len(inbox(w.officers["east"])) == 1
    assert len(reminders()) == 3
    assert len(services.remind_late(None, w.city, year, 1, date(2025, 12, 17), link).units) == 3  # a new day
    assert len(inbox(w.officers["east"])) == 2


def test_nobody_is_late_before_the_deadline_and_a_district_reminds_only_its_schools(late_world, year):
    w = late_world
    link = lambda unit: "/"  # noqa: E731
    assert services.remind_late(None, w.city, year, 1, date(2025, 12, 15), link).units == []
    summary = services.reporting(w.city, year, 1, date(2025, 12, 15))
    assert (len(summary.submitted), len(summary.late), len(summary.pending)) == (1, 0, 3)
    assert len(services.remind_late(None, w.east, year, 1, date(2025, 12, 16), link).units) == 2
    assert inbox(w.officers["east_school"]) == inbox(w.officers["primary"]) == ["请尽快报送附件2"]
    assert inbox(w.officers["east"]) == inbox(w.officers["voc"]) == []


def test_a_late_unit_without_an_aid_officer_is_named_as_unreachable(late_world, year):
    from caretrack.org.services import get_or_create_class

    lonely = make_unit("2199010199", "东城区无人校", UnitKind.SCHOOL, late_world.east)
    get_or_create_class(None, lonely, "一年级1班")
    done = services.remind_late(None, late_world.east, year, 1, date(2025, 12, 16), lambda unit: "/")
    assert [u.name for u in done.unreachable] == ["东城区无人校"]
    assert lonely not in done.units


def test_a_student_moved_out_of_the_unit_since_the_run_is_listed_at_their_new_school(world, year):
    """The district's 学校 column and the 单位代码 name the student's school now, also one outside the district."""
    moved = student(world.class_a, Category.REGISTERED, stage=Stage.COMPULSORY, name="转学戌")
    student(world.class_a, Category.REGISTERED, stage=Stage.COMPULSORY, name="留校亥")
    services.run_screening(None, world.east, year, 1)
    moved.school_id = world.west_school.id
    db.session.flush()
    cases = {c["姓名"]: c for c in services.build_table(world.east, year, 1).to_json()["应助未助"]}
    assert (cases["转学戌"]["单位代码"], cases["转学戌"]["学校"]) == ("2199010201", "西城区民族中学")
    assert (cases["留校亥"]["单位代码"], cases["留校亥"]["学校"]) == ("2199010101", "东城区第一中学")
