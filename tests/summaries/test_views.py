"""The summary page, the narrative, the PDF and the batch downloads, through HTTP."""

import io
import zipfile
from datetime import datetime, timezone

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.jobs import services as jobs
from caretrack.jobs.models import Job
from caretrack.org.services import ensure_academic_year
from caretrack.summaries import batches
from caretrack.summaries.models import GeneratedSummary, SummaryNarrative
from tests.factories import identify, make_student, make_user, pay


@pytest.fixture(autouse=True)
def _in_term_two():
    """10 February 2026: term 1 of 2025-2026 is over, term 2 has begun."""
    with time_machine.travel(datetime(2026, 2, 10, 4, 0, tzinfo=timezone.utc), tick=False):
        yield


def page(ledger, term=1, suffix=""):
    return f"/summaries/students/{ledger.student.id}/2025/{term}{suffix}"


def test_a_class_teacher_reads_the_summary_with_confidential_records_counted_not_quoted(ledger, client, login):
    login(ledger.teacher)
    html = client.get(page(ledger)).get_data(as_text=True)
    assert "学期资助育人小结" in html
    assert "李明" in html
    assert "¥1,225.00" in html
    assert "谈学习计划" in html
    assert "焦虑" not in html
    assert "保密记录（仅计数，不显示内容）" in html


def test_a_counselor_reads_the_confidential_record_and_the_read_is_audited(ledger, client, login):
    login(make_user(Role.COUNSELOR, ledger.city.class_a))
    before = db.session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action == "restricted_record_read"))
    assert "心理辅导：焦虑情绪" in client.get(page(ledger)).get_data(as_text=True)
    after = db.session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "restricted_record_read"))
    assert after == before + 1


def test_a_narrative_with_a_script_is_shown_as_text(ledger, client, login):
    login(ledger.teacher)
    response = client.post(page(ledger, suffix="/narrative"), data={"text": "<script>alert(1)</script>认真",
                                                                     "version": ""})
    assert response.status_code == 302
    html = client.get(page(ledger)).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;认真" in html
    assert "<script>alert(1)" not in html


def test_a_stale_narrative_form_is_refused_and_keeps_the_text(ledger, client, login):
    login(ledger.teacher)
    client.post(page(ledger, suffix="/narrative"), data={"text": "第一稿", "version": ""})
    narrative = db.session.scalar(select(SummaryNarrative))
    opened = narrative.version
    client.post(page(ledger, suffix="/narrative"), data={"text": "第二稿", "version": str(opened)})
    response = client.post(page(ledger, suffix="/narrative"), data={"text": "我的旧表单", "version": str(opened)})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "已被他人修改" in html
    assert "我的旧表单" in html
    db.session.refresh(narrative)
    assert narrative.text == "第二稿"


def test_two_blank_forms_do_not_overwrite_each_other(ledger, client, client_for, login):
    login(ledger.teacher)
    counselor = client_for(make_user(Role.COUNSELOR, ledger.city.class_a))
    first = counselor.post(page(ledger, suffix="/narrative"), data={"text": "辅导员先写", "version": ""})
    assert first.status_code == 302
    response = client.post(page(ledger, suffix="/narrative"), data={"text": "班主任后写", "version": ""})
    assert response.status_code == 400
    assert "已被他人修改" in response.get_data(as_text=True)
    assert db.session.scalar(select(SummaryNarrative)).text == "辅导员先写"


def test_a_term_that_has_not_started_is_refused(ledger, client, login):
    ensure_academic_year(2026)
    login(ledger.teacher)
    response = client.get(f"/summaries/students/{ledger.student.id}/2026/2", follow_redirects=True)
    assert "尚未开始" in response.get_data(as_text=True)
    refused = client.post(f"/summaries/students/{ledger.student.id}/2026/2/narrative", data={"text": "早"},
                          follow_redirects=True)
    assert "尚未开始" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SummaryNarrative)) == 0


