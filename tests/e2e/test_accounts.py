"""User administration in a browser: a school officer gives a new class teacher a class picked from lists."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]


def option_labels(page, selector: str) -> list[str]:
    return [label.strip() for label in page.locator(f"{selector} option").all_inner_texts()]


def test_a_school_officer_creates_a_class_teacher_by_picking_the_class(page):
    log_in(page, "school_officer")
    page.goto("/users/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("新建用户")
    expect(page.get_by_text("填其编号")).to_have_count(0)

    # The officer's own school is the only unit offered, and it is preselected.
    assert option_labels(page, "#unit") == ["请选择单位", "东城区第一中学（2199010101）"]
    expect(page.get_by_label("单位", exact=True)).to_have_value(re.compile(r"^\d+$"))

    page.get_by_label("用户名", exact=True).fill("e2e_sun")
    page.get_by_label("姓名", exact=True).fill("高一(1)班班主任 孙老师")
    page.get_by_label("角色", exact=True).select_option(label="班主任")
    # A class teacher is granted on a class only: the scope type follows the role.
    expect(page.get_by_label("范围类型", exact=True)).to_have_value("class")
    scope = page.get_by_label("范围", exact=True)
    expect(scope).to_be_visible()
    expect(page.locator("#scope_id option", has_text="高一(1)班")).to_have_count(1)
    assert "示例理工大学" not in " ".join(option_labels(page, "#scope_id"))
    scope.select_option(label="高一(1)班")
    page.get_by_role("button", name="创建用户").click()

    expect(page.locator("main .alert-success")).to_contain_text("用户 e2e_sun 已创建，初始密码：")
    expect(page.get_by_role("heading", level=1)).to_contain_text("高一(1)班班主任 孙老师")
    expect(page.get_by_role("row").filter(has_text="班主任")).to_contain_text("班级：东城区第一中学 · 高一(1)班")

    # Granting a further role on the user's page offers the same lists, the user's school preselected.
    page.get_by_label("角色", exact=True).select_option(label="检查员")
    expect(page.get_by_label("范围类型", exact=True)).to_have_value("unit")
    expect(page.get_by_label("范围", exact=True)).to_be_hidden()
