"""Real `flask caretrack scheduler` processes on a database of their own: kill -9 the leader, the standby takes over;
and two of them through a database outage and a kill -9, every reminder made exactly once.

The first test runs with the default lease (config.py), so it measures the takeover an installation gets.
"""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from caretrack.core.access import Role
from caretrack.core.lease import JobRun, Lease
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db
from caretrack.followups.models import FollowUp, FollowUpStatus
from caretrack.notify.models import Notification
from caretrack.scheduler import LEASE_NAME
from tests.conftest import database_url, make_app
from tests.factories import build_city, make_student, make_user
from tests.faults import (
    CuttableProxy,
    drop_database,
    kill_all,
    lease_holder_pid,
    migrated_database,
    process_env,
    zone_where_it_is,
)
from tests.faults import (
    start_scheduler as start_scheduler_process,
)

pytestmark = pytest.mark.no_transaction

TAKEOVER_LIMIT = 30  # seconds from the kill to the standby holding the lease


@pytest.fixture
def database(tmp_path_factory, tmp_path, monkeypatch):
    """The URL of a fresh, migrated database (a SQLite file, or a PostgreSQL database beside the test one)."""
    url = database_url(tmp_path_factory, "scheduler")
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", str(tmp_path / "instance"))  # make_app sets it; undo afterwards
    application = make_app(url, tmp_path / "instance")
    with application.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    if url.startswith("postgresql"):
        admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


def start_scheduler(url: str, folder: Path) -> tuple[subprocess.Popen, Path]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARETRACK_")}
    env.update(DATABASE_URL=url, CARETRACK_INSTANCE_PATH=str(folder / "instance"), FLASK_APP="caretrack",
               SECRET_KEY="test-secret-key", CARETRACK_DATA_KEY="test-data-key-0123456789abcdef0123456789",
               TZ="UTC", PYTHONUNBUFFERED="1")
    output = folder / f"scheduler-{len(list(folder.glob('scheduler-*')))}.log"
    with output.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "flask", "caretrack", "scheduler"], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    return process, output


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def holder_pid(engine) -> int | None:
    """The pid of the process holding the scheduler lease (holders are host:pid), or None."""
    with engine.connect() as connection:
        row = connection.execute(select(Lease.holder, Lease.expires_at).where(Lease.name == LEASE_NAME)).first()
    return int(row.holder.rsplit(":", 1)[1]) if row and row.expires_at > utcnow() else None


def test_the_standby_holds_the_lease_within_30_seconds_of_a_kill_9_of_the_leader(database, tmp_path):
    engine = create_engine(database)
    started = [start_scheduler(database, tmp_path) for _ in range(2)]
    processes = {process.pid: process for process, _output in started}
    try:
        # Starting takes seconds on an idle machine, many more on a loaded one; only the takeover is timed.
        wait_for(lambda: all("started" in output.read_text() for _process, output in started), 60,
                 "both schedulers to start")
        leader = wait_for(lambda: holder_pid(engine), 30, "a scheduler to take the lease")
        (standby,) = set(processes) - {leader}
        processes[leader].send_signal(signal.SIGKILL)
        processes[leader].wait(timeout=10)
        killed_at = time.monotonic()
        assert wait_for(lambda: holder_pid(engine) != leader and holder_pid(engine), TAKEOVER_LIMIT + 5,
                        "the standby to take over") == standby
        assert time.monotonic() - killed_at < TAKEOVER_LIMIT
        processes[standby].send_signal(signal.SIGTERM)
        assert processes[standby].wait(timeout=20) == 0
        assert holder_pid(engine) is None  # released on the way out, for the next one to start at once
    except AssertionError:
        for _process, output in started:
            print(output.read_text())  # shown by pytest with the failure
        raise
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        engine.dispose()


# --- two schedulers, a kill -9 and a database outage under both: every reminder exactly once -------------------

REMINDERS = 8
LEASE_SECONDS = 6  # shorter than the default, to keep the test short: a takeover within 8 s


