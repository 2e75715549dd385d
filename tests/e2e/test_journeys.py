"""Each demo role's main journey, tried as a new user would: the forms' defaults alone, nothing written by mistake.

Every page visited is checked at 1024 px: no page is wider than the window. The edit forms a role uses are
submitted unchanged, and the rows behind them (every column, the version included, and the audit trail) are
compared before and after. The live server is shared by every browser test, so what a journey writes carries a
token of its own, and the students it works on are picked from the database.
"""

import os
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, inspect, or_, select

from caretrack.accounts.models import User
from caretrack.audit.models import AuditEvent
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.followups.models import FollowUp
from caretrack.ledger.models import Disbursement, SupportRecord
from caretrack.notify.models import Notification
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, SchoolClass, Unit
from caretrack.screening.models import TableSubmission
from caretrack.students.models import Guardian, Identification, IdentificationCategory, Student
from tests.e2e import live
from tests.e2e.conftest import log_in
from tests.e2e.test_screening import made_up_id_number

pytestmark = [pytest.mark.e2e, pytest.mark.no_transaction]

WIDTH = 1024
SHOTS = os.environ.get("CARETRACK_JOURNEY_SHOTS")
SCHOOL_CODE = "2199010101"  # 东城区第一中学, of 东城区
CLASS_NAME = "初一(1)班"
JOB_TIMEOUT = 20_000  # ms: imports run in the background and the page reloads when done
# What reading a page writes to the audit log; everything else there is a change.
READ_ACTIONS = ("restricted_record_read", "attachment_read", "id_number_revealed", "students_exported",
                "disbursements_exported", "screening_table_exported")


class Journey:
    """A page at 1024 px that checks the width of every page it loads, and records any server error."""

    def __init__(self, page, app):
        self.page, self.app = page, app
        self.loaded: list[str] = []
        self.checked: set[str] = set()
        self.problems: list[str] = []
        page.set_viewport_size({"width": WIDTH, "height": 800})
        page.on("load", lambda loaded: self.loaded.append(_bare(loaded.url)))
        page.on("response", lambda response: response.status >= 500 and self.problems.append(
            f"{response.status} {response.request.method} {response.url}"))
        page.on("dialog", lambda dialog: dialog.accept())  # data-confirm forms ask before they post

    def seen(self) -> None:
        """The page now shown fits the window."""
        self.page.wait_for_load_state("load")
        found = live.overflow(self.page)
        if found["page"] > 0 or found["bar_right"] > 0:
            self.problems.append(f"{self.page.url} is wider than {WIDTH} px: {found}")
        self.checked.add(_bare(self.page.url))
        if SHOTS:  # to look at every page of the journeys: CARETRACK_JOURNEY_SHOTS=folder
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=f"{SHOTS}/{len(list(Path(SHOTS).iterdir())):03d}.png", full_page=True)

    def log_in(self, username: str) -> None:
        self.page.goto("/login")
        self.seen()
        log_in(self.page, username)
        self.seen()

    def go(self, action) -> None:
        """Click what leads to another page, wait for it, check it."""
        with self.page.expect_navigation():
            action()
        self.seen()

    def nav(self, label: str) -> None:
        self.go(lambda: live.nav_link(self.page, label).click())

    def done(self) -> None:
        unchecked = sorted(set(self.loaded) - self.checked)
        assert not unchecked, f"pages loaded but not checked for width: {unchecked}"
        assert not self.problems, "\n".join(self.problems)

    def db(self):
        return self.app.app_context()


def _bare(url: str) -> str:
    return url.split("#", 1)[0]


def flash(page):
    return page.locator("main .alert")


# --- what the database holds ------------------------------------------------------------------------------

def _row(obj) -> dict:
    return {attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs}


def snapshot(journey: Journey, student_id: int) -> dict:
    """Every column of the student's rows and what hangs off them, and the count of changes in the audit log."""
    with journey.db():
        rows = {}
        for model in (Student, Guardian, Identification, Disbursement, SupportRecord, FollowUp):
            column = model.id if model is Student else model.student_id
            rows[model.__tablename__] = [_row(r) for r in db.session.scalars(
                select(model).where(column == student_id).order_by(model.id))]
        identification_ids = [r["id"] for r in rows["identifications"]]
        rows["identification_categories"] = [_row(r) for r in db.session.scalars(
            select(IdentificationCategory).where(IdentificationCategory.identification_id.in_(identification_ids)))]
        objects = [(name, [r["id"] for r in rows[name]]) for name in
                   ("students", "identifications", "disbursements", "support_records", "followups")]
        rows["audit"] = db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action.not_in(READ_ACTIONS),
            or_(*[(AuditEvent.object_type == name) & AuditEvent.object_id.in_(ids) for name, ids in objects])))
        return rows


