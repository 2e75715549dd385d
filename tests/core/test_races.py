"""Two people saving the same record at the same moment, for real: two threads, two connections, one database.

Both saves pass the version check before either writes (a barrier holds them there), so the database decides
who wins. The loser must see the conflict with both versions (what is saved now, and their own input), never a
500, and a conflict form must not overwrite what it has not shown.
"""

import re
import threading
from html import unescape
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from caretrack.core.access import Role
from caretrack.extensions import db
from tests.conftest import database_url, log_in, make_app, reset_schema

pytestmark = pytest.mark.no_transaction


@pytest.fixture
def race_app(app, tmp_path_factory):
    """The app on a fresh database of its own: the racing requests commit, and no other test sees them."""
    from flask_migrate import upgrade

    racing = make_app(database_url(tmp_path_factory, "races"), tmp_path_factory.mktemp("races-instance"))
    reset_schema(racing)
    with racing.app_context():
        upgrade()
    yield racing
    with racing.app_context():
        db.engine.dispose()


@pytest.fixture
def school(race_app):
    """A university with two aid officers, and an orphan (with a guardian) missing the grant."""
    from caretrack.org.models import Stage
    from caretrack.org.services import ensure_academic_year
    from caretrack.screening.models import ScreeningCase
    from caretrack.screening.rules import seed_rules
    from caretrack.screening.services import run_screening
    from caretrack.students.models import Category
    from tests.factories import City, identify, make_student, make_user

    with race_app.app_context():
        world = City()
        year = ensure_academic_year(2025)
        seed_rules()
        officer = make_user(Role.SCHOOL_OFFICER, world.university)
        other = make_user(Role.SCHOOL_OFFICER, world.university)
        student = make_student(world.uni_class, name="孤儿甲", student_no="S-RACE", stage=Stage.HIGHER,
                               guardian_name="家长", guardian_phone="13800138000")
        identify(student, 2025, Category.ORPHAN)
        run_screening(officer, world.university, year, 1)
        case = db.session.scalar(select(ScreeningCase).where(ScreeningCase.student_id == student.id))
        db.session.commit()
        return {"officer": SimpleNamespace(username=officer.username),
                "other": SimpleNamespace(username=other.username), "student": student.id, "case": case.id,
                "class": world.uni_class.id, "unit": world.university.id}


def race(monkeypatch, module, posts):
    """Run the posts in threads that all pass the version check before any of them writes (where they can)."""
    barrier = threading.Barrier(len(posts))
    checked = module.check_version

    def check_then_wait(*args, **kwargs):
        checked(*args, **kwargs)
        try:
            barrier.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass  # SQLite: the other save waits for the write lock, so it cannot reach the check yet

    monkeypatch.setattr(module, "check_version", check_then_wait)
    responses = [None] * len(posts)

    def run(index, post):
        responses[index] = post()

    threads = [threading.Thread(target=run, args=(i, post)) for i, post in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    monkeypatch.setattr(module, "check_version", checked)
    return responses


def student_form(school, version, **changes) -> dict:
    return {"class_id": school["class"], "student_no": "S-RACE", "name": "孤儿甲", "id_number": "", "gender": "",
            "stage": "higher", "hukou": "", "guardian_name": "家长", "guardian_phone": "13800138000",
            "version": str(version), **changes}


def saved_student(race_app, student_id):
    from caretrack.students.models import Student

    with race_app.app_context():
        student = db.session.get(Student, student_id)
        return student.name, student.version, student.guardians[0].phone


def test_the_loser_of_a_student_save_race_sees_both_versions_and_keeps_their_input(race_app, school, monkeypatch):
    from caretrack.students import services

    first, second = log_in(race_app.test_client(), school["officer"]), log_in(race_app.test_client(), school["other"])
    _name, version, _phone = saved_student(race_app, school["student"])
    path = f"/students/{school['student']}/edit"
    responses = race(monkeypatch, services, [
        lambda: first.post(path, data=student_form(school, version, name="甲改名")),
        lambda: second.post(path, data=student_form(school, version, guardian_phone="13900139000")),
    ])
    assert sorted(r.status_code for r in responses) == [302, 400]
    loser = next(r for r in responses if r.status_code == 400)
    html = unescape(loser.get_data(as_text=True))
    assert "该记录已被他人修改" in html
    name, new_version, phone = saved_student(race_app, school["student"])
    assert new_version == version + 1
    assert (name, phone) in {("甲改名", "13800138000"), ("孤儿甲", "13900139000")}
    mine = 'value="13900139000"' if name == "甲改名" else 'value="甲改名"'
    assert mine in html  # the loser's input is kept in the form
    assert "当前保存的内容" in html  # beside what is saved now
    assert f'name="version" type="hidden" value="{new_version}"' in html


def test_only_a_guardian_phone_change_bumps_the_students_version(race_app, school):
    client = log_in(race_app.test_client(), school["officer"])
    _name, version, _phone = saved_student(race_app, school["student"])
    path = f"/students/{school['student']}/edit"
    assert client.post(path, data=student_form(school, version, guardian_phone="13900139000")).status_code == 302
    assert saved_student(race_app, school["student"])[1:] == (version + 1, "13900139000")
    stale = client.post(path, data=student_form(school, version, name="改名"))
    assert stale.status_code == 400
    assert saved_student(race_app, school["student"]) == ("孤儿甲", version + 1, "13900139000")


def case_form(case_id: int, version: int, **fields) -> dict:
    data = {"reason": "", "remedy": "", "deadline": "", "owner_id": "0", "version": str(version), **fields}
    return {f"case{case_id}-{name}": value for name, value in data.items()}


def saved_case(race_app, case_id):
    from caretrack.screening.models import ScreeningCase

    with race_app.app_context():
        case = db.session.get(ScreeningCase, case_id)
        return case.remedy, case.reason, case.version


def test_the_loser_of_a_case_race_cannot_erase_the_winners_remedy(race_app, school, monkeypatch):
    from caretrack.screening import services

    first, second = log_in(race_app.test_client(), school["officer"]), log_in(race_app.test_client(), school["other"])
    case_id = school["case"]
    _remedy, _reason, version = saved_case(race_app, case_id)
    path = f"/screening/cases/{case_id}?unit={school['unit']}"
    responses = race(monkeypatch, services, [
        lambda: first.post(path, data=case_form(case_id, version, remedy="补发国家助学金", deadline="2026-12-31")),
        lambda: second.post(path, data=case_form(case_id, version, reason="材料未交")),
    ])
    assert sorted(r.status_code for r in responses) == [302, 400]
    loser_index = next(i for i, r in enumerate(responses) if r.status_code == 400)
    loser = (first, second)[loser_index]
    html = unescape(responses[loser_index].get_data(as_text=True))
    assert "该记录已被他人修改" in html
    assert saved_case(race_app, case_id)[2] == version + 1
    new_version = version + 1
    # The conflict form now holds the winner's values wherever the loser had typed nothing, and the version
    # it was shown with; saving it again keeps both people's work.
    form = dict(re.findall(rf'name="(case{case_id}-[a-z_]+)"[^>]*?value="([^"]*)"', html))
    form.update(re.findall(rf'name="(case{case_id}-[a-z_]+)"[^>]*>([^<]*)</textarea>', html))
    assert form[f"case{case_id}-version"] == str(new_version)
    form[f"case{case_id}-owner_id"] = "0"
    assert loser.post(path, data=form).status_code == 302
    assert saved_case(race_app, case_id)[:2] == ("补发国家助学金", "材料未交")
