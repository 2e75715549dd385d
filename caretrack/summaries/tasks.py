"""Batch work of term summaries: a job body that takes ids, commits per class and reports progress.

Run inline by `flask caretrack summaries generate`; the queued tasks (a batch started on the web, a school's
batch at the end of a term) run the same body.
"""

import logging
from collections.abc import Callable
from datetime import date, datetime, timezone
from datetime import time as clock_time
from itertools import groupby

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.core import lease
from caretrack.core.errors import DomainError
from caretrack.core.faults import pause_point
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.jobs import services as jobs
from caretrack.jobs.queue import enqueue, task
from caretrack.org.models import Unit
from caretrack.summaries import queries
from caretrack.summaries.services import Progress, check_all_started, check_term, resolve_year, store_generated

log = logging.getLogger(__name__)


def generate_batch(unit_id: int, year: str | int, term: int, *, class_id: int | None = None,
                   college_id: int | None = None, progress: Progress | None = None,
                   today: date | None = None, on_class: Callable[[list], None] | None = None) -> int:
    """Generate the term summaries of a unit's students (or one college's, one class's); the number made.

    A job body: takes ids, runs in an app context, commits per class, and may be rerun (an unchanged summary
    writes nothing). `progress(done, total)` is called after each class, `on_class(summaries)` with each class's
    summaries before its commit (which expires them), to write them into a batch file.
    """
    check_term(term)
    academic_year = resolve_year(year)
    if db.session.get(Unit, unit_id) is None:
        raise DomainError(_("单位不存在。"), field="unit")
    students = queries.batch_students(academic_year, unit_id=unit_id, class_id=class_id, college_id=college_id)
    check_all_started([unit_id, *{s.school_id for s in students}], academic_year, term, today or local_today())
    done, total = 0, len(students)
    if progress:
        progress(done, total)
    for _class_id, group in groupby(students, key=lambda s: (s.school_id, s.class_id)):
        members = list(group)
        summaries = queries.build_summaries(members, academic_year, term)
        store_generated(summaries)
        if on_class:
            on_class(summaries)
        pause_point("summaries.class")  # fault tests kill the worker here, the class written but not committed
        db.session.commit()
        done += len(members)
        log.info("summaries generated unit=%s class=%s students=%s", unit_id, _class_id[1], len(members))
        if progress:
            progress(done, total)
    return done


@task()
def run_batch(job_id: int, attempt: int) -> None:
    """A batch started on the web: generate the summaries class by class and keep its file for download."""
    from caretrack.summaries import batches

    with jobs.running(job_id, attempt) as run:
        if run is not None:
            batches.execute(run)


@task()
def generate_for_term(unit_id: int, start_year: int, term: int) -> None:
    """A school's summaries at the end of a term, started by the scheduler (scheduled_batches)."""
    generate_batch(unit_id, start_year, term)


# --- the scheduler's (scheduler.JOBS) ----------------------------------------------------------------------

def start_term_end_batches(today: date | None = None) -> int:
    """Queue the summaries of every school whose term has ended, once per school and term; how many were queued.

    Once: each school's term end is claimed in the scheduler's run table (core.lease) under its own id, with the
    term's last day as the fire time, so a rerun the next day (or a second scheduler) claims nothing. The claim
    commits only after the task is queued, so a queue that is down leaves it for the next night's run.
    """
    from caretrack.summaries import batches

    today = today or local_today()
    schools = [u for u in db.session.scalars(select(Unit).order_by(Unit.code)) if u.is_school]
    started = 0
    for school_id, (year, number, ends_on) in batches.ended_terms(schools, today).items():
        fire_time = datetime.combine(ends_on, clock_time(23, 59), tzinfo=timezone.utc)
        if not lease.claim_run(f"summaries.term_end.{school_id}", fire_time, "scheduler"):
            continue
        enqueue(generate_for_term, school_id, year.start_year, number)
        db.session.commit()
        started += 1
        log.info("summaries of school %s, %s term %s, queued", school_id, year.label, number)
    db.session.commit()
    return started


def close_ended_years(today: date | None = None) -> list[str]:
    """Close each academic year whose last term has ended everywhere (archive.years_to_close); the labels closed.

    A rerun finds them closed and changes nothing.
    """
    from caretrack.summaries import archive

    today = today or local_today()
    closed = []
    for year in archive.years_to_close(today):
        archive.close_year(None, year, today=today)
        db.session.commit()
        closed.append(year.label)
    return closed
