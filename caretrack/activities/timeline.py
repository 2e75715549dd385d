"""The activities a student attended, as entries of the file's timeline (the ledger's 帮扶台账)."""

from caretrack.activities.queries import attended_by
from caretrack.ledger.queries import TIMELINE_SOURCES, TimelineEntry, TimelineFilters
from caretrack.ledger.services import academic_year_bounds
from caretrack.students.models import Student

ACTIVITY = "activity"


def activity_entries(student: Student, filters: TimelineFilters) -> list[TimelineEntry]:
    if filters.kind not in ("", ACTIVITY):
        return []
    first = last = None
    if filters.year is not None:
        first, last = academic_year_bounds(student, filters.year)
    return [TimelineEntry(a.held_on, ACTIVITY, a) for a in attended_by(student, first, last)]


TIMELINE_SOURCES.append(activity_entries)
