"""Units, colleges, classes and term dates, without HTTP."""

from datetime import date

import pytest
from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.errors import DomainError
from caretrack.extensions import db
from caretrack.org import services
from caretrack.org.models import College, OwnerType, SchoolClass, Stage, Term, Unit, UnitKind
from tests.factories import make_unit


def unit_data(code: str, kind: UnitKind, parent: str | None, stages=(), name: str = "某单位") -> services.UnitData:
    return services.UnitData(code=code, name=name, kind=kind, parent_code=parent, stages=list(stages))


def audit_count(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))


# --- Units -------------------------------------------------------------------------------------------------

def test_a_unit_is_saved_with_its_parent_and_stages(city):
    unit, changed = services.save_unit(None, unit_data("2199010103", UnitKind.SCHOOL, "990101",
                                                       [Stage.SENIOR_HIGH, Stage.COMPULSORY], "东城区第三中学"))
    assert (unit.parent, unit.stages, unit.owner) == (city.east, [Stage.COMPULSORY, Stage.SENIOR_HIGH],
                                                      OwnerType.PUBLIC)
    assert "name" in changed
    assert audit_count("unit_created") == 7  # the six of the city fixture, and this one


@pytest.mark.parametrize(("code", "kind", "message"), [
    ("99010", UnitKind.DISTRICT, "区的单位代码应为 6 位数字。"),
    ("9901011", UnitKind.DISTRICT, "区的单位代码应为 6 位数字。"),
    ("99O101", UnitKind.DISTRICT, "区的单位代码应为 6 位数字。"),
    ("990103", UnitKind.SCHOOL, "中小学的单位代码应为 10 位数字。"),
    ("21990101031", UnitKind.SCHOOL, "中小学的单位代码应为 10 位数字。"),
    ("41990100x1", UnitKind.UNIVERSITY, "高校的单位代码应为 10 位数字。"),
])
def test_codes_have_6_digits_for_districts_and_10_for_schools(city, code, kind, message):
    parent = "990000" if kind in (UnitKind.DISTRICT, UnitKind.UNIVERSITY) else "990101"
    stages = [Stage.HIGHER] if kind is UnitKind.UNIVERSITY else [Stage.COMPULSORY] if kind.is_school else []
    with pytest.raises(DomainError) as refused:
        services.save_unit(None, unit_data(code, kind, parent, stages))
    assert (refused.value.message, refused.value.field) == (message, "code")
    assert db.session.scalar(select(Unit).where(Unit.code == code)) is None


@pytest.mark.parametrize(("kind", "parent", "stages", "message"), [
    (UnitKind.SCHOOL, "990000", [Stage.COMPULSORY], "中小学不能隶属于市级单位。"),
    (UnitKind.KINDERGARTEN, "990000", [Stage.PRESCHOOL], "幼儿园不能隶属于市级单位。"),
    (UnitKind.UNIVERSITY, "990101", [Stage.HIGHER], "高校不能隶属于区级单位。"),
    (UnitKind.SCHOOL, "2199010101", [Stage.COMPULSORY], "中小学不能隶属于中小学级单位。"),
    (UnitKind.SCHOOL, None, [Stage.COMPULSORY], "请填写上级单位代码。"),
    (UnitKind.SCHOOL, "990199", [Stage.COMPULSORY], "上级单位代码“990199”不存在。"),
])
def test_schools_report_to_a_unit_of_a_fitting_kind(city, kind, parent, stages, message):
    with pytest.raises(DomainError) as refused:
        services.save_unit(None, unit_data("2199010109", kind, parent, stages))
    assert (refused.value.message, refused.value.field) == (message, "parent_code")


def test_districts_report_to_the_city_and_the_city_to_no_one(city):
    with pytest.raises(DomainError, match="区不能隶属于区级单位"):
        services.save_unit(None, unit_data("990103", UnitKind.DISTRICT, "990101"))
    with pytest.raises(DomainError, match="市级单位没有上级单位"):
        services.save_unit(None, unit_data("990001", UnitKind.CITY, "990000"))


def test_a_vocational_school_reports_to_the_city_or_to_a_district(city):
    industry, _ = services.save_unit(None, unit_data("3199010001", UnitKind.VOCATIONAL, "990000", [Stage.VOCATIONAL]))
    district_run, _ = services.save_unit(None, unit_data("3199010101", UnitKind.VOCATIONAL, "990101",
                                                         [Stage.VOCATIONAL]))
    assert (industry.parent, district_run.parent) == (city.city, city.east)


def test_schools_need_a_stage_and_districts_have_none(city):
    with pytest.raises(DomainError, match="学校须至少有一个学段") as no_stage:
        services.save_unit(None, unit_data("2199010109", UnitKind.SCHOOL, "990101", []))
    assert no_stage.value.field == "stages"
    with pytest.raises(DomainError, match="市、区级单位没有学段"):
        services.save_unit(None, unit_data("990103", UnitKind.DISTRICT, "990000", [Stage.COMPULSORY]))


