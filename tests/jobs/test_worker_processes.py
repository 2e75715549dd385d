"""Real worker processes: `kill -9` one halfway through a 20,000-row web import, rerun, and the data equals a clean
import of the same file. On SQLite (queue in SQLite), PostgreSQL (queue on the app's database) and Redis.

Each run: start `flask caretrack worker`, upload and preview through the web pages, confirm, watch the progress
from this process (another process than the worker), kill the worker during the write phase, see the job shown as
failed once its heartbeat is stale, start a new worker, rerun it as its starter, and compare.
"""

import io
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from caretrack import create_app, demo
from caretrack.accounts.models import User
from caretrack.core.access import Role
from caretrack.core.imports import run_import
from caretrack.extensions import db
from caretrack.jobs.models import Job
from caretrack.jobs.queue import queue_of
from caretrack.org.models import Stage
from caretrack.org.services import ensure_academic_year
from caretrack.students.importers import StudentImporter
from caretrack.students.models import Student
from tests.conftest import fresh_postgres_database, skip_or_fail
from tests.factories import PASSWORD, build_city, make_user

pytestmark = pytest.mark.no_transaction

ROWS = 20_000
HEARTBEAT_SECONDS = 4
PHASE_DEADLINE = 300  # seconds for one step (a preview or an import of 20,000 rows) on a busy machine
DATA_KEY = "worker-data-key-0123456789abcdef0123456789"
FLASK = Path(sys.executable).with_name("flask")


