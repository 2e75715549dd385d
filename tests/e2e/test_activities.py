"""Activities in a browser: a club leader records an anti-loan-fraud talk and ticks 30 members present.

The aid officer's coverage page counts them reached; a member's file shows the activity.
"""

import time
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from caretrack.accounts import services as accounts
from caretrack.activities import services as activities
from caretrack.core.access import Role, ScopeType
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.org.models import SchoolClass, Unit
from caretrack.org.services import academic_year_of, ensure_academic_year
from caretrack.students.models import Category
from tests.e2e.conftest import log_in
from tests.e2e.live import DEMO_PASSWORD
from tests.e2e.test_ledger import nav_link
from tests.factories import identify, make_id_number, make_student

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]
MEMBERS = 30


def club_of_thirty(app) -> dict:
    """A new club of the demo university with 30 identified members and its leader, committed."""
    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        university = db.session.scalar(select(Unit).where(Unit.code == "4199010001"))
        school_class = db.session.scalar(select(SchoolClass).where(SchoolClass.name == "机械2402"))
        club = activities.create_club(None, university, f"防骗自强社{tag}")
        ensure_academic_year(academic_year_of(local_today()))
        members = []
        for n in range(MEMBERS):
            birth = date(2005, 1, 1) + timedelta(days=n)
            student = make_student(school_class, name=f"社员{tag}{n:02d}", student_no=f"E{tag}{n:02d}",
                                   id_number=make_id_number(serial=7, birth=f"{birth:%Y%m%d}", region="110108"))
            identify(student, academic_year_of(local_today()), Category.OTHER)
            activities.add_member(None, club, student)
            members.append(student)
        leader, _password = accounts.create_user(None, username=f"leader{tag}", display_name="自强社学生负责人",
                                                 password=DEMO_PASSWORD)
        leader.must_change_password = False
        accounts.grant_role(None, leader, Role.CLUB_LEADER, ScopeType.CLUB, club)
        db.session.commit()
        return {"leader": leader.username, "club": club.name, "first": members[0].id, "tag": tag,
                "university": university.id}


def test_a_club_leader_records_a_talk_and_ticks_thirty_members_present(page, browser, live_server):
    data = club_of_thirty(live_server.app)
    title = f"防范校园贷讲座 {data['tag']}"
    log_in(page, data["leader"])
    started = time.monotonic()

    nav_link(page, "活动").click()
    page.get_by_role("link", name="记录活动").click()
    expect(page.get_by_label("组织方")).to_contain_text(data["club"])
    page.get_by_label("防信贷诈骗教育").check()
    page.get_by_label("活动名称").fill(title)
    page.get_by_label("地点").fill("图书馆报告厅")
    page.get_by_role("button", name="保存，下一步记录签到").click()
    expect(page.locator("main .alert-success")).to_contain_text(f"活动“{title}”已保存")

    page.get_by_role("link", name="按名单勾选签到").click()
    boxes = page.locator("input[name=present]")
    expect(boxes).to_have_count(MEMBERS)
    for index in range(MEMBERS):
        expect(boxes.nth(index)).to_be_checked()
    page.get_by_role("button", name="保存签到").click()
    expect(page.locator("main .alert-success")).to_contain_text(f"到场 {MEMBERS} 人，缺席 0 人")
    expect(page.locator("#sheet")).to_contain_text(f"实到 {MEMBERS} 人 / 应到 {MEMBERS} 人")
    assert time.monotonic() - started < 60

    # The aid officer's coverage page counts the thirty as reached and names none of them among the rest.
    officer = browser.new_context(base_url=live_server.url, locale="zh-CN").new_page()
    log_in(officer, "uni_officer")
    officer.goto(f"/activities/coverage/units/{data['university']}")
    card = officer.locator(".ct-card", has=officer.get_by_role("heading", name="防信贷诈骗教育"))
    expect(card).to_be_visible()
    count = card.locator(".ct-coverage-count")
    reached, expected = int(count.get_attribute("data-reached")), int(count.get_attribute("data-expected"))
    assert reached >= MEMBERS
    assert expected > reached  # the demo's other identified students are left
    expect(card).not_to_contain_text(f"社员{data['tag']}")

    # Each attendee's file shows the activity on the timeline.
    officer.goto(f"/students/{data['first']}")
    expect(officer.locator("#timeline")).to_contain_text(title)
    officer.context.close()
