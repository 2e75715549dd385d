"""The scheduler's database lease, its record of job runs, and the process loop that holds them.

The lease and the runs must be seen across connections, so these tests commit and clean those tables themselves.
Threads stand in for processes here; tests/core/test_scheduler_processes.py kills real ones.
"""

import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import current_app
from sqlalchemy import delete
from sqlalchemy.exc import OperationalError

from caretrack import scheduler
from caretrack.core import lease
from caretrack.extensions import db
from caretrack.notify import tasks

pytestmark = pytest.mark.no_transaction

MINUTE = timedelta(minutes=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc

# What the bodies of the test jobs did: each run appends the timezone of the app context it ran in.
RUNS: list[str] = []
# Errors the flaky body raises, one per call, before it succeeds.
FAILURES: list[Exception] = []
# While set, the database is down for the test bodies (and, with the database_outage fixture, for the loop).
OUTAGE = threading.Event()
OUTAGE_BEGAN = threading.Event()
COUNTED = "tests.core.test_scheduler:counted_body"


def counted_body() -> None:
    if FAILURES:
        raise FAILURES.pop(0)
    if OUTAGE.is_set():
        raise database_down()
    RUNS.append(current_app.config["CARETRACK_TIMEZONE"])


def body_the_outage_interrupts() -> None:
    """A body during which the database goes down: its first call begins the outage and fails."""
    if not OUTAGE_BEGAN.is_set():
        OUTAGE_BEGAN.set()
        OUTAGE.set()
        raise database_down()
    counted_body()


def database_down() -> OperationalError:
    return OperationalError("UPDATE leases", {}, ConnectionRefusedError("connection refused"))


def _empty_tables() -> None:
    db.session.execute(delete(lease.Lease))
    db.session.execute(delete(lease.JobRun))
    db.session.commit()


@pytest.fixture
def leases(app):
    """An app context with empty leases and job_runs tables, emptied again afterwards."""
    RUNS.clear()
    FAILURES.clear()
    OUTAGE.clear()
    OUTAGE_BEGAN.clear()
    with app.app_context():
        _empty_tables()
        try:
            yield
        finally:
            db.session.rollback()
            _empty_tables()


@pytest.fixture
def clock():
    with time_machine.travel(datetime.now(timezone.utc), tick=False) as traveller:
        yield traveller


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(scheduler, "RETRY_FIRST", 0.1)
    monkeypatch.setattr(scheduler, "RETRY_MAX", 0.5)


def wait_for(condition, timeout: float = 15, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def daily_job(local: datetime, func: str = COUNTED) -> scheduler.Job:
    """A test job firing every day at the wall time of `local` (Shanghai), to the second."""
    return scheduler.Job("test.daily", func, {"hour": local.hour, "minute": local.minute, "second": local.second})


def job_of(job_id: str) -> scheduler.Job:
    (job,) = [job for job in scheduler.JOBS if job.id == job_id]
    return job


def recorded(job_id: str) -> lease.JobRun | None:
    try:
        return lease.last_run(job_id)
    finally:
        db.session.rollback()


def runner(app, holder: str = "runner", ended: bool = False, stopping: bool = False) -> scheduler.JobRunner:
    events = [threading.Event(), threading.Event()]
    for event, is_set in zip(events, (ended, stopping), strict=True):
        if is_set:
            event.set()
    return scheduler.JobRunner(app, holder, *events)


@contextmanager
def running(app, holder: str):
    """run_forever in a thread standing in for a scheduler process; stopped, and its jobs finished, on exit."""
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, args=(app, stop, holder), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()


@pytest.mark.usefixtures("leases")
def test_the_first_holder_gets_the_lease_and_the_second_is_refused(clock):
    assert lease.acquire("jobs", "host-a:1", MINUTE)
    assert not lease.acquire("jobs", "host-b:2", MINUTE)
    assert lease.holder_of("jobs") == "host-a:1"


@pytest.mark.usefixtures("leases")
def test_the_holder_renews_its_lease(clock):
    assert lease.acquire("jobs", "host-a:1", MINUTE)
    clock.shift(timedelta(seconds=50))
    assert lease.acquire("jobs", "host-a:1", MINUTE)
    clock.shift(timedelta(seconds=50))  # 100 s after taking it, 50 s after renewing
    assert not lease.acquire("jobs", "host-b:2", MINUTE)
    assert lease.holder_of("jobs") == "host-a:1"


@pytest.mark.usefixtures("leases")
def test_the_second_holder_takes_over_once_the_lease_expires(clock):
    assert lease.acquire("jobs", "host-a:1", MINUTE)
    clock.shift(timedelta(seconds=59))
    assert not lease.acquire("jobs", "host-b:2", MINUTE)
    clock.shift(timedelta(seconds=2))
    assert lease.holder_of("jobs") is None
    assert lease.acquire("jobs", "host-b:2", MINUTE)
    assert lease.holder_of("jobs") == "host-b:2"
    assert not lease.acquire("jobs", "host-a:1", MINUTE)  # the old holder, back, must stand by


@pytest.mark.usefixtures("leases")
def test_a_release_lets_the_other_take_over_at_once(clock):
    assert lease.acquire("jobs", "host-a:1", MINUTE)
    lease.release("jobs", "host-a:1")
    assert lease.holder_of("jobs") is None
    assert lease.acquire("jobs", "host-b:2", MINUTE)


@pytest.mark.usefixtures("leases")
def test_only_the_holder_can_release(clock):
    assert lease.acquire("jobs", "host-a:1", MINUTE)
    lease.release("jobs", "host-b:2")
    assert lease.holder_of("jobs") == "host-a:1"


@pytest.mark.usefixtures("leases")
def test_leases_of_different_names_are_independent(clock):
    assert lease.acquire("jobs", "host-a:1", MINUTE)
    assert lease.acquire("reports", "host-b:2", MINUTE)


def test_every_job_has_a_stable_id_and_a_callable_body():
    import importlib

    ids = [job.id for job in scheduler.JOBS]
    assert len(ids) == len(set(ids))
    for job in scheduler.JOBS:
        module_name, func_name = job.func.split(":")
        assert callable(getattr(importlib.import_module(module_name), func_name)), job.id


def holder_now() -> str | None:
    """Who holds the scheduler lease, read without keeping a transaction open (SQLite would block the writer)."""
    try:
        return lease.holder_of(scheduler.LEASE_NAME)
    finally:
        db.session.rollback()


@pytest.mark.usefixtures("leases")
def test_run_forever_starts_the_jobs_with_the_lease_and_stops_cleanly(app, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_LEASE_SECONDS", 1)
    noon = datetime(2026, 1, 1, 12, 0, tzinfo=SHANGHAI)
    monkeypatch.setattr(scheduler, "JOBS", [replace(daily_job(noon), id=job_id) for job_id in ("test.a", "test.b")])
    built, started = threading.Event(), []
    real_build = scheduler.build_scheduler

    def build(*args):
        started.append(real_build(*args))
        built.set()
        return started[-1]

    monkeypatch.setattr(scheduler, "build_scheduler", build)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, args=(app, stop, "test-holder"), daemon=True)
    thread.start()
    try:
        assert built.wait(timeout=10), "the scheduler never took the lease"
        assert holder_now() == "test-holder"
        # APScheduler lists jobs by next run time, not in the order of JOBS.
        assert sorted(job.id for job in started[0].get_jobs()) == sorted(job.id for job in scheduler.JOBS)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert not started[0].running
    assert holder_now() is None  # released on the way out


@pytest.mark.usefixtures("leases")
def test_run_forever_stands_by_while_another_process_holds_the_lease(app, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_LEASE_SECONDS", 60)
    assert lease.acquire(scheduler.LEASE_NAME, "other-process", timedelta(minutes=10))  # commits
    tried, built = threading.Event(), []
    real_acquire = lease.acquire

    def acquire(*args):
        held = real_acquire(*args)
        tried.set()
        return held

    monkeypatch.setattr(scheduler.lease, "acquire", acquire)
    monkeypatch.setattr(scheduler, "build_scheduler", lambda application, *_args: built.append(application))
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, args=(app, stop, "standby"), daemon=True)
    thread.start()
    try:
        assert tried.wait(timeout=10)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert built == []
    assert holder_now() == "other-process"


@pytest.mark.usefixtures("leases")
def test_two_schedulers_started_together_run_the_jobs_once(app, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_LEASE_SECONDS", 30)
    built: list[str] = []
    together = threading.Barrier(2, timeout=10)
    answers: list[bool] = []
    both_answered = threading.Event()
    real_acquire = lease.acquire

    def acquire(name, holder, duration):
        if len(answers) >= 2:
            return real_acquire(name, holder, duration)
        together.wait()  # both processes ask for the lease at the same moment
        answers.append(real_acquire(name, holder, duration))
        if len(answers) == 2:
            both_answered.set()
        return answers[-1]

    monkeypatch.setattr(scheduler.lease, "acquire", acquire)
    monkeypatch.setattr(scheduler, "build_scheduler", lambda *_args: built.append("built") or _Idle())
    stop = threading.Event()
    threads = [threading.Thread(target=scheduler.run_forever, args=(app, stop, holder), daemon=True)
               for holder in ("first", "second")]
    for thread in threads:
        thread.start()
    try:
        assert both_answered.wait(timeout=10)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert sorted(answers) == [False, True]
    assert built == ["built"]


class _Idle:
    """Stands in for APScheduler: the test is about who starts it, not about the jobs."""

    running = False

    def start(self):
        self.running = True

    def shutdown(self, wait=True):
        self.running = False


# --- Time zones ----------------------------------------------------------------------------------------------

ZONE_SCRIPT = """
import json, sys
from datetime import datetime, timezone
import tzlocal
from caretrack import create_app, scheduler
from caretrack.notify import tasks

app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
now = datetime.fromisoformat(sys.argv[1])
with app.app_context():
    fires = {job.id: job.trigger.get_next_fire_time(None, now).astimezone(timezone.utc).isoformat()
             for job in scheduler.build_scheduler(app).get_jobs()}
    cutoff = tasks.last_digest_time(now).isoformat()
print(json.dumps({"host": str(tzlocal.get_localzone()), "fires": fires, "cutoff": cutoff}))
"""


def test_every_trigger_fires_at_shanghai_time_on_a_host_in_another_zone(tmp_path):
    # Kolkata is UTC+5:30: even the half-hourly digest retry would land on the wrong minute in the host's zone.
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARETRACK_")}
    env.update(TZ="Asia/Kolkata", CARETRACK_INSTANCE_PATH=str(tmp_path))
    now = "2026-11-30T12:01:00+00:00"  # 20:01 in Shanghai
    result = subprocess.run([sys.executable, "-c", ZONE_SCRIPT, now], env=env, capture_output=True, text=True,
                            timeout=60, check=True)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["host"] == "Asia/Kolkata"
    assert seen["fires"] == {
        "accounts.purge_login_attempts": "2026-11-30T19:15:00+00:00",  # 03:15 on 1 December in Shanghai
        "ledger.apply_retention": "2026-11-30T19:50:00+00:00",
        "followups.remind_due": "2026-11-30T23:00:00+00:00",
        "duties.remind_due": "2026-11-30T23:05:00+00:00",
        "followups.escalate": "2026-11-30T23:10:00+00:00",
        "screening.remind_deadlines": "2026-11-30T23:20:00+00:00",
        "notify.send_digests": "2026-11-30T23:30:00+00:00",
        "notify.retry_digests": "2026-11-30T12:15:00+00:00",
        "notify.deliver_webhooks": "2026-11-30T12:05:00+00:00",
        "imports.sweep_stale_files": "2026-11-30T12:10:00+00:00",
        "uploads.sweep_orphans": "2026-11-30T20:40:00+00:00",  # 04:40 on 1 December in Shanghai
        "summaries.term_end_batches": "2026-11-30T17:30:00+00:00",  # 01:30 on 1 December in Shanghai
        "archive.close_ended_years": "2026-11-30T18:30:00+00:00",
        "summaries.sweep_batch_files": "2026-11-30T12:20:00+00:00",
    }
    assert seen["cutoff"] == "2026-11-29T23:30:00+00:00"  # this morning's 07:30 digest, Shanghai time


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Kolkata"])
@pytest.mark.parametrize("local", ["2026-11-30 07:29:59", "2026-11-30 07:30:00", "2026-11-30 07:45:00",
                                   "2026-11-30 23:59:00", "2026-12-01 00:15:00"])
def test_the_digest_retry_cutoff_is_the_digest_triggers_last_fire_time(app, monkeypatch, zone, local):
    monkeypatch.setitem(app.config, "CARETRACK_TIMEZONE", zone)
    now = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    digest = job_of("notify.send_digests").trigger(zone)
    with app.app_context():  # as the job runs
        assert tasks.last_digest_time(now) == scheduler.latest_fire_time(digest, now, grace=timedelta(days=1))


def test_the_latest_fire_time_is_found_only_within_the_misfire_grace():
    screening = job_of("screening.remind_deadlines").trigger("Asia/Shanghai")
    at = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    assert scheduler.latest_fire_time(screening, at) == datetime(2026, 11, 30, 23, 20, tzinfo=UTC)
    assert scheduler.latest_fire_time(screening, at.replace(hour=13, minute=20)) is not None  # six hours late
    assert scheduler.latest_fire_time(screening, at.replace(hour=13, minute=21)) is None
    assert scheduler.latest_fire_time(screening, at.replace(hour=7, minute=19)) is None  # 10 June is long gone


# --- Job runs, claimed once ----------------------------------------------------------------------------------

FIRE = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def claim(job_id: str, fire_time: datetime, holder: str) -> bool:
    claimed = lease.claim_run(job_id, fire_time, holder)
    db.session.commit()
    return claimed


@pytest.mark.usefixtures("leases")
def test_a_fire_time_is_claimed_once_and_only_a_later_one_again():
    assert claim("job", FIRE, "a")
    assert not claim("job", FIRE, "b")
    assert not claim("job", FIRE - MINUTE, "b")
    assert claim("job", FIRE + MINUTE, "b")
    assert claim("other", FIRE, "b")
    run = recorded("job")
    assert (run.fire_time, run.holder, run.finished_at) == (FIRE + MINUTE, "b", None)


@pytest.mark.usefixtures("leases")
@pytest.mark.parametrize("first_ever", [True, False])
def test_two_processes_claiming_the_same_fire_time_at_once_get_it_once(app, first_ever):
    if not first_ever:
        assert claim("job", FIRE - MINUTE, "earlier")
    together = threading.Barrier(2, timeout=10)
    answers: list[bool] = []

    def race(holder):
        with app.app_context():
            together.wait()
            answers.append(claim("job", FIRE, holder))

    threads = [threading.Thread(target=race, args=(holder,)) for holder in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(answers) == [False, True]
    assert recorded("job").fire_time == FIRE


@pytest.mark.usefixtures("leases")
def test_the_1_december_reminder_missed_in_a_restart_runs_once_on_takeover(app):
    screening = replace(job_of("screening.remind_deadlines"), func=COUNTED)
    assert claim(screening.id, datetime(2026, 6, 9, 23, 20, tzinfo=UTC), "old-leader")  # 10 June's, done
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI), tick=False):
        assert runner(app, "new-leader").run_due(screening)
        assert not runner(app, "another").run_due(screening)  # a second leader, or the leader again
    assert RUNS == ["Asia/Shanghai"]
    run = recorded(screening.id)
    assert (run.fire_time, run.holder) == (datetime(2026, 11, 30, 23, 20, tzinfo=UTC), "new-leader")
    assert run.finished_at is not None


@pytest.mark.usefixtures("leases", "fast_retries")
def test_a_job_body_meeting_a_database_error_is_retried_and_runs_to_the_end(app, caplog):
    FAILURES.extend([database_down(), database_down()])
    job = daily_job(datetime.now(SHANGHAI) - MINUTE)
    assert runner(app).run_due(job)
    assert RUNS == ["Asia/Shanghai"]
    assert recorded(job.id).finished_at is not None
    assert caplog.text.count("job test.daily: database error (OperationalError: connection refused)") == 2


def test_a_database_error_is_logged_without_the_statements_parameters():
    error = OperationalError("UPDATE students SET name=%(name)s", {"name": "张三"},
                             ConnectionResetError("reset\nby peer"))
    assert scheduler.describe(error) == "OperationalError: reset"
    assert scheduler.transient(error)


@pytest.mark.usefixtures("leases")
def test_a_failing_job_body_is_not_retried_nor_recorded_as_finished(app):
    FAILURES.append(ValueError("a bug"))
    job = daily_job(datetime.now(SHANGHAI) - MINUTE)
    with pytest.raises(ValueError, match="a bug"):  # APScheduler logs it with its traceback
        runner(app).run_due(job)
    assert RUNS == []
    run = recorded(job.id)
    assert run.fire_time is not None
    assert run.finished_at is None
    assert not runner(app).run_due(job)  # claimed: not run again until its next fire time


# --- The loop, through takeovers and outages -----------------------------------------------------------------

@pytest.mark.usefixtures("leases")
def test_a_new_leader_catches_up_a_missed_fire_time_once_and_a_restart_does_not_repeat_it(app, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_LEASE_SECONDS", 3)
    monkeypatch.setattr(scheduler, "JOBS", [daily_job(datetime.now(SHANGHAI) - 10 * MINUTE)])
    claims: list[bool] = []
    real_claim = lease.claim_run
    monkeypatch.setattr(scheduler.lease, "claim_run", lambda *args: claims.append(real_claim(*args)) or claims[-1])
    with running(app, "first"):
        wait_for(lambda: RUNS, what="the catch-up run")
    with running(app, "second"):
        wait_for(lambda: len(claims) == 2, what="the second leader's catch-up")
    assert claims == [True, False]
    assert RUNS == ["Asia/Shanghai"]


@pytest.fixture
def database_outage(monkeypatch):
    """While OUTAGE is set, the loop's lease and its job claims fail as with the database down; counts the calls."""
    failed = {"acquire": 0, "claim_run": 0}

    def down_while_out(name):
        real = getattr(lease, name)

        def call(*args):
            if OUTAGE.is_set():
                failed[name] += 1
                raise database_down()
            return real(*args)
        return call

    for name in failed:
        monkeypatch.setattr(scheduler.lease, name, down_while_out(name))
    return failed


@pytest.mark.usefixtures("leases", "fast_retries")
@pytest.mark.parametrize(("lease_seconds", "outlasting_the_lease"), [(8, False), (3, True)])
def test_a_database_outage_leaves_the_loop_running_and_a_job_due_in_it_runs_once_afterwards(
        app, monkeypatch, caplog, database_outage, lease_seconds, outlasting_the_lease):
    monkeypatch.setitem(app.config, "SCHEDULER_LEASE_SECONDS", lease_seconds)
    # Time enough for the thread to take the lease first, on a busy machine.
    due = (datetime.now(SHANGHAI) + timedelta(seconds=4)).replace(microsecond=0)
    monkeypatch.setattr(scheduler, "JOBS", [daily_job(due)])

    def outage_over() -> bool:
        if not outlasting_the_lease:  # the job fell due, and its claim keeps failing while the lease holds
            return database_outage["claim_run"] > 0
        return datetime.now(SHANGHAI) > due + timedelta(seconds=0.5) and "lost the lease" in caplog.text

    with running(app, "leader") as thread:
        wait_for(lambda: holder_now() == "leader", what="the lease")
        OUTAGE.set()
        wait_for(outage_over, timeout=20, what="the job to fall due in the outage")
        assert thread.is_alive()
        assert RUNS == []
        OUTAGE.clear()
        wait_for(lambda: RUNS, what="the job after the outage")
        wait_for(lambda: holder_now() == "leader", what="the lease after the outage")
    assert RUNS == ["Asia/Shanghai"]  # every thread has stopped: it ran once, not twice
    assert recorded("test.daily").fire_time == due.astimezone(UTC)
    assert database_outage["acquire"] >= 1
    assert "lease not renewed, database error (OperationalError: connection refused)" in caplog.text


@pytest.mark.usefixtures("leases", "fast_retries")
def test_a_job_the_outage_interrupts_finishes_once_afterwards_though_the_lease_ran_out(
        app, monkeypatch, caplog, database_outage):
    monkeypatch.setitem(app.config, "SCHEDULER_LEASE_SECONDS", 3)
    due = (datetime.now(SHANGHAI) - MINUTE).replace(microsecond=0)
    monkeypatch.setattr(scheduler, "JOBS", [daily_job(due, "tests.core.test_scheduler:body_the_outage_interrupts")])
    with running(app, "leader") as thread:
        wait_for(lambda: OUTAGE_BEGAN.is_set() and "lost the lease" in caplog.text, timeout=20,
                 what="the lease to run out in the outage")
        assert thread.is_alive()
        OUTAGE.clear()
        wait_for(lambda: RUNS, what="the job after the outage")
        wait_for(lambda: holder_now() == "leader", what="the lease after the outage")
    assert RUNS == ["Asia/Shanghai"]
    run = recorded("test.daily")
    assert (run.fire_time, run.holder) == (due.astimezone(UTC), "leader")
    assert run.finished_at is not None


@pytest.mark.usefixtures("leases")
def test_a_claimed_run_gives_up_only_when_the_process_stops(app):
    FAILURES.append(database_down())
    job = daily_job(datetime.now(SHANGHAI) - MINUTE)
    assert not runner(app, stopping=True).run_due(job)
    assert RUNS == []
    assert recorded(job.id).finished_at is None
    assert not runner(app).run_due(job)  # claimed: the next fire time does the work
