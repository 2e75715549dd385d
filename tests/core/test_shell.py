"""The page shell: the site icon, and a menu grouped so that every role's bar stays short."""

import re

from caretrack.core.access import Role
from tests.factories import make_user


def test_the_icon_is_served_and_linked(city, client, login):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    login(make_user(Role.CLASS_TEACHER, city.class_a))
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg"' in page
    assert client.get("/static/favicon.svg").status_code == 200


def top_level(page: str) -> list[str]:
    """The labels of the main menu's top level: plain links and dropdown titles."""
    menu = page[page.index('navbar-nav me-auto'):page.index('<ul class="navbar-nav">')]
    menu = re.sub(r'<ul class="dropdown-menu">.*?</ul>', "", menu, flags=re.S)
    return [label.strip() for label in re.findall(r'class="nav-link[^"]*"[^>]*>([^<]+)</a>', menu)]


def test_a_school_officers_pages_sit_in_five_menus(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    page = client.get("/").get_data(as_text=True)
    assert top_level(page) == ["我的工作", "学生", "关怀", "资助", "管理"]
    for href in ("/students/", "/caseloads/", "/activities/clubs/", "/followups/", "/ledger/caseload", "/activities/",
                 "/summaries/", "/ledger/disbursements", "/screening/", "/units/", "/users", "/audit/"):
        assert f'href="{href}"' in page, href


def test_a_menu_of_one_page_is_a_plain_link_and_the_current_page_marks_its_menu(city, client, login):
    login(make_user(Role.CLASS_TEACHER, city.class_a))
    page = client.get("/ledger/caseload").get_data(as_text=True)
    assert top_level(page) == ["我的工作", "学生", "关怀"]
    assert re.search(r'class="nav-link dropdown-toggle active"[^>]*>关怀</a>', page)
    assert re.search(r'class="dropdown-item active" aria-current="page"\s+href="/ledger/caseload"', page)


def test_the_domains_register_the_menu_in_the_order_it_always_had(app):
    from caretrack.core.web import _menu

    menu = [(group, [entry.endpoint for entry in entries]) for group, entries in _menu()]
    assert menu[:5] == [
        ("我的工作", ["dashboard.home"]),
        ("学生", ["students.list_students", "caseloads.list_caseloads", "activities.list_clubs"]),
        ("关怀", ["followups.list_followups", "ledger.my_caseload", "activities.list_activities",
                "summaries.list_batches"]),
        ("资助", ["ledger.list_disbursements", "screening.list_units", "duties.board_home"]),
        ("管理", ["org.list_units", "accounts.list_users", "audit.list_events"]),
    ]


def test_a_registered_page_shows_to_whom_its_predicate_lets_see_it(city, app):
    from caretrack.core import web

    web.register_nav("新组", "试验页", "probe.page", lambda user: user.username == "seer", order=5)
    try:
        seer, other = make_user(Role.CLASS_TEACHER, city.class_a, username="seer"), make_user(
            Role.CLASS_TEACHER, city.class_a, username="other")
        with app.test_request_context():
            assert ("新组", [("probe.page", "试验页")]) in web.navigation_for(seer)
            assert "新组" not in [title for title, _items in web.navigation_for(other)]
    finally:
        web._NAV_ENTRIES.pop("probe.page")


def test_the_menu_follows_a_grant_and_its_revocation_at_the_next_page(city, client, login):
    # The menu is kept per language and roles: a role granted or taken back changes it on the very next page.
    from caretrack.accounts import services as accounts
    from caretrack.core.access import ScopeType
    from caretrack.extensions import db

    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    login(teacher)
    assert top_level(client.get("/").get_data(as_text=True)) == ["我的工作", "学生", "关怀"]
    grant = accounts.grant_role(None, teacher, Role.SCHOOL_OFFICER, ScopeType.UNIT, city.east_school)
    db.session.flush()
    assert top_level(client.get("/").get_data(as_text=True)) == ["我的工作", "学生", "关怀", "资助", "管理"]
    accounts.revoke_role(None, grant)
    db.session.flush()
    assert top_level(client.get("/").get_data(as_text=True)) == ["我的工作", "学生", "关怀"]
    client.post("/language", data={"locale": "en"})
    assert "My work" in top_level(client.get("/").get_data(as_text=True))
