"""Each duty's status over a year, the universities' staffing ratio, and the rules of a record."""

from datetime import date

import pytest

from caretrack.core.errors import DomainError
from caretrack.duties import queries, services
from caretrack.duties.models import DutyStatus
from caretrack.extensions import db
from caretrack.screening.models import TableSubmission
from tests.factories import make_student


def record(unit, duty, done_on, actor=None, **fields):
    data = services.RecordData(duty=duty, done_on=done_on, title=fields.pop("title", "专题培训"), **fields)
    allowed_units = {u.id for u in queries.attending_choices(unit)}
    allowed_people = {u.id for u in queries.trainee_choices(unit)}
    return services.record_duty(actor, unit, data, date(2026, 8, 31), allowed_units, allowed_people)


def status(unit, duty, year, today):
    board = queries.build_board([unit], year, today)
    return board.rows[0].cell(duty.id).status


@pytest.mark.parametrize(("today", "expected"), [
    (date(2025, 9, 1), DutyStatus.DUE),  # the year begins: not due before 30 June
    (date(2026, 6, 30), DutyStatus.DUE),  # the deadline day itself is still in time
    (date(2026, 7, 1), DutyStatus.LATE),
])
def test_a_training_not_held_is_due_until_its_deadline_then_late(city, duties, year, today, expected):
    assert status(city.east, duties["district_training"], year, today) is expected


def test_a_training_held_in_the_year_is_done_and_shows_its_record(city, duties, year):
    entry = record(city.east, duties["district_training"], date(2026, 3, 10), attending_units=[city.east_school])
    board = queries.build_board([city.east], year, date(2026, 12, 1))
    cell = board.rows[0].cell(duties["district_training"].id)
    assert cell.status is DutyStatus.DONE
    assert cell.records == [entry]


def test_a_training_of_the_year_before_leaves_this_year_late(city, duties, year):
    record(city.east, duties["district_training"], date(2025, 8, 31))  # 2024-2025
    assert status(city.east, duties["district_training"], year, date(2026, 7, 1)) is DutyStatus.LATE


def test_publicity_is_due_by_30_september(city, duties, year):
    publicity = duties["policy_publicity"]
    assert status(city.east_school, publicity, year, date(2025, 9, 30)) is DutyStatus.DUE
    assert status(city.east_school, publicity, year, date(2025, 10, 1)) is DutyStatus.LATE
    record(city.east_school, publicity, date(2025, 10, 8), contact="周老师 010-60000000", channel="校园网")
    assert status(city.east_school, publicity, year, date(2025, 10, 9)) is DutyStatus.DONE


def test_the_screening_duty_reads_the_terms_submissions(city, duties, year):
    autumn, spring = duties["screening_autumn"], duties["screening_spring"]
    assert status(city.east_school, autumn, year, date(2025, 12, 15)) is DutyStatus.DUE
    assert status(city.east_school, autumn, year, date(2025, 12, 16)) is DutyStatus.LATE
    db.session.add(TableSubmission(unit_id=city.east_school.id, academic_year_id=year.id, term=1, version=1,
                                   form="附件1", snapshot={}, submitted_at=city.east_school.created_at))
    db.session.flush()
    assert status(city.east_school, autumn, year, date(2025, 12, 16)) is DutyStatus.DONE
    assert status(city.east_school, spring, year, date(2026, 6, 16)) is DutyStatus.LATE


def test_the_aid_centre_needs_a_head_serving_in_the_year(city, duties, year):
    centre = duties["aid_centre"]
    assert status(city.east, centre, year, date(2025, 10, 1)) is DutyStatus.LATE
    head = services.add_staff(None, city.east, "李老师", True, True, date(2024, 9, 1))
    assert status(city.east, centre, year, date(2025, 10, 1)) is DutyStatus.DONE
    services.end_staff(None, head, date(2025, 9, 15))
    assert status(city.east, centre, year, date(2025, 10, 1)) is DutyStatus.LATE


def test_each_kind_of_unit_owes_its_own_duties(city, duties, year):
    board = queries.build_board([city.city, city.east, city.east_school, city.university], year, date(2025, 10, 1))
    owed = {row.unit.code: {cell.duty.code for cell in row.cells} for row in board.rows}
    assert owed[city.city.code] == {"city_training"}
    assert "district_training" in owed[city.east.code]
    assert "policy_publicity" not in owed[city.east.code]
    assert {"school_training", "policy_publicity", "enrolment_desk"} <= owed[city.east_school.code]
    assert "staffing_ratio" in owed[city.university.code]
    assert "staffing_ratio" not in owed[city.east_school.code]


