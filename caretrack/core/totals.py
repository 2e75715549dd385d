"""The home pages' scope-wide totals and the student list's count, remembered for a minute per user and process.

A city admin's charts and student counts read the city's 200,000 students with their identifications: more than
half a second of the database's time on each view of the page, for numbers that move slowly (an import, an
identification, a coverage goal) and that nobody acts on within the minute. So each user's totals are counted
at most once per HOME_TOTALS_SECONDS in each process, and the page says when they were counted. What people act
on today (follow-ups due, cases, submissions, the inbox) is never remembered: it is counted on every view. The
student list remembers its capped count the same way, per user and filters (its rows are read on every view),
and its default year per home unit and day.

The key is the user, their grants and the language: a user never sees totals counted for another scope, and a
grant added or removed counts afresh. HOME_TOTALS_SECONDS = 0 counts on every view (the test suite's setting).
"""

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask import Flask, current_app, g, has_request_context
from flask_babel import get_locale
from flask_caching import Cache

from caretrack.core.timeutil import utcnow

T = TypeVar("T")

cache = Cache()


def init_app(app: Flask) -> None:
    # In the process's memory: the totals are small, and each gunicorn worker counting once a minute is cheap.
    cache.init_app(app, config={"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 5000})


def remembered(user, what: str, compute: Callable[[], T], *args, noted: bool = True) -> T:
    """`compute()`, or what it gave for this user, `what` and `args` within the last HOME_TOTALS_SECONDS.

    `user` None: a total that is the same whoever looks (a school's number of students), shown only to those
    who may see it by the caller. Outside a request (the command line) everything is counted afresh. `noted`
    False: a value the page does not present as counted (a default year), left out of `counted_at()`.
    """
    seconds = current_app.config["HOME_TOTALS_SECONDS"]
    if seconds <= 0 or not has_request_context():
        return compute()
    key = _key(user, what, args)
    found = cache.get(key)
    if found is None:
        found = (utcnow(), compute())
        cache.set(key, found, timeout=seconds)
    counted_at, value = found
    if noted:
        _note_counted_at(counted_at)
    return value


def counted_at() -> datetime | None:
    """When the oldest of the totals shown on this page was counted (None: each was counted for this view)."""
    return g.get("home_totals_counted_at")


def forget_all() -> None:
    """Count every total afresh at the next view (the benchmarks' first view; an operator after a bulk fix)."""
    cache.clear()


def _note_counted_at(moment: datetime) -> None:
    oldest = g.get("home_totals_counted_at")
    g.home_totals_counted_at = moment if oldest is None else min(oldest, moment)


def _key(user, what: str, args: tuple) -> str:
    if user is None:
        identity = repr((what, args))
    else:
        grants = sorted((a.role, a.scope_type, a.scope_id) for a in user.role_assignments)
        identity = repr((user.id, grants, str(get_locale()), what, args))
    return "home-totals:" + hashlib.sha256(identity.encode()).hexdigest()
