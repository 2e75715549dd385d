"""我的工作: every number on each role's home page is the total of the list it links to, the charts' tables are their
data, the counts stay inside the user's scope, and the page runs as many queries whatever the size of the data.
"""

import itertools
import re
from datetime import datetime, time, timedelta, timezone
from html import unescape

import pytest
import time_machine
from sqlalchemy import func, select

from caretrack.accounts.models import User
from caretrack.activities.models import Activity, Club, ClubProposal, ProposalStatus
from caretrack.core.access import Role
from caretrack.core.timeutil import local_today
from caretrack.dashboard import queries
from caretrack.extensions import db
from caretrack.followups import services as followups
from caretrack.followups.models import FollowUpKind
from caretrack.jobs.models import Job
from caretrack.notify.services import notify
from caretrack.org.services import academic_year_of, ensure_academic_year, screening_deadline, term_on
from caretrack.students.models import Category, Student
from tests.core.test_probe import add_probe_data, load_demo, log_in
from tests.factories import identify, make_student, make_user

COUNTED = re.compile(r'<a href="([^"]+)" data-count="(\d+)"')
PAGER_TOTAL = re.compile(r"共 (\d+) 条")


def counted_lines(html: str) -> list[tuple[str, int]]:
    return [(unescape(url), int(n)) for url, n in COUNTED.findall(html)]


def listed(browser, url: str) -> int:
    """How many rows the page behind a link lists: its pager's total, or the rows of the list it anchors."""
    response = browser.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    if "#proposals" in url:
        block = html.split('id="proposals"', 1)[1].split("</ul>", 1)[0] if 'id="proposals"' in html else ""
        return block.count("<li")
    if url.startswith("/screening/"):
        body = html.split("<tbody>")[-1].split("</tbody>")[0]
        return body.count("/screening/units/")
    totals = PAGER_TOTAL.findall(html)
    assert totals, f"no total on {url}"
    return int(totals[-1])


def add_work(usernames) -> None:
    """What makes the demo's counts other than zero: follow-ups due and overdue, unread notices, club work."""
    today = local_today()
    users = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(usernames)))}
    teacher = users["teacher"]
    students = db.session.scalars(select(Student).where(Student.class_id == teacher.role_assignments[0].scope_id)
                                  .order_by(Student.id).limit(3)).all()
    for student, due in zip(students, (today, today + timedelta(days=3), today - timedelta(days=5)), strict=True):
        followups.schedule(teacher, followups.FollowUpData(student, FollowUpKind.TALK, teacher, due), today,
                           confirm_past=True)
    for user in users.values():
        notify(user.id, f"home-{user.id}", "请查看")
    club = db.session.scalar(select(Club).order_by(Club.id))
    for held_on in (today + timedelta(days=2), today - timedelta(days=2)):
        db.session.add(Activity(unit_id=club.school_id, club_id=club.id, title="社团活动", held_on=held_on))
    outsider = db.session.scalar(select(Student).where(Student.school_id == club.school_id,
                                                       ~Student.id.in_([m.id for m in club.members])))
    db.session.add(ClubProposal(club_id=club.id, student_id=outsider.id))
    for status in ("failed", "done"):
        db.session.add(Job(kind="import.students", user_id=users["school_officer"].id, status=status))
    db.session.flush()


@pytest.fixture
def demo_city(app, runner):
    usernames, password = load_demo(runner)
    add_probe_data(app)
    add_work(usernames)
    db.session.commit()
    return usernames, password


def test_every_number_on_each_demo_roles_home_page_is_the_total_of_the_list_it_links_to(app, demo_city):
    usernames, password = demo_city
    seen = {}
    for username in usernames:
        browser = log_in(app, username, password)
        home = browser.get("/").get_data(as_text=True)
        lines = counted_lines(home)
        assert lines, username
        for url, count in lines:
            assert listed(browser, url) == count, (username, url)
        seen[username] = dict(lines)
    # The work added shows where it belongs, and only there.
    assert seen["teacher"]["/followups/?due=today"] == 1
    assert seen["teacher"]["/followups/?due=week"] == 3  # the demo has one of its own
    assert seen["teacher"]["/followups/?due=overdue"] == 1
    assert seen["teacher2"]["/followups/?due=today"] == 0
    assert seen["club_leader"]["/activities/?when=upcoming"] == 1
    assert seen["club_leader"]["/activities/?when=unrecorded"] == 1
    proposed = db.session.scalar(select(func.count()).select_from(ClubProposal)
                                 .where(ClubProposal.status == ProposalStatus.PENDING))
    assert proposed >= 1  # the probe's and add_work's
    assert any(url.endswith("#proposals") and n == proposed for url, n in seen["club_leader"].items())
    assert all(seen[name]["/inbox/?unread=1"] >= 1 for name in usernames)
    assert seen["school_officer"]["/imports/failed"] >= 1


