"""The screening pages open on the year and term today is in by the unit's own term dates."""

from datetime import date

from caretrack.core.access import Role
from caretrack.org.services import ensure_academic_year, set_term_dates
from tests.factories import make_user
from tests.html_forms import selected


def test_a_school_page_opens_on_the_term_of_the_school_s_own_dates(city, client_for, monkeypatch):
    monkeypatch.setattr("caretrack.screening.views.local_today", lambda: date(2026, 1, 20))
    year = ensure_academic_year(2025)
    ensure_academic_year(2026)
    set_term_dates(None, city.east_school, year, 1, date(2025, 9, 1), date(2026, 1, 15))
    shown = []
    for school in (city.east_school, city.west_school):
        client = client_for(make_user(Role.SCHOOL_OFFICER, school))
        response = client.get(f"/screening/units/{school.id}")
        assert response.status_code == 200
        chosen = selected(response.get_data(as_text=True))
        shown.append((chosen["year"], chosen["term"]))
    assert shown == [("2025", "2"), ("2025", "1")]
