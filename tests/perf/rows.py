"""The benchmark rows the issue sets targets for, each beside its floor measured in the same run."""

import statistics

from flask import Flask

from caretrack.extensions import db
from tests.perf import city, screening, throughput
from tests.perf.timing import Measurement, Result, measure, peak_rss_mb, percentile_99, reset_peak_rss


def _measure_runs(app: Flask, action, runs: int) -> list[Measurement]:
    """`runs` timed runs (the step's peak memory reset before them), each its own transaction."""
    with app.app_context():
        engine = db.engine
    reset_peak_rss()
    measurements = []
    for _ in range(runs):
        with app.app_context():
            measurements.append(measure(engine, action))
    return measurements


def _ratio(now: float, floor: float) -> str:
    return f"{now / floor:.1f}×" if floor > 0 else "n/a"


def _timed_against_floor(name: str, action, floor_action, app: Flask, runs: int, target: str,
                         note: str = "") -> tuple[Result, float]:
    measurements = _measure_runs(app, action, runs)
    rss = peak_rss_mb()
    floors = _measure_runs(app, floor_action, runs)
    seconds = statistics.median(m.seconds for m in measurements)
    floor = statistics.median(m.seconds for m in floors)
    return Result(name, seconds, runs, measurements[-1].queries, note,
                  p99=percentile_99(m.seconds for m in measurements),
                  floor=f"{floor * 1000:,.0f} ms ({floors[-1].queries} statements)", ratio=_ratio(seconds, floor),
                  peak_rss_mb=rss, target=target), floor


def screening_results(app: Flask, runs: int) -> list[Result]:
    with app.app_context():
        city.seed_reference_data()
        db.session.commit()
    first = _measure_runs(app, screening.run_once, 1)[0]
    with app.app_context():
        cases = db.session.scalar(db.select(db.func.count()).select_from(screening.ScreeningCase))
    results = [Result("screening run, university: first run", first.seconds, 1, first.queries,
                      f"opens {cases:,} cases", peak_rss_mb=peak_rss_mb())]
    rerun, _floor = _timed_against_floor(
        "screening run, university: rerun", screening.run_once, screening.run_floor, app, runs, "≤ 2× floor",
        f"keeps {cases:,} cases; floor: one INSERT … SELECT … ON CONFLICT per rule, rolled back")
    table, json_floor = _timed_against_floor(
        "screening table JSON, university", screening.table_json, screening.table_floor, app, runs, "≤ 2× floor",
        "floor: one statement aggregating the case rows to JSON")
    counts, _floor = _timed_against_floor("screening counts, university", screening.counts,
                                          screening.counts_floor, app, runs, "≤ 2× floor",
                                          "floor: the GROUP BY by hand")
    xlsx = _measure_runs(app, screening.table_xlsx, max(1, runs // 2))
    seconds = statistics.median(m.seconds for m in xlsx)
    results += [rerun, table, counts, Result(
        "screening table xlsx, university", seconds, len(xlsx), xlsx[-1].queries, "floor: the JSON floor",
        p99=percentile_99(m.seconds for m in xlsx), floor=f"{json_floor * 1000:,.0f} ms (the JSON floor)",
        ratio=_ratio(seconds, json_floor), peak_rss_mb=peak_rss_mb(), target="≤ 4× floor, < 300 MB")]
    return results


def _throughput_row(name: str, measured: throughput.Throughput, floor: throughput.Throughput, statements,
                    target: str) -> Result:
    return Result(name, measured.median_ms / 1000, measured.requests, statements,
                  f"{measured.tool}, {throughput.CONNECTIONS} connections, {measured.errors} errors",
                  p99=measured.p99_ms / 1000, shown=f"{measured.requests_per_second:,.1f} req/s",
                  floor=f"{floor.requests_per_second:,.0f} req/s (bare Flask)",
                  ratio=f"{measured.requests_per_second / floor.requests_per_second:.1%}",
                  peak_rss_mb=measured.worker_peak_rss_mb, target=target)


def throughput_results(app_env: dict[str, str], pages: list[tuple[str, str, str, int | None, str]],
                       seconds: int) -> list[Result]:
    """Each page (name, username, path, statements, target) loaded under gunicorn, then the bare floor."""
    measured = []
    with throughput.gunicorn("tests.perf.serve:bench()", app_env) as (base, server):
        for name, username, path, statements, target in pages:
            cookie = throughput.log_in(base, username, city.PASSWORD)
            throughput.check_page(base, path, cookie)
            measured.append((name, throughput.load(base, path, seconds, cookie, server), statements, target))
    with throughput.gunicorn("tests.perf.serve:bare()", {}) as (base, server):
        floor = throughput.load(base, "/", seconds, "", server)
    rows = [_throughput_row(name, result, floor, statements, target) for name, result, statements, target in measured]
    rows.append(Result("bare Flask \"hello\" (the floor)", floor.median_ms / 1000, floor.requests, 0,
                       f"{floor.tool}, {throughput.CONNECTIONS} connections", p99=floor.p99_ms / 1000,
                       shown=f"{floor.requests_per_second:,.0f} req/s", peak_rss_mb=floor.worker_peak_rss_mb))
    return rows