def test_each_role_sees_its_own_sections_and_someone_of_several_roles_sees_each(app, demo_city):
    usernames, password = demo_city
    expected = {"teacher": "home-care", "club_leader": "home-club", "school_officer": "home-school",
                "district": "home-oversight", "city": "home-oversight", "inspector": "home-oversight"}
    for username, section in expected.items():
        assert f'id="{section}"' in log_in(app, username, password).get("/").get_data(as_text=True), username
    school_officer = db.session.scalar(select(User).where(User.username == "school_officer"))
    school = db.session.get(type(school_officer.role_assignments[0]), school_officer.role_assignments[0].id).scope_id
    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    from caretrack.accounts.services import grant_role
    from caretrack.core.access import ScopeType
    from caretrack.org.models import Unit

    grant_role(None, teacher, Role.SCHOOL_OFFICER, ScopeType.UNIT, db.session.get(Unit, school))
    db.session.commit()
    page = log_in(app, "teacher", password).get("/").get_data(as_text=True)
    assert 'id="home-care"' in page
    assert 'id="home-school"' in page


def test_the_city_page_shows_the_late_units_with_the_reminder_and_the_inspector_reads_them_without(app, demo_city):
    usernames, password = demo_city
    term = term_on(None, local_today())
    after_deadline = screening_deadline(term.year.start_year, term.number) + timedelta(days=3)
    with time_machine.travel(datetime.combine(after_deadline, time(4, 0), tzinfo=timezone.utc), tick=False):
        browser = log_in(app, "city", password)  # the demo's district has not submitted: late to the city
        page = browser.get("/").get_data(as_text=True)
        late = dict(counted_lines(page))[f"/screening/?year={term.year.start_year}&term={term.number}&report=late"]
        assert late > 0
        assert listed(browser, f"/screening/?year={term.year.start_year}&term={term.number}&report=late") == late
        assert 'id="reporting"' in page
        assert "/remind" in page
        assert 'id="chart-submissions"' in page
        inspector = log_in(app, "inspector", password).get("/").get_data(as_text=True)
        assert 'id="chart-submissions"' in inspector
        assert "/remind" not in inspector


CHART_CELL = re.compile(r'<td class="text-end"><a href="([^"]+)">(\d+)</a></td>')


def test_the_identified_chart_table_is_its_data_and_each_bar_is_the_total_of_its_list(app, demo_city):
    usernames, password = demo_city
    browser = log_in(app, "district", password)
    page = browser.get("/").get_data(as_text=True)
    chart = page.split('id="chart-identified"', 1)[1].split("</figure>", 1)[0]
    cells = [(unescape(url), int(n)) for url, n in CHART_CELL.findall(chart)]
    district = db.session.scalar(select(User).where(User.username == "district"))
    year = ensure_academic_year(academic_year_of(local_today()))
    with app.test_request_context():
        data = queries.identified_by_stage_and_category(district, year)
    assert sum(n for _url, n in cells) == sum(data.values()) > 0
    for url, n in cells:
        assert listed(browser, url) == n, url
    svg_values = [int(v) for v in re.findall(r'fill="#222">(\d+)</text>', chart.split("<svg", 1)[1].split("</svg>")[0])]
    assert sorted(v for v in svg_values) == sorted(n for _url, n in cells)


# --- scope and query counts on a small city of our own -------------------------------------------------------

