"""Every edit page shows the stored value in each select, and submitting it unchanged writes nothing.

Each case stores values that are not the first option of their select, so a select that preselects nothing (and
falls back to its first option in the browser) fails here.
"""

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select

from caretrack.activities.models import Theme
from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.followups import services as followups
from caretrack.followups.models import CadencePeriod
from caretrack.ledger.models import AidProject, Grade, Period, RecordKind, Tier
from caretrack.org.models import College, OwnerType, Stage, UnitKind
from caretrack.org.services import ensure_academic_year
from caretrack.screening import services as screening
from caretrack.screening.tables import FORM_DISTRICT
from caretrack.students.models import Category, Hukou, Level
from tests.factories import care, identify, make_id_number, make_student, make_unit, make_user, pay, seed_catalog
from tests.html_forms import form_data, marked


@dataclass
class EditPage:
    url: str
    stored: dict[str, list[str]]  # select name -> the values it must show selected
    record: object  # the row an unchanged submit must leave as it is
    user: object


def student_page(city):
    student = make_student(city.class_b, stage=Stage.SENIOR_HIGH, id_number=make_id_number(gender="f"),
                           hukou=Hukou.URBAN.value, guardian_name="母亲", guardian_phone="13800000000")
    return EditPage(f"/students/{student.id}/edit", {
        "class_id": [str(city.class_b.id)], "stage": ["senior_high"], "gender": ["f"], "hukou": ["urban"]},
        student, make_user(Role.SCHOOL_OFFICER, city.east_school))


def disbursement_page(city):
    ensure_academic_year(2025)
    student = make_student(city.uni_class)
    identify(student, 2024, Category.ORPHAN)
    grant = pay(student, "国家助学金", "1650.00", 2024, grade=Grade.SECOND, paid_on=date(2025, 3, 1), term=2)
    return EditPage(f"/ledger/disbursements/{grant.id}/edit", {
        "project_id": [str(grant.project_id)], "grade": ["2"], "academic_year_id": [str(grant.academic_year_id)],
        "term": ["2"]}, grant, make_user(Role.SCHOOL_OFFICER, city.university))


def record_page(city):
    student = make_student(city.class_a)
    record = care(student, RecordKind.TUTORING, summary="数学辅导", tier=Tier.NORMAL)
    return EditPage(f"/ledger/records/{record.id}/edit", {"kind": ["tutoring"], "tier": ["normal"]},
                    record, make_user(Role.SCHOOL_OFFICER, city.east_school))


def identification_page(city):
    ensure_academic_year(2025)
    student = make_student(city.class_a)
    identification = identify(student, 2024, Category.ORPHAN, level=Level.GENERAL)
    return EditPage(f"/students/{student.id}/identification?year=2024", {
        "academic_year": [str(identification.academic_year_id)], "level": ["general"]},
        identification, make_user(Role.SCHOOL_OFFICER, city.east_school))


def unit_page(city):
    school = make_unit("2199010109", "东城区民办学校", UnitKind.SCHOOL, city.east, [Stage.COMPULSORY])
    school.owner_type = OwnerType.PRIVATE.value
    db.session.flush()
    return EditPage(f"/units/{school.id}/edit", {"kind": ["school"], "owner_type": ["private"]},
                    school, make_user(Role.CITY_ADMIN, city.city))


def project_page(city):
    seed_catalog()
    project = db.session.scalar(select(AidProject).where(
        AidProject.stage == Stage.SENIOR_HIGH.value, AidProject.has_grades.is_(True)).limit(1))
    project.period = Period.TERM.value
    db.session.flush()
    return EditPage(f"/ledger/catalog/{project.id}/edit", {
        "stage": ["senior_high"], "has_grades": ["1"], "period": ["term"]}, project,
        make_user(Role.CITY_ADMIN, city.city))


def cadence_page(city):
    rule = followups.save_cadence_rule(None, followups.CadenceData(
        name="每学年家访", record_kind=RecordKind.HOME_VISIT, period=CadencePeriod.YEAR, category=Category.ORPHAN,
        level=Level.GENERAL, valid_from=2024))
    return EditPage(f"/followups/cadence/{rule.id}/edit", {
        "record_kind": ["home_visit"], "period": ["year"], "category": ["orphan"], "level": ["general"]},
        rule, make_user(Role.CITY_ADMIN, city.city))


