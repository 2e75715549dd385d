"""The jobs migration carries the old import_jobs rows over, with their ids, and back on a downgrade."""

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from caretrack.extensions import db
from caretrack.jobs.models import Job
from tests.core.test_migrations import empty_app  # noqa: F401 - the fixture

BEFORE = "321df773028b"
AT = datetime(2026, 11, 30, 9, tzinfo=timezone.utc)
REPORT = {"created": 2, "updated": 0, "unchanged": 0, "invalid": 0, "errors": [], "warnings": []}


def old_import_job() -> None:
    """A user and a finished preview as the previous schema held them."""
    typed = {"created_at": sa.DateTime(timezone=True), "updated_at": sa.DateTime(timezone=True),
             "finished_at": sa.DateTime(timezone=True), "report": sa.JSON()}

    def table(name, **row):
        return sa.table(name, *(sa.column(key, typed.get(key)) for key in row)), row

    for target, row in (
        table("users", id=7, username="officer", display_name="张老师", password_hash="x", is_active=True,
              must_change_password=False, session_token="t", version=1, created_at=AT, updated_at=AT),
        table("import_jobs", id=41, kind="students", user_id=7, filename="名单.csv", token="tok41",
              skip_invalid=False, dry_run=True, status="done", phase="write", processed=2, total=2, report=REPORT,
              created_at=AT, finished_at=AT),
    ):
        db.session.execute(sa.insert(target).values(**row))
    db.session.commit()


@pytest.mark.no_transaction
def test_import_jobs_become_jobs_and_come_back(empty_app):  # noqa: F811 - the fixture
    upgrade(revision=BEFORE)
    old_import_job()
    upgrade()
    job = db.session.get(Job, 41)
    assert (job.kind, job.user_id, job.status, job.rows_done, job.total, job.attempt) == \
        ("import.students", 7, "done", 2, 2, 1)
    assert job.params == {"filename": "名单.csv", "token": "tok41", "skip_invalid": False, "dry_run": True}
    assert job.result == REPORT
    assert job.finished_at == AT
    db.session.add(Job(kind="import.units", user_id=7, params={"filename": "单位.csv", "token": "tok42",
                                                             "skip_invalid": True, "dry_run": False}))
    db.session.commit()  # the id sequence continues after the copied rows (PostgreSQL)
    db.session.remove()
    downgrade(revision=BEFORE)
    back = db.session.execute(text("SELECT id, kind, filename, token, processed FROM import_jobs ORDER BY id")).all()
    assert [tuple(row) for row in back] == [(41, "students", "名单.csv", "tok41", 2),
                                            (42, "units", "单位.csv", "tok42", 0)]
