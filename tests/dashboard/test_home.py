"""我的工作: every number on each role's home page is the total of the list it links to, the charts' tables are their
data, the counts stay inside the user's scope, and the page runs as many queries whatever the size of the data.
"""

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


def _grow(city, user, start_year: int, n: int) -> None:
    """Students, identifications and follow-ups (the user's where they see the student) in every class."""
    from caretrack.core.access import Permission, can

    today = local_today()
    admin = make_user(Role.CITY_ADMIN, city.city)
    for school_class in (city.class_a, city.class_b, city.west_class):
        for index in range(n):
            student = make_student(school_class)
            identify(student, start_year, list(Category)[index % len(Category)])
            assignee = user if can(user, Permission.LEDGER_VIEW, student) else admin
            followups.schedule(admin, followups.FollowUpData(student, FollowUpKind.CALL, assignee,
                                                             today + timedelta(days=index % 9 - 3)),
                               today, confirm_past=True)
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