def unchanged(journey: Journey, student_id: int, submit) -> None:
    """Submitting the form as it was shown changes nothing about the student."""
    before = snapshot(journey, student_id)
    journey.go(submit)
    assert snapshot(journey, student_id) == before


def student_of(journey: Journey, class_name: str = CLASS_NAME, identified: bool = True,
               school_code: str = SCHOOL_CODE) -> Student:
    """An active student of the class (identified this year, with a payment, when asked), the same on each call."""
    with journey.db():
        statement = (select(Student).join(SchoolClass, SchoolClass.id == Student.class_id).join(
            Unit, Unit.id == Student.school_id).where(SchoolClass.name == class_name, Unit.code == school_code,
                                                      Student.status == "active").order_by(Student.id))
        if identified:
            statement = statement.where(Student.id.in_(select(Disbursement.student_id)),
                                        Student.id.in_(select(Identification.student_id)))
        student = db.session.scalars(statement).first()
        db.session.expunge(student)
        return student


def today_and_term(journey: Journey, school_code: str = SCHOOL_CODE):
    with journey.db():
        today = local_today()
        school = db.session.scalar(select(Unit).where(Unit.code == school_code))
        current = org.term_on(school, today)
        return today, current.year.id, current.year.label, current.number


def open_student(journey: Journey, student: Student) -> None:
    """From the student list: search the 学号, open the one student found."""
    page = journey.page
    journey.nav("学生")
    page.get_by_label("姓名、学号或完整身份证号").fill(student.student_no)
    journey.go(lambda: page.get_by_role("button", name="筛选").click())
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(1)
    journey.go(lambda: rows.get_by_role("link", name=student.name).click())
    expect(page.get_by_role("heading", level=1)).to_contain_text(student.name)


def submissions_of(journey: Journey, code: str) -> int:
    with journey.db():
        return db.session.scalar(select(func.count(TableSubmission.id)).join(
            Unit, Unit.id == TableSubmission.unit_id).where(Unit.code == code))


def click(page, role: str, name: str, exact: bool = True):
    return lambda: page.get_by_role(role, name=name, exact=exact).click()


# --- the journeys ----------------------------------------------------------------------------------------

def saved_record(summary: str) -> SupportRecord:
    """The record with this text: the text is encrypted at rest, so it is matched once decrypted, not in SQL."""
    return next(record for record in db.session.scalars(select(SupportRecord)) if record.summary == summary)