def test_a_code_is_used_once_and_never_changes(city):
    with pytest.raises(DomainError, match="单位代码“990101”已存在"):
        services.save_unit(None, unit_data("990101", UnitKind.DISTRICT, "990000"))
    with pytest.raises(DomainError, match="单位代码不能修改"):
        services.save_unit(None, unit_data("990109", UnitKind.DISTRICT, "990000", name="东城区"), city.east)


def test_an_update_names_the_changed_fields_and_an_identical_one_writes_nothing(city):
    data = unit_data("2199010101", UnitKind.SCHOOL, "990101", [Stage.COMPULSORY], "东城区第一中学（新校区）")
    _unit, changed = services.save_unit(None, data, city.east_school)
    assert changed == ["name", "stages"]
    assert city.east_school.stages == [Stage.COMPULSORY]
    updated = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "unit_updated"))
    assert (updated.object_id, updated.fields) == (city.east_school.id, ["name", "stages"])
    _unit, changed = services.save_unit(None, data, city.east_school)
    assert changed == []
    assert audit_count("unit_updated") == 1


def test_a_school_can_move_to_another_district(city):
    data = unit_data("2199010201", UnitKind.SCHOOL, "990101", [Stage.COMPULSORY], "西城区民族中学")
    _unit, changed = services.save_unit(None, data, city.west_school)
    assert changed == ["parent_id"]
    assert city.west_school.parent == city.east


# --- Colleges and classes ----------------------------------------------------------------------------------

def test_colleges_and_classes_are_created_once(city):
    college = services.get_or_create_college(None, city.university, " 机械工程学院 ")
    assert college is city.college
    school_class = services.get_or_create_class(None, city.university, "机械2402", college)
    assert services.get_or_create_class(None, city.university, "机械2402") is school_class
    assert school_class.college is college
    assert db.session.scalar(select(func.count(College.id)).where(College.school_id == city.university.id)) == 2


def test_the_same_class_name_may_exist_in_two_schools(city):
    assert city.class_a.name == city.west_class.name
    assert city.class_a.id != city.west_class.id


def test_naming_a_college_for_an_existing_class_moves_it_there(city):
    services.get_or_create_class(None, city.university, "机械2401", city.other_college)
    assert city.uni_class.college == city.other_college


def test_only_schools_have_colleges_and_classes(city):
    with pytest.raises(DomainError, match="只有学校才能设置学院"):
        services.get_or_create_college(None, city.east, "某学院")
    with pytest.raises(DomainError, match="只有学校才能设置学院"):
        services.get_or_create_class(None, city.east, "某班")
    assert db.session.scalar(select(func.count(SchoolClass.id)).where(SchoolClass.school_id == city.east.id)) == 0


# --- Academic years and terms ------------------------------------------------------------------------------

def test_an_academic_year_gets_the_default_term_dates_once(city):
    year = services.ensure_academic_year(2025)
    assert services.ensure_academic_year(2025) is year
    defaults = db.session.scalars(select(Term).where(Term.academic_year_id == year.id).order_by(Term.number)).all()
    assert [(t.number, t.unit_id, t.starts_on, t.ends_on) for t in defaults] == [
        (1, None, date(2025, 9, 1), date(2026, 1, 31)),
        (2, None, date(2026, 2, 1), date(2026, 8, 31)),
    ]
    assert year.label == "2025-2026"


def test_a_district_s_term_dates_apply_to_its_schools_only(city):
    year = services.ensure_academic_year(2025)
    services.set_term_dates(None, city.east, year, 1, date(2025, 8, 25), date(2026, 1, 20))
    east = services.term_dates(city.east_school, year, 1)
    west = services.term_dates(city.west_school, year, 1)
    assert (east.starts_on, east.ends_on) == (date(2025, 8, 25), date(2026, 1, 20))
    assert (west.starts_on, west.ends_on) == (date(2025, 9, 1), date(2026, 1, 31))
    assert services.term_dates(city.east_school, year, 2).starts_on == date(2026, 2, 1)


def test_a_school_s_own_dates_win_over_its_district_s(city):
    year = services.ensure_academic_year(2025)
    services.set_term_dates(None, city.east, year, 1, date(2025, 8, 25), date(2026, 1, 20))
    services.set_term_dates(None, city.east_school, year, 1, date(2025, 9, 2), date(2026, 1, 25))
    assert services.term_dates(city.east_school, year, 1).starts_on == date(2025, 9, 2)
    services.set_term_dates(None, city.east_school, year, 1, date(2025, 9, 3), date(2026, 1, 25))
    own = db.session.scalars(select(Term).where(Term.unit_id == city.east_school.id)).all()
    assert [(t.starts_on, t.ends_on) for t in own] == [(date(2025, 9, 3), date(2026, 1, 25))]
    assert audit_count("term_dates_set") == 3


