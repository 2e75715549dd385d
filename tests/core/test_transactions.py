"""One transaction per request: committed once at its end when the view succeeded, rolled back otherwise.

The probe app is the real app (create_app) with a few routes of its own, so a view that writes and then fails
can be tried; its sessions share the test's connection like every other request in the suite.
"""

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from flask import Blueprint, redirect, url_for
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from caretrack.accounts.models import UserSession
from caretrack.audit.models import AuditEvent
from caretrack.audit.services import AuditAction, record
from caretrack.core import lease, requests
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.notify import webhooks
from caretrack.notify.models import DeliveryStatus, WebhookDelivery, WebhookTarget
from caretrack.notify.services import notify_unit
from caretrack.students.models import Caseload, Student
from tests.conftest import log_in, make_app
from tests.factories import make_student, make_user

PROBE = "probe_write"
ROBOT_TEXT = "本校有 3 项家访已逾期，请及时处理。"
ROOT = Path(__file__).resolve().parents[2]

# Only these may commit: the request's end, the CLI, task bodies (they commit per item), the import machinery,
# the scheduler and its lease, and the demo data.
ALLOWED_TO_COMMIT = {
    "caretrack/core/requests.py", "caretrack/cli.py", "caretrack/jobs/services.py", "caretrack/scheduler.py",
    "caretrack/core/lease.py", "caretrack/demo.py",
    # Error pages roll the failed transaction back before they render (the navigation reads the database).
    "caretrack/core/web.py",
    # The backup's snapshot is a read-only connection of its own, ended by a rollback.
    "caretrack/core/backup.py",
    # The first start of a migrated database remembers its data key, in create_app, before any request.
    "caretrack/core/keyring.py",
}
STILL_COMMITTING: set[str] = set()


class Calls:
    """What the probe's after-commit callbacks saw: how many commits had gone through when each ran."""

    def __init__(self):
        self.commits = 0
        self.callbacks: list[tuple[str, int]] = []

    def on_commit(self, _session):
        self.commits += 1


def _probe_blueprint(calls: Calls) -> Blueprint:
    probe = Blueprint("probe", __name__)

    def write(detail: str) -> None:
        record(PROBE, detail=detail)
        db.session.flush()
        requests.after_commit(lambda: calls.callbacks.append((detail, calls.commits)))

    @probe.post("/probe/raise")
    def write_then_raise():
        write("raised")
        raise RuntimeError("the view failed after writing")

    @probe.post("/probe/refuse")
    def write_then_refuse():
        write("refused")
        return "refused", 400

    @probe.post("/probe/ok")
    def write_and_redirect():
        write("ok")
        return redirect("/probe/done")

    @probe.post("/probe/stale/<int:student_id>")
    def stale_edit(student_id: int):
        write("stale")
        student = db.session.get(Student, student_id)
        # Someone else saves the student between this request's read and its commit (which flushes the edit).
        db.session.execute(update(Student).where(Student.id == student_id).values(version=Student.version + 1)
                           .execution_options(synchronize_session=False))
        student.name = "改过的名字"
        return redirect("/probe/done")

    @probe.post("/probe/down")
    def database_down():
        write("down")

        def refuse(_session):
            raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection"))

        event.listen(db.session(), "before_commit", refuse)
        return redirect("/probe/done")

    @probe.post("/probe/robot/<int:unit_id>")
    def robot_message(unit_id: int):
        notify_unit(unit_id, "probe", ROBOT_TEXT)
        return redirect(url_for("dashboard.home"))

    @probe.post("/probe/robot/<int:unit_id>/fail")
    def robot_message_then_fail(unit_id: int):
        notify_unit(unit_id, "probe-failed", ROBOT_TEXT)
        raise RuntimeError("the view failed after queueing")

    return probe


@pytest.fixture(scope="module")
def probe_app(app, tmp_path_factory):
    calls = Calls()
    probe = make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path_factory.mktemp("probe-instance"))
    probe.config["PROPAGATE_EXCEPTIONS"] = False  # a view's error becomes the 500 page, as in production
    probe.register_blueprint(_probe_blueprint(calls))
    probe.calls = calls
    return probe


@pytest.fixture
def calls(probe_app):
    probe_app.calls.__init__()
    event.listen(Session, "after_commit", probe_app.calls.on_commit)
    yield probe_app.calls
    event.remove(Session, "after_commit", probe_app.calls.on_commit)


@pytest.fixture
def probe(probe_app, calls):
    return probe_app.test_client()


def written(detail: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == PROBE, AuditEvent.detail == detail))


def test_a_view_that_raises_after_writing_leaves_nothing_written(probe, calls):
    response = probe.post("/probe/raise")
    assert response.status_code == 500
    assert "系统出错了" in response.get_data(as_text=True)
    assert written("raised") == 0
    assert calls.callbacks == []


def test_a_view_that_answers_with_an_error_status_leaves_nothing_written(probe, calls):
    assert probe.post("/probe/refuse").status_code == 400
    assert written("refused") == 0
    assert calls.commits == 0