def test_school_aid_officer_records_a_payment_imports_a_roster_and_screens(page, live_server, tmp_path):
    journey = Journey(page, live_server.app)
    token = uuid.uuid4().hex[:6]
    student = student_of(journey)
    today, year_id, year_label, term = today_and_term(journey)
    journey.log_in("school_officer")
    open_student(journey, student)

    # The structural forms of the file, as shown: the current class and status are preselected.
    card = page.locator(".ct-card", has=page.get_by_role("heading", name="调班与学籍"))
    expect(card.get_by_label("调入班级").locator("option:checked")).to_have_text(CLASS_NAME)
    expect(card.get_by_label("学籍状态").locator("option:checked")).to_have_text("在校")
    unchanged(journey, student.id, click(card, "button", "调班…"))
    expect(flash(page)).to_have_text("学生已在该班级，未作改动。")
    unchanged(journey, student.id, click(card, "button", "更新学籍状态…"))
    expect(flash(page)).to_contain_text("未作改动")

    journey.go(click(page, "link", "编辑"))
    unchanged(journey, student.id, click(page, "button", "保存"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(student.name)

    journey.go(click(page, "link", "认定"))
    expect(page.get_by_label("认定学年").locator("option:checked")).to_have_text(year_label)
    unchanged(journey, student.id, click(page, "button", "保存认定"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(student.name)

    # A payment with the form's defaults: only the project, its grade (none) and the amount filled.
    journey.go(click(page, "link", "记录资助发放"))
    expect(page.get_by_label("学年", exact=True).locator("option:checked")).to_have_text(year_label)
    expect(page.get_by_label("发放日期", exact=True)).to_have_value(today.isoformat())
    page.get_by_label("资助项目", exact=True).select_option(label="营养改善计划")
    page.get_by_label("档次", exact=True).select_option(label="不分档")
    page.get_by_label("金额（元）", exact=True).fill("123.45")
    journey.go(click(page, "button", "保存"))
    expect(flash(page)).to_have_text("发放记录已保存。")
    with journey.db():
        paid = db.session.scalars(select(Disbursement).where(Disbursement.student_id == student.id)
                                  .order_by(Disbursement.id.desc())).first()
        assert (str(paid.amount), paid.paid_on, paid.academic_year_id, paid.term) == ("123.45", today, year_id, term)

    # The payment's edit form, saved as shown.
    item = page.locator("#timeline .ct-timeline-item").filter(has_text="¥123.45").first
    journey.go(click(item, "link", "修改"))
    expect(page.get_by_label("学年", exact=True).locator("option:checked")).to_have_text(year_label)
    unchanged(journey, student.id, click(page, "button", "保存"))
    expect(flash(page)).to_have_text("没有改动，未作保存。")

    # A roster of one new student: preview, confirm.
    roster = tmp_path / "名单.csv"
    roster.write_text("单位代码,班级,学号,姓名,身份证号,学段\n"
                      f"{SCHOOL_CODE},{CLASS_NAME},J{token},旅程{token},{made_up_id_number()},义务教育\n",
                      encoding="utf-8")
    journey.nav("学生")
    journey.go(click(page, "link", "导入名单"))
    page.get_by_label("文件（CSV 或 XLSX）").set_input_files(str(roster))
    page.get_by_role("button", name="上传并预览").click()
    expect(page.get_by_role("heading", name="预览：以下是确认后将要写入的结果")).to_be_visible(timeout=JOB_TIMEOUT)
    journey.seen()
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_role("heading", name="导入完成")).to_be_visible(timeout=JOB_TIMEOUT)
    journey.seen()
    with journey.db():
        assert db.session.scalar(select(Student.name).where(Student.student_no == f"J{token}")) == f"旅程{token}"

    # The screening of the current term by the school's own dates; 报送 asks first and submits nothing yet.
    journey.nav("排查")
    journey.go(lambda: page.locator("main table").get_by_role("link", name="东城区第一中学").click())
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{year_label} 学年第 {term} 学期")
    journey.go(click(page, "button", "运行排查"))
    expect(flash(page)).to_contain_text(f"排查完成：{year_label} 学年第 {term} 学期")
    submitted = submissions_of(journey, SCHOOL_CODE)
    journey.go(lambda: page.get_by_role("button", name=re.compile(r"^报送")).click())
    expect(page.get_by_role("heading", level=1)).to_contain_text("确认报送")
    expect(page.get_by_role("button", name=re.compile(r"^确认报送"))).to_be_visible()
    assert submissions_of(journey, SCHOOL_CODE) == submitted
    journey.done()


def test_class_teacher_logs_a_talk_with_the_defaults_and_schedules_a_follow_up(page, live_server):
    journey = Journey(page, live_server.app)
    token = uuid.uuid4().hex[:6]
    student = student_of(journey, identified=False)
    today, *_ = today_and_term(journey)
    journey.log_in("teacher")
    open_student(journey, student)

    # A quick note with the defaults: only its text.
    summary = f"课间谈心，情绪稳定 {token}"
    page.locator("#timeline summary").click()
    form = page.locator("#timeline form[enctype]")
    expect(form.get_by_label("日期", exact=True)).to_have_value(today.isoformat())
    form.get_by_label("内容", exact=True).fill(summary)
    journey.go(click(form, "button", "保存记录"))
    expect(flash(page)).to_have_text("谈心谈话记录已保存。")
    with journey.db():
        note = saved_record(summary)
        assert (note.kind, note.tier, note.happened_on) == ("talk", "normal", today)
    item = page.locator("#timeline .ct-timeline-item").filter(has_text=summary)
    expect(item.locator(".badge")).to_have_text(["谈心谈话"])  # readable by its author, not 保密

    journey.go(click(item, "link", "修改"))
    expect(page.get_by_label("类型", exact=True).locator("option:checked")).to_have_text("谈心谈话")
    unchanged(journey, student.id, click(page, "button", "保存"))
    expect(flash(page)).to_have_text("没有改动，未作保存。")
    expect(page.locator("#timeline .ct-timeline-item").filter(has_text=summary)).to_be_visible()

    # A follow-up: the kind and the person in charge preselected, the due date typed.
    due = today + timedelta(days=7)
    journey.go(click(page, "link", "安排跟进"))
    expect(page.get_by_label("负责人").locator("option:checked")).to_have_text("初一(1)班班主任 刘老师")
    page.get_by_label("期限").fill(due.isoformat())
    page.get_by_label("说明").fill(f"下周再聊 {token}")
    journey.go(click(page, "button", "保存"))
    expect(flash(page)).to_contain_text(f"期限 {due.isoformat()}")
    journey.nav("跟进")
    expect(page.locator("main table")).to_contain_text(f"下周再聊 {token}")
    journey.done()


def test_counselor_logs_confidential_care_and_reads_it(page, live_server):
    journey = Journey(page, live_server.app)
    token = uuid.uuid4().hex[:6]
    student = student_of(journey, identified=False)
    journey.log_in("school_counselor")
    open_student(journey, student)

    summary = f"心理关爱：睡眠不好，约定每周面谈 {token}"
    page.locator("#timeline summary").click()
    form = page.locator("#timeline form[enctype]")
    form.get_by_label("类型", exact=True).select_option(label="心理关爱")
    form.get_by_label("内容", exact=True).fill(summary)
    journey.go(click(form, "button", "保存记录"))
    expect(flash(page)).to_have_text("心理关爱记录已保存。")
    with journey.db():
        care = saved_record(summary)
        assert (care.kind, care.tier) == ("psych_care", "restricted")
    item = page.locator("#timeline .ct-timeline-item").filter(has_text=summary)
    expect(item.locator(".badge")).to_have_text(["心理关爱", "保密"])

    journey.go(click(item, "link", "修改"))
    unchanged(journey, student.id, click(page, "button", "保存"))
    expect(flash(page)).to_have_text("没有改动，未作保存。")
    expect(page.locator("#timeline .ct-timeline-item").filter(has_text=summary)).to_be_visible()
    journey.done()


def test_district_officer_sees_the_schools_shares_of_its_table(page, live_server):
    journey = Journey(page, live_server.app)
    _today, _year_id, year_label, term = today_and_term(journey)
    journey.log_in("district")
    journey.nav("排查")
    journey.go(lambda: page.locator("main table").get_by_role("link", name="东城区", exact=True).click())
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"东城区 附件2 · {year_label} 学年第 {term} 学期")
    shares = page.locator("#shares")
    expect(shares).to_contain_text(re.compile(r"\d+ / 1 所学校已报送"))
    school = shares.get_by_role("row").filter(has_text="东城区第一中学")
    expect(school).to_contain_text("100.0%")
    journey.done()


def test_city_admin_reminds_the_late_units(page, live_server):
    journey = Journey(page, live_server.app)
    with journey.db():
        last_year = db.session.scalar(select(AcademicYear).where(
            AcademicYear.start_year == org.current_year(None, local_today()).start_year - 1))
        label = last_year.label
    journey.log_in("city")
    journey.nav("排查")
    expect(page.locator("#reporting")).to_be_visible()
    page.get_by_label("学年", exact=True).select_option(label=label)
    page.get_by_label("学期", exact=True).select_option(label="第二学期（春季）")
    journey.go(click(page, "button", "查看"))
    reporting = page.locator("#reporting")
    expect(reporting).to_contain_text("逾期未报送：")
    journey.go(click(reporting, "button", "催报"))
    expect(flash(page).first).to_contain_text(re.compile(r"已向 \d+ 个逾期未报送的单位发送催报提醒|今天都已催报过"))
    with journey.db():
        officers = db.session.scalars(select(User.id).where(User.username.in_(["district", "uni_officer"]))).all()
        told = db.session.scalars(select(Notification.user_id).where(
            Notification.key.like(f"screening-remind:%:{last_year.start_year}-2:{local_today().isoformat()}")))
        assert set(officers) <= set(told)
    journey.done()


def test_inspector_reads_pages_without_edit_buttons(page, live_server):
    journey = Journey(page, live_server.app)
    student = student_of(journey)
    journey.log_in("inspector")
    open_student(journey, student)
    main = page.locator("main")
    for name in ("编辑", "认定", "调班…", "更新学籍状态…", "记录资助发放", "修改", "安排跟进"):
        expect(main.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(main.get_by_role("link", name=name, exact=True)).to_have_count(0)
    expect(page.locator("#timeline form[enctype]")).to_have_count(0)
    journey.nav("排查")
    journey.go(lambda: page.locator("main table").get_by_role("link", name="东城区", exact=True).click())
    journey.go(lambda: page.locator("#shares").get_by_role("link", name="东城区第一中学").click())
    expect(main.get_by_role("button", name="运行排查")).to_have_count(0)
    expect(main.get_by_role("button", name=re.compile(r"^报送"))).to_have_count(0)
    journey.done()


def test_club_leader_sees_the_club_and_no_student_file(page, live_server):
    journey = Journey(page, live_server.app)
    student = student_of(journey, class_name="机械2401", identified=False, school_code="4199010001")
    journey.log_in("club_leader")
    journey.nav("自强社")
    journey.go(lambda: page.locator("main table").get_by_role("link", name="自强社").click())
    expect(page.get_by_role("heading", level=1)).to_contain_text("自强社")
    response = page.goto(f"/students/{student.id}")
    assert response.status == 403
    journey.seen()
    journey.done()
