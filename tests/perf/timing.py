"""Measuring: wall-clock time, the median of several runs, and the SQL statements a block sends."""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine import Engine

# Not counted: transaction control, which SQLite sends as statements (caretrack.core.database) and PostgreSQL not.
TRANSACTION_CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK TO")


@dataclass
class Result:
    """One line of the results table."""

    name: str
    seconds: float
    runs: int = 1
    queries: int | None = None
    note: str = ""
    p99: float | None = None
    shown: str | None = None  # the median column's text when it is not a time (requests per second)
    floor: str = ""  # the floor measured in the same run, as shown
    ratio: str = ""  # now against the floor
    peak_rss_mb: float | None = None
    target: str = ""


class QueryCounter:
    """Counts the SQL statements sent through the engine while the block runs (an executemany counts once)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.count = 0

    def _count(self, _conn, _cursor, statement, _parameters, _context, _executemany):
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            self.count += 1

    def __enter__(self) -> "QueryCounter":
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


@dataclass
class Measurement:
    seconds: float
    queries: int
    value: object


def measure(engine: Engine, action: Callable[[], object]) -> Measurement:
    """Run the action once; its wall-clock time, its SQL statement count and its return value."""
    with QueryCounter(engine) as counter:
        start = time.perf_counter()
        value = action()
        seconds = time.perf_counter() - start
    return Measurement(seconds, counter.count, value)


def median_of(engine: Engine, action: Callable[[], object], runs: int) -> tuple[float, int]:
    """The median time of `runs` runs after one warm-up run, and the statement count, which must not vary."""
    seconds, _p99, queries = spread_of(engine, action, runs)
    return seconds, queries


def spread_of(engine: Engine, action: Callable[[], object], runs: int) -> tuple[float, float, int]:
    """The median and 99th percentile (the slowest, below 100 runs) of `runs` runs after a warm-up run, and the
    statement count, which must not vary.
    """
    measure(engine, action)
    measurements = [measure(engine, action) for _ in range(runs)]
    counts = {m.queries for m in measurements}
    if len(counts) != 1:
        raise AssertionError(f"the statement count varied between identical runs: {sorted(counts)}")
    return statistics.median(m.seconds for m in measurements), percentile_99(m.seconds for m in measurements), \
        counts.pop()


def percentile_99(values) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def reset_peak_rss() -> None:
    """Start the process's memory high-water mark afresh (Linux: clear_refs 5), so a step's peak is its own."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def peak_rss_mb() -> float | None:
    """The process's memory high-water mark (VmHWM) since the last reset, in MB; None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
