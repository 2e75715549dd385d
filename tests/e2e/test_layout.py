"""No page is wider than the window: every role's home and list pages at 1024 and 1366 px, in both languages.

A page that overflows scrolls sideways (`scrollWidth` beyond the window); a menu that does not fit wraps under
the bar, where white links sit on the white page. Screenshots of each role's home page go to test-artifacts/layout/
to look at.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e import live
from tests.e2e.conftest import ARTIFACTS, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]

ROLES = ["city", "district", "uni_officer", "uni_counselor", "school_officer", "school_counselor", "teacher",
         "inspector", "club_leader"]
WIDTHS = [1024, 1366]
SHOTS = ARTIFACTS / "layout"
BAR_HEIGHT = 64  # px: the bar on one line (brand, menus, reminders, user menu, language)


def menu_pages(page) -> list[str]:
    """The paths of the main menu, its dropdowns included: the role's list pages."""
    links = page.locator("#ct-nav .navbar-nav.me-auto a[href^='/']")
    hrefs = links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    return list(dict.fromkeys(hrefs))


def check_pages(page, role: str, language: str, paths: list[str]) -> list[str]:
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for path in paths:
            page.goto(path)
            page.wait_for_load_state("load")
            found = live.overflow(page)
            if found["page"] > 0 or found["bar_right"] > 0 or found["bar_height"] > BAR_HEIGHT:
                problems.append(f"{role} {language} {width}px {path}: {found}")
            if path == "/":
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"{role}-{language}-{width}.png"), full_page=True)
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_no_page_of_the_role_is_wider_than_the_window(page, role):
    log_in(page, role)
    paths = ["/", *[path for path in menu_pages(page) if path != "/"]]
    assert len(paths) >= 2, paths
    problems = check_pages(page, role, "zh", paths)
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    problems += check_pages(page, role, "en", paths)
    assert not problems, "\n".join(problems)


def test_the_menu_opens_a_grouped_page(page):
    log_in(page, "school_officer")
    page.set_viewport_size({"width": 1024, "height": 800})
    live.nav_link(page, "审计日志").click()
    expect(page).to_have_url(re.compile(r"/audit/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("审计日志")
    expect(page.locator("#ct-nav .dropdown-toggle.active")).to_have_text("管理")


def test_the_site_icon_is_there(page):
    log_in(page, "teacher")
    response = page.request.get("/favicon.ico")
    assert response.status == 200
    assert Path(page.evaluate("document.querySelector('link[rel=icon]').href")).name == "favicon.svg"
