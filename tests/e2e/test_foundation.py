"""The foundation as people meet it in a browser: login, language, user administration, what each role sees."""

import re

import pytest
from playwright.sync_api import expect

from caretrack.demo import DEMO_PASSWORD
from tests.e2e import live
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]


def main_nav(page):
    return page.locator("#ct-nav .navbar-nav.me-auto .nav-link")


def nav_link(page, label: str):
    return live.nav_link(page, label)


def flash(page):
    return page.locator("main .alert")


def test_login_page_is_chinese_and_city_admin_lands_on_my_work(page):
    page.goto("/")

    expect(page).to_have_url(re.compile(r"/login\?next=%2F"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_title("登录 · 学生资助一生一档")
    expect(flash(page)).to_have_text("请先登录。")
    expect(page.get_by_label("用户名", exact=True)).to_be_visible()
    expect(page.get_by_label("密码", exact=True)).to_be_visible()

    page.get_by_label("用户名", exact=True).fill("city")
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page).to_have_title("我的工作 · 学生资助一生一档")
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，市资助中心 王主任")
    expect(nav_link(page, "我的工作")).to_have_class(re.compile(r"\bactive\b"))
    roles = page.locator(".ct-card", has=page.get_by_role("heading", name="我的角色"))
    expect(roles).to_contain_text("市级管理员 · 示例市（990000）")


def test_wrong_password_is_refused_in_chinese(page):
    page.goto("/login")
    page.get_by_label("用户名", exact=True).fill("city")
    page.get_by_label("密码", exact=True).fill("not-the-password-1")
    page.get_by_role("button", name="登录").click()

    expect(page.locator("main .alert-danger")).to_have_text("用户名或密码错误。")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("#ct-nav")).to_have_count(0)


def test_language_switch_turns_the_page_english_and_back(page):
    log_in(page, "district")
    nav_link(page, "单位").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("单位")

    page.get_by_role("button", name="English").click()

    expect(page).to_have_url(re.compile(r"/units/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Units")
    for label in ("My work", "Units", "Users and roles", "Audit log"):
        expect(nav_link(page, label)).to_be_visible()
    expect(page.get_by_role("columnheader", name="Unit code")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="东城区第一中学")).to_contain_text("Primary/secondary school")

    page.get_by_role("button", name="中文").click()

    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("单位")
    for label in ("我的工作", "单位", "用户与角色", "审计日志"):
        expect(nav_link(page, label)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="东城区第一中学")).to_contain_text("中小学")


def test_city_admin_creates_a_class_teacher_who_must_change_the_password(page):
    log_in(page, "city")
    nav_link(page, "用户与角色").click()
    page.get_by_role("link", name="新建用户").click()
    page.get_by_label("用户名", exact=True).fill("e2e_liu")
    page.get_by_label("姓名", exact=True).fill("初一(1)班 新班主任")
    page.get_by_label("角色", exact=True).select_option(label="班主任")
    expect(page.get_by_label("范围类型", exact=True)).to_have_value("class")
    page.get_by_label("单位", exact=True).select_option(label="东城区第一中学（2199010101）")
    expect(page.locator("#scope_id option", has_text="初一(1)班")).to_have_count(1)
    page.get_by_label("范围", exact=True).select_option(label="初一(1)班")
    page.get_by_role("button", name="创建用户").click()

    created = page.locator("main .alert-success")
    expect(created).to_contain_text("用户 e2e_liu 已创建，初始密码：")
    initial_password = re.search(r"初始密码：(\S+?)（", created.inner_text()).group(1)
    expect(page.get_by_role("heading", level=1)).to_contain_text("初一(1)班 新班主任")
    expect(page.get_by_role("row").filter(has_text="班主任")).to_contain_text("班级：东城区第一中学 · 初一(1)班")

    page.locator("#ct-user-menu").click()
    page.get_by_role("button", name="退出登录").click()
    expect(flash(page)).to_have_text("您已安全退出。")

    log_in(page, "e2e_liu", initial_password)
    expect(page).to_have_url(re.compile(r"/password$"))
    expect(flash(page).first).to_have_text("首次登录或密码被重置后，请先修改密码。")
    expect(page.get_by_role("heading", level=1)).to_have_text("修改密码")

    page.get_by_label("当前密码", exact=True).fill(initial_password)
    page.get_by_label("新密码", exact=True).fill("Chuyi-1ban-2025")
    page.get_by_label("确认新密码", exact=True).fill("Chuyi-1ban-2025")
    page.get_by_role("button", name="保存新密码").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(flash(page)).to_have_text("密码已修改。")
    classes = page.locator(".ct-card", has=page.get_by_role("heading", name="我的班级"))
    expect(classes).to_contain_text("东城区第一中学 · 初一(1)班")


def test_class_teacher_sees_no_admin_pages_and_gets_chinese_error_pages(page):
    log_in(page, "teacher")

    expect(main_nav(page).first).to_have_text("我的工作")
    for hidden in ("单位", "用户与角色", "审计日志"):
        expect(nav_link(page, hidden)).to_have_count(0)

    response = page.goto("/units/1/edit")
    assert response.status == 403
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("无权操作")
    expect(page.locator("main")).to_contain_text("您的角色没有执行此操作的权限")

    response = page.goto("/no-such-page")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("页面不存在")
    page.get_by_role("link", name="返回首页").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，初一(1)班班主任 刘老师")