def _postgres_url() -> str:
    url = os.environ.get("CARETRACK_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        skip_or_fail("PostgreSQL tests need CARETRACK_TEST_DATABASE_URL=postgresql+psycopg://...")
    return fresh_postgres_database(url, "worker")


def _redis_url() -> str:
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis at 127.0.0.1:6379 not reachable: {exc}")
    return url


def _urls(backend: str, tmp_path: Path) -> tuple[str, str]:
    """(database URL, queue URL) of one backend."""
    sqlite_db = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    if backend == "sqlite":
        return sqlite_db, f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    if backend == "postgresql":
        database = _postgres_url()
        return database, database
    database = _postgres_url() if os.environ.get("CARETRACK_TEST_DATABASE_URL", "").startswith("postgresql") \
        else sqlite_db
    return database, _redis_url()


class Installation:
    """The app in this process (the web side) and the environment its worker processes run with."""

    def __init__(self, backend: str, tmp_path: Path):
        database, queue = _urls(backend, tmp_path)
        self.env = {**os.environ, "FLASK_APP": "caretrack", "CARETRACK_ENV": "development",
                    "CARETRACK_INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": database,
                    "CARETRACK_QUEUE_URL": queue, "CARETRACK_QUEUE_NAME": f"test-{uuid.uuid4().hex[:12]}",
                    "CARETRACK_JOB_HEARTBEAT_LIMIT_SECONDS": str(HEARTBEAT_SECONDS), "SECRET_KEY": "worker-secret",
                    "CARETRACK_DATA_KEY": DATA_KEY, "CARETRACK_UPLOAD_FOLDER": str(tmp_path / "uploads")}
        self.env.pop("CARETRACK_QUEUE_IMMEDIATE", None)
        self.log_path = tmp_path / "worker.log"
        self.log = self.log_path.open("ab")
        # create_app takes its instance folder from the environment (the fixture restores it)
        os.environ["CARETRACK_INSTANCE_PATH"] = self.env["CARETRACK_INSTANCE_PATH"]
        self.app = create_app({
            "TESTING": True, "SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "worker-secret",
            "CARETRACK_DATA_KEY": DATA_KEY, "WTF_CSRF_ENABLED": False, "CARETRACK_QUEUE_URL": queue,
            "CARETRACK_QUEUE_NAME": self.env["CARETRACK_QUEUE_NAME"], "CARETRACK_QUEUE_IMMEDIATE": False,
            "JOB_HEARTBEAT_LIMIT": timedelta(seconds=HEARTBEAT_SECONDS),
            "UPLOAD_FOLDER": self.env["CARETRACK_UPLOAD_FOLDER"],
        })
        with self.app.app_context():
            upgrade()
            ensure_academic_year(2025)
            officer = make_user(Role.SCHOOL_OFFICER, build_city().east_school)
            db.session.commit()
            self.officer_id, self.username = officer.id, officer.username

    def start_worker(self, **extra_env: str) -> subprocess.Popen:
        return subprocess.Popen([str(FLASK), "caretrack", "worker", "--workers", "1"], env={**self.env, **extra_env},
                                stdout=self.log, stderr=subprocess.STDOUT)

    def job(self, job_id: int) -> Job:
        with self.app.app_context():
            job = db.session.get(Job, job_id)
            db.session.expunge(job)
            return job

    def close(self) -> None:
        with self.app.app_context():
            queue = queue_of(self.app).huey
            queue.storage.flush_queue()
            queue.storage.flush_results()
            db.engine.dispose()
        self.log.close()


# PostgreSQL's run needs the suite on PostgreSQL (CI's second pass runs it); the SQLite pass runs the other two.
BACKENDS = ["sqlite", "redis"] + (
    ["postgresql"] if os.environ.get("CARETRACK_TEST_DATABASE_URL", "").startswith("postgresql") else [])


@pytest.fixture(params=BACKENDS)
def installation(request, tmp_path, monkeypatch):
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", os.environ.get("CARETRACK_INSTANCE_PATH", ""))
    place = Installation(request.param, tmp_path)
    workers: list[subprocess.Popen] = []
    place.workers = workers
    yield place
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
    place.close()


def roster() -> bytes:
    spec = demo.RosterSpec("2199010101", Stage.COMPULSORY, [("", "初一(1)班"), ("", "初一(2)班")])
    return demo.roster_csv(demo.roster_rows(spec, ROWS, random.Random(11), "2025-2026", 700000001))


def wait_for(check, what: str, worker: subprocess.Popen | None = None, deadline: float = PHASE_DEADLINE):
    """Poll `check` until it returns something true; fail after `deadline` seconds or if the worker exited."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        if worker is not None and worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}) while waiting for {what}")
        time.sleep(0.05)
    pytest.fail(f"timed out after {deadline}s waiting for {what}")


def job_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.location.rsplit("/", 1)[1])


def progress(client, job_id: int) -> dict:
    return client.get(f"/students/import/jobs/{job_id}.json").get_json()


def test_a_killed_worker_s_import_is_noticed_rerun_and_equals_a_clean_import(installation):
    place = installation
    client = place.app.test_client()
    assert client.post("/login", data={"username": place.username, "password": PASSWORD}).status_code == 302
    content = roster()
    first = place.start_worker()
    place.workers.append(first)

    preview_id = job_id_of(client.post("/students/import", data={"file": (io.BytesIO(content), "roster.csv")},
                                       content_type="multipart/form-data"))
    wait_for(lambda: progress(client, preview_id)["status"] == "done", "the preview", first)
    job_id = job_id_of(client.post(f"/students/import/jobs/{preview_id}/confirm"))

    # Progress is visible from this process while the worker writes, before anything commits.
    mid = wait_for(lambda: (lambda p: p if p["phase"] == "write" and ROWS // 4 <= p["processed"] < ROWS else None)(
        progress(client, job_id)), "the write phase half-way", first)
    assert mid["status"] == "running"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert place.job(job_id).status == "running"  # the row cannot know: its worker died

    # Once the heartbeat is stale the page says what happened and offers a rerun to the person who started it.
    wait_for(lambda: progress(client, job_id)["status"] == "failed", "the stale heartbeat",
             deadline=HEARTBEAT_SECONDS * 10)
    page = client.get(f"/students/import/jobs/{job_id}").get_data(as_text=True)
    assert "处理这个导入的后台进程已停止响应（可能被重启），导入没有完成，没有写入任何数据。" in page
    assert f"/students/import/jobs/{job_id}/rerun" in page
    with place.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Student)) == 0  # the import is one transaction

    second = place.start_worker()
    place.workers.append(second)
    assert client.post(f"/students/import/jobs/{job_id}/rerun").status_code == 302
    wait_for(lambda: progress(client, job_id)["status"] == "done", "the rerun", second)

    done = place.job(job_id)
    assert (done.attempt, done.result["created"], done.result["invalid"]) == (2, ROWS, 0)
    assert "导入完成" in client.get(f"/students/import/jobs/{job_id}").get_data(as_text=True)
    with place.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Student)) == ROWS
        assert db.session.scalar(select(func.count(func.distinct(Student.id_index)))) == ROWS
        # A clean import of the same file would write exactly this: importing it again changes nothing.
        officer = db.session.get(User, place.officer_id)
        again = run_import(StudentImporter(officer), io.BytesIO(content), "roster.csv", dry_run=True)
        db.session.rollback()
    assert (again.created, again.updated, again.unchanged, again.invalid) == (0, 0, ROWS, 0)
