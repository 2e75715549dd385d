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
from tests.html_forms import errors_by_field, selected


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


def test_a_payment_with_three_wrong_fields_shows_three_errors_and_writes_nothing(city, login):
    year = ensure_academic_year(2025)
    student = make_student(city.uni_class)
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    response = client.post(f"/ledger/students/{student.id}/disbursements/new", data={
        "project_id": project("国家助学金", "higher").id, "grade": "", "amount": "12,5O",
        "paid_on": "2027-03-01", "academic_year_id": year.id, "term": "2", "voucher": ""})
    assert response.status_code == 400
    shown = errors_by_field(response.get_data(as_text=True))
    assert set(shown) == {"grade", "amount", "paid_on"}
    assert shown["grade"] == ["“国家助学金”须填写档次。"]
    assert shown["amount"] == ["金额应为数字，如 2475.00。"]
    assert "发放日期不在 2025-2026 学年内" in shown["paid_on"][0]
    assert db.session.scalar(select(func.count()).select_from(Disbursement)) == 0


def test_a_care_record_with_three_wrong_fields_shows_three_errors_and_writes_nothing(city, login):
    from caretrack.ledger.models import SupportRecord

    student = make_student(city.class_a)
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.post(f"/ledger/students/{student.id}/records", data={
        "kind": "talk", "happened_on": "2099-01-01", "summary": "   ", "next_step": "",
        "next_step_due": "2099-02-01", "tier": ""})
    assert response.status_code == 400
    shown = errors_by_field(response.get_data(as_text=True))
    assert set(shown) == {"happened_on", "summary", "next_step"}
    assert db.session.scalar(select(func.count()).select_from(SupportRecord)) == 0
