"""The iCalendar feed of a person's open follow-ups, at a secret URL they can revoke."""

import secrets
from datetime import date, timedelta

from icalendar import Calendar, Event

from caretrack.core.timeutil import utcnow


def new_token() -> str:
    return secrets.token_urlsafe(32)


def masked_name(name: str) -> str:
    """王小明 -> 王*明: phone calendars sync to clouds beyond the school's control."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def feed(followups, base_url: str, title: str) -> bytes:
    """A VCALENDAR with one all-day event per follow-up on its due date; never a note, which may be confidential."""
    calendar = Calendar()
    calendar.add("prodid", "-//caretrack//followups//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", title)
    stamp = utcnow()
    for followup in followups:
        event = Event()
        event.add("uid", f"followup-{followup.id}@caretrack")
        event.add("dtstamp", stamp)
        event.add("dtstart", followup.due_on)
        if followup.due_on < date.max:
            # An all-day event without DTEND lasts its day (RFC 5545), so a stored 9999-12-31 still has one.
            event.add("dtend", followup.due_on + timedelta(days=1))
        event.add("summary", f"{followup.shareable_label}：{masked_name(followup.student.name)}")
        event.add("url", f"{base_url}/followups/{followup.id}")
        calendar.add_component(event)
    return calendar.to_ical()