def test_another_class_student_is_not_found(ledger, client, login):
    other = make_student(ledger.city.class_b, name="别班")
    identify(other, 2025)
    login(ledger.teacher)
    assert client.get(f"/summaries/students/{other.id}/2025/1").status_code == 404
    assert client.get(f"/summaries/students/{other.id}/2025/1.pdf").status_code == 404


def test_an_inspector_reads_but_may_not_write(ledger, client, login):
    login(make_user(Role.INSPECTOR, ledger.city.east))
    assert client.get(page(ledger)).status_code == 200
    assert client.post(page(ledger, suffix="/narrative"), data={"text": "x"}).status_code == 403


def test_the_pdf_download(ledger, client, login):
    login(ledger.teacher)
    response = client.get(page(ledger, suffix=".pdf"))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")


def start_batch(client, scope, file_format, term="1"):
    return client.post("/summaries/", data={"scope": scope, "year": "2025", "term": term, "format": file_format})


def batch(client, scope, file_format, term="1"):
    """Start the batch (the tests' queue runs it at once), follow to its page and download its file."""
    started = start_batch(client, scope, file_format, term)
    if started.status_code != 302:
        return started
    job_page = client.get(started.headers["Location"])
    assert "生成完成" in job_page.get_data(as_text=True)
    return client.get(started.headers["Location"] + "/download")


def test_the_class_batch_as_xlsx_zip_and_merged_pdf(ledger, client, login):
    other = make_student(ledger.city.class_a, name="王芳")
    identify(other, 2025)
    pay(other, "免学杂费", "300.00", term=1)
    login(ledger.teacher)
    scope = f"class:{ledger.city.class_a.id}"
    workbook = load_workbook(io.BytesIO(batch(client, scope, "xlsx").data))
    assert workbook.sheetnames == ["初一(1)班"]
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][:2] == ("学号", "姓名")
    assert {row[1]: row[6] for row in rows[1:]} == {"李明": 1225, "王芳": 300}
    with zipfile.ZipFile(io.BytesIO(batch(client, scope, "zip").data)) as archive:
        assert sorted(archive.namelist()) == sorted(
            [f"初一(1)班_{s.student_no}_{s.name}.pdf" for s in (ledger.student, other)])
    merged = batch(client, scope, "pdf")
    assert merged.mimetype == "application/pdf"
    assert merged.data.startswith(b"%PDF-")


def test_a_batch_runs_as_a_job_that_stores_every_summary_and_keeps_its_file_private(ledger, client, login):
    login(ledger.teacher)
    started = start_batch(client, f"class:{ledger.city.class_a.id}", "zip")
    job = db.session.get(Job, int(started.headers["Location"].rsplit("/", 1)[1]))
    assert (job.kind, job.status, job.total, job.rows_done, job.result["count"]) == ("summaries.batch", "done", 1, 1, 1)
    assert db.session.scalar(select(func.count()).select_from(GeneratedSummary)) == 1
    assert batches.file_path(job).stat().st_mode & 0o777 == 0o600
    progress = client.get(f"/summaries/batches/{job.id}.json").get_json()
    assert (progress["status"], progress["percent"]) == ("done", 100)


def test_a_batch_started_twice_while_the_first_is_queued_joins_the_first(ledger, client, login):
    scope = f"class:{ledger.city.class_a.id}"
    queued = jobs.create(batches.JOB_KIND, ledger.teacher, {"target": scope, "start_year": 2025, "term": 1,
                                                            "format": "zip", "token": "t"}, total=1)
    officer = make_user(Role.SCHOOL_OFFICER, ledger.city.east_school)
    for user in (ledger.teacher, officer):  # the starter, and another user who may see the class
        login(user)
        again = start_batch(client, scope, "zip")
        assert again.headers["Location"].endswith(f"/summaries/batches/{queued.id}")
        html = client.get(again.headers["Location"]).get_data(as_text=True)
        assert "同样的一批小结已在生成中" in html
        assert "排队中" in html
    other_format = start_batch(client, scope, "xlsx")
    assert not other_format.headers["Location"].endswith(f"/{queued.id}")
    assert db.session.scalar(select(func.count()).select_from(Job)) == 2


