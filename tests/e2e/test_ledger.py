"""The support ledger as people meet it in a browser: a counselor's care, the aid officer's payments, one timeline.

The live server is shared by every browser test, so the student may already have entries: each entry made here
carries a text or voucher of its own, and the assertions are about those.
"""

import re
import struct
import uuid
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e import live
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]

SCHOOL_CODE = "2199010101"  # 东城区第一中学
CLASS_NAME = "初一(1)班"
YEAR = "2026-2027"  # term 1 runs 2026-09-01 to 2027-01-31; every date below is in it and before today
TALK_ON, PSYCH_ON, VISIT_ON = "2026-10-22", "2026-11-05", "2026-11-18"
GRANT_ON, IMPORTED_ON = "2026-10-08", "2026-11-12"
JOB_TIMEOUT = 20_000  # ms: imports run in a background thread and the page reloads when done


def shown(day: str) -> str:
    """A date as the timeline shows it: 2026年11月5日."""
    year, month, dom = (int(part) for part in day.split("-"))
    return f"{year}年{month}月{dom}日"


def nav_link(page, label: str):
    return live.nav_link(page, label)


def flash(page):
    return page.locator("main .alert")


def log_out(page) -> None:
    page.locator("#ct-user-menu").click()
    page.get_by_role("button", name="退出登录").click()
    expect(flash(page)).to_have_text("您已安全退出。")


def timeline_items(page):
    return page.locator("#timeline .ct-timeline-item")


def in_order(*texts: str) -> re.Pattern:
    """The texts appear in this order (anything may stand between them)."""
    return re.compile(r"[\s\S]*".join(re.escape(text) for text in texts))


def tiny_png() -> bytes:
    """A valid 1×1 PNG, built by hand (Pillow is not installed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1×1, 8-bit RGB
    pixels = zlib.compress(b"\x00\x2e\x8b\x57")  # filter byte, one green pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def open_student_of_the_class(page) -> tuple[str, str]:
    """From the student list filtered by 初一(1)班, open the last student's file; return (name, 学号)."""
    nav_link(page, "学生").click()
    page.get_by_label("班级", exact=True).select_option(label=CLASS_NAME)
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("main table tbody tr")
    expect(rows.first).to_contain_text(CLASS_NAME)
    expect(rows.filter(has_not_text=CLASS_NAME)).to_have_count(0)
    student = rows.last
    name = student.get_by_role("link").first.inner_text()
    student_no = student.locator("td").nth(1).inner_text().strip()
    student.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"东城区第一中学 · {CLASS_NAME}")
    return name, student_no


def open_student_by_number(page, name: str, student_no: str) -> None:
    """Search the student list by 学号 and open the one student found."""
    nav_link(page, "学生").click()
    page.get_by_label("姓名、学号或完整身份证号").fill(student_no)
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def log_care(page, kind: str, day: str, summary: str, attachment: Path | None = None) -> None:
    """Fill the quick-add form under the timeline and save it."""
    timeline = page.locator("#timeline")
    timeline.get_by_text("记录一次帮扶（谈心谈话、家访、心理关爱……）").click()
    form = timeline.locator("details form")
    form.get_by_label("类型", exact=True).select_option(label=kind)
    form.get_by_label("日期", exact=True).fill(day)
    expect(form.get_by_label("保密级别", exact=True)).to_have_value("")  # 按类型默认
    form.get_by_label("内容", exact=True).fill(summary)
    if attachment is not None:
        form.get_by_label("附件（照片或扫描件）").set_input_files(str(attachment))
    form.get_by_role("button", name="保存记录").click()
    expect(flash(page)).to_contain_text(f"{kind}记录已保存。")
    expect(page).to_have_url(re.compile(r"/students/\d+#timeline$"))