def test_a_class_teachers_counts_cover_only_their_class(app, city, client, login):
    today = local_today()
    start_year = academic_year_of(today)
    ensure_academic_year(start_year)
    mine = [make_student(city.class_a) for _ in range(2)]
    others = [make_student(city.class_b) for _ in range(3)]
    for student in mine + others:
        identify(student, start_year, Category.ORPHAN)
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    colleague = make_user(Role.CLASS_TEACHER, city.class_b)
    for student in others:  # due today, but in another class and on another's list
        followups.schedule(colleague, followups.FollowUpData(student, FollowUpKind.CALL, colleague, today), today)
    followups.schedule(teacher, followups.FollowUpData(mine[0], FollowUpKind.CALL, teacher, today), today)
    login(teacher)
    lines = dict(counted_lines(client.get("/").get_data(as_text=True)))
    assert lines["/followups/?due=today"] == 1
    assert lines[f"/ledger/caseload?days={app.config['CARE_STALE_DAYS']}&stale=1"] == 2
    assert lines["/summaries/narratives"] == 2


_new_units = itertools.count(1)


def _grow(city, user, start_year: int, n: int) -> None:
    """More of everything a home page counts: a school of its own in the east district with a class, students,
    identifications and follow-ups (the user's where they see the student) in every class, and the district's
    screening run again over them all (more cases).
    """
    from caretrack.core.access import Permission, can
    from caretrack.org import services as org
    from caretrack.org.models import UnitKind
    from caretrack.screening import rules as screening_rules
    from caretrack.screening import services as screening
    from tests.factories import make_unit

    today = local_today()
    admin = make_user(Role.CITY_ADMIN, city.city)
    serial = next(_new_units)
    school = make_unit(f"21990109{serial:02d}", f"东城区新学校{serial}", UnitKind.SCHOOL, city.east)
    classes = [city.class_a, city.class_b, city.west_class, org.get_or_create_class(None, school, "初一(1)班")]
    for school_class in classes:
        for index in range(n):
            student = make_student(school_class)
            identify(student, start_year, list(Category)[index % len(Category)])
            assignee = user if can(user, Permission.LEDGER_VIEW, student) else admin
            followups.schedule(admin, followups.FollowUpData(student, FollowUpKind.CALL, assignee,
                                                             today + timedelta(days=index % 9 - 3)),
                               today, confirm_past=True)
    screening_rules.seed_rules()
    term = term_on(None, today)
    for unit in (city.east, city.east_school):
        screening.run_screening(admin, unit, term.year, term.number)
    db.session.flush()  # written before the page is asked for, not inside its queries


@pytest.mark.parametrize("role", ["class_teacher", "school_officer", "district_officer", "city_admin"])
def test_the_home_page_runs_as_many_queries_whatever_the_size_of_the_data(app, city, client, login, count_queries,
                                                                           role):
    start_year = academic_year_of(local_today())
    ensure_academic_year(start_year)
    scopes = {"class_teacher": city.class_a, "school_officer": city.east_school, "district_officer": city.east,
              "city_admin": city.city}
    user = make_user(Role(role), scopes[role])
    login(user)
    _grow(city, user, start_year, 1)
    client.get("/")
    with count_queries() as small:
        assert client.get("/").status_code == 200
    _grow(city, user, start_year, 6)
    with count_queries() as large:
        assert client.get("/").status_code == 200
    assert large.count == small.count, (role, [q[:150] for q in large.statements if q not in small.statements])


# --- the required-grant coverage chart, the overseers' scope ------------------------------------------------

def _chart_cells(page: str, key: str) -> list[tuple[str, str, int]]:
    """(row label, url, value) of each cell of a chart's table."""
    chart = page.split(f'id="chart-{key}"', 1)[1].split("</figure>", 1)[0]
    cells = []
    for row in re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", chart):
        cells += [(unescape(row[0]), unescape(url), int(n)) for url, n in CHART_CELL.findall(row[1])]
    return cells