class Outage:
    """The database made unavailable to both schedulers and back: PostgreSQL behind a proxy that is cut (every
    connection dropped, new ones refused); SQLite's write lock held by this process (with a 1 s busy timeout the
    schedulers' writes fail with "database is locked"; reads go on, as WAL lets them).
    """

    def __init__(self, url: str):
        self.url, self.proxy, self.lock = url, None, None
        if url.startswith("postgresql"):
            target = make_url(url)
            self.proxy = CuttableProxy(target.host or "127.0.0.1", target.port or 5432)
            self.proxy.mend()

    @property
    def process_url(self) -> str:
        if self.proxy is None:
            return self.url
        return make_url(self.url).set(host="127.0.0.1", port=self.proxy.port).render_as_string(hide_password=False)

    def cut(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
            return
        self.lock = sqlite3.connect(make_url(self.url).database, timeout=30, isolation_level=None)
        self.lock.execute("BEGIN EXCLUSIVE")

    def mend(self) -> None:
        if self.proxy is not None:
            self.proxy.mend()
        elif self.lock is not None:
            self.lock.execute("ROLLBACK")
            self.lock.close()
            self.lock = None

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
        else:
            self.mend()


def _due_followups(application, today, count: int) -> None:
    with application.app_context():
        city = build_city()
        teachers = [make_user(Role.CLASS_TEACHER, school_class) for school_class in (city.class_a, city.class_b)]
        for number in range(count):
            teacher = teachers[number % 2]
            student = make_student(city.class_a if teacher is teachers[0] else city.class_b)
            db.session.add(FollowUp(student_id=student.id, school_id=student.school_id, kind="visit",
                                    assignee_id=teacher.id, due_on=today, status=FollowUpStatus.OPEN))
        db.session.commit()
        db.engine.dispose()


def _reminders(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return tuple(connection.execute(select(func.count(), func.count(func.distinct(Notification.key)))
                                        .where(Notification.key.like("followup:%:due:%"))).one())


def _log(path: Path) -> str:
    return path.read_text(errors="replace")


def test_two_schedulers_a_kill_9_and_an_outage_under_both_make_every_reminder_exactly_once(
        tmp_path_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", str(tmp_path / "instance"))
    url, application = migrated_database(tmp_path_factory, "schedulers", tmp_path / "instance")
    zone = zone_where_it_is(10)  # followups.remind_due (07:00) is caught up at once, within its grace
    _due_followups(application, datetime.now(ZoneInfo(zone)).date(), REMINDERS)
    outage = Outage(url)
    gate = tmp_path / "gate"
    gate.touch()
    env = process_env(outage.process_url, tmp_path / "instance", CARETRACK_TIMEZONE=zone,
                      CARETRACK_SCHEDULER_LEASE_SECONDS=str(LEASE_SECONDS), CARETRACK_SQLITE_BUSY_TIMEOUT_MS="1000",
                      CARETRACK_FAULT_PAUSE="followups.reminder=3", CARETRACK_FAULT_GATE=str(gate))
    logs = [tmp_path / f"scheduler-{number}.log" for number in range(2)]
    processes = [start_scheduler_process(env, log) for log in logs]
    engine = create_engine(url)
    runner = None
    try:
        # The leader reminds three people and stops there (a pause point); the database then goes away.
        # (a list, never a bare index: scheduler 0 would read as "not yet")
        paused = wait_for(lambda: [n for n in range(2) if "FAULT PAUSE followups.reminder=3" in _log(logs[n])]
                          if all(p.poll() is None for p in processes) else ["exited"], 120,
                          "a scheduler to start reminding")
        assert paused != ["exited"], [_log(log) for log in logs]
        (runner,) = paused
        made, distinct = _reminders(engine)
        # Three passes; fewer reminders when a first try of the job met a locked SQLite and was retried.
        assert 1 <= made == distinct <= 3
        outage.cut()
        before = [len(_log(log)) for log in logs]  # what each logged before the outage does not count
        gate.unlink()  # the runner goes on, into the outage
        wait_for(lambda: all("lease not renewed, database error" in _log(log)[start:]
                             for log, start in zip(logs, before, strict=True))
                 and "job followups.remind_due: database error" in _log(logs[runner])[before[runner]:], 30,
                 "both schedulers and the runner's job to meet the outage")
        outage.mend()

        # Both lived through it; the job, retried, made the missing reminders and none twice.
        wait_for(lambda: re.search(r"job followups\.remind_due \(due [^)]*\) done", _log(logs[runner])), 60,
                 "the reminders' job to finish after the outage")
        assert all(process.poll() is None for process in processes)
        assert _reminders(engine) == (REMINDERS, REMINDERS)

        # kill -9 of whichever holds the lease now: the survivor takes over and claims nothing already run.
        leader_pid = wait_for(lambda: lease_holder_pid(engine), 30, "a scheduler to hold the lease after the outage")
        (survivor,) = [n for n in range(2) if processes[n].pid != leader_pid]
        seen = len(_log(logs[survivor]))
        processes[1 - survivor].send_signal(signal.SIGKILL)
        processes[1 - survivor].wait(timeout=10)
        wait_for(lambda: lease_holder_pid(engine) == processes[survivor].pid, LEASE_SECONDS * 4 / 3 + 10,
                 "the survivor to take the lease")
        wait_for(lambda: "job followups.remind_due (due" in (after := _log(logs[survivor])[seen:])
                 and "holds the lease" in after and re.search(r"followups\.remind_due \(due [^)]*\) already claimed",
                                                               after), 30,
                 "the survivor to catch up the reminders' job")
        assert _reminders(engine) == (REMINDERS, REMINDERS)
        with engine.connect() as connection:
            finished = connection.scalar(select(JobRun.finished_at).where(JobRun.job_id == "followups.remind_due"))
        assert finished is not None
        processes[survivor].send_signal(signal.SIGTERM)
        assert processes[survivor].wait(timeout=30) == 0
    except AssertionError:
        for number, log in enumerate(logs):
            print(f"--- scheduler {number} (runner: {runner})\n{_log(log)[-6000:]}")
        raise
    finally:
        kill_all(processes)
        outage.close()
        engine.dispose()
        with application.app_context():
            db.engine.dispose()
        drop_database(url)