def test_a_successful_post_is_committed_once_and_its_queue_runs_after_the_commit(probe, calls):
    response = probe.post("/probe/ok")
    assert response.status_code == 302
    assert written("ok") == 1
    assert calls.commits == 1
    assert calls.callbacks == [("ok", 1)]  # run once, after the one commit


def test_a_stale_commit_is_a_409_page_with_the_message_and_writes_nothing(probe, calls, city):
    student = make_student(city.class_a, name="原来的名字")
    response = probe.post(f"/probe/stale/{student.id}")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "已被他人修改" in page
    assert "Traceback" not in page
    db.session.refresh(student)
    assert student.name == "原来的名字"
    assert written("stale") == 0
    assert calls.callbacks == []


def test_a_database_down_at_commit_is_a_503_page_and_no_success_message(probe, calls):
    response = probe.post("/probe/down")
    assert response.status_code == 503
    assert "数据库暂时无法访问" in response.get_data(as_text=True)
    assert written("down") == 0
    assert calls.callbacks == []
    with probe.session_transaction() as session:
        assert "_flashes" not in session


@pytest.fixture
def robot_posts(city, monkeypatch):
    posts = []
    monkeypatch.setattr(webhooks, "post", lambda url, payload, timeout: posts.append(payload) or
                        webhooks.PostResult(True))
    db.session.add(WebhookTarget(unit_id=city.east_school.id, kind="wecom", url="https://robot.example/send?key=k",
                                 is_active=True))
    return posts


def test_a_group_message_queued_by_a_request_that_fails_is_never_sent(probe, city, robot_posts):
    assert probe.post(f"/probe/robot/{city.east_school.id}/fail").status_code == 500
    assert robot_posts == []
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_a_group_message_queued_by_a_request_that_succeeds_is_sent_after_the_commit(probe, city, robot_posts):
    assert probe.post(f"/probe/robot/{city.east_school.id}").status_code == 302
    assert [payload["text"]["content"] for payload in robot_posts] == [f"【{webhooks.KEYWORD}】{ROBOT_TEXT}"]
    (delivery,) = db.session.scalars(select(WebhookDelivery)).all()
    assert delivery.status == DeliveryStatus.SENT


def test_a_redirect_built_from_a_new_object_reads_nothing_after_the_commit(app, city, client):
    """With expire_on_commit on, a view that reloaded its object for the redirect after committing could 500."""
    log_in(client, make_user(Role.SCHOOL_OFFICER, city.east_school))
    after_commit: list[str] = []
    committed = []

    def on_commit(session):
        committed.append(session.expire_on_commit)

    def on_statement(_conn, _cursor, statement, *_args):
        if committed:
            after_commit.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(Session, "after_commit", on_commit)
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        response = client.post("/caseloads/", data={"school_id": city.east_school.id, "name": "重点关注"})
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(Session, "after_commit", on_commit)
    caseload = db.session.scalar(select(Caseload).where(Caseload.name == "重点关注"))
    assert response.status_code == 302
    assert response.location.endswith(f"/caseloads/{caseload.id}")
    assert committed == [True]
    assert after_commit == []


def test_the_session_expiry_audit_row_is_kept_although_the_request_redirects(city, client):
    user = make_user(Role.SCHOOL_OFFICER, city.east_school)
    with time_machine.travel(datetime.now(timezone.utc), tick=False) as traveller:
        log_in(client, user)
        traveller.shift(timedelta(minutes=31))
        response = client.get("/units/")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    (expired,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.SESSION_EXPIRED))
    assert (expired.user_id, expired.detail, expired.address) == (user.id, "idle", "127.0.0.1")
    assert db.session.scalar(select(UserSession.ended_at).where(UserSession.user_id == user.id)) is not None


def test_a_screening_run_gives_its_lease_back_once_the_request_has_ended(city, login, client, monkeypatch):
    from caretrack.org.services import ensure_academic_year

    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    year = ensure_academic_year(2025)
    in_transaction_at_release = []
    release = lease.release

    def release_and_note(name, holder):
        in_transaction_at_release.append(db.session().in_transaction())
        release(name, holder)

    monkeypatch.setattr(lease, "release", release_and_note)
    response = client.post(f"/screening/units/{city.east_school.id}/run?year=2025&term=1")
    assert response.status_code == 302
    assert in_transaction_at_release == [False]  # given back once, after the request's transaction ended
    assert lease.holder_of(f"screening:{city.east_school.id}:{year.id}:1") is None


def _commits_in(path: Path) -> list[int]:
    return [number for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if re.search(r"(?<!savepoint)\.(commit|rollback)\(\)", line)]  # a savepoint is not the transaction


def test_only_the_request_end_the_cli_and_task_bodies_commit():
    offenders = []
    for path in sorted((ROOT / "caretrack").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        is_task = path.name == "tasks.py" or name.startswith("caretrack/jobs/")
        if is_task or name in ALLOWED_TO_COMMIT or name in STILL_COMMITTING:
            continue
        offenders += [f"{name}:{number}" for number in _commits_in(path)]
    assert offenders == []


def test_the_files_still_committing_are_still_there():
    """An entry of the stage-2 list whose commits are gone must leave the list."""
    assert [name for name in sorted(STILL_COMMITTING) if not _commits_in(ROOT / name)] == []