@pytest.mark.parametrize(("number", "starts_on", "ends_on", "message"), [
    (1, date(2025, 6, 30), date(2026, 1, 31), "学期日期须在学年 2025-2026 之内。"),
    (2, date(2026, 2, 1), date(2026, 10, 1), "学期日期须在学年 2025-2026 之内。"),
    (1, date(2026, 1, 31), date(2025, 9, 1), "学期开始日期须早于结束日期。"),
    (1, date(2025, 9, 1), date(2025, 9, 1), "学期开始日期须早于结束日期。"),
    (3, date(2025, 9, 1), date(2026, 1, 31), "学期只能是 1 或 2。"),
])
def test_term_dates_outside_the_year_or_backwards_are_refused(city, number, starts_on, ends_on, message):
    year = services.ensure_academic_year(2025)
    with pytest.raises(DomainError) as refused:
        services.set_term_dates(None, city.east_school, year, number, starts_on, ends_on)
    assert refused.value.message == message
    assert db.session.scalar(select(func.count(Term.id)).where(Term.unit_id.is_not(None))) == 0


def test_a_year_without_terms_says_so(city):
    from caretrack.org.models import AcademicYear

    bare = AcademicYear(start_year=2030)
    db.session.add(bare)
    db.session.flush()
    with pytest.raises(DomainError, match="学年 2030-2031 尚未设置学期"):
        services.term_dates(city.east_school, bare, 1)


@pytest.mark.parametrize(("label", "start_year"), [("2025-2026", 2025), (" 2024-2025 ", 2024)])
def test_year_labels_are_read(label, start_year):
    assert services.parse_year_label(label) == start_year


@pytest.mark.parametrize("label", ["2025-2027", "2025", "25-26", "2025/2026", "", "abcd-efgh"])
def test_malformed_year_labels_are_refused(label):
    with pytest.raises(DomainError, match="学年格式应为"):
        services.parse_year_label(label)


@pytest.mark.parametrize(("day", "start_year"), [
    (date(2025, 9, 1), 2025), (date(2026, 1, 31), 2025), (date(2026, 8, 31), 2025), (date(2025, 8, 31), 2024),
])
def test_the_academic_year_of_a_day(day, start_year):
    assert services.academic_year_of(day) == start_year


def test_make_unit_factory_builds_a_kindergarten_under_a_district(city):
    kindergarten = make_unit("1199010101", "东城区第二幼儿园", UnitKind.KINDERGARTEN, city.east, [Stage.PRESCHOOL])
    assert kindergarten.is_school
    assert kindergarten in city.east.children


# --- Which year and term a day is in, for a unit -----------------------------------------------------------

def _years(*start_years):
    return [services.ensure_academic_year(y) for y in start_years]


def test_on_1_december_the_current_term_is_this_year_s_first_even_when_next_year_is_set_up(city):
    this_year, _next = _years(2026, 2027)
    current = services.term_on(city.east_school, date(2026, 12, 1))
    assert (current.year, current.number) == (this_year, 1)
    assert services.current_year(None, date(2026, 12, 1)) is this_year


def test_on_20_january_a_school_whose_term_ended_on_15_january_is_in_term_2(city):
    year, = _years(2025)
    services.set_term_dates(None, city.east_school, year, 1, date(2025, 9, 1), date(2026, 1, 15))
    services.set_term_dates(None, city.west_school, year, 1, date(2025, 9, 1), date(2026, 1, 31))
    early, late = (services.term_on(school, date(2026, 1, 20)) for school in (city.east_school, city.west_school))
    assert (early.year, early.number, early.starts_on) == (year, 2, date(2026, 2, 1))
    assert (late.year, late.number, late.ends_on) == (year, 1, date(2026, 1, 31))


def test_a_day_in_august_is_in_the_spring_term_unless_the_school_has_started_the_new_year(city):
    last_year, this_year = _years(2025, 2026)
    services.set_term_dates(None, city.east, this_year, 1, date(2026, 8, 25), date(2027, 1, 20))
    default = services.term_on(city.west_school, date(2026, 8, 26))
    started = services.term_on(city.east_school, date(2026, 8, 26))
    assert (default.year, default.number) == (last_year, 2)
    assert (started.year, started.number) == (this_year, 1)
    assert services.term_on(city.east_school, date(2026, 8, 24)).year is last_year


def test_a_day_after_the_last_year_set_up_stays_in_its_last_term_and_none_without_years(city):
    assert services.term_on(city.east_school, date(2026, 12, 1)) is None
    year, = _years(2024)
    current = services.term_on(city.east_school, date(2026, 12, 1))
    assert (current.year, current.number) == (year, 2)


def test_the_screening_deadlines_are_15_december_and_15_june():
    assert services.screening_deadline(2025, 1) == date(2025, 12, 15)
    assert services.screening_deadline(2025, 2) == date(2026, 6, 15)
    assert services.screening_deadlines_in(2026) == [date(2026, 6, 15), date(2026, 12, 15)]