def test_the_required_coverage_chart_is_the_coverage_question_of_each_units_table(app, demo_city):
    from caretrack.org.models import Unit
    from caretrack.screening import services as screening

    usernames, password = demo_city
    term = term_on(None, local_today())
    tables = 0
    for username in ("district", "city"):
        page = log_in(app, username, password).get("/").get_data(as_text=True)
        cells = _chart_cells(page, "required_coverage")
        assert cells, username
        by_unit: dict[int, list[int]] = {}
        for _label, url, n in cells:
            by_unit.setdefault(int(re.search(r"/screening/units/(\d+)", url).group(1)), []).append(n)
        for unit_id, (should_cover, covered) in by_unit.items():
            table = screening.build_table(db.session.get(Unit, unit_id), term.year, term.number)
            assert (should_cover, covered) == (table.should_cover, table.covered), (username, unit_id)
            tables += 1
        chart = page.split('id="chart-required_coverage"', 1)[1].split("</figure>", 1)[0]
        svg = chart.split("<svg", 1)[1].split("</svg>")[0]
        assert sorted(int(v) for v in re.findall(r'fill="#222">(\d+)</text>', svg)) == sorted(n for *_x, n in cells)
    assert tables >= 2  # the district's school and the university reporting to the city


def _screened_city(city, start_year: int):
    """Identified students without aid in both districts and the university, each unit's screening run."""
    from caretrack.screening import rules as screening_rules
    from caretrack.screening import services as screening

    screening_rules.seed_rules()
    term = term_on(None, local_today())
    for school_class, n in ((city.class_a, 2), (city.west_class, 3), (city.uni_class, 1)):
        for _ in range(n):
            identify(make_student(school_class), start_year, Category.ORPHAN)
    for unit in (city.east, city.west, city.university):
        screening.run_screening(None, unit, term.year, term.number)
    db.session.flush()
    return term


def test_a_district_officer_counts_and_charts_only_the_schools_reporting_to_the_district(app, city, client, login):
    from caretrack.screening.models import ScreeningCase

    start_year = academic_year_of(local_today())
    ensure_academic_year(start_year)
    term = _screened_city(city, start_year)
    officer = make_user(Role.DISTRICT_OFFICER, city.east)
    login(officer)
    page = client.get("/").get_data(as_text=True)
    lines = dict(counted_lines(page))
    reported = {url: n for url, n in lines.items() if "report=" in url}
    assert sum(reported.values()) == 1  # the district's one school, not the district's own table as well
    assert "西城区民族中学" not in page
    assert "示例理工大学" not in page
    east_cases = db.session.scalar(select(func.count()).select_from(ScreeningCase).where(
        ScreeningCase.school_id == city.east_school.id, ScreeningCase.academic_year_id == term.year.id))
    assert east_cases > 0
    by_unit = _chart_cells(page, "cases_by_unit")
    assert {label for label, _url, _n in by_unit} == {"东城区第一中学"}
    assert sum(n for *_x, n in by_unit) == east_cases
    assert sum(n for *_x, n in _chart_cells(page, "cases_by_term")) == east_cases
    for url, n in reported.items():
        assert listed(client, url) == n, url


def test_the_city_counts_the_districts_and_the_schools_reporting_to_it(app, city, client, login):
    from caretrack.screening.models import ScreeningCase

    start_year = academic_year_of(local_today())
    ensure_academic_year(start_year)
    _screened_city(city, start_year)
    login(make_user(Role.CITY_ADMIN, city.city))
    page = client.get("/").get_data(as_text=True)
    reported = {url: n for url, n in counted_lines(page) if "report=" in url}
    assert sum(reported.values()) == 3  # east, west, the university
    by_unit = _chart_cells(page, "cases_by_unit")
    assert {label for label, _url, _n in by_unit} == {"东城区", "西城区", "示例理工大学"}
    assert sum(n for *_x, n in by_unit) == db.session.scalar(select(func.count()).select_from(ScreeningCase))
    coverage = {label for label, _url, _n in _chart_cells(page, "required_coverage")}
    assert coverage == {"东城区", "西城区", "示例理工大学"}  # each ran its own screening
    for url, n in reported.items():
        assert listed(client, url) == n, url