def test_a_finished_batch_is_not_joined_a_new_one_is_made(ledger, client, login):
    login(ledger.teacher)
    scope = f"class:{ledger.city.class_a.id}"
    first = start_batch(client, scope, "xlsx").headers["Location"]
    second = start_batch(client, scope, "xlsx").headers["Location"]
    assert first != second


def test_a_batch_outside_ones_scope_is_not_found(ledger, client, login):
    login(ledger.teacher)
    assert start_batch(client, f"class:{ledger.city.class_b.id}", "xlsx").status_code == 404
    assert start_batch(client, f"unit:{ledger.city.east_school.id}", "xlsx").status_code == 404
    assert start_batch(client, "class:abc", "xlsx").status_code == 404
    officer_job = jobs.create(batches.JOB_KIND, ledger.teacher, {
        "target": f"class:{ledger.city.class_b.id}", "start_year": 2025, "term": 1, "format": "zip", "token": "t"})
    for suffix in ("", ".json", "/download"):
        assert client.get(f"/summaries/batches/{officer_job.id}{suffix}").status_code == 404
    assert client.get("/summaries/batches/999999").status_code == 404


def test_a_batch_of_a_term_not_begun_is_refused_with_a_message(ledger, client, login):
    ensure_academic_year(2026)
    login(ledger.teacher)
    response = client.post("/summaries/", data={"scope": f"class:{ledger.city.class_a.id}", "year": "2026",
                                                "term": "1", "format": "xlsx"})
    assert response.status_code == 400
    assert "尚未开始" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_school_officer_downloads_the_school(ledger, client, login):
    login(make_user(Role.SCHOOL_OFFICER, ledger.city.east_school))
    response = batch(client, f"unit:{ledger.city.east_school.id}", "xlsx")
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.data)).sheetnames == ["初一(1)班"]


@pytest.mark.parametrize(("url", "role", "intro", "link", "anchor", "done", "kept"), [
    ("/summaries/missing", Role.SCHOOL_OFFICER, "本学期的资助育人小结还没有生成过的在校学生", "查看小结", "",
     "本学期的小结都已生成。", (GeneratedSummary, {"content": {}})),
    ("/summaries/narratives", Role.CLASS_TEACHER, "本学期还没有评语的在校学生", "写评语", "#narrative",
     "本学期的评语都已写好。", (SummaryNarrative, {"text": "学习认真，积极参加自强社活动。"})),
])
def test_the_lists_of_missing_summaries_and_narratives_link_each_student_then_say_all_is_done(
        ledger, client, login, url, role, intro, link, anchor, done, kept):
    login(make_user(role, ledger.city.east_school if role == Role.SCHOOL_OFFICER else ledger.city.class_a))
    html = client.get(url).get_data(as_text=True)
    assert "2025-2026 学年第 2 学期" in html
    assert intro in html
    assert '<td>李明</td><td class="ct-code">S2025001</td><td>初一(1)班</td>' in html
    assert f'href="{page(ledger, 2)}{anchor}">{link}</a>' in html
    assert done not in html
    model, fields = kept  # the term's summary generated, or its narrative written
    db.session.add(model(student_id=ledger.student.id, school_id=ledger.student.school_id,
                         academic_year_id=ledger.year.id, term=2, **fields))
    db.session.flush()
    html = client.get(url).get_data(as_text=True)
    assert "李明" not in html
    assert done in html


def test_the_list_of_missing_summaries_without_an_academic_year_says_what_to_do(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    html = client.get("/summaries/missing").get_data(as_text=True)
    assert "还没有设置学年。请管理员先运行 flask caretrack init。" in html
    assert "<table" not in html
