"""The iCalendar feed: a person's dates at a secret URL (/calendar/<token>.ics) their phone calendar subscribes to.

notify owns the format and the URL and names no domain: accounts registers who a token belongs to
(register_feed_owner), and each domain with dates to show registers a source of entries (register_feed_source).
"""

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, Response, abort, request
from flask_babel import gettext as _
from icalendar import Calendar, Event

from caretrack.core.timeutil import utcnow

calendar_bp = Blueprint("calendar", __name__, url_prefix="/calendar")


@dataclass(frozen=True)
class FeedEntry:
    """One all-day event: never a note, which may be confidential; names masked with `masked_name`."""

    uid: str
    day: date
    summary: str
    path: str  # on this site, e.g. /followups/7


_feed_owner: Callable[[str], object | None] = lambda _token: None  # noqa: E731 - until accounts registers
_feed_sources: list[Callable[[object], Iterable[FeedEntry]]] = []


def register_feed_owner(lookup: Callable[[str], object | None]) -> None:
    """`lookup(token)` gives the active user whose feed the token opens, or None."""
    global _feed_owner
    _feed_owner = lookup


def register_feed_source(source: Callable[[object], Iterable[FeedEntry]]) -> None:
    """`source(user)` gives the entries of the user's feed that one domain holds (once per source)."""
    if source not in _feed_sources:
        _feed_sources.append(source)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def masked_name(name: str) -> str:
    """王小明 -> 王*明: phone calendars sync to clouds beyond the school's control."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def feed(entries: Iterable[FeedEntry], base_url: str, title: str) -> bytes:
    """A VCALENDAR with one all-day event per entry on its day."""
    calendar = Calendar()
    calendar.add("prodid", "-//caretrack//followups//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", title)
    stamp = utcnow()
    for entry in entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.day)
        if entry.day < date.max:
            # An all-day event without DTEND lasts its day (RFC 5545), so a stored 9999-12-31 still has one.
            event.add("dtend", entry.day + timedelta(days=1))
        event.add("summary", entry.summary)
        event.add("url", f"{base_url}{entry.path}")
        calendar.add_component(event)
    return calendar.to_ical()


@calendar_bp.route("/<token>.ics", endpoint="feed")
def show_feed(token: str):
    """No login: the secret token in the URL is the credential, as phone calendars cannot log in."""
    user = _feed_owner(token) if len(token) >= 32 else None
    if user is None:
        abort(404)
    entries = [entry for source in _feed_sources for entry in source(user)]
    body = feed(entries, request.host_url.rstrip("/"), _("学生资助跟进"))
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "no-store"})
