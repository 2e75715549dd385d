"""The visit cadence: what each policy asks of each student, and whether it was done."""

from datetime import date

import pytest

from caretrack.followups import cadence, services
from caretrack.ledger.models import RecordKind
from caretrack.org.services import ensure_academic_year
from caretrack.students.models import Category, Level
from tests.factories import care, identify, make_student

YEAR = 2026


@pytest.fixture
def rules(app):
    services.seed_cadence()


def states(student, today: date) -> dict[str, str]:
    owed = cadence.obligations([student], ensure_academic_year(YEAR), today)[student.id]
    return {f"{o.rule.record_kind}/{o.window}/{o.rule.category or o.rule.level or 'all'}": o.state for o in owed}


def test_an_identified_student_owes_a_talk_each_term_and_a_visit_each_year(city, rules):
    student = make_student(city.class_a)
    identify(student, YEAR, Category.OTHER, level=Level.GENERAL)
    assert states(student, date(2026, 11, 28)) == {
        "talk/term1/all": "due", "talk/term2/all": "upcoming", "home_visit/year/all": "due"}


def test_a_student_not_identified_owes_nothing(city, rules):
    student = make_student(city.class_a)
    assert cadence.obligations([student], ensure_academic_year(YEAR), date(2026, 11, 28)) == {}


def test_registered_students_owe_a_visit_every_term(city, rules):
    student = make_student(city.class_a)
    identify(student, YEAR, Category.REGISTERED, level=Level.GENERAL)
    found = states(student, date(2026, 11, 28))
    assert found["home_visit/term1/registered"] == "due"
    assert found["home_visit/term2/registered"] == "upcoming"
    assert "home_visit/term1/special" not in found


def test_specially_difficult_students_owe_a_visit_every_term(city, rules):
    student = make_student(city.class_a)
    identify(student, YEAR, Category.ORPHAN, level=Level.SPECIAL)
    assert states(student, date(2026, 11, 28))["home_visit/term1/special"] == "due"


def test_a_record_in_the_window_fulfils_it_and_a_missed_window_is_overdue(city, rules):
    student = make_student(city.class_a)
    identify(student, YEAR, Category.REGISTERED)
    care(student, RecordKind.HOME_VISIT, happened_on=date(2026, 10, 8))
    found = states(student, date(2027, 3, 1))
    assert found["home_visit/year/all"] == "done"
    assert found["home_visit/term1/registered"] == "done"
    assert found["home_visit/term2/registered"] == "due"
    assert found["talk/term1/all"] == "overdue"


def test_a_removed_record_fulfils_nothing(city, rules):
    from caretrack.ledger.services import remove_entry

    student = make_student(city.class_a)
    identify(student, YEAR, Category.OTHER)
    remove_entry(None, care(student, RecordKind.TALK, happened_on=date(2026, 10, 8)), "记错了")
    assert states(student, date(2026, 11, 28))["talk/term1/all"] == "due"


def test_a_schools_own_term_dates_set_the_windows(city, rules):
    from caretrack.org.services import set_term_dates

    year = ensure_academic_year(YEAR)
    set_term_dates(None, city.east_school, year, 1, date(2026, 8, 25), date(2027, 1, 15))
    student = make_student(city.class_a)
    identify(student, YEAR, Category.OTHER)
    care(student, RecordKind.TALK, happened_on=date(2026, 8, 28))
    assert states(student, date(2026, 11, 28))["talk/term1/all"] == "done"


def test_an_inactive_or_expired_rule_asks_nothing(city, rules):
    from sqlalchemy import select

    from caretrack.extensions import db
    from caretrack.followups.models import CadenceRule

    for rule in db.session.scalars(select(CadenceRule)):
        rule.valid_to = 2025
    student = make_student(city.class_a)
    identify(student, YEAR, Category.OTHER)
    assert cadence.obligations([student], ensure_academic_year(YEAR), date(2026, 11, 28))[student.id] == []
