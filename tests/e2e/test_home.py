"""我的工作 in a browser: each demo role opens the home page, finds its own section, and follows one count to the list
behind it, which shows as many rows.
"""

import re

import pytest
from playwright.sync_api import expect

from caretrack import demo
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]

OWN_SECTION = {"city": "oversight", "district": "oversight", "inspector": "oversight", "uni_officer": "school",
               "school_officer": "school", "uni_counselor": "care", "school_counselor": "care", "teacher": "care",
               "teacher2": "care", "club_leader": "club"}


@pytest.mark.parametrize("username", [user.username for user in demo.USERS])
def test_each_role_opens_its_home_page_and_follows_a_count_to_its_list(page, live_server, username):
    log_in(page, username)
    page.goto("/")
    section = page.locator(f"#home-{OWN_SECTION[username]}")
    expect(section).to_be_visible()
    counted = section.locator("a[data-count]")
    link = counted.first if counted.count() else page.locator("#home-inbox a[data-count]").first
    count = int(link.get_attribute("data-count"))
    href = link.get_attribute("href")
    link.click()
    expect(page).to_have_url(re.compile(re.escape(href.split("#")[0]) + "(#.*)?$"))
    if href.startswith("/screening/"):
        expect(page.locator("main tbody a[href*='/screening/units/']")).to_have_count(count)
    else:
        expect(page.locator("main")).to_contain_text(f"共 {count} 条")


def test_the_district_officer_sees_the_submission_chart_and_its_table(page, live_server):
    log_in(page, "district")
    chart = page.locator("#chart-submissions")
    expect(chart.locator("svg")).to_be_visible()
    expect(chart.locator("table")).to_contain_text("按时报送")
    chart.locator("table a").first.click()
    expect(page).to_have_url(re.compile(r"/screening/\?.*report=on_time"))
