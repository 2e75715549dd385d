"""A real worker killed with SIGKILL in the middle of a term-summary batch: the batch started again finishes it,
and nothing is doubled. On SQLite (queue in SQLite) and PostgreSQL (queue on the app's database).

The worker stops at a pause point (caretrack.core.faults) with the first class committed and the second written
but not committed, so the kill always lands in the same place; the test kills it there.
"""

import io
import os
import signal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.models import Unit
from caretrack.students.models import Category
from caretrack.summaries import batches
from caretrack.summaries.models import GeneratedSummary
from tests.factories import PASSWORD, identify, make_student
from tests.faults import wait_for_line
from tests.jobs.test_worker_processes import HEARTBEAT_SECONDS, Installation, wait_for

pytestmark = pytest.mark.no_transaction

CLASSES, PER_CLASS = 3, 4
STUDENTS = CLASSES * PER_CLASS
BACKENDS = ["sqlite"] + (
    ["postgresql"] if os.environ.get("CARETRACK_TEST_DATABASE_URL", "").startswith("postgresql") else [])


@pytest.fixture(params=BACKENDS)
def installation(request, tmp_path, monkeypatch):
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", os.environ.get("CARETRACK_INSTANCE_PATH", ""))
    place = Installation(request.param, tmp_path)
    place.workers = []
    with place.app.app_context():
        school = db.session.scalar(select(Unit).where(Unit.code == "2199010101"))
        for number in range(1, CLASSES + 1):
            school_class = org.get_or_create_class(None, school, f"初二({number})班")
            for _ in range(PER_CLASS):
                identify(make_student(school_class), 2025, Category.RURAL_DIBAO)
        db.session.commit()
        place.school_id = school.id
    yield place
    for worker in place.workers:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
    place.close()


def _summaries(place) -> tuple[int, int]:
    with place.app.app_context():
        rows = db.session.execute(select(func.count(), func.count(func.distinct(GeneratedSummary.student_id)))
                                  .where(GeneratedSummary.term == 1)).one()
        db.session.rollback()
        return tuple(rows)


def _batch_files(place) -> list[str]:
    folder = Path(place.env["CARETRACK_INSTANCE_PATH"]) / "summary-batches"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def test_a_batch_whose_worker_is_killed_mid_class_is_started_again_and_finishes_without_doubles(installation):
    place = installation
    client = place.app.test_client()
    assert client.post("/login", data={"username": place.username, "password": PASSWORD}).status_code == 302
    form = {"scope": f"unit:{place.school_id}", "year": "2025", "term": "1", "format": "xlsx"}

    first = place.start_worker(CARETRACK_FAULT_PAUSE="summaries.class=2")
    place.workers.append(first)
    started = client.post("/summaries/", data=form)
    assert started.status_code == 302, started.get_data(as_text=True)
    killed_job = int(started.location.rsplit("/", 1)[1])
    wait_for_line(place.log_path, "CARETRACK FAULT PAUSE summaries.class=2", first, deadline=120)
    assert client.get(f"/summaries/batches/{killed_job}.json").get_json()["processed"] == PER_CLASS
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)

    # The first class was committed, the second died with its transaction; no file was made.
    assert _summaries(place) == (PER_CLASS, PER_CLASS)
    assert _batch_files(place) == []
    wait_for(lambda: client.get(f"/summaries/batches/{killed_job}.json").get_json()["status"] == "failed",
             "the stale heartbeat", deadline=HEARTBEAT_SECONDS * 10)
    page = client.get(f"/summaries/batches/{killed_job}").get_data(as_text=True)
    assert "后台进程已停止响应，文件没有生成。已逐班完成的小结已保存；请重新生成。" in page

    # The same batch asked for again is a new job (the dead one is not joined) that a new worker finishes.
    second = place.start_worker()
    place.workers.append(second)
    again = client.post("/summaries/", data=form)
    assert again.status_code == 302
    job_id = int(again.location.rsplit("/", 1)[1])
    assert job_id != killed_job
    wait_for(lambda: client.get(f"/summaries/batches/{job_id}.json").get_json()["status"] == "done",
             "the batch started again", second, deadline=120)

    assert client.get(f"/summaries/batches/{job_id}.json").get_json() == {
        "status": "done", "phase": "generate", "processed": STUDENTS, "total": STUDENTS, "percent": 100}
    done = place.job(job_id)
    assert (done.attempt, done.total, done.rows_done, done.result["count"]) == (1, STUDENTS, STUDENTS, STUDENTS)
    assert _summaries(place) == (STUDENTS, STUDENTS)  # each student one summary of the term
    assert place.job(killed_job).result is None
    # One file, the finished job's, and no partial or temporary file beside it.
    with place.app.app_context():
        expected = batches.file_path(done).name
    assert _batch_files(place) == [expected]
    download = client.get(f"/summaries/batches/{job_id}/download")
    assert download.status_code == 200
    workbook = load_workbook(io.BytesIO(download.data))
    assert len(workbook.worksheets) == CLASSES
    numbers = [row[0] for sheet in workbook.worksheets for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(numbers) == len(set(numbers)) == STUDENTS
    killed_page = client.get(f"/summaries/batches/{killed_job}/download")
    assert killed_page.status_code == 302  # the dead job offers no file
