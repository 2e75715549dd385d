"""The caseload page: one badge per visit asked for, and names that do not wrap."""

import re
from datetime import date

import pytest

from caretrack.core.access import Role
from caretrack.followups.services import seed_cadence
from caretrack.students.models import Category, Level
from tests.factories import identify, make_student, make_user


def test_a_visit_two_rules_ask_for_shows_once(city, client, login, time_machine):
    time_machine.move_to(date(2026, 12, 1))
    seed_cadence()
    student = make_student(city.class_a, name="两条规则")
    identify(student, 2026, Category.REGISTERED, level=Level.SPECIAL)  # 建档立卡 and 特别困难: a visit each term
    login(make_user(Role.CLASS_TEACHER, city.class_a))
    page = client.get("/ledger/caseload").get_data(as_text=True)
    row = page[page.index("两条规则"):page.index("</tr>", page.index("两条规则"))]
    badges = re.findall(r'<span class="badge [^"]*">([^<]+)</span>', row)
    assert "家访（第一学期） 待完成" in badges
    assert len(badges) == len(set(badges))
    assert 'class="text-nowrap"><a href="/students/' in page


def _caseload_world(city, number: int, offset: int = 0) -> None:
    """Identified students of two classes and colleges, each with a care record and a payment of the year."""
    from caretrack.ledger.models import RecordKind
    from caretrack.org.services import get_or_create_class
    from tests.factories import care, pay

    other_class = get_or_create_class(None, city.university, "外语2601", city.other_college)
    for index in range(offset, offset + number):
        student = make_student(city.uni_class if index % 2 else other_class, name=f"学生{index:02d}")
        identify(student, 2026, Category.ORPHAN)
        care(student, RecordKind.TALK, happened_on=date(2026, 9, 1 + index % 20))
        pay(student, "勤工助学", "100.00", 2026, paid_on=date(2026, 10, 1 + index % 20), voucher=f"K{index}")


def test_the_caseload_costs_the_same_queries_whatever_it_holds(city, client, login, time_machine, count_queries):
    from caretrack.extensions import db

    time_machine.move_to(date(2026, 12, 1))
    seed_cadence()
    login(make_user(Role.SCHOOL_OFFICER, city.university))
    _caseload_world(city, 2)

    def statements(path: str) -> int:
        db.session.flush()
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        return counter.count

    paths = ("/ledger/caseload", "/ledger/caseload?sort=aid", "/ledger/caseload?sort=name",
             "/ledger/caseload?stale=1")
    few = [statements(path) for path in paths]
    _caseload_world(city, 12, offset=2)
    assert [statements(path) for path in paths] == few
    _more_records_and_payments(city)
    assert [statements(path) for path in paths] == few


def _more_records_and_payments(city) -> None:
    """More care records (some removed) and payments (of this year, last year, removed) for every listed student."""
    from sqlalchemy import select

    from caretrack.extensions import db
    from caretrack.ledger.models import RecordKind
    from caretrack.ledger.services import remove_entry
    from caretrack.students.models import Student
    from tests.factories import care, pay

    for student in db.session.scalars(select(Student).where(Student.name.like("学生%"))):
        for day in (3, 17):
            care(student, RecordKind.CALL, happened_on=date(2026, 9, day))
        remove_entry(None, care(student, RecordKind.TALK, happened_on=date(2026, 11, 25)), "重复记录")
        pay(student, "勤工助学", "500.00", 2026, paid_on=date(2026, 11, 2), voucher=f"M{student.id}")
        pay(student, "勤工助学", "700.00", 2025, paid_on=date(2025, 11, 2), voucher=f"L{student.id}")
        remove_entry(None, pay(student, "勤工助学", "9.00", 2026, paid_on=date(2026, 11, 3), voucher=f"R{student.id}"),
                     "录错")