def test_counselor_officer_and_class_teacher_share_one_timeline(page, tmp_path):
    token = uuid.uuid4().hex[:8]
    talk = f"谈心：了解住校适应情况 {token}"
    psych = f"心理关爱：考试焦虑，约定每周面谈 {token}"
    visit = f"家访：与奶奶面谈，家中屋顶已修好 {token}"
    grant_voucher, imported_voucher = f"G{token}", f"I{token}"
    photo = tmp_path / "家访照片.png"
    photo.write_bytes(tiny_png())

    # The counselor logs a talk, a confidential psychological-care record and a home visit with a photo.
    log_in(page, "school_counselor")
    name, student_no = open_student_of_the_class(page)
    student_url = page.url

    log_care(page, "谈心谈话", TALK_ON, talk)
    expect(timeline_items(page).filter(has_text=talk)).to_contain_text(shown(TALK_ON))

    log_care(page, "心理关爱", PSYCH_ON, psych)
    psych_item = timeline_items(page).filter(has_text=psych)
    expect(psych_item).to_contain_text(shown(PSYCH_ON))
    expect(psych_item.locator(".badge")).to_have_text(["心理关爱", "保密"])
    expect(page.locator("#timeline ol")).to_have_text(in_order(psych, talk))

    log_care(page, "家访", VISIT_ON, visit, attachment=photo)
    visit_item = timeline_items(page).filter(has_text=visit)
    expect(visit_item).to_contain_text(shown(VISIT_ON))
    expect(visit_item.locator(".badge")).to_have_text(["家访"])
    photo_link = visit_item.get_by_role("link", name="📎 家访照片.png")
    expect(photo_link).to_be_visible()
    expect(page.locator("#timeline ol")).to_have_text(in_order(visit, psych, talk))
    served = page.request.get(photo_link.get_attribute("href"))
    assert served.status == 200
    assert served.headers["content-type"] == "image/png"
    assert served.body() == tiny_png()
    log_out(page)

    # The school aid officer records a grant on the student's file...
    log_in(page, "school_officer")
    open_student_by_number(page, name, student_no)
    page.get_by_role("link", name="记录资助发放").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("记录资助发放")
    page.get_by_label("资助项目", exact=True).select_option(label="营养改善计划")
    page.get_by_label("金额（元）", exact=True).fill("400.00")
    page.get_by_label("发放日期", exact=True).fill(GRANT_ON)
    page.get_by_label("凭证号", exact=True).fill(grant_voucher)
    page.get_by_label("学年", exact=True).select_option(label=YEAR)
    page.get_by_label("学期", exact=True).select_option(label="第一学期（秋季）")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(flash(page)).to_have_text("发放记录已保存。")
    grant_item = timeline_items(page).filter(has_text=grant_voucher)
    expect(grant_item).to_contain_text(shown(GRANT_ON))
    expect(grant_item).to_contain_text("营养改善计划 · ¥400.00")
    expect(grant_item).to_contain_text(f"{YEAR} 第1学期 · 凭证 {grant_voucher}")

    # ... and imports a payment file that names the student by school code and 学号.
    payments = tmp_path / "发放记录.csv"
    payments.write_text(
        "单位代码,学号,身份证号,资助项目,档次,金额,发放日期,学年,学期,凭证号\n"
        f"{SCHOOL_CODE},{student_no},,营养改善计划,,350.00,{IMPORTED_ON},{YEAR},1,{imported_voucher}\n",
        encoding="utf-8")
    nav_link(page, "资助发放").click()
    page.get_by_role("link", name="导入发放记录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("导入资助资金发放")
    page.get_by_label("文件（CSV 或 XLSX）").set_input_files(str(payments))
    page.get_by_role("button", name="上传并预览").click()
    expect(page.get_by_role("heading", name="预览：以下是确认后将要写入的结果")).to_be_visible(timeout=JOB_TIMEOUT)
    change = page.locator("main details", has_text="将要写入的变化")
    expect(change).to_contain_text(f"{name} 营养改善计划 ¥350.00 · {shown(IMPORTED_ON)} · {YEAR} 第一学期")
    expect(change).to_contain_text(f"凭证号 {imported_voucher}")
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_role("heading", name="导入完成")).to_be_visible(timeout=JOB_TIMEOUT)
    for label, count in (("新增", 1), ("更新", 0), ("未变", 0), ("有误", 0)):
        expect(page.locator("main .badge").filter(has_text=re.compile(rf"^{label} "))).to_have_text(
            f"{label} {count}")

    # The payment list finds the imported payment and leads back to the file, where everything is in date order.
    nav_link(page, "资助发放").click()
    page.get_by_label("姓名、学号或凭证号").fill(imported_voucher)
    page.get_by_role("button", name="筛选").click()
    payment_rows = page.locator("main table").last.locator("tbody tr")
    expect(payment_rows).to_have_count(1)
    expect(payment_rows).to_contain_text("¥350.00")
    payment_rows.get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(re.escape(student_url) + "#timeline$"))
    imported_item = timeline_items(page).filter(has_text=imported_voucher)
    expect(imported_item).to_contain_text(shown(IMPORTED_ON))
    expect(imported_item).to_contain_text("营养改善计划 · ¥350.00")
    expect(page.locator("#timeline ol")).to_have_text(
        in_order(visit, imported_voucher, psych, talk, grant_voucher))
    log_out(page)

    # The class teacher sees the payments and the visit; the psychological care only as 保密记录.
    log_in(page, "teacher")
    open_student_by_number(page, name, student_no)
    expect(grant_item).to_contain_text("营养改善计划 · ¥400.00")
    expect(imported_item).to_contain_text("营养改善计划 · ¥350.00")
    expect(timeline_items(page).filter(has_text=visit)).to_contain_text(shown(VISIT_ON))
    expect(timeline_items(page).filter(has_text=talk)).to_contain_text(shown(TALK_ON))
    closed = timeline_items(page).filter(has_text="保密记录").filter(has_text=shown(PSYCH_ON))
    expect(closed.first).to_contain_text("仅学生的辅导员和学校资助中心可以查看。")
    expect(page.locator("main")).not_to_contain_text(psych)
    expect(page.locator("#timeline ol")).to_have_text(
        in_order(visit, imported_voucher, "保密记录", talk, grant_voucher))
    expect(page.get_by_role("link", name="记录资助发放")).to_have_count(0)