def test_a_school_aid_officer_counts_the_summaries_of_their_school_not_yet_generated(app, city, client, login):
    from caretrack.summaries.models import GeneratedSummary

    start_year = academic_year_of(local_today())
    ensure_academic_year(start_year)
    mine = [make_student(city.class_a), make_student(city.class_b)]
    for student in [*mine, make_student(city.west_class)]:
        identify(student, start_year, Category.ORPHAN)
    make_student(city.class_a)  # no file this year: no summary owed
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert dict(counted_lines(client.get("/").get_data(as_text=True)))["/summaries/missing"] == 2
    term = term_on(None, local_today())
    db.session.add(GeneratedSummary(student_id=mine[0].id, school_id=mine[0].school_id,
                                    academic_year_id=term.year.id, term=term.number, content={}))
    db.session.flush()
    lines = dict(counted_lines(client.get("/").get_data(as_text=True)))
    assert lines["/summaries/missing"] == 1 == listed(client, "/summaries/missing")


def test_the_owed_visits_counted_in_sql_are_those_the_cadence_finds_student_by_student(app, city):
    """owing_query (set-based) against cadence.attention (per student, in Python) over varied students, rules,
    records and a school with its own term dates, at several days of the year.
    """
    from datetime import date

    from caretrack.followups import cadence
    from caretrack.followups import queries as followup_queries
    from caretrack.followups.services import seed_cadence
    from caretrack.ledger.models import RecordKind
    from caretrack.org.services import set_term_dates
    from caretrack.students.models import Level
    from tests.factories import care

    seed_cadence()
    year = ensure_academic_year(2026)
    set_term_dates(None, city.west_school, year, 1, date(2026, 8, 25), date(2027, 1, 20))
    students = []
    for index, school_class in enumerate([city.class_a, city.class_b, city.west_class] * 4):
        student = make_student(school_class)
        category = [Category.OTHER, Category.REGISTERED, Category.ORPHAN, Category.DISABLED][index % 4]
        identify(student, 2026, category, level=[Level.GENERAL, Level.SPECIAL, Level.DIFFICULT][index % 3])
        if index % 3 == 0:  # done for the first term
            care(student, RecordKind.TALK, happened_on=date(2026, 10, 8))
            care(student, RecordKind.HOME_VISIT, happened_on=date(2026, 10, 9))
        if index % 4 == 1:
            care(student, RecordKind.HOME_VISIT, happened_on=date(2026, 8, 28))  # inside the west's term only
        students.append(student)
    make_student(city.class_a)  # not identified: owes nothing
    admin = make_user(Role.CITY_ADMIN, city.city)
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    for today in (date(2026, 9, 10), date(2026, 11, 28), date(2027, 3, 1)):
        owed = cadence.obligations(students, year, today)
        expected = {s.id for s in students if cadence.attention(owed.get(s.id, []))}
        found = set(db.session.scalars(followup_queries.owing_query(admin, year, today).with_only_columns(
            Student.id)))
        assert found == expected, today
        if today == date(2026, 11, 28):
            assert 0 < len(found) < len(students)  # some done, some owed: the test can tell them apart
        mine = set(db.session.scalars(followup_queries.owing_query(teacher, year, today).with_only_columns(
            Student.id)))
        assert mine == {s.id for s in students if s.class_id == city.class_a.id and s.id in expected}


def test_the_activity_coverage_charts_count_as_the_coverage_page_does(app, demo_city):
    """activities.coverage_totals (one query, the charts') gives the numbers of activities.coverage (the page's)."""
    from caretrack.activities import queries as activities
    from caretrack.org.models import Unit

    usernames, password = demo_city
    year = ensure_academic_year(academic_year_of(local_today()))

    def shape(entries):
        return [(e.goal.id, e.expected, e.reached, [(s.school.id, s.expected, s.reached) for s in e.schools])
                for e in entries]

    reached = 0
    for unit in db.session.scalars(select(Unit).order_by(Unit.id)):
        expected = activities.coverage(unit, year, list_unreached=False)
        assert shape(activities.coverage_totals(unit, year)) == shape(expected), unit.code
        reached += sum(e.reached for e in expected)
    assert reached > 0  # the demo's activities reach someone: the sums are tried, not only the zeros
    district = db.session.scalar(select(Unit).where(Unit.kind == "district"))
    page = log_in(app, "district", password).get("/").get_data(as_text=True)
    cells = _chart_cells(page, f"coverage-{district.id}")
    assert [n for *_x, n in cells] == [n for e in activities.coverage(district, year, list_unreached=False)
                                       for n in (e.expected, e.reached)]
