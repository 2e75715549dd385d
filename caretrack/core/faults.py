"""Pause points for fault tests: a process stops at a chosen step so that a test kills or cuts it there.

`pause_point("archive.unit")` does nothing unless CARETRACK_FAULT_PAUSE names that point and a count
("archive.unit=2"): on its 2nd pass the process writes a line to stderr and waits, until it is killed, or, when
CARETRACK_FAULT_GATE names a file, until that file is removed (then it goes on). Fault tests set
them on the processes they start (tests/faults.py); nothing else does, so elsewhere a call is one lookup.
"""

import os
import sys
import threading
import time
from collections import Counter

_passes: Counter = Counter()
_lock = threading.Lock()


def _wanted() -> tuple[str, int] | None:
    name, _sep, count = os.environ.get("CARETRACK_FAULT_PAUSE", "").partition("=")
    return (name, int(count)) if name and count.isdigit() else None


def pause_point(name: str) -> None:
    """Stop here on the configured pass of `name` (see the module's docstring); otherwise return at once."""
    wanted = _wanted()
    if wanted is None or wanted[0] != name:
        return
    with _lock:
        _passes[name] += 1
        reached = _passes[name] == wanted[1]
    if not reached:
        return
    gate = os.environ.get("CARETRACK_FAULT_GATE")
    print(f"CARETRACK FAULT PAUSE {name}={wanted[1]} pid={os.getpid()}", file=sys.stderr, flush=True)
    while gate is None or os.path.exists(gate):
        time.sleep(0.05)
    print(f"CARETRACK FAULT RESUME {name}={wanted[1]} pid={os.getpid()}", file=sys.stderr, flush=True)
