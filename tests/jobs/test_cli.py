"""The CLI imports inline, with a progress bar for checking and one for writing."""

import random

from sqlalchemy import func, select

from caretrack import demo
from caretrack.extensions import db
from caretrack.jobs.models import Job
from caretrack.org.models import Stage
from caretrack.students.models import Student


def test_a_cli_import_runs_inline_and_shows_its_progress(runner, city, tmp_path):
    spec = demo.RosterSpec(city.east_school.code, Stage.COMPULSORY, [("", "初一(1)班"), ("", "初一(2)班")])
    path = tmp_path / "roster.csv"
    path.write_bytes(demo.roster_csv(demo.roster_rows(spec, 1200, random.Random(3), "2025-2026", 800000001,
                                                      identified_share=0)))
    result = runner.invoke(args=["caretrack", "import", "students", str(path)])
    assert result.exit_code == 0, result.output
    assert "checking" in result.output
    assert "writing" in result.output
    assert result.output.splitlines()[-1] == "created 1200, updated 0, unchanged 0, invalid 0"
    assert db.session.scalar(select(func.count()).select_from(Student)) == 1200
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0  # no job, no queue: it ran right here
