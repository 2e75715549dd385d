"""The student list as its rows, its remembered count and its filters show it: the rows live on every view, the
count remembered per user and filters for HOME_TOTALS_SECONDS (never across scopes), a fixed few statements
whatever the school holds.
"""

import re

from flask import url_for

from caretrack.accounts import services as accounts
from caretrack.core import totals
from caretrack.core.access import Role, ScopeType
from caretrack.core.timeutil import local_today
from caretrack.core.web import option_tags
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.services import academic_year_of, ensure_academic_year
from caretrack.students.models import Category, Level
from tests.factories import identify, make_id_number, make_student, make_user

COUNT = re.compile(r"共 (\d+) 条")
COUNTED_AT = "学生人数统计于"


def page(client, path: str = "/students/") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def counted(html: str) -> int:
    return int(COUNT.search(html).group(1))


def test_the_count_is_remembered_but_a_new_student_shows_at_once(city, client_for, remembering):
    make_student(city.class_a, name="甲一")
    browser = client_for(make_user(Role.SCHOOL_OFFICER, city.east_school))
    first = page(browser)
    assert counted(first) == 1
    make_student(city.class_a, name="甲二")
    db.session.flush()
    within = page(browser)
    assert "甲二" in within  # the rows are read on every view
    assert counted(within) == 1  # the count is what was counted, and the page says when
    assert COUNTED_AT in within
    assert "每 60 秒更新一次" in within
    totals.forget_all()  # the minute is over
    assert counted(page(browser)) == 2


