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
