"""Benchmark the roster import and the student pages on a generated city; print a table, update the docs.

    .venv/bin/python -m tests.perf.run_benchmarks [--database-url URL] [--rows 50000] [--quick]

Without --database-url the run uses a SQLite file in a temp folder; with a PostgreSQL URL it recreates the
database caretrack_bench on that server. Either way the app is migrated as in production (flask_migrate).
"""

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.org.services import academic_year_of
from tests.perf import city, report, rows, scenarios
from tests.perf.database import analyze, bench_app, database_label, fresh_database_url, workdir
from tests.perf.timing import Result

FILL_FILE_ROWS = 50_000


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: a SQLite temp file)")
    parser.add_argument("--rows", type=int, default=50_000, help="rows of the timed import file")
    parser.add_argument("--students", type=int, default=200_000, help="students of the whole city")
    parser.add_argument("--university", type=int, default=40_000, help="students of the university")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each page")
    parser.add_argument("--import-runs", type=int, default=3, help="timed runs of the dry run and the re-import")
    parser.add_argument("--load-seconds", type=int, default=10, help="seconds of load on each page under gunicorn")
    parser.add_argument("--no-docs", action="store_true", help="print the table only")
    parser.add_argument("--only", choices=["screening"],
                        help="import the whole city in one step, then run only these rows and their floors "
                             "(implies --no-docs)")
    parser.add_argument("--quick", action="store_true",
                        help="a small city, one run each, one second of load, no docs: the code paths, not the times")
    args = parser.parse_args(argv)
    if args.quick:
        args.students, args.university, args.rows, args.runs, args.import_runs = 2_000, 800, 500, 2, 1
        args.load_seconds, args.no_docs = 1, True
    if args.only:
        args.no_docs = True
    if not args.university < args.students or not 0 < args.rows <= args.students:
        parser.error("need 0 < --rows <= --students and --university < --students")
    return args


@dataclass
class Files:
    """The roster files on disk and what the page checks need from them (the rows themselves are let go)."""

    roster: Path
    roster_rows: int
    fill: list[Path]
    fill_rows: int
    searched: tuple[str, str]  # the ID number and 学号 of the university's first student


def build_city(app: Flask, plan: city.CityPlan, folder: Path) -> Files:
    """Units and users in the database; the import file and the fill files on disk."""
    with app.app_context():
        city.build_units()
        city.build_users()
        db.session.commit()
    year = academic_year_of(local_today())
    rosters = city.rosters(plan, f"{year}-{year + 1}")
    return Files(scenarios.write_roster(rosters.imported, folder / "roster.csv"), len(rosters.imported),
                 [scenarios.write_roster(rows, folder / f"fill-{n}.csv")
                  for n, rows in enumerate(city.chunks(rosters.fill, FILL_FILE_ROWS), start=1)],
                 len(rosters.fill), (rosters.imported[0][6], rosters.imported[0][3]))


def page_checks(app: Flask, files: Files, plan: city.CityPlan) -> list[scenarios.PageCheck]:
    with app.app_context():
        class_id, class_size = city.first_university_class()
    return [
        scenarios.list_page(f"student list, first page: university aid officer ({plan.university_students:,} "
                            "students)", city.OFFICER),
        scenarios.list_page(f"student list, first page: city admin ({plan.students:,} students)", city.CITY_ADMIN),
        scenarios.id_search(*files.searched),
        scenarios.class_export(class_id, class_size),
    ]


def target_pages(app: Flask, args: argparse.Namespace) -> tuple[list[Result], list[tuple]]:
    """The pages the issue sets targets for, through the test client (statements, median, p99), and what the
    throughput run loads under gunicorn.
    """
    with app.app_context():
        student_id = city.identified_university_student()
        identified = city.identified_count(city.UNIVERSITY.code)
    file_row = scenarios.spread_result(app, scenarios.file_page(student_id), args.runs, "≤ 15 statements")
    list_row = scenarios.spread_result(app, scenarios.list_page(
        "student list, first page: university aid officer", city.OFFICER), args.runs)
    results = [file_row, scenarios.spread_result(app, scenarios.caseload_page(identified), args.runs,
                                                 "paginated, ≤ 100 ms"),
               scenarios.spread_result(app, scenarios.home_page(), args.runs, "≤ 100 ms"),
               scenarios.spread_result(app, scenarios.home_page_counting(), args.runs)]
    loads = [(f"throughput: {file_row.name}", city.OFFICER, f"/students/{student_id}", file_row.queries,
              "≥ 5% of the floor"),
             (f"throughput: {list_row.name}", city.OFFICER, "/students/", list_row.queries, "≥ 5% of the floor")]
    return results, loads


def run_only_screening(app: Flask, files: Files, runs: int) -> list[Result]:
    """--only screening: the whole city imported in one step (shown, not a target), then the screening rows."""
    results = [scenarios.fill_result(app, [files.roster, *files.fill], files.roster_rows + files.fill_rows)]
    analyze(app)
    return results + rows.screening_results(app, runs)


def run(args: argparse.Namespace) -> tuple[str, str, list[Result]]:
    folder = workdir()
    try:
        url = fresh_database_url(args.database_url, folder)
        app = bench_app(url, folder)
        plan = city.CityPlan(args.students, args.university, args.rows)
        files = build_city(app, plan, folder)
        if args.only == "screening":
            dialect, database = database_label(app)
            return dialect, database, run_only_screening(app, files, args.runs)
        results = scenarios.import_results(app, files.roster, files.roster_rows, args.import_runs)
        analyze(app)
        results.append(scenarios.page_result(app, scenarios.list_page(
            f"student list, first page: city admin ({files.roster_rows:,} students)", city.CITY_ADMIN,
            "before the fill"), args.runs))
        results.append(scenarios.fill_result(app, files.fill, files.fill_rows))
        analyze(app)
        results += [scenarios.page_result(app, check, args.runs) for check in page_checks(app, files, plan)]
        results += rows.screening_results(app, args.runs)
        analyze(app)
        pages, loads = target_pages(app, args)
        results += pages
        dialect, database = database_label(app)
        with app.app_context():
            db.engine.dispose()
        server_env = {"CARETRACK_BENCH_DATABASE_URL": url, "CARETRACK_BENCH_WORKDIR": str(folder)}
        results += rows.throughput_results(server_env, loads, args.load_seconds)
        return dialect, database, results
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def describe_setup(args: argparse.Namespace, load: str) -> str:
    return (f"load average {load} at the start; {args.rows:,}-row import file; city of {args.students:,} students "
            f"(university {args.university:,}); medians of {args.import_runs} runs (dry run, re-import) and "
            f"{args.runs} (pages, screening); {args.load_seconds} s of load per page under gunicorn "
            f"({rows.throughput.WORKERS} sync workers).")


def main(argv=None) -> None:
    args = parse_args(argv)
    setup = describe_setup(args, report.load_average())
    dialect, database, results = run(args)
    setup += f" Load average {report.load_average()} at the end."
    print(f"\n{database}: {setup}\n\n{report.table(results)}\n")
    if not args.no_docs:
        report.rewrite_docs(dialect, report.section(dialect, database, setup, results))
        print(f"updated {report.DOCS}")


if __name__ == "__main__":
    main()
