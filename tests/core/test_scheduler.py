"""The scheduler's database lease, and the process loop that holds it.

The lease must be seen across connections, so these tests commit and clean the leases table themselves.
"""

import threading
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import delete

from caretrack import scheduler
from caretrack.core import lease
from caretrack.extensions import db

pytestmark = pytest.mark.no_transaction

MINUTE = timedelta(minutes=1)


@pytest.fixture
def leases(app):
    """An app context with an empty leases table, emptied again afterwards."""
    with app.app_context():
        db.session.execute(delete(lease.Lease))
        db.session.commit()
        try:
            yield
        finally:
            db.session.rollback()
            db.session.execute(delete(lease.Lease))
            db.session.commit()


@pytest.fixture
def clock():
    with time_machine.travel(datetime.now(timezone.utc), tick=False) as traveller:
        yield traveller


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
    built, started = threading.Event(), []
    real_build = scheduler.build_scheduler

    def build(application):
        started.append(real_build(application))
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
    monkeypatch.setattr(scheduler, "build_scheduler", lambda application: built.append(application))
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
    monkeypatch.setattr(scheduler, "build_scheduler", lambda application: built.append("built") or _Idle())
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
