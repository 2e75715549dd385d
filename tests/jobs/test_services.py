"""Job rows: claimed once per attempt, progress seen from outside the task, a dead worker noticed, rerun."""

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, delete, select

from caretrack.accounts.models import User
from caretrack.core.errors import DomainError
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db
from caretrack.jobs import services as jobs
from caretrack.jobs.models import Job
from tests.factories import make_user


def running_job(user, beat_ago: timedelta) -> Job:
    job = jobs.create("import.students", user, {"dry_run": False})
    job.status, job.started_at = "running", utcnow() - beat_ago - timedelta(seconds=5)
    job.heartbeat_at = utcnow() - beat_ago
    db.session.flush()
    return job


def test_a_running_job_whose_heartbeat_is_older_than_the_limit_shows_as_failed(app):
    user = make_user()
    limit = app.config["JOB_HEARTBEAT_LIMIT"]
    alive, dead = running_job(user, limit - timedelta(seconds=20)), running_job(user, limit + timedelta(seconds=1))
    assert (jobs.shown_status(alive), jobs.shown_status(dead)) == ("running", "failed")
    assert (alive.status, dead.status) == ("running", "running")  # the rows themselves cannot know


def test_only_its_starter_reruns_a_job_and_only_one_that_failed_or_died(app):
    owner, other = make_user(), make_user()
    dead = running_job(owner, app.config["JOB_HEARTBEAT_LIMIT"] * 2)
    alive = running_job(owner, timedelta(seconds=1))
    assert jobs.may_rerun(dead, owner)
    assert not jobs.may_rerun(dead, other)
    assert not jobs.may_rerun(alive, owner)
    with pytest.raises(DomainError, match="不能重新运行"):
        jobs.rerun(alive, owner)


def test_a_rerun_is_a_new_attempt_and_a_late_message_of_the_old_one_does_nothing(app):
    owner = make_user()
    job = running_job(owner, app.config["JOB_HEARTBEAT_LIMIT"] * 2)
    job.rows_done, job.phase = 4000, "write"
    jobs.rerun(job, owner)
    assert (job.status, job.attempt, job.rows_done, job.phase, job.heartbeat_at) == ("queued", 2, 0, None, None)
    ran = []
    with jobs.running(job.id, 1) as run:  # the first attempt's message, delivered again
        ran.append(run)
    assert ran == [None]
    db.session.refresh(job)
    assert job.status == "queued"
    with jobs.running(job.id, 2) as run:
        run.finish({"created": 1})
    with jobs.running(job.id, 2) as run:  # the same message twice: the second finds it done
        ran.append(run)
    assert ran == [None, None]
    db.session.refresh(job)
    assert (job.status, job.result, job.finished_at is not None) == ("done", {"created": 1}, True)


def test_a_task_that_raises_marks_its_job_failed_and_cleans_up(app):
    job = jobs.create("import.students", make_user(), {})
    cleaned = []
    with jobs.running(job.id, job.attempt, on_failure=cleaned.append) as run:
        run.progress("validate", 1000)
        raise RuntimeError("the importer broke")
    db.session.refresh(job)
    assert (job.status, job.error, job.finished_at is not None) == ("failed", "RuntimeError", True)
    assert [failed.id for failed in cleaned] == [job.id]
    assert jobs.may_rerun(job, job.user)


@pytest.mark.no_transaction
def test_progress_is_seen_from_another_connection_while_the_task_holds_its_transaction(app):
    """SQLite: on the queue's board, while the task holds the write lock; PostgreSQL: on the row itself."""
    with app.app_context():
        user = User(username="progress-user", display_name="p", password_hash="x")
        db.session.add(user)
        db.session.commit()
        job = jobs.create("import.students", user, {})
        db.session.commit()
        job_id, user_id = job.id, user.id
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with app.app_context(), jobs.running(job_id, 1) as run:
            db.session.add(User(username="written-by-the-task", display_name="w", password_hash="x"))
            db.session.flush()  # the task's transaction writes (on SQLite it holds the write lock)
            run.progress("write", 1234)
            with other.connect() as connection:  # another connection: what any web worker sees
                row = connection.execute(select(Job.status, Job.phase, Job.rows_done).where(Job.id == job_id)).one()
            seen = jobs.live(db.session.get(Job, job_id))
            if db.engine.dialect.name == "sqlite":
                assert tuple(row) == ("running", None, 0)
                assert (seen.phase, seen.rows_done) == ("write", 1234)
            else:
                assert tuple(row) == ("running", "write", 1234)
            run.finish(None, keep_work=False)
    finally:
        other.dispose()
        with app.app_context():
            db.session.execute(delete(Job).where(Job.id == job_id))
            db.session.execute(delete(User).where(User.username.in_(["progress-user", "written-by-the-task"])))
            db.session.commit()
    assert user_id


def test_a_late_heartbeat_never_overwrites_a_finished_job(app):
    job = jobs.create("import.students", make_user(), {})
    with jobs.running(job.id, 1) as run:
        run.progress("write", 10)
        run.finish({"created": 10})
        jobs.write_live(run.claimed, "validate", 3)  # a heartbeat thread that woke up after the end
    db.session.refresh(job)
    assert (job.status, jobs.live(job).phase, jobs.live(job).rows_done) == ("done", "write", 10)
