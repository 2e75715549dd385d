"""The year-end archive killed in the middle: a real `flask caretrack scheduler` runs its nightly job
archive.close_ended_years and is killed with SIGKILL half-way; nothing of the year is left half-frozen, and the
rerun (`flask caretrack archive close`, the body the next night's job runs too) closes every unit once.

The scheduler runs in a zone where it is now 05:00-05:59, so the 02:30 job is caught up at start; it stops at a
pause point (caretrack.core.faults) with two units frozen but not committed, and is killed there.
"""

import signal
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.lease import JobRun
from caretrack.extensions import db
from caretrack.org.models import Unit
from caretrack.org.services import ensure_academic_year
from caretrack.students.models import Category
from caretrack.summaries import archive
from caretrack.summaries.models import ArchiveClosure, ArchiveSnapshot, GeneratedSummary, SnapshotKind
from caretrack.summaries.services import SummaryAction, resolve_year
from tests.factories import build_city, identify, make_student
from tests.faults import (
    drop_database,
    kill_all,
    migrated_database,
    process_env,
    start_scheduler,
    wait_for_line,
    zone_where_it_is,
)

pytestmark = pytest.mark.no_transaction

YEAR = "2024-2025"
PER_CLASS = {"east_a": 3, "east_b": 3, "west": 2}
STUDENTS = sum(PER_CLASS.values())


@pytest.fixture
def installation(tmp_path_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", str(tmp_path / "instance"))
    url, application = migrated_database(tmp_path_factory, "archive", tmp_path / "instance")
    with application.app_context():
        ensure_academic_year(2024)  # the only year: ended everywhere
        city = build_city()
        for school_class, count in ((city.class_a, PER_CLASS["east_a"]), (city.class_b, PER_CLASS["east_b"]),
                                    (city.west_class, PER_CLASS["west"])):
            for _ in range(count):
                identify(make_student(school_class), 2024, Category.RURAL_DIBAO)
        db.session.commit()
        units = db.session.scalar(select(func.count()).select_from(Unit))
        db.engine.dispose()
    yield url, application, units
    with application.app_context():
        db.engine.dispose()
    drop_database(url)


def _counts(application) -> dict:
    with application.app_context():
        counts = {
            "closures": db.session.scalar(select(func.count()).select_from(ArchiveClosure)),
            "closed_units": db.session.scalar(select(func.count(func.distinct(ArchiveClosure.unit_id)))),
            "snapshots": db.session.scalar(select(func.count()).select_from(ArchiveSnapshot)),
            "summary_snapshots": db.session.scalar(select(func.count()).select_from(ArchiveSnapshot).where(
                ArchiveSnapshot.kind == SnapshotKind.SUMMARY)),
            "distinct_student_terms": db.session.scalar(select(func.count()).select_from(
                select(ArchiveSnapshot.student_id, ArchiveSnapshot.term).where(
                    ArchiveSnapshot.kind == SnapshotKind.SUMMARY).distinct().subquery())),
            "generated": db.session.scalar(select(func.count()).select_from(GeneratedSummary)),
            "audited": db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == SummaryAction.YEAR_CLOSED)),
        }
        db.session.rollback()
        return counts


def _flask(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", "caretrack", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_archive_killed_half_way_leaves_nothing_half_frozen_and_its_rerun_closes_each_unit_once(
        installation, tmp_path):
    url, application, units = installation
    env = process_env(url, tmp_path / "instance", CARETRACK_TIMEZONE=zone_where_it_is(5))
    log_path = tmp_path / "scheduler.log"
    scheduler = start_scheduler({**env, "CARETRACK_FAULT_PAUSE": "archive.unit=2"}, log_path)
    try:
        wait_for_line(log_path, "job archive.close_ended_years (due", scheduler, deadline=90)
        wait_for_line(log_path, "CARETRACK FAULT PAUSE archive.unit=2", scheduler, deadline=60)
        scheduler.send_signal(signal.SIGKILL)
        scheduler.wait(timeout=30)
    finally:
        kill_all([scheduler])

    # The year is one transaction: two units were frozen in it, none of it was kept.
    assert _counts(application) == {"closures": 0, "closed_units": 0, "snapshots": 0, "summary_snapshots": 0,
                                    "distinct_student_terms": 0, "generated": 0, "audited": 0}
    engine = create_engine(url)
    with engine.connect() as connection:
        run = connection.execute(select(JobRun.holder, JobRun.finished_at).where(
            JobRun.job_id == "archive.close_ended_years")).one()
    engine.dispose()
    assert run.holder.endswith(f":{scheduler.pid}")
    assert run.finished_at is None  # claimed, never finished

    assert f"closed {YEAR}: {units} units, {2 * STUDENTS} snapshots; 0 units already closed" in _flask(
        env, "archive", "close", "--year", YEAR)
    expected = {"closures": units, "closed_units": units, "snapshots": 2 * STUDENTS,
                "summary_snapshots": 2 * STUDENTS, "distinct_student_terms": 2 * STUDENTS,
                "generated": 2 * STUDENTS, "audited": units}
    assert _counts(application) == expected
    with application.app_context():
        year = resolve_year(YEAR)
        assert archive.verify_year(year) == []
        # A second rerun (the next night's job, an operator's retry) changes nothing.
        again = archive.close_year(None, year)
        db.session.commit()
    assert (again.closed, again.snapshots, again.already_closed) == ([], 0, units)
    assert _counts(application) == expected