def test_each_filter_is_counted_on_its_own(city, client_for, remembering):
    make_student(city.class_a)
    make_student(city.class_b)
    browser = client_for(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert counted(page(browser)) == 2
    assert counted(page(browser, f"/students/?class={city.class_a.id}")) == 1
    assert counted(page(browser, "/students/?q=nobody")) == 0


def test_a_search_is_counted_on_every_view(city, client_for, remembering):
    make_student(city.class_a, name="王一")
    browser = client_for(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert counted(page(browser, "/students/?q=王")) == 1
    make_student(city.class_a, name="王二")
    html = page(browser, "/students/?q=王")
    assert counted(html) == 2
    assert COUNTED_AT not in html


def test_a_remembered_count_never_reaches_another_scope(city, client_for, remembering):
    for _ in range(3):
        make_student(city.class_a)
    make_student(city.class_b)
    make_student(city.west_class)
    east = client_for(make_user(Role.SCHOOL_OFFICER, city.east_school))
    teacher = client_for(make_user(Role.CLASS_TEACHER, city.class_b))
    west = client_for(make_user(Role.SCHOOL_OFFICER, city.west_school))
    assert counted(page(east)) == 4
    assert counted(page(teacher)) == 1
    assert counted(page(west)) == 1
    assert counted(page(east)) == 4


def test_a_grant_added_counts_the_list_afresh(city, client_for, remembering):
    make_student(city.class_a)
    make_student(city.west_class)
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    browser = client_for(officer)
    assert counted(page(browser)) == 1
    accounts.grant_role(None, officer, Role.SCHOOL_OFFICER, ScopeType.UNIT, city.west_school)
    db.session.flush()
    assert counted(page(browser)) == 2


def test_without_the_minutes_memory_each_view_counts_and_no_time_is_shown(app, city, client_for):
    assert app.config["HOME_TOTALS_SECONDS"] == 0
    make_student(city.class_a)
    browser = client_for(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert counted(page(browser)) == 1
    make_student(city.class_a)
    html = page(browser)
    assert counted(html) == 2
    assert COUNTED_AT not in html


def test_a_remembered_count_costs_no_statement(city, client_for, count_queries, remembering):
    make_student(city.class_a)
    browser = client_for(make_user(Role.SCHOOL_OFFICER, city.east_school))
    with count_queries() as first:
        page(browser, "/students/?year=2025")
    with count_queries() as second:
        page(browser, "/students/?year=2025")
    assert sum("count(" in statement.lower() and "students" in statement for statement in first.statements) == 1
    assert sum("count(" in statement.lower() and "students" in statement for statement in second.statements) == 0
    assert second.count == first.count - 1


def test_the_default_year_is_remembered_per_home_unit_and_day(city, client_for, count_queries, remembering):
    start_year = academic_year_of(local_today())
    ensure_academic_year(start_year)
    make_student(city.class_a)
    browser = client_for(make_user(Role.SCHOOL_OFFICER, city.east_school))
    selected = f'<option value="{start_year}" selected>'
    with count_queries() as first:
        assert selected in page(browser)
    with count_queries() as second:
        assert selected in page(browser)
    assert any("FROM terms" in statement for statement in first.statements)
    assert not any("FROM terms" in statement for statement in second.statements)
    assert selected in page(client_for(make_user(Role.SCHOOL_OFFICER, city.west_school)))


def test_each_row_shows_its_places_badge_and_link(city, login, app):
    student = make_student(city.uni_class, name="机一", student_no="R001")
    identify(student, 2025, Category.OTHER, Category.REGISTERED, level=Level.SPECIAL)
    bare = make_student(city.uni_class, name="机二", student_no="R002")
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    html = page(client, "/students/?year=2025")
    with app.test_request_context():
        link = url_for("students.show_student", student_id=student.id)
    row = html.split(f'<a href="{link}">机一</a>')[1].split("</tr>")[0]
    assert student.id_masked in row
    assert "示例理工大学" in row
    assert '机械工程学院 · <span class="text-nowrap">机械2401</span>' in row
    assert "高等教育" in row
    # The level, then the categories in the notice's order, not the order they were recorded in.
    assert f'{Level.SPECIAL.label}</span> {Category.REGISTERED.label}、{Category.OTHER.label}' in row
    other = html.split(f'/students/{bare.id}">机二</a>')[1].split("</tr>")[0]
    assert '<span class="ct-muted">—</span>' in other


def test_the_rows_and_badges_are_in_english_too(city, login):
    identify(make_student(city.uni_class, name="机一"), 2025, Category.OTHER, Category.ORPHAN, level=Level.DIFFICULT)
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    with client.session_transaction() as session:
        session["locale"] = "en"
    row = page(client, "/students/?year=2025").split(">机一</a>")[1].split("</tr>")[0]
    assert "<td>Higher education</td>" in row
    assert "Difficulty</span> Orphan, Other" in row


def test_the_list_costs_the_same_statements_whatever_the_school_holds(city, login, count_queries):
    """Varies the students, classes, colleges and the shown year's identifications and categories."""
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    identify(make_student(city.uni_class), 2025, Category.ORPHAN)
    paths = ("/students/?year=2025", "/students/?year=2025&identified=yes", "/students/?year=2025&page=2",
             f"/students/?year=2025&college={city.college.id}", "/students/?year=2025&category=orphan")

    def statements() -> list[int]:
        db.session.flush()
        found = []
        for path in paths:
            with count_queries() as counter:
                page(client, path)
            found.append(counter.count)
        return found

    few = statements()
    for index in range(4):
        college = org.get_or_create_college(None, city.university, f"学院{index}")
        for number in range(3):
            school_class = org.get_or_create_class(None, city.university, f"班{index}-{number}", college)
            for serial in range(5):
                birth = f"2006{index + 1:02d}{number * 5 + serial + 1:02d}"
                student = make_student(school_class, id_number=make_id_number(birth=birth))
                if serial % 2:
                    identify(student, 2025, Category.ORPHAN, Category.DISABLED, Category.OTHER)
    assert statements() == few


def test_option_tags_preselect_each_views_choice_from_the_same_list():
    options = [(1, "一班"), (2, "二<班>"), (12, "十二班")]
    assert option_tags(options, 2) == ('<option value="1">一班</option><option value="2" selected>二&lt;班&gt;</option>'
                                       '<option value="12">十二班</option>')
    assert option_tags(options, 1).count(" selected") == 1
    assert '<option value="12" selected>' in option_tags(options, "12")
    assert " selected" not in option_tags(options, "")
    assert " selected" not in option_tags(options, 3)
