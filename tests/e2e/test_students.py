"""The student file as people meet it in a browser: roster imports, finding a student by ID number, who sees whom.

The university's aid officer (uni_officer, 示例理工大学 4199010001) is the only one of the browser tests who imports
into that school, so the counts of the first import are exact.
"""

import io
import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.e2e import live
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]

DATA = Path(__file__).resolve().parents[2] / "docs" / "samples"
SAMPLE = DATA / "students-sample.csv"
SAMPLE_GB18030 = DATA / "students-sample-gb18030.csv"
BAD = DATA / "students-bad.csv"

YU_NAQIANG_ID = "110105200510150017"  # 余娜强, line 2 of the samples, 示例理工大学
YU_NAQIANG_MASKED = "110105********0017"
UNIVERSITY_ROWS = 32  # rows of 4199010001 in the sample; the other 92 belong to seven other schools
OTHER_SCHOOL_ROWS = 92
OTHER_SCHOOLS = 7
FIRST_ROW_OF_DONGCHENG = 64  # the first of the 14 rows of 东城区第一中学 (2199010101) in the sample

JOB_TIMEOUT = 20_000  # ms: the import runs in a background thread and the page reloads when it is done


def nav_link(page, label: str):
    return live.nav_link(page, label)


def log_out(page) -> None:
    page.locator("#ct-user-menu").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator("main .alert")).to_have_text("您已安全退出。")


def expect_counts(page, created: int, updated: int, unchanged: int, invalid: int) -> None:
    for label, count in (("新增", created), ("更新", updated), ("未变", unchanged), ("有误", invalid)):
        expect(page.locator("main .badge").filter(has_text=re.compile(rf"^{label} "))).to_have_text(
            f"{label} {count}")


def upload_roster(page, path: Path, skip_invalid: bool) -> None:
    """From the student list: 导入名单, choose the file, upload, and wait for the preview."""
    nav_link(page, "学生").click()
    page.get_by_role("link", name="导入名单").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("导入学生名单")
    page.get_by_label("文件（CSV 或 XLSX）").set_input_files(str(path))
    if skip_invalid:
        page.get_by_label("跳过有误的行，只导入正确的行").check()
    page.get_by_role("button", name="上传并预览").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(path.name)
    expect(page.get_by_role("heading", name="预览：以下是确认后将要写入的结果")).to_be_visible(timeout=JOB_TIMEOUT)


def confirm_import(page) -> None:
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_role("heading", name="导入完成")).to_be_visible(timeout=JOB_TIMEOUT)
    expect(page.get_by_role("button", name="确认导入")).to_have_count(0)


def error_report(page):
    """The rows of the error report (行数, 列, 原因, 行号: one row per identical error); warnings have their own."""
    table = page.locator("main table").filter(has=page.get_by_role("columnheader", name="原因", exact=True))
    return table.locator("tbody tr")


def error_rows(page, line: int):
    """The rows of the error report of one line of the file alone (a line with an error no other line has)."""
    return error_report(page).filter(has=page.get_by_role("cell", name=str(line), exact=True))


def search_students(page, text: str) -> None:
    nav_link(page, "学生").click()
    page.get_by_label("姓名、学号或完整身份证号").fill(text)
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"/students/\?"))