def test_university_staffing_is_one_full_time_person_per_2500_students(city, duties, year, monkeypatch):
    monkeypatch.setattr(queries, "STUDENTS_PER_FULL_TIME_STAFF", 2)  # 2,500 students would make a slow test
    for _number in range(5):
        make_student(city.uni_class)
    services.add_staff(None, city.university, "专职甲", True, True, date(2024, 9, 1))
    services.add_staff(None, city.university, "兼职乙", False, False, date(2024, 9, 1))
    row = queries.build_board([city.university], year, date(2025, 10, 1)).rows[0]
    staffing = row.staffing
    assert (staffing.students, staffing.required, staffing.full_time, staffing.shortfall) == (5, 3, 1, 2)
    assert row.cell(duties["staffing_ratio"].id).status is DutyStatus.LATE
    services.add_staff(None, city.university, "专职丙", True, False, date(2025, 9, 1))
    services.add_staff(None, city.university, "专职丁", True, False, date(2025, 9, 1))
    row = queries.build_board([city.university], year, date(2025, 10, 1)).rows[0]
    assert row.staffing.shortfall == 0
    assert row.cell(duties["staffing_ratio"].id).status is DutyStatus.DONE


def test_the_ratio_rounds_up():
    assert queries.Staffing(students=2500, full_time=0).required == 1
    assert queries.Staffing(students=2501, full_time=0).required == 2
    assert queries.Staffing(students=0, full_time=0).required == 0


def test_untrained_staff_are_those_no_training_of_the_year_lists(city, duties, year, people):
    services.add_staff(None, city.east_school, "周老师", True, True, date(2024, 9, 1), user=people["school"])
    services.add_staff(None, city.east_school, "无账号", False, False, date(2024, 9, 1))
    assert [p.name for p in queries.untrained_staff(city.east_school, year, date(2025, 10, 1))] == ["周老师", "无账号"]
    record(city.east, duties["district_training"], date(2025, 10, 20), attending_units=[city.east_school],
           trainees=[people["school"]])
    assert [p.name for p in queries.untrained_staff(city.east_school, year, date(2025, 10, 21))] == ["无账号"]


def test_a_record_refuses_what_the_notice_does_not_ask(city, duties, year, people):
    with pytest.raises(DomainError) as refused:
        record(city.east_school, duties["district_training"], date(2025, 10, 1))  # a school owes no district training
    assert "不承担" in refused.value.message
    with pytest.raises(DomainError) as refused:
        record(city.east_school, duties["policy_publicity"], date(2025, 10, 1))
    assert "联系人" in refused.value.message
    with pytest.raises(DomainError) as refused:
        record(city.east, duties["district_training"], date(2026, 9, 1))  # after "today"
    assert "晚于今天" in refused.value.message
    with pytest.raises(DomainError) as refused:
        record(city.east, duties["district_training"], date(2025, 10, 1), attending_units=[city.west_school])
    assert "下属单位" in refused.value.message
    with pytest.raises(DomainError) as refused:
        record(city.east, duties["leadership_meeting"], date(2025, 10, 1), trainees=[people["school"]])
    assert "参训人员" in refused.value.message


def test_a_duty_type_is_data_with_effective_years(city, duties, year, people):
    from caretrack.org.models import UnitKind
    from caretrack.org.services import ensure_academic_year

    with pytest.raises(DomainError) as refused:
        services.save_duty_type(people["admin"], services.DutyTypeData(
            name="资助育人专题研讨", unit_kinds=[], due_month=2, due_day=30, first_year=2026, last_year=2025))
    assert {e.field for e in refused.value.errors} == {"unit_kinds", "due_day", "last_year"}
    duty = services.save_duty_type(people["admin"], services.DutyTypeData(
        name="资助育人专题研讨", unit_kinds=[UnitKind.DISTRICT], due_month=3, due_day=31, first_year=2026))
    assert duty.id not in {c.duty.id for c in queries.build_board([city.east], year, date(2025, 10, 1)).rows[0].cells}
    next_year = ensure_academic_year(2026)
    cell = queries.build_board([city.east], next_year, date(2026, 10, 1)).rows[0].cell(duty.id)
    assert (cell.status, cell.due_on) == (DutyStatus.DUE, date(2027, 3, 31))
