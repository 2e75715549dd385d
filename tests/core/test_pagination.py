"""Every list pages: with more rows than a page, page 1 holds a page of them, page 2 the rest, none twice."""

from datetime import date

import pytest

from caretrack.core.access import Role
from caretrack.core.pagination import page_of
from caretrack.org.models import UnitKind
from tests.factories import care, identify, make_student, make_unit, make_user, pay

PER_PAGE = 3
NAMES = ["分页甲", "分页乙", "分页丙", "分页丁", "分页戊"]  # no name is part of another
MEMBERS = ["社员子", "社员丑", "社员寅", "社员卯", "社员辰"]


@pytest.fixture(autouse=True)
def small_pages(app, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", PER_PAGE)


def assert_paged(client, url: str, names: list[str]) -> None:
    """Page 1 shows PER_PAGE of the names and links to page 2, which shows the others; no name is on both."""
    joiner = "&" if "?" in url else "?"
    first = client.get(url)
    second = client.get(f"{url}{joiner}page=2")
    assert (first.status_code, second.status_code) == (200, 200)
    first, second = first.get_data(as_text=True), second.get_data(as_text=True)
    on_first = [name for name in names if name in first]
    on_second = [name for name in names if name in second]
    assert len(on_first) == PER_PAGE, on_first
    assert sorted(on_first + on_second) == sorted(names), (on_first, on_second)
    assert "page=2" in first
    assert f"共 {len(names)} 条" in second


def test_page_of_a_list_in_memory():
    page = page_of(list(range(7)), page=3, per_page=3)
    assert (page.items, page.pages, page.has_prev, page.has_next) == ([6], 3, True, False)


def test_the_students_pages(city, client, login):
    for name in NAMES:
        make_student(city.class_a, name=name)
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert_paged(client, "/students/", NAMES)


def test_the_follow_ups_page(city, client, login):
    from caretrack.followups import services
    from caretrack.followups.models import FollowUpKind

    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    for name in NAMES:
        services.schedule(teacher, services.FollowUpData(
            student=make_student(city.class_a, name=name), kind=FollowUpKind.VISIT, assignee=teacher,
            due_on=date(2026, 12, 20)), date(2026, 12, 1))
    login(teacher)
    assert_paged(client, "/followups/", NAMES)


def test_the_disbursements_page(city, client, login):
    for number, name in enumerate(NAMES):
        pay(make_student(city.class_a, name=name), "营养改善计划", "400.00", voucher=f"P{number}")
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert_paged(client, "/ledger/disbursements", NAMES)


def test_the_units_page(city, client, login):
    for number, name in enumerate(NAMES):
        make_unit(f"21990101{number + 50}", f"{name}学校", UnitKind.SCHOOL, city.east)
    login(make_user(Role.CITY_ADMIN, city.city))
    assert_paged(client, "/units/?q=分页", NAMES)


def test_the_users_page(city, client, login):
    for name in NAMES:
        make_user(Role.CLASS_TEACHER, city.class_a, display_name=f"{name}老师")
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert_paged(client, "/users?q=分页", NAMES)


def test_the_inbox_pages(city, client, login):
    from caretrack.notify.services import notify

    reader = make_user(Role.CLASS_TEACHER, city.class_a)
    for name in NAMES:
        notify(reader.id, f"key-{name}", f"{name}的通知")
    login(reader)
    assert_paged(client, "/inbox/", NAMES)


def test_the_webhook_units_page(city, client, login):
    for number, name in enumerate(NAMES):
        make_unit(f"21990101{number + 50}", f"{name}学校", UnitKind.SCHOOL, city.east)
    login(make_user(Role.DISTRICT_OFFICER, city.east))
    # seven units: the district, its school and the five new ones; three pages
    names = [f"{name}学校" for name in NAMES] + ["东城区第一中学"]
    pages = [client.get(f"/inbox/webhooks?page={number}").get_data(as_text=True) for number in (1, 2, 3)]
    found = [[name for name in names if name in text] for text in pages]
    assert sorted(sum(found, [])) == sorted(names)
    assert len(found[1]) == PER_PAGE
    assert "page=2" in pages[0]
    assert "共 7 条" in pages[2]


def test_the_caseload_pages(city, client, login):
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    for day, name in enumerate(NAMES, start=1):
        student = make_student(city.class_a, name=name)
        identify(student, 2026)
        care(student, _talk(), happened_on=date(2026, 11, day))
    login(teacher)
    assert_paged(client, "/ledger/caseload", NAMES)
    # the order holds across pages: the least recently contacted first
    second = client.get("/ledger/caseload?page=2").get_data(as_text=True)
    assert second.index("分页丁") < second.index("分页戊")


def test_the_caseload_sorts_by_aid_and_by_name_across_pages(city, client, login):
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    for number, name in enumerate(NAMES):
        student = make_student(city.class_a, name=name)
        identify(student, 2026)
        pay(student, "营养改善计划", f"{500 - number * 100}.00", 2026, voucher=f"A{number}")
    login(teacher)
    # the least aid first: 戊 (100.00), 丁, 丙 on page 1; 乙 and 甲 (500.00) on page 2
    first = client.get("/ledger/caseload?sort=aid").get_data(as_text=True)
    second = client.get("/ledger/caseload?sort=aid&page=2").get_data(as_text=True)
    assert [name for name in NAMES if name in first] == ["分页丙", "分页丁", "分页戊"]
    assert second.index("分页乙") < second.index("分页甲")
    by_name = client.get("/ledger/caseload?sort=name&page=2").get_data(as_text=True)
    assert len([name for name in NAMES if name in by_name]) == 2


def _talk():
    from caretrack.ledger.models import RecordKind

    return RecordKind.TALK


def test_the_clubs_and_a_clubs_members_page(city, client, login):
    from caretrack.activities.services import add_member, create_club

    officer = make_user(Role.SCHOOL_OFFICER, city.university)
    clubs = [create_club(None, city.university, f"{name}社") for name in NAMES]
    for name in MEMBERS:
        add_member(None, clubs[0], make_student(city.uni_class, name=name))
    login(officer)
    assert_paged(client, "/activities/clubs/", NAMES)
    assert_paged(client, f"/activities/clubs/{clubs[0].id}", MEMBERS)


def test_the_caseloads_and_a_caseloads_members_page(city, client, login):
    from caretrack.students.services import add_to_caseload, create_caseload

    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    caseloads = [create_caseload(None, city.east_school, f"{name}名单") for name in NAMES]
    for name in MEMBERS:
        add_to_caseload(None, caseloads[0], make_student(city.class_a, name=name))
    login(officer)
    assert_paged(client, "/caseloads/", NAMES)
    assert_paged(client, f"/caseloads/{caseloads[0].id}", MEMBERS)
