"""The scheduler's part: each school's summaries the night after its own term ends, once; the year's archive
closed after its last term ends everywhere. `today` is passed, as the scheduler's clock would give it.
"""

from datetime import date

from sqlalchemy import func, select

from caretrack import scheduler
from caretrack.extensions import db
from caretrack.org.models import Unit
from caretrack.org.services import set_term_dates
from caretrack.summaries import archive, tasks
from caretrack.summaries.models import ArchiveClosure, GeneratedSummary


def generated(student, term):
    return db.session.scalar(select(func.count()).select_from(GeneratedSummary).where(
        GeneratedSummary.student_id == student.id, GeneratedSummary.term == term))


def test_the_scheduler_lists_the_term_end_batches_and_the_archive_close():
    ids = {job.id: job.func for job in scheduler.JOBS}
    assert ids["summaries.term_end_batches"] == "caretrack.summaries.tasks:start_term_end_batches"
    assert ids["archive.close_ended_years"] == "caretrack.summaries.tasks:close_ended_years"
    assert "summaries.sweep_batch_files" in ids


def test_the_day_after_term_one_ends_every_school_gets_its_summaries_once(ledger):
    tasks.start_term_end_batches(today=date(2026, 1, 31))  # term 1 ends today: the 2024-2025 term 2 only
    assert generated(ledger.student, 1) == 0
    every_school = [unit for unit in db.session.scalars(select(Unit)) if unit.is_school]
    assert tasks.start_term_end_batches(today=date(2026, 2, 1)) == len(every_school)
    assert generated(ledger.student, 1) == 1
    assert tasks.start_term_end_batches(today=date(2026, 2, 2)) == 0  # the next night: nothing new


def test_a_school_with_its_own_term_dates_gets_its_batch_by_them(ledger):
    set_term_dates(None, ledger.city.east_school, ledger.year, 1, date(2025, 9, 1), date(2026, 1, 20))
    tasks.start_term_end_batches(today=date(2026, 1, 19))
    assert generated(ledger.student, 1) == 0  # its term runs to the 20th
    tasks.start_term_end_batches(today=date(2026, 1, 21))
    assert generated(ledger.student, 1) == 1  # the city's default term still runs: the school's own has ended
    assert tasks.start_term_end_batches(today=date(2026, 1, 22)) == 0


def test_term_two_is_claimed_after_term_one(ledger):
    tasks.start_term_end_batches(today=date(2026, 2, 1))
    assert tasks.start_term_end_batches(today=date(2026, 9, 1)) >= 1
    assert generated(ledger.student, 2) == 1


def closures(year):
    return db.session.scalar(select(func.count()).select_from(ArchiveClosure).where(
        ArchiveClosure.academic_year_id == year.id))


def test_the_year_is_closed_after_its_last_term_ends_and_only_once(ledger):
    assert "2025-2026" not in tasks.close_ended_years(today=date(2026, 8, 31))  # term 2 ends that day
    assert closures(ledger.year) == 0
    assert tasks.close_ended_years(today=date(2026, 9, 1)) == ["2025-2026"]
    closed = closures(ledger.year)
    assert closed >= 1
    assert archive.verify_year(ledger.year) == []
    assert tasks.close_ended_years(today=date(2026, 9, 2)) == []
    assert closures(ledger.year) == closed


def test_a_school_whose_last_term_runs_later_keeps_the_year_open(ledger):
    set_term_dates(None, ledger.city.east_school, ledger.year, 2, date(2026, 2, 1), date(2026, 9, 10))
    assert "2025-2026" not in tasks.close_ended_years(today=date(2026, 9, 1))
    assert closures(ledger.year) == 0
    assert tasks.close_ended_years(today=date(2026, 9, 11)) == ["2025-2026"]
