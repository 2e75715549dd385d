"""What is timed: the roster import as the CLI runs it, and the student pages through the Flask test client."""

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from caretrack.core import totals
from caretrack.core.imports import ImportReport, run_import
from caretrack.core.xlsx import XLSX_MIMETYPE
from caretrack.demo import roster_csv
from caretrack.extensions import db
from caretrack.students.importers import StudentImporter
from tests.perf import city
from tests.perf.timing import Measurement, Result, measure, median_of, peak_rss_mb, reset_peak_rss, spread_of


def write_roster(rows: list[list[str]], path: Path) -> Path:
    path.write_bytes(roster_csv(rows))
    return path


def import_file(app: Flask, path: Path, dry_run: bool = False) -> Measurement:
    """The CLI's code path: run_import(StudentImporter(None), ...), then commit, or roll back a dry run."""
    def action() -> ImportReport:
        reset_peak_rss()
        with path.open("rb") as stream:
            report = run_import(StudentImporter(None), stream, path.name, dry_run=dry_run)
        if report.refused or dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        return report

    with app.app_context():
        return measure(db.engine, action)


def _checked(measurement: Measurement, outcome: str, rows: int) -> ImportReport:
    report = measurement.value
    if report.refused or getattr(report, outcome) != rows:
        raise AssertionError(f"expected {outcome} {rows}, got {report.summary}: {report.refused_reason} "
                             f"{report.errors[:3]}")
    return report


@dataclass(frozen=True)
class ImportStep:
    label: str
    dry_run: bool
    outcome: str  # every row must come out with this outcome
    repeatable: bool  # whether the step leaves the database as it found it, so that it can be timed again


IMPORT_TARGETS = {"import": "≥ 10,000 rows/s, < 300 MB", "re-import of the same file": "≥ 15,000 rows/s, < 300 MB"}
IMPORT_STEPS = (ImportStep("dry run", True, "created", True), ImportStep("import", False, "created", False),
                ImportStep("re-import of the same file", False, "unchanged", True))


def import_results(app: Flask, path: Path, rows: int, runs: int) -> list[Result]:
    """Dry run, real import and re-import of one roster file; each must report every row as expected.

    The dry run and the re-import change nothing, so they are timed `runs` times (the median is shown).
    """
    results = []
    for step in IMPORT_STEPS:
        measurements = [import_file(app, path, step.dry_run) for _ in range(runs if step.repeatable else 1)]
        report = _checked(measurements[-1], step.outcome, rows)
        seconds = statistics.median(m.seconds for m in measurements)
        results.append(Result(f"import {rows:,} rows: {step.label}", seconds, len(measurements),
                              measurements[-1].queries, f"{report.summary}; {rows / seconds:,.0f} rows/s",
                              peak_rss_mb=peak_rss_mb(), target=IMPORT_TARGETS.get(step.label, "")))
    return results


def fill_result(app: Flask, paths: list[Path], rows: int) -> Result:
    """Import the rest of the city's students, file by file; reported for information."""
    seconds = queries = 0
    for path in paths:
        measurement = import_file(app, path)
        seconds, queries = seconds + measurement.seconds, queries + measurement.queries
    return Result(f"fill the city: import {rows:,} more rows", seconds, 1, queries,
                  f"{len(paths)} file(s), {rows / seconds:,.0f} rows/s")


def logged_in_client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": city.PASSWORD})
    if response.status_code != 302:
        raise AssertionError(f"login of {username} refused: {response.status_code}")
    return client


@dataclass(frozen=True)
class PageCheck:
    """A request to time, and what its response must be."""

    name: str
    username: str
    send: Callable[[FlaskClient], TestResponse]
    valid: Callable[[TestResponse], bool] = lambda response: True
    note: str = ""


def page_result(app: Flask, check: PageCheck, runs: int) -> Result:
    client = logged_in_client(app, check.username)

    def action() -> None:
        response = check.send(client)
        if response.status_code != 200 or not check.valid(response):
            raise AssertionError(f"{check.name}: unexpected response {response.status_code}")

    with app.app_context():
        engine = db.engine
    seconds, queries = median_of(engine, action, runs)
    return Result(check.name, seconds, runs, queries, check.note)


def list_page(name: str, username: str, note: str = "") -> PageCheck:
    return PageCheck(name, username, lambda client: client.get("/students/"), note=note)


def id_search(id_number: str, student_no: str) -> PageCheck:
    """POST the search form with a full ID number; it redirects to the list, which must show that student."""
    return PageCheck("search by full ID number (city admin)", city.CITY_ADMIN,
                     lambda client: client.post("/students/", data={"q": id_number}, follow_redirects=True),
                     lambda response: student_no.encode() in response.data, "POST + redirected GET")


def class_export(class_id: int, size: int) -> PageCheck:
    return PageCheck("xlsx export of one class (university aid officer)", city.OFFICER,
                     lambda client: client.get(f"/students/export.xlsx?class={class_id}"),
                     lambda response: response.mimetype == XLSX_MIMETYPE, f"{size} students")


def spread_result(app: Flask, check: PageCheck, runs: int, target: str = "") -> Result:
    """A page timed `runs` times through the test client: median, p99, statements, the step's peak memory."""
    client = logged_in_client(app, check.username)

    def action() -> None:
        response = check.send(client)
        if response.status_code != 200 or not check.valid(response):
            raise AssertionError(f"{check.name}: unexpected response {response.status_code}")

    with app.app_context():
        engine = db.engine
    reset_peak_rss()
    seconds, p99, queries = spread_of(engine, action, runs)
    return Result(check.name, seconds, runs, queries, check.note, p99=p99, peak_rss_mb=peak_rss_mb(), target=target)


def file_page(student_id: int) -> PageCheck:
    return PageCheck("file page of a university student (university aid officer)", city.OFFICER,
                     lambda client: client.get(f"/students/{student_id}"))


def caseload_page(identified: int) -> PageCheck:
    return PageCheck(f"caseload, first page (university aid officer, {identified:,} identified)", city.OFFICER,
                     lambda client: client.get("/ledger/caseload"),
                     lambda response: len(response.data) < 2_000_000, "one page of the paginated list")


def home_page() -> PageCheck:
    """The page as it is mostly seen: its slow-moving totals counted within the minute (core/totals.py)."""
    return PageCheck("home page (city admin)", city.CITY_ADMIN, lambda client: client.get("/"))


def home_page_counting() -> PageCheck:
    """The first view of the minute, which counts the city's totals (the charts, 我的学生)."""
    def first_view(client):
        totals.forget_all()
        return client.get("/")

    return PageCheck("home page (city admin), first view of the minute: totals counted", city.CITY_ADMIN,
                     first_view)