def downloaded_rows(page) -> list[dict]:
    """Click 下载 Excel and read the workbook back: one dict per student, keyed by the header row."""
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Excel", exact=True).click()
    content = io.BytesIO(download.value.path().read_bytes())  # the saved file has no .xlsx suffix
    sheet = openpyxl.load_workbook(content, read_only=True).active
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_aid_officer_imports_the_roster_finds_a_student_by_id_number_and_other_teachers_cannot(page):
    log_in(page, "uni_officer")

    # The UTF-8 sample: the university's 32 rows, the other schools' rows reported line by line.
    upload_roster(page, SAMPLE, skip_invalid=True)
    expect_counts(page, created=UNIVERSITY_ROWS, updated=0, unchanged=0, invalid=OTHER_SCHOOL_ROWS)
    expect(error_report(page)).to_have_count(OTHER_SCHOOLS)  # identical errors grouped: one row per school
    dongcheng = error_report(page).filter(has_text="单位代码“2199010101”不在您的管理范围内。")
    expect(dongcheng).to_contain_text("14 行")
    expect(dongcheng).to_contain_text(f"{FIRST_ROW_OF_DONGCHENG}–{FIRST_ROW_OF_DONGCHENG + 13}")
    expect(error_rows(page, 2)).to_have_count(0)
    expect(page.locator("main details", has_text="将要写入的变化")).to_contain_text("余娜强")
    confirm_import(page)
    expect_counts(page, created=UNIVERSITY_ROWS, updated=0, unchanged=0, invalid=OTHER_SCHOOL_ROWS)

    # The same roster as Excel on a Chinese Windows saves it: nothing changes, so nothing is offered to confirm.
    upload_roster(page, SAMPLE_GB18030, skip_invalid=True)
    expect_counts(page, created=0, updated=0, unchanged=UNIVERSITY_ROWS, invalid=OTHER_SCHOOL_ROWS)
    expect(page.locator("#import-nothing-to-do")).to_have_text("无误的行与系统中已有的数据相同，没有需要写入的变化。")
    expect(page.get_by_role("button", name="确认导入")).to_have_count(0)

    # A file with faults on every row: each reported with its line, and nothing can be confirmed.
    upload_roster(page, BAD, skip_invalid=False)
    expect(page.locator("main .alert-danger")).to_contain_text("未导入")
    for line, reason in ((2, "校验位"), (3, "出生日期"), (4, "18 位"), (6, re.compile(r"学号.*重复")),
                         (7, "特困户"), (8, "0000000000"), (9, "姓名不能为空")):
        expect(error_rows(page, line).filter(has_text=reason).first).to_be_visible()
    expect(page.get_by_role("button", name="确认导入")).to_have_count(0)

    # Find 余娜强 by his full ID number: the form posts, and the number never shows in the address bar. (Line 2 of
    # the bad file gave him another number ending 0010: it was not written.)
    search_students(page, YU_NAQIANG_ID)
    assert YU_NAQIANG_ID not in page.url
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("余娜强")
    expect(rows.first).to_contain_text(YU_NAQIANG_MASKED)
    expect(page.locator("main")).not_to_contain_text(YU_NAQIANG_ID)

    rows.first.get_by_role("link", name="余娜强").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("余娜强")
    expect(page.get_by_role("heading", level=1)).to_contain_text("示例理工大学")
    student_url = page.url
    expect(page.locator("main")).to_contain_text(YU_NAQIANG_MASKED)
    expect(page.locator("main")).not_to_contain_text(YU_NAQIANG_ID)

    page.get_by_role("button", name="查看完整号码").click()
    expect(page.locator("#revealed-id")).to_have_text(YU_NAQIANG_ID)
    expect(page.locator("main")).to_contain_text("（已记录查看）")
    assert YU_NAQIANG_ID not in page.url

    # A class teacher of another school finds him neither by name nor by number, and his file is not there.
    log_out(page)
    log_in(page, "teacher")
    for text in ("余娜强", YU_NAQIANG_ID):
        search_students(page, text)
        expect(page.locator("main table tbody")).to_have_text("没有符合条件的学生。")
        assert YU_NAQIANG_ID not in page.url
        assert downloaded_rows(page) == []

    response = page.goto(student_url)
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("页面不存在")
    expect(page.locator("main")).not_to_contain_text("余娜强")


def test_class_teacher_sees_only_their_own_class(page):
    # A student of the other class of the same school, as that class's teacher sees it.
    log_in(page, "teacher2")
    nav_link(page, "学生").click()
    rows = page.locator("main table tbody tr")
    expect(rows.first).to_contain_text("初一(2)班")
    expect(rows.filter(has_not_text="初一(2)班")).to_have_count(0)
    other_class_student = rows.first.get_by_role("link").first
    other_name = other_class_student.inner_text()
    other_url = other_class_student.get_attribute("href")
    log_out(page)

    log_in(page, "teacher")
    classes = page.locator(".ct-card", has=page.get_by_role("heading", name="我的班级"))
    expect(classes.get_by_role("listitem")).to_have_text(["东城区第一中学 · 初一(1)班"])
    nav_link(page, "学生").click()
    rows = page.locator("main table tbody tr")
    expect(rows.first).to_contain_text("初一(1)班")
    expect(rows.filter(has_not_text="初一(1)班")).to_have_count(0)
    expect(rows.filter(has_text="初一(2)班")).to_have_count(0)
    expect(page.get_by_label("班级", exact=True).locator("option")).to_have_text(["全部", "初一(1)班"])
    exported = downloaded_rows(page)
    assert exported, "the class teacher's download holds their class"
    assert {(row["学校"], row["班级"]) for row in exported} == {("东城区第一中学", "初一(1)班")}

    search_students(page, other_name)
    expect(rows.filter(has_text="初一(2)班")).to_have_count(0)

    response = page.goto(other_url)
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("页面不存在")
