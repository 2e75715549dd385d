"""A class teacher writes a term narrative and downloads the class's summaries, in a browser."""

import io
import uuid
import zipfile

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]

CLASS_NAME = "初一(1)班"
# ms: the live server's queue runs each task in the request that queues it, so the batch is made while the
# "start" click waits (a real worker would make it meanwhile, the page polling its progress).
BATCH_TIMEOUT = 120_000


def nav_link(page, label: str):
    return page.locator("#ct-nav .navbar-nav.me-auto").get_by_role("link", name=label, exact=True)


def open_identified_student(page) -> str:
    """From the student list (初一(1)班, identified), open the first student's file; return the name."""
    nav_link(page, "学生").click()
    page.get_by_label("班级", exact=True).select_option(label=CLASS_NAME)
    page.get_by_label("认定情况").select_option(label="已认定")
    page.get_by_role("button", name="筛选").click()
    first = page.locator("main table tbody tr").first
    expect(first).to_contain_text(CLASS_NAME)
    name = first.get_by_role("link").first.inner_text()
    first.get_by_role("link", name=name).click()
    return name


def generate_and_download(page, file_format: str) -> bytes:
    """Start the class's batch from the batch page, wait for its job's page to say done, download the file."""
    page.goto(page.url.split("/summaries/")[0] + "/summaries/")  # the 关怀 menu's 学期小结 page
    page.get_by_label("范围").select_option(label=f"东城区第一中学 {CLASS_NAME}")
    page.get_by_label("格式").select_option(label=file_format)
    page.get_by_role("button", name="开始生成").click(timeout=BATCH_TIMEOUT)
    expect(page.locator("#batch-done")).to_contain_text("生成完成", timeout=BATCH_TIMEOUT)
    with page.expect_download() as info:
        page.locator("#batch-done").get_by_role("link", name="下载").click()
    return open(info.value.path(), "rb").read()


def test_a_class_teacher_writes_a_narrative_and_downloads_the_class_batch(page):
    log_in(page, "teacher")
    name = open_identified_student(page)
    page.locator("#summaries").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("学期资助育人小结")
    expect(page.locator(".ct-summary")).to_contain_text(name)
    narrative = f"该生学习刻苦，积极参加班级活动。<script>alert(1)</script> {uuid.uuid4().hex[:8]}"
    page.get_by_label("学期评语").fill(narrative)
    page.get_by_role("button", name="保存评语").click()
    expect(page.locator("main .alert")).to_contain_text("评语已保存。")
    expect(page.locator("#narrative")).to_have_text(narrative)  # the script tag is text, not a script

    workbook = load_workbook(io.BytesIO(generate_and_download(page, "Excel（每班一页）")))
    assert workbook.sheetnames == [CLASS_NAME]
    rows = {row[1]: row for row in workbook.active.iter_rows(min_row=2, values_only=True)}
    assert rows[name][-1] == narrative
    with zipfile.ZipFile(io.BytesIO(generate_and_download(page, "PDF 压缩包（每生一份）"))) as archive:
        names = archive.namelist()
        assert len(names) == len(rows)
        assert any(name in entry for entry in names)
        assert all(archive.read(entry).startswith(b"%PDF-") for entry in names)
    merged = generate_and_download(page, "合并为一个 PDF")
    assert merged.startswith(b"%PDF-")
