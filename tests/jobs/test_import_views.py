"""The import pages on the queue: waiting, a dead worker's job shown failed and rerun by its starter only."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from caretrack.core.access import Role
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db
from caretrack.jobs import imports
from caretrack.jobs.models import Job
from caretrack.students.models import Student
from tests.core.test_import_jobs import roster
from tests.factories import make_user

STALLED = "处理这个导入的后台进程已停止响应（可能被重启），导入没有完成，没有写入任何数据。"


@pytest.fixture
def officer_user(city):
    return make_user(Role.SCHOOL_OFFICER, city.east_school)


@pytest.fixture
def officer(officer_user, login):
    return login(officer_user)


def preview(client, content: bytes) -> Job:
    response = client.post("/students/import", data={"file": (io.BytesIO(content), "roster.csv")},
                           content_type="multipart/form-data")
    return db.session.get(Job, int(response.location.rsplit("/", 1)[1]))


def died_mid_import(preview_job: Job, user, app) -> Job:
    """A confirmed import whose worker was killed: its row says running, its heartbeat stopped long ago."""
    job = imports.start_confirmed(preview_job, user)
    job.status, job.phase, job.rows_done = "running", "write", 1
    job.started_at = job.heartbeat_at = utcnow() - app.config["JOB_HEARTBEAT_LIMIT"] - timedelta(minutes=1)
    db.session.flush()
    return job


def students() -> int:
    return db.session.scalar(select(func.count()).select_from(Student))


def test_a_job_no_worker_has_taken_yet_says_it_waits(officer, officer_user):
    job = imports.start_confirmed(preview(officer, roster("Q1")), officer_user)
    page = officer.get(f"/students/import/jobs/{job.id}").get_data(as_text=True)
    assert '<small class="ct-muted">roster.csv</small>' in page
    assert "排队中，等待后台进程处理。" in page
    assert officer.get(f"/students/import/jobs/{job.id}.json").get_json()["status"] == "queued"


def test_a_dead_worker_s_import_is_shown_failed_and_its_starter_reruns_it(officer, officer_user, app):
    job = died_mid_import(preview(officer, roster("R1", "R2")), officer_user, app)
    assert officer.get(f"/students/import/jobs/{job.id}.json").get_json()["status"] == "failed"
    page = officer.get(f"/students/import/jobs/{job.id}").get_data(as_text=True)
    assert STALLED in page
    assert f'action="/students/import/jobs/{job.id}/rerun"' in page
    done = officer.post(f"/students/import/jobs/{job.id}/rerun", follow_redirects=True).get_data(as_text=True)
    assert "已重新开始这个任务。" in done
    assert "导入完成" in done
    assert students() == 2
    db.session.refresh(job)
    assert (job.status, job.attempt, job.result["created"]) == ("done", 2, 2)
    assert not imports.file_path(job).exists()
    again = officer.post(f"/students/import/jobs/{job.id}/rerun", follow_redirects=True).get_data(as_text=True)
    assert "这个任务正在运行或已经完成，不能重新运行。" in again
    assert students() == 2


def test_a_live_job_cannot_be_rerun(officer, officer_user):
    job = imports.start_confirmed(preview(officer, roster("S1")), officer_user)
    job.status, job.started_at, job.heartbeat_at = "running", utcnow(), utcnow()
    db.session.flush()
    assert "/rerun" not in officer.get(f"/students/import/jobs/{job.id}").get_data(as_text=True)
    response = officer.post(f"/students/import/jobs/{job.id}/rerun", follow_redirects=True)
    assert "这个任务正在运行或已经完成，不能重新运行。" in response.get_data(as_text=True)
    assert students() == 0


def test_nobody_else_sees_or_reruns_a_dead_job(officer, officer_user, app, client_for, city):
    job = died_mid_import(preview(officer, roster("T1")), officer_user, app)
    colleague = client_for(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert colleague.get(f"/students/import/jobs/{job.id}").status_code == 404
    assert colleague.post(f"/students/import/jobs/{job.id}/rerun").status_code == 404
    db.session.refresh(job)
    assert (job.status, job.attempt) == ("running", 1)


def test_a_dead_job_whose_file_expired_asks_for_a_new_upload(officer, officer_user, app):
    job = died_mid_import(preview(officer, roster("U1")), officer_user, app)
    imports.discard_file(job)
    page = officer.get(f"/students/import/jobs/{job.id}").get_data(as_text=True)
    assert STALLED in page
    assert "/rerun" not in page
    response = officer.post(f"/students/import/jobs/{job.id}/rerun", follow_redirects=True)
    assert "待导入的文件已失效，请重新上传。" in response.get_data(as_text=True)
    assert students() == 0


def test_an_upload_the_queue_cannot_take_is_failed_and_can_be_rerun_later(officer, monkeypatch):
    from caretrack.jobs import queue

    def down(*_args):
        raise ConnectionError("redis is down")

    with monkeypatch.context() as patch:
        patch.setattr(queue.Queue, "enqueue", down)
        response = officer.post("/students/import", data={"file": (io.BytesIO(roster("V1")), "roster.csv")},
                                content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "后台任务队列暂时不可用，导入没有开始。请稍后点“重新运行”。" in page
    job = db.session.scalars(select(Job).order_by(Job.id.desc())).first()
    assert (job.status, job.error) == ("failed", "not queued")
    assert f'action="/students/import/jobs/{job.id}/rerun"' in page
    rerun = officer.post(f"/students/import/jobs/{job.id}/rerun", follow_redirects=True).get_data(as_text=True)
    assert "预览：以下是确认后将要写入的结果" in rerun
