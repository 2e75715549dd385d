"""The bodies of the queue's tasks: each takes ids, runs in an app context, and is safe to run again."""

from caretrack.jobs import imports
from caretrack.jobs import services as jobs
from caretrack.jobs.queue import task


@task()
def run_import(job_id: int, attempt: int) -> None:
    """Run one import job, a preview or the real import, to its end."""
    with jobs.running(job_id, attempt, on_failure=imports.discard_file) as run:
        if run is not None:
            imports.execute(run)
