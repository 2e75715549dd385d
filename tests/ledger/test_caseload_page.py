"""The caseload page: one badge per visit asked for, and names that do not wrap."""

import re
from datetime import date

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


def test_the_caseload_counts_up_to_the_cap_and_keeps_its_order(city, client, login, time_machine, app,
                                                                monkeypatch):
    time_machine.move_to(date(2026, 12, 1))
    monkeypatch.setitem(app.config, "PER_PAGE", 3)
    login(make_user(Role.SCHOOL_OFFICER, city.university))
    _caseload_world(city, 5)
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
