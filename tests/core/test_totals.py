"""The home pages' slow-moving totals, remembered for a minute (core/totals.py): counted once, said when, never
shown to another user or for another scope, counted afresh when the grants change or the minute is over.
"""

import re

from caretrack.accounts import services as accounts
from caretrack.core import totals
from caretrack.core.access import Role, ScopeType
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.org.services import academic_year_of, ensure_academic_year
from caretrack.students.models import Category
from tests.factories import identify, make_student, make_user

STUDENTS_CARD = re.compile(r"共 (\d+) 名在校学生，其中 (\d+) 名已完成")


def students_card(client) -> tuple[int, int]:
    html = client.get("/").get_data(as_text=True)
    total, identified = STUDENTS_CARD.search(html).groups()
    return int(total), int(identified)


def _identified(school_class, n: int) -> None:
    start_year = academic_year_of(local_today())
    ensure_academic_year(start_year)
    for _ in range(n):
        identify(make_student(school_class), start_year, Category.ORPHAN)


def test_the_totals_are_counted_once_a_minute_and_the_page_says_when(app, city, client_for, remembering,
                                                                    count_queries):
    _identified(city.class_a, 2)
    browser = client_for(make_user(Role.SCHOOL_OFFICER, city.east_school))
    with count_queries() as first:
        assert students_card(browser) == (2, 2)
    _identified(city.class_a, 1)  # within the minute: the card still says what was counted
    with count_queries() as second:
        page = browser.get("/").get_data(as_text=True)
    assert STUDENTS_CARD.search(page).groups() == ("2", "2")
    assert "图表和学生总数统计于" in page
    assert "每 60 秒更新一次" in page
    assert second.count < first.count
    totals.forget_all()  # the minute is over
    assert students_card(browser) == (3, 3)


def test_without_the_minutes_memory_each_view_counts_and_no_time_is_shown(app, city, client_for):
    assert app.config["HOME_TOTALS_SECONDS"] == 0
    _identified(city.class_a, 1)
    browser = client_for(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert students_card(browser) == (1, 1)
    _identified(city.class_a, 1)
    page = browser.get("/").get_data(as_text=True)
    assert STUDENTS_CARD.search(page).groups() == ("2", "2")
    assert "图表和学生总数统计于" not in page


def test_another_user_never_sees_the_totals_counted_for_someone_else(app, city, client_for, remembering):
    _identified(city.class_a, 3)
    _identified(city.west_class, 1)
    east = client_for(make_user(Role.SCHOOL_OFFICER, city.east_school))
    west = client_for(make_user(Role.SCHOOL_OFFICER, city.west_school))
    assert students_card(east) == (3, 3)
    assert students_card(west) == (1, 1)
    assert students_card(east) == (3, 3)


def test_a_grant_added_counts_afresh_for_the_new_scope(app, city, client_for, remembering):
    _identified(city.class_a, 2)
    _identified(city.west_class, 1)
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    browser = client_for(officer)
    assert students_card(browser) == (2, 2)
    accounts.grant_role(None, officer, Role.SCHOOL_OFFICER, ScopeType.UNIT, city.west_school)
    db.session.flush()
    assert students_card(browser) == (3, 3)
