"""Duties in a browser: a district officer records its training of its schools, with who attended and who was
trained, and sees its board cell turn 已完成 (green), with the evidence one click away; then corrects the record.
"""

import random
import uuid

import pytest
from playwright.sync_api import expect

from caretrack.accounts import services as accounts
from caretrack.core.access import Role, ScopeType
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.models import Stage, UnitKind
from tests.e2e.conftest import log_in
from tests.e2e.live import DEMO_PASSWORD
from tests.e2e.test_ledger import nav_link

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]


def new_district(app) -> dict:
    """A district of its own with one school and their officers, committed (the demo's district has trained)."""
    tag = uuid.uuid4().hex[:6]
    number = random.randint(200, 899)  # noqa: S311 - a unit code, not a secret
    with app.app_context():
        org.ensure_academic_year(org.academic_year_of(local_today()))
        district, _changed = org.save_unit(None, org.UnitData(f"990{number}", f"南城区{tag}", UnitKind.DISTRICT,
                                                              "990000", []))
        school, _changed = org.save_unit(None, org.UnitData(f"2199{number}001", f"南城区实验中学{tag}",
                                                            UnitKind.SCHOOL, district.code, [Stage.COMPULSORY]))
        people = {}
        for role, unit, name in ((Role.DISTRICT_OFFICER, district, "南城区资助中心 黄老师"),
                                 (Role.SCHOOL_OFFICER, school, f"实验中学资助中心 林老师{tag}")):
            user, _password = accounts.create_user(None, username=f"{role.value[:8]}{tag}", display_name=name,
                                                   password=DEMO_PASSWORD)
            user.must_change_password = False
            accounts.grant_role(None, user, role, ScopeType.UNIT, district if unit is district else unit)
            people[role] = user
        db.session.commit()
        return {"district": district.code, "district_name": district.name, "school": school.name,
                "officer": people[Role.DISTRICT_OFFICER].username, "trainee": people[Role.SCHOOL_OFFICER].display_name}


def board_cell(page, district_code: str):
    return page.locator(f'td[data-duty="district_training"][data-unit="{district_code}"]')


def test_a_district_officer_records_a_training_and_the_board_turns_green(page, live_server):
    data = new_district(live_server.app)
    log_in(page, data["officer"])

    nav_link(page, "单位职责").click()
    expect(page.locator("h1")).to_contain_text("单位职责完成情况")
    expect(page.locator("main table")).to_contain_text(data["school"])
    cell = board_cell(page, data["district"])
    expect(cell).not_to_contain_text("已完成")

    cell.get_by_role("link").click()
    page.locator("section", has_text="区级资助工作专题培训").get_by_role("link", name="登记").click()
    page.get_by_label("内容").fill("资助政策与资助工作规范专题培训")
    page.get_by_label("情况说明").fill("解读最新资助政策，布置本学年排查工作。")
    page.get_by_label(data["school"]).check()
    page.get_by_label(data["trainee"]).check()
    page.get_by_role("button", name="保存").click()
    expect(page.locator("main .alert-success")).to_contain_text("已记录")
    expect(page.locator("main")).to_contain_text(data["trainee"])

    nav_link(page, "单位职责").click()
    cell = board_cell(page, data["district"])
    expect(cell.locator(".badge")).to_have_text("已完成")
    expect(cell.locator(".badge")).to_have_class("badge text-bg-success ct-status")
    cell.get_by_role("link").click()
    page.get_by_role("link", name="资助政策与资助工作规范专题培训").click()
    expect(page.locator("main")).to_contain_text(data["school"])

    # The officer corrects the record: a new title and one more attending unit, the trainee kept; saving it again
    # unchanged says so, and the board stays green.
    page.get_by_role("link", name="修改").click()
    expect(page.locator("h1")).to_contain_text("修改单位职责记录")
    expect(page.get_by_label(data["trainee"])).to_be_checked()
    page.get_by_label("内容").fill("资助政策与资助工作规范专题培训（第一期）")
    page.get_by_label(data["district_name"], exact=True).check()
    page.get_by_role("button", name="保存").click()
    expect(page.locator("main .alert-success")).to_contain_text("记录已修改")
    expect(page.locator("h1")).to_contain_text("资助政策与资助工作规范专题培训（第一期）")
    expect(page.locator("main dl")).to_contain_text(data["district_name"])
    expect(page.locator("main dl")).to_contain_text(data["trainee"])
    page.get_by_role("link", name="修改").click()
    page.get_by_role("button", name="保存").click()
    expect(page.locator("main .alert-info")).to_contain_text("没有改动，未作保存。")
    nav_link(page, "单位职责").click()
    expect(board_cell(page, data["district"]).locator(".badge")).to_have_text("已完成")
