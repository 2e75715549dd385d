"""A unit's case list pages: a large school's thousands of cases are never one page of forms."""

import re

import pytest

from caretrack.core.access import Role
from caretrack.org.models import Stage
from caretrack.screening.models import ScreeningCase
from caretrack.students.models import Category
from tests.factories import make_user
from tests.screening.conftest import student

NAMES = ["孤儿甲", "孤儿乙", "孤儿丙", "孤儿丁", "孤儿戊"]


@pytest.fixture(autouse=True)
def small_pages(app, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 3)


def test_the_case_list_pages_and_a_refused_form_stays_on_its_page(world, year, client, login):
    from sqlalchemy import select

    from caretrack.extensions import db

    kids = [student(world.uni_class, Category.ORPHAN, stage=Stage.HIGHER, name=name) for name in NAMES]
    login(make_user(Role.SCHOOL_OFFICER, world.university))
    path = f"/screening/units/{world.university.id}?year=2025&term=1"
    client.post(f"/screening/units/{world.university.id}/run?year=2025&term=1")
    first = client.get(path).get_data(as_text=True)
    second = client.get(path + "&page=2").get_data(as_text=True)
    assert "5 条" in first
    on_first, on_second = ([int(i) for i in re.findall(r'<tr id="case-(\d+)"', page)] for page in (first, second))
    cases = db.session.scalars(select(ScreeningCase.id).where(
        ScreeningCase.student_id.in_([kid.id for kid in kids]))).all()
    assert (len(on_first), len(on_second)) == (3, 2)
    assert sorted(on_first + on_second) == sorted(cases)
    assert second.count('class="ct-case-form"') == 2  # the forms of this page's cases only
    assert "page=2" in first

    # a case of page 2 saved with a stale version: the page shown again is page 2, with that case's form
    case = db.session.get(ScreeningCase, on_second[0])
    data = {f"case{case.id}-{k}": v for k, v in {"reason": "", "remedy": "补发", "deadline": "", "owner_id": "0",
                                                  "version": str(case.version + 5)}.items()}
    refused = client.post(f"/screening/cases/{case.id}?unit={world.university.id}&page=2", data=data)
    assert refused.status_code == 400
    assert f'id="case-{case.id}"' in refused.get_data(as_text=True)
    saved = client.post(f"/screening/cases/{case.id}?unit={world.university.id}&page=2",
                        data={**data, f"case{case.id}-version": str(case.version)})
    assert "page=2" in saved.location
