"""The payment form's defaults: the year and term today is in for the student's school, which the form accepts."""

from datetime import date

import pytest
from sqlalchemy import func, select

from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.ledger.models import Disbursement
from caretrack.org.models import Stage
from caretrack.org.services import ensure_academic_year, set_term_dates
from tests.factories import make_student, make_user, project
from tests.html_forms import selected


@pytest.fixture
def on_1_december(monkeypatch):
    monkeypatch.setattr("caretrack.ledger.views.local_today", lambda: date(2026, 12, 1))


def test_on_1_december_2026_the_payment_form_defaults_to_2026_2027_term_1(city, login, on_1_december):
    this_year, next_year = ensure_academic_year(2026), ensure_academic_year(2027)
    student = make_student(city.class_a, stage=Stage.COMPULSORY)
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    html = client.get(f"/ledger/students/{student.id}/disbursements/new").get_data(as_text=True)
    chosen = selected(html)
    assert (chosen["academic_year_id"], chosen["term"]) == (str(this_year.id), "1")
    assert chosen["academic_year_id"] != str(next_year.id)
    assert 'value="2026-12-01"' in html


def test_the_payment_form_s_defaults_are_accepted(city, login, on_1_december):
    ensure_academic_year(2026), ensure_academic_year(2027)
    student = make_student(city.class_a, stage=Stage.COMPULSORY)
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    chosen = selected(client.get(f"/ledger/students/{student.id}/disbursements/new").get_data(as_text=True))
    response = client.post(f"/ledger/students/{student.id}/disbursements/new", data={
        **chosen, "project_id": project("营养改善计划", "compulsory").id, "amount": "400.00",
        "paid_on": "2026-12-01", "voucher": ""})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Disbursement)) == 1


def test_the_payment_form_follows_the_school_s_own_term_dates(city, client_for, monkeypatch):
    monkeypatch.setattr("caretrack.ledger.views.local_today", lambda: date(2027, 1, 20))
    year = ensure_academic_year(2026)
    set_term_dates(None, city.east_school, year, 1, date(2026, 9, 1), date(2027, 1, 15))
    terms = []
    for school_class in (city.class_a, city.west_class):
        student = make_student(school_class, stage=Stage.COMPULSORY)
        client = client_for(make_user(Role.SCHOOL_OFFICER, school_class.school))
        html = client.get(f"/ledger/students/{student.id}/disbursements/new").get_data(as_text=True)
        terms.append(selected(html)["term"])
    assert terms == ["2", "1"]  # term 1 ended on 15 January at the first school, on 31 January at the second