def rule_page(city):
    seed_catalog()
    rule = screening.save_rule(None, screening.RuleData(
        name="寄宿生须获生活补助", stage="senior_high", categories=["orphan"], flags=[], boarder=True,
        project_name="国家助学金", min_grade="2", coverage_form=FORM_DISTRICT, valid_from=2024))
    return EditPage(f"/screening/rules/{rule.id}/edit", {
        "stage": ["senior_high"], "boarder": ["1"], "min_grade": ["2"], "coverage_form": [FORM_DISTRICT]},
        rule, make_user(Role.CITY_ADMIN, city.city))


def activity_page(city):
    from tests.activities.conftest import make_activity

    college = db.session.scalar(select(College).where(College.id == city.uni_class.college_id))
    activity = make_activity(college, "诚信教育", kind="college", title="诚信主题班会")
    return EditPage(f"/activities/{activity.id}/edit", {"organiser": [f"college:{college.id}"]}, activity,
                    make_user(Role.SCHOOL_OFFICER, city.university))


def theme_page(city):
    theme = db.session.scalar(select(Theme).order_by(Theme.id.desc()).limit(1))
    return EditPage(f"/activities/themes/{theme.id}/edit", {}, theme, make_user(Role.CITY_ADMIN, city.city))


def duty_record_page(city):
    from caretrack.duties import services as duties
    from caretrack.duties.models import DutyType

    officer = make_user(Role.DISTRICT_OFFICER, city.east)
    meeting = db.session.scalar(select(DutyType).where(DutyType.code == "leadership_meeting"))  # not the first
    entry = duties.record_duty(officer, city.east, duties.RecordData(
        duty=meeting, done_on=date(2025, 10, 20), title="专题会议", attending_units=[city.east_school]),
        date(2025, 10, 21), {city.east.id, city.east_school.id}, set())
    return EditPage(f"/duties/records/{entry.id}/edit", {"duty_type_id": [str(meeting.id)]}, entry, officer)


def duty_staff_page(city):
    from caretrack.duties import services as duties

    officer = make_user(Role.DISTRICT_OFFICER, city.east)
    person = duties.add_staff(None, city.east, "李老师", False, True, date(2024, 9, 1), user=officer)
    return EditPage(f"/duties/staff/{person.id}/edit", {"user_id": [str(officer.id)]}, person, officer)


PAGES = [student_page, disbursement_page, record_page, identification_page, unit_page, project_page, cadence_page,
         rule_page, activity_page, theme_page, duty_record_page, duty_staff_page]


def audit_rows() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action != "login"))


@pytest.mark.parametrize("build", PAGES, ids=lambda build: build.__name__)
def test_each_select_of_an_edit_page_shows_the_stored_value(city, login, build):
    page = build(city)
    response = login(page.user).get(page.url)
    assert response.status_code == 200
    chosen = marked(response.get_data(as_text=True))
    assert {name: chosen.get(name) for name in page.stored} == page.stored
    nothing_marked = [name for name, values in chosen.items() if not values and name in page.stored]
    assert nothing_marked == []


@pytest.mark.parametrize("build", PAGES, ids=lambda build: build.__name__)
def test_submitting_an_edit_page_unchanged_writes_nothing(city, login, build):
    page = build(city)
    client = login(page.user)
    data = form_data(client.get(page.url).get_data(as_text=True), page.url)
    before = audit_rows(), getattr(page.record, "version", None), getattr(page.record, "updated_at", None)
    response = client.post(page.url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    db.session.expire_all()
    after = audit_rows(), getattr(page.record, "version", None), getattr(page.record, "updated_at", None)
    written = db.session.execute(select(AuditEvent.action, AuditEvent.fields).order_by(AuditEvent.id.desc())
                                 .limit(after[0] - before[0])).all()
    assert after == before, written
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "没有改动，未作保存。" in shown


@pytest.mark.parametrize("build", PAGES, ids=lambda build: build.__name__)
def test_an_edit_that_changes_something_says_it_was_saved(city, login, build):
    """The counterpart: the tracker behind "no change" does see a real change (else the test above proves nothing)."""
    page = build(city)
    client = login(page.user)
    data = form_data(client.get(page.url).get_data(as_text=True), page.url)
    name = next(key for key in ("name", "title", "summary", "note", "remark", "guardian_name", "amount") if key in data)
    data[name] = "2.00" if name == "amount" else f"{data[name]}改"
    response = client.post(page.url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "没有改动，未作保存。" not in shown
    assert "已保存" in shown or "已修改" in shown
