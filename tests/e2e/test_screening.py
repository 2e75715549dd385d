"""The term screening as the university's aid officer meets it: a case, the run, the remedy, the table in Excel.

The demo university pays every identified student the highest 国家助学金, so the officer first registers a student
of their own, identified as 孤儿 and paid nothing; the live server is shared, so that student carries a token.
"""

import random
import re
import uuid

import openpyxl
import pytest
from playwright.sync_api import expect

from caretrack.core.idnumber import check_digit
from caretrack.core.timeutil import local_today
from caretrack.org.services import academic_year_of
from tests.e2e import live
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]

START_YEAR = academic_year_of(local_today())
YEAR = f"{START_YEAR}-{START_YEAR + 1}"
TITLE = "普通高校（中职学校）家庭经济困难学生排查统计汇总表"
FIRST_CASE_ROW = 11  # rows 9-10 of the form are the case list's header


def nav_link(page, label: str):
    return live.nav_link(page, label)


def flash(page):
    return page.locator("main .alert")


def made_up_id_number() -> str:
    """A valid 身份证号 no demo student has: born in 2004 (the demo's students are not)."""
    rng = random.Random()
    first17 = f"110105{2004}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return first17 + check_digit(first17)


def register_orphan(page, unit_id: str, name: str, student_no: str) -> None:
    """Register a student of the university and identify them as 孤儿 for this academic year."""
    page.goto(f"/students/?school={unit_id}")
    page.get_by_role("link", name="登记学生").click()
    page.get_by_label("姓名", exact=True).fill(name)
    page.get_by_label("学号", exact=True).fill(student_no)
    page.get_by_label("身份证号", exact=True).fill(made_up_id_number())
    page.get_by_label("班级", exact=True).select_option(label="机械2401")  # under its college's optgroup
    page.get_by_label("学段", exact=True).select_option(label="高等教育")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(flash(page).first).to_contain_text(f"学生 {name} 已登记。")
    page.get_by_role("link", name="认定", exact=True).click()
    expect(page.get_by_label("认定学年", exact=True).locator("option:checked")).to_have_text(YEAR)
    page.get_by_label("孤儿", exact=True).check()
    page.get_by_label("困难等级", exact=True).select_option(label="困难")
    page.get_by_role("button", name="保存认定").click()
    expect(flash(page)).to_have_text("认定信息已保存。")


def test_aid_officer_runs_the_screening_writes_a_remedy_and_downloads_the_table(page, tmp_path):
    token = uuid.uuid4().hex[:6]
    name, student_no = f"排查孤儿{token}", f"E2E{token}"
    remedy = f"补发一档国家助学金 {token}"

    log_in(page, "uni_officer")
    nav_link(page, "排查").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("应助未助排查")
    page.get_by_label("学年", exact=True).select_option(label=YEAR)
    page.get_by_label("学期", exact=True).select_option(label="第一学期（秋季）")
    page.get_by_role("button", name="查看").click()
    unit_link = page.locator("main table").get_by_role("link", name="示例理工大学")
    unit_id = re.search(r"/units/(\d+)", unit_link.get_attribute("href")).group(1)

    # A case to find: an orphan without 国家助学金.
    register_orphan(page, unit_id, name, student_no)

    nav_link(page, "排查").click()
    page.get_by_label("学期", exact=True).select_option(label="第一学期（秋季）")
    page.get_by_role("button", name="查看").click()
    page.locator("main table").get_by_role("link", name="示例理工大学").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"示例理工大学 附件1 · {YEAR} 学年第 1 学期")
    page.get_by_role("button", name="运行排查").click()
    expect(flash(page)).to_contain_text(f"排查完成：{YEAR} 学年第 1 学期发现")
    expect(page.locator("#table .ct-form-title")).to_have_text(TITLE)

    case_row = page.locator("tr.ct-case", has_text=student_no)
    expect(case_row).to_contain_text(name)
    expect(case_row).to_contain_text("应助未助")
    expect(case_row).to_contain_text("孤儿")
    masked = case_row.locator("td.ct-code").inner_text().strip()
    assert re.fullmatch(r"110105\*{8}\d{3}[\dX]", masked)

    # The remedy and its deadline, saved and shown as the form's 解决措施与时限.
    work_row = case_row.locator("xpath=following-sibling::tr[1]")
    work_row.get_by_label("解决措施", exact=True).fill(remedy)
    work_row.get_by_label("时限", exact=True).fill(f"{START_YEAR}-12-10")
    work_row.get_by_role("button", name="保存", exact=True).click()
    expect(flash(page)).to_have_text(f"已保存 {name} 的排查情况。")
    expect(case_row).to_contain_text(f"{remedy}（{START_YEAR}-12-10 前完成）")
    expect(work_row.get_by_label("解决措施", exact=True)).to_have_value(remedy)
    expect(work_row.get_by_label("时限", exact=True)).to_have_value(f"{START_YEAR}-12-10")

    # The table as an Excel file laid out like the form.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载 Excel", exact=True).click()
    download = download_info.value
    assert download.suggested_filename == f"附件1_示例理工大学_{YEAR}学年第一学期.xlsx"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    assert sheet["A1"].value == TITLE
    assert sheet["A2"].value == "学校名称（公章）：示例理工大学"
    rows = {sheet.cell(row=r, column=2).value: r for r in range(FIRST_CASE_ROW, sheet.max_row + 1)}
    assert name in rows
    assert sheet.cell(row=rows[name], column=3).value == masked
    assert sheet.cell(row=rows[name], column=12).value == f"{remedy}（{START_YEAR}-12-10 前完成）"
