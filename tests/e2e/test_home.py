"""我的工作 in a browser: each demo role opens the home page, finds its own section, and follows one count to the list
behind it, which shows as many rows.
"""

import re
from datetime import datetime, time, timedelta, timezone

import pytest
import time_machine
from playwright.sync_api import expect

from caretrack import demo
from caretrack.core.timeutil import local_today
from caretrack.org.services import academic_year_of, screening_deadline
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


def test_the_district_officer_sees_the_submission_chart_and_which_schools_are_late(page, live_server):
    """After the deadline the district's school that has not submitted shows as late: in the chart and its table,
    by name on the reporting card (with 催报), and on the list the chart's bar leads to.
    """
    today = local_today()
    term = 1 if today.month >= 9 or today.month < 2 else 2  # the demo's terms: the city's default dates
    after_deadline = screening_deadline(academic_year_of(today), term) + timedelta(days=3)
    with time_machine.travel(datetime.combine(after_deadline, time(4, 0), tzinfo=timezone.utc), tick=True):
        log_in(page, "district")
        chart = page.locator("#chart-submissions")
        expect(chart.locator("svg")).to_be_visible()
        late_row = chart.locator("table tr", has_text="逾期未报送")
        expect(late_row.locator("td a")).to_have_text("1")
        reporting = page.locator("#reporting")
        expect(reporting).to_contain_text("逾期未报送：东城区第一中学")
        expect(reporting.get_by_role("button", name="催报")).to_be_visible()
        expect(page.locator("#chart-required_coverage")).to_be_visible()
        late_row.locator("td a").click()
        expect(page).to_have_url(re.compile(r"/screening/\?.*report=late"))
        expect(page.locator("main tbody a[href*='/screening/units/']")).to_have_count(1)
        expect(page.locator("main tbody")).to_contain_text("东城区第一中学")
