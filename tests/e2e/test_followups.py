"""Follow-ups in a browser: a class teacher schedules a home visit for tomorrow, then closes it by logging it."""

import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from caretrack.core.timeutil import local_today
from tests.e2e.conftest import log_in
from tests.e2e.test_ledger import nav_link

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]


def followups_card(page):
    return page.locator("#followups")


def test_a_class_teacher_schedules_a_visit_and_closes_it_by_logging_the_visit(page, live_server):
    with live_server.app.app_context():
        today = local_today()
    tomorrow = today + timedelta(days=1)
    note = f"了解寒假安排 {uuid.uuid4().hex[:6]}"
    log_in(page, "teacher")

    # The home page lists the teacher's students; open the first one.
    students = page.locator(".ct-card", has=page.get_by_role("heading", name="我的学生"))
    students.get_by_role("link").nth(1).click()
    page.get_by_role("link", name="安排跟进").click()
    page.get_by_label("跟进方式").select_option(label="家访")
    page.get_by_label("期限").fill(tomorrow.isoformat())
    page.get_by_label("说明").fill(note)
    page.get_by_role("button", name="保存").click()

    expect(page.locator("main .alert-success")).to_contain_text(f"已安排家访，期限 {tomorrow.isoformat()}")
    visit = followups_card(page).get_by_role("row").filter(has_text=note)
    expect(visit).to_contain_text(f"{tomorrow.year}年{tomorrow.month}月{tomorrow.day}日")
    expect(visit).to_contain_text("待完成")

    # The teacher's list of follow-ups has it too.
    nav_link(page, "跟进").click()
    expect(page.locator("main table")).to_contain_text(note)
    page.go_back()

    # Logging the home visit on the timeline, with the follow-up ticked, closes the follow-up. The form starts as
    # a talk, with no work-study fields; choosing a kind ticks the follow-ups it fulfils.
    page.locator("#timeline summary").click()
    form = page.locator("#timeline form[enctype]")
    ticked = form.get_by_role("checkbox", name=note)
    expect(form.get_by_label("类型")).to_have_value("talk")
    expect(form.get_by_label("岗位")).to_be_hidden()
    expect(ticked).not_to_be_checked()
    form.get_by_label("类型").select_option(label="勤工助学")
    expect(form.get_by_label("岗位")).to_be_visible()
    form.get_by_label("类型").select_option(label="家访")
    expect(form.get_by_label("岗位")).to_be_hidden()
    expect(ticked).to_be_checked()
    form.get_by_label("日期", exact=True).fill(today.isoformat())
    form.get_by_label("内容").fill(f"家访：{note}")
    form.get_by_role("button", name="保存记录").click()

    expect(page.locator("main .alert-success")).to_contain_text("家访记录已保存")
    expect(followups_card(page).get_by_role("row").filter(has_text=note)).to_contain_text("已完成")
