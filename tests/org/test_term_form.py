"""The term-dates form opens on the unit's current term with the dates that apply, and unchanged it writes nothing."""

from datetime import date

from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.org import services
from caretrack.org.models import Term
from tests.factories import make_user
from tests.html_forms import form_data, selected


def test_the_term_form_shows_the_current_term_and_an_unchanged_submit_writes_nothing(city, login, monkeypatch):
    monkeypatch.setattr("caretrack.org.views.local_today", lambda: date(2026, 1, 20))
    year = services.ensure_academic_year(2025)
    services.set_term_dates(None, city.east, year, 1, date(2025, 8, 25), date(2026, 1, 15))
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    html = client.get(f"/units/{city.east_school.id}").get_data(as_text=True)
    assert selected(html)["number"] == "2"
    posted = form_data(html, f"/units/{city.east_school.id}/terms")
    assert (posted["academic_year"], posted["starts_on"], posted["ends_on"]) == ("2025-2026", "2026-02-01",
                                                                                 "2026-08-31")
    audits = db.session.scalar(select(func.count(AuditEvent.id)))
    assert client.post(f"/units/{city.east_school.id}/terms", data=posted).status_code == 302
    assert db.session.scalar(select(func.count(AuditEvent.id))) == audits
    assert db.session.scalar(select(func.count(Term.id)).where(Term.unit_id == city.east_school.id)) == 0
