"""The archive pages: the city admin closes a year, officers and inspectors browse and download it."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.ledger import services as ledger_services
from caretrack.ledger.models import Disbursement
from caretrack.summaries.models import ArchiveClosure
from tests.factories import make_user


@pytest.fixture(autouse=True)
def _after_the_year():
    with time_machine.travel(datetime(2026, 9, 5, 4, 0, tzinfo=timezone.utc), tick=False):
        yield


def close(client):
    return client.post("/summaries/archive/close", data={"year": "2025"}, follow_redirects=True)


def test_the_city_admin_closes_the_year_once(ledger, client, login):
    login(make_user(Role.CITY_ADMIN, ledger.city.city))
    assert "学年已归档" in close(client).get_data(as_text=True)
    count = db.session.scalar(select(func.count()).select_from(ArchiveClosure))
    assert "已归档的单位 %d 个未改动" % count in close(client).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ArchiveClosure)) == count


def test_only_the_city_admin_closes(ledger, client, login):
    login(make_user(Role.SCHOOL_OFFICER, ledger.city.east_school))
    assert client.post("/summaries/archive/close", data={"year": "2025"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ArchiveClosure)) == 0


def correct_payment(ledger):
    payment = db.session.scalar(select(Disbursement).where(Disbursement.amount == Decimal("625.00")))
    ledger_services.update_disbursement(None, payment, ledger_services.DisbursementData(
        student=ledger.student, project=payment.project, grade=None, amount=Decimal("700.00"),
        paid_on=payment.paid_on, academic_year=payment.academic_year, term=None, voucher=None))
    db.session.flush()


def test_a_correction_after_the_close_shows_dated_beside_the_frozen_snapshot(ledger, client, client_for, login):
    close(client_for(make_user(Role.CITY_ADMIN, ledger.city.city)))
    officer = make_user(Role.SCHOOL_OFFICER, ledger.city.east_school)
    login(officer)
    url = f"/summaries/archive/2025/units/{ledger.city.east_school.id}"
    exported = client.get(url + ".json").data
    correct_payment(ledger)
    html = client.get(url).get_data(as_text=True)
    assert "2026年9月5日 更正" in html
    assert "归档时 1225.00，现为 1300.00" in html
    assert client.get(url + ".json").data == exported


def test_the_archive_is_read_within_ones_scope(ledger, client, client_for, login):
    close(client_for(make_user(Role.CITY_ADMIN, ledger.city.city)))
    url = f"/summaries/archive/2025/units/{ledger.city.east_school.id}"
    assert client_for(make_user(Role.INSPECTOR, ledger.city.east)).get(url).status_code == 200
    assert client_for(make_user(Role.DISTRICT_OFFICER, ledger.city.west)).get(url).status_code == 404
    assert client_for(make_user(Role.DISTRICT_OFFICER, ledger.city.west)).get(url + ".json").status_code == 404
    assert client_for(ledger.teacher).get(url).status_code == 403