def _varied_caseload(city) -> None:
    """Ties on every key of the orders: the same names, never contacted, the same last day, the same aid, a latest
    record removed (the one before counts), payments of another year and removed ones (not counted).
    """
    from caretrack.ledger.models import RecordKind
    from caretrack.ledger.services import remove_entry
    from tests.factories import care, pay

    for index in range(11):
        student = make_student(city.uni_class, name=f"同名{index % 3}")
        identify(student, 2026, Category.ORPHAN)
        if index % 4:
            care(student, RecordKind.TALK, happened_on=date(2026, 9, 1 + index % 3))
        if index % 5 == 1:
            remove_entry(None, care(student, RecordKind.CALL, happened_on=date(2026, 11, 27)), "重复记录")
        if index % 3:
            pay(student, "勤工助学", "100.00" if index % 2 else "250.00", 2026, paid_on=date(2026, 10, 2),
                voucher=f"V{index}")
        pay(student, "勤工助学", "80.00", 2025, paid_on=date(2025, 10, 2), voucher=f"O{index}")
        if index % 4 == 2:
            remove_entry(None, pay(student, "勤工助学", "5.00", 2026, paid_on=date(2026, 10, 3), voucher=f"X{index}"),
                         "录错")
    not_identified = make_student(city.uni_class, name="同名0")
    care(not_identified, RecordKind.TALK, happened_on=date(2026, 9, 1))


def test_the_caseload_pages_hold_the_whole_list_in_its_order(city, app, time_machine, monkeypatch):
    """Page by page, the caseload is the full list (caseload_query) cut in pages: the same rows, order, values."""
    from caretrack.extensions import db
    from caretrack.ledger import queries
    from caretrack.org.services import ensure_academic_year

    time_machine.move_to(date(2026, 12, 1))
    _varied_caseload(city)
    officer = make_user(Role.SCHOOL_OFFICER, city.university)
    year, today = ensure_academic_year(2026), date(2026, 12, 1)
    monkeypatch.setitem(app.config, "PER_PAGE", 3)
    for sort in ("contact", "aid", "name"):
        for only_stale, stale_days in ((False, 90), (True, 90), (True, 1)):
            full = [(student.id, day, amount) for student, day, amount in
                    db.session.execute(queries.caseload_query(officer, year, today, stale_days, sort, only_stale))]
            paged, number = [], 1
            while True:
                with app.test_request_context(f"/ledger/caseload?page={number}"):
                    page = queries.caseload(officer, year, today, stale_days, sort, only_stale)
                assert page.total == len(full)
                if not page.items:
                    break
                paged += [(row.student.id, row.last_contact, row.aid_this_year) for row in page.items]
                number += 1
            assert paged == full, (sort, only_stale, stale_days)
            assert number == max(2, -(-len(full) // 3) + 1)  # every page was full but the last one


@pytest.fixture
def five_on_pages_of_three(city, login, time_machine, app, monkeypatch):
    """A university officer's caseload of five students, three to a page, on 2026-12-01."""
    time_machine.move_to(date(2026, 12, 1))
    monkeypatch.setitem(app.config, "PER_PAGE", 3)
    login(make_user(Role.SCHOOL_OFFICER, city.university))
    _caseload_world(city, 5)


@pytest.mark.usefixtures("five_on_pages_of_three")
def test_a_caseload_page_past_the_last_is_empty_and_counts_the_list(client):
    html = client.get("/ledger/caseload?page=7").get_data(as_text=True)
    assert "共 5 条" in html
    assert "学生0" not in html


@pytest.mark.usefixtures("five_on_pages_of_three")
def test_the_caseload_counts_up_to_the_cap_and_keeps_its_order(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "COUNT_CAP", 5)
    html = client.get("/ledger/caseload?sort=name").get_data(as_text=True)
    assert "共 5 条" in html
    assert html.index("学生00") < html.index("学生01") < html.index("学生02")
    assert "学生03" not in html
    monkeypatch.setitem(app.config, "COUNT_CAP", 4)
    html = client.get("/ledger/caseload?sort=name").get_data(as_text=True)
    assert "4+ 条" in html
    assert "共 5 条" not in html
    second = client.get("/ledger/caseload?sort=name&page=2").get_data(as_text=True)
    assert second.index("学生03") < second.index("学生04")
    # No row follows the last one: no page 3, and the next link is disabled.
    assert 'page=3">3<' not in second
    assert 'disabled">\n        <a class="page-link" href="/ledger/caseload?sort=name&amp;page=3">' in second
    # The default order: the oldest contact first (every one is older than the stale threshold here).
    html = client.get("/ledger/caseload").get_data(as_text=True)
    assert html.index("学生00") < html.index("学生01") < html.index("学生02")
