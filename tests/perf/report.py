"""The results as a table on stdout and as this database's section of docs/benchmarks.md."""

import os
import platform
import re
import subprocess
from datetime import datetime
from pathlib import Path

from tests.perf.timing import Result

DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
DIALECTS = ("sqlite", "postgresql")
COMMAND = ".venv/bin/python -m tests.perf.run_benchmarks"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def _command_output(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else "unknown"


def machine() -> str:
    memory = _command_output("free", "-h").splitlines()
    total = memory[1].split()[1] if len(memory) > 1 else "unknown"
    return (f"{_command_output('nproc')} CPUs (`nproc`) of {_cpu_model()}, {total} of memory (`free -h`), "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def _row(r: Result) -> str:
    median = r.shown or f"{r.seconds:.3f} s"
    p99 = "" if r.p99 is None else f"{r.p99:.3f} s"
    if r.shown:  # a throughput row: the latencies of its requests
        median, p99 = f"{r.shown}; median {r.seconds * 1000:,.0f} ms", f"{r.p99 * 1000:,.0f} ms"
    rss = "" if r.peak_rss_mb is None else f"{r.peak_rss_mb:,.0f} MB"
    queries = "" if r.queries is None else r.queries
    return (f"| {r.name} | {median} | {p99} | {r.runs} | {queries} | {r.floor} | {r.ratio} | {rss} | {r.target} "
            f"| {r.note} |")


def table(results: list[Result]) -> str:
    lines = ["| Benchmark | Median | p99 | Runs | SQL statements | Floor, same run | Ratio to floor | Peak RSS "
             "| Target | Notes |", "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    lines += [_row(r) for r in results]
    return "\n".join(lines)


def load_average() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def section(dialect: str, database: str, setup: str, results: list[Result]) -> str:
    return (f"<!-- benchmark:{dialect} -->\n## {database}\n\n"
            f"Run {datetime.now():%Y-%m-%d %H:%M}; {setup}\n\n{table(results)}\n<!-- /benchmark:{dialect} -->")


def _intro() -> str:
    return f"""# Benchmarks

What is measured, on generated city-scale data (made-up people; `caretrack/demo.py` makes the rosters and
`tests/perf/city.py` the city: one city, four districts, a 40,000-student university, a vocational school and
18 K-12 schools, classes of about 45):

- **Roster import**, through the same code as `flask caretrack import students FILE`
  (`run_import(StudentImporter(None), stream, name)`, then commit): the dry run, the real import into the empty
  city (which also creates every class), and a re-import of the same file, which must leave every row unchanged.
  The file holds `--rows` students across all 20 schools. The issue asks for 50,000 rows in well under a minute.
  The dry run and the re-import change nothing, so they are timed several times; the import once.
- **Student pages** through the Flask test client with a logged-in user, after the rest of the city is imported
  (200,000 students): the first page of `/students/` for the university's aid officer (40,000 students) and for
  the city admin, the search by a full ID number (blind index), the xlsx export of one class, the file page of a
  university student, the officer's caseload (`/ledger/caseload`) and the city admin's home page. Each time is
  the median (and the 99th percentile, the slowest run below 100 runs) of several runs after a warm-up run; "SQL
  statements" counts the statements of one request, which must not grow with the number of students. On
  PostgreSQL the run refreshes the planner's statistics (`ANALYZE`) after the imports, as autovacuum does.
- **Screening** of the university (`caretrack/screening/services.py`, what `flask caretrack screening run` and
  `table` call): the first run, a rerun, the table as JSON and as the printed xlsx, and the counts. Beside each,
  its **floor**, measured in the same run: hand-written SQL doing the same work in as few statements as the
  database allows (tests/perf/screening.py): one `INSERT … SELECT … ON CONFLICT` per rule for the rerun (rolled
  back), one statement aggregating the case rows into a JSON document for the table (also the xlsx's floor), the
  counts' `GROUP BY` by hand.
- **Page throughput**: the app under gunicorn with 2 sync workers (tests/perf/serve.py) and load from a second
  process on loopback, bounded in time: `wrk` (4 connections) when installed, else tests/perf/loadgen.py. The
  floor is a bare Flask "hello" under the same gunicorn and the same load, in the same run; the ratio is the
  page's requests per second over the floor's. Peak RSS of these rows is the workers' high-water mark.

Peak RSS of the other rows is the benchmark process's memory high-water mark during the step (`VmHWM`, reset
before each step where Linux allows it). `--quick` runs all of it on a 2,000-student city in about a minute
(tests/core/test_benchmarks.py runs it in the test suite, asserting no times).

Times are wall-clock on a shared machine: other work running beside the benchmark slows it down, so the load
average at the start of the run is noted with each table.

Machine: {machine()}.

Reproduce (each run rewrites its own section below; several minutes each on this machine):

```
make bench                                    # SQLite, or: {COMMAND}
make bench BENCH_DATABASE_URL={POSTGRES_URL}  # or: {COMMAND} --database-url {POSTGRES_URL}
```

The first uses a SQLite file in a temp folder; the second drops and recreates the database `caretrack_bench` on
that server. Options: `--rows` (the import file, default 50,000), `--students` (the city, default 200,000),
`--university` (default 40,000), `--import-runs` (default 3), `--runs` (page runs, default 7), `--load-seconds`
(default 10), `--quick`, `--no-docs`; `CARETRACK_BENCH_DATABASE` names the PostgreSQL database (default
`caretrack_bench`).
"""


def _sections(text: str) -> dict[str, str]:
    pattern = re.compile(r"<!-- benchmark:(\w+) -->.*?<!-- /benchmark:\1 -->", re.DOTALL)
    return {match.group(1): match.group(0) for match in pattern.finditer(text)}


def rewrite_docs(dialect: str, new_section: str, path: Path = DOCS) -> None:
    """Regenerate the intro, keep the other database's section, replace this one's."""
    sections = _sections(path.read_text()) if path.exists() else {}
    sections[dialect] = new_section
    body = "\n\n".join(sections.get(name, f"<!-- benchmark:{name} -->\n## {name}\n\nNot run yet.\n"
                                           f"<!-- /benchmark:{name} -->") for name in DIALECTS)
    # Hand-written sections (<!-- benchmark:notes -->: the targets missed and the plan) are kept as they are.
    body += "".join(f"\n\n{text}" for name, text in sections.items() if name not in DIALECTS)
    path.write_text(f"{_intro()}\n{body}\n")
