"""Role x scope access for every route: a table of every endpoint, then scope and leak checks.

Adding a route without adding it to ENDPOINTS fails `test_every_endpoint_is_in_the_access_table`.
"""

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from caretrack.accounts.models import RoleAssignment, User
from caretrack.activities.services import create_club
from caretrack.audit.models import AuditEvent
from caretrack.audit.services import record
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.jobs.models import Job
from caretrack.org.models import College, SchoolClass, Term, Unit
from caretrack.students import services as students
from caretrack.students.models import Student
from tests.factories import make_student, make_user

LOGIN = "redirect to login"
HOME = "redirect home"


@dataclass(frozen=True)
class Case:
    """How one endpoint answers each kind of visitor: a status code, LOGIN or HOME."""

    method: str
    path: str  # {unit}, {user}, {grant}, {student}, {caseload}, {club}, {unit_job}, {student_job}, {record},
    # {attachment}, {followup}: the test data
    anonymous: object
    no_role: object
    city_admin: object  # None: left to the domain's own view tests


ENDPOINTS = {
    "dashboard.home": Case("GET", "/", LOGIN, 200, 200),
    "dashboard.failed_imports": Case("GET", "/imports/failed", LOGIN, 200, 200),
    "favicon": Case("GET", "/favicon.ico", 200, 200, 200),
    "dashboard.set_language": Case("POST", "/language", HOME, HOME, HOME),
    "accounts.login": Case("GET", "/login", 200, HOME, HOME),
    "accounts.logout": Case("POST", "/logout", LOGIN, LOGIN, LOGIN),
    "accounts.change_password": Case("GET", "/password", LOGIN, 200, 200),
    "accounts.list_users": Case("GET", "/users", LOGIN, 403, 200),
    "accounts.create_user": Case("GET", "/users/new", LOGIN, 403, 200),
    "accounts.scope_options": Case("GET", "/users/scope-options?unit={unit}&type=class", LOGIN, 403, 200),
    "accounts.show_user": Case("GET", "/users/{user}", LOGIN, 403, 200),
    "accounts.grant_role": Case("POST", "/users/{user}/roles", LOGIN, 403, 400),  # an empty form
    "accounts.revoke_role": Case("POST", "/users/{user}/roles/{grant}/revoke", LOGIN, 403, 302),
    "accounts.set_active": Case("POST", "/users/{user}/active", LOGIN, 403, 302),
    "accounts.reset_password": Case("POST", "/users/{user}/password", LOGIN, 403, 302),
    "org.list_units": Case("GET", "/units/", LOGIN, 403, 200),
    "org.show_unit": Case("GET", "/units/{unit}", LOGIN, 403, 200),
    "org.create_unit": Case("GET", "/units/new", LOGIN, 403, 200),
    "org.edit_unit": Case("GET", "/units/{unit}/edit", LOGIN, 403, 200),
    "org.add_college": Case("POST", "/units/{unit}/colleges", LOGIN, 403, 302),
    "org.add_class": Case("POST", "/units/{unit}/classes", LOGIN, 403, 302),
    "org.set_term_dates": Case("POST", "/units/{unit}/terms", LOGIN, 403, 302),
    "org.import_units": Case("GET", "/units/import", LOGIN, 403, 200),
    "org.show_import": Case("GET", "/units/import/jobs/{unit_job}", LOGIN, 403, 200),
    "org.import_progress": Case("GET", "/units/import/jobs/{unit_job}.json", LOGIN, 403, 200),
    "org.confirm_import": Case("POST", "/units/import/jobs/{unit_job}/confirm", LOGIN, 403, 302),
    "org.cancel_import": Case("POST", "/units/import/jobs/{unit_job}/cancel", LOGIN, 403, 302),
    "org.rerun_import": Case("POST", "/units/import/jobs/{unit_job}/rerun", LOGIN, 403, 302),
    "students.list_students": Case("GET", "/students/", LOGIN, 403, 200),
    "students.export_students": Case("GET", "/students/export.xlsx", LOGIN, 403, 200),
    "students.show_student": Case("GET", "/students/{student}", LOGIN, 403, 200),
    "students.reveal_id": Case("POST", "/students/{student}/reveal", LOGIN, 403, 200),
    "students.create_student": Case("GET", "/students/new?school={unit}", LOGIN, 403, 200),
    "students.edit_student": Case("GET", "/students/{student}/edit", LOGIN, 403, 200),
    "students.move_student": Case("POST", "/students/{student}/move", LOGIN, 403, 302),
    "students.move_picker": Case("GET", "/students/{student}/move/classes", LOGIN, 403, 200),
    "students.set_status": Case("POST", "/students/{student}/status", LOGIN, 403, 302),
    "students.identify_student": Case("GET", "/students/{student}/identification", LOGIN, 403, 200),
    "students.import_students": Case("GET", "/students/import", LOGIN, 403, 200),
    "students.show_import": Case("GET", "/students/import/jobs/{student_job}", LOGIN, 403, 200),
    "students.import_progress": Case("GET", "/students/import/jobs/{student_job}.json", LOGIN, 403, 200),
    "students.confirm_import": Case("POST", "/students/import/jobs/{student_job}/confirm", LOGIN, 403, 302),
    "students.cancel_import": Case("POST", "/students/import/jobs/{student_job}/cancel", LOGIN, 403, 302),
    "students.rerun_import": Case("POST", "/students/import/jobs/{student_job}/rerun", LOGIN, 403, 302),
    "caseloads.list_caseloads": Case("GET", "/caseloads/", LOGIN, 403, 200),
    "activities.list_clubs": Case("GET", "/activities/clubs/", LOGIN, 403, 200),
    "activities.show_club": Case("GET", "/activities/clubs/{club}", LOGIN, 403, 200),
    "activities.add_member": Case("POST", "/activities/clubs/{club}/members", LOGIN, 403, 302),
    "activities.remove_member": Case("POST", "/activities/clubs/{club}/members/{student}/remove", LOGIN, 403, 404),
    # Only a club leader proposes members; the officer decides (proposal 1 does not exist here).
    "activities.propose_member": Case("POST", "/activities/clubs/{club}/proposals", LOGIN, 403, 403),
    "activities.decide_proposal": Case("POST", "/activities/clubs/proposals/1", LOGIN, 403, 404),
    # tests/activities/test_views.py checks the pages of one activity, its attendance, photos and import.
    "activities.list_activities": Case("GET", "/activities/", LOGIN, 403, 200),
    "activities.export_activities": Case("GET", "/activities/export.xlsx", LOGIN, 403, 200),
    "activities.create_activity": Case("GET", "/activities/new", LOGIN, 403, 200),
    "activities.show_activity": Case("GET", "/activities/1", LOGIN, 403, None),
    "activities.edit_activity": Case("GET", "/activities/1/edit", LOGIN, 403, None),
    "activities.add_photo": Case("POST", "/activities/1/photos", LOGIN, 403, None),
    "activities.show_photo": Case("GET", "/activities/photos/1", LOGIN, 403, 404),
    "activities.take_attendance": Case("GET", "/activities/1/attendance", LOGIN, 403, None),
    "activities.paste_attendance": Case("POST", "/activities/1/attendance/paste", LOGIN, 403, None),
    "activities.export_sheet": Case("GET", "/activities/1/sheet.xlsx", LOGIN, 403, None),
    "activities.import_attendance": Case("GET", "/activities/import", LOGIN, 403, 200),
    "activities.show_import": Case("GET", "/activities/import/jobs/1", LOGIN, 403, None),
    "activities.import_progress": Case("GET", "/activities/import/jobs/1.json", LOGIN, 403, None),
    "activities.confirm_import": Case("POST", "/activities/import/jobs/1/confirm", LOGIN, 403, None),
    "activities.cancel_import": Case("POST", "/activities/import/jobs/1/cancel", LOGIN, 403, None),
    "activities.rerun_import": Case("POST", "/activities/import/jobs/1/rerun", LOGIN, 403, None),
    "activities.list_themes": Case("GET", "/activities/themes", LOGIN, 403, 200),
    "activities.edit_theme": Case("GET", "/activities/themes/new", LOGIN, 403, 200),
    "activities.edit_goal": Case("GET", "/activities/goals/new", LOGIN, 403, 200),
    # The city fixture has no academic year: the coverage pages are left to tests/activities.
    "activities.coverage_home": Case("GET", "/activities/coverage", LOGIN, 403, 302),
    "activities.unit_coverage": Case("GET", "/activities/coverage/units/{unit}", LOGIN, 403, None),
    "activities.college_coverage": Case("GET", "/activities/coverage/colleges/1", LOGIN, 403, None),
    "activities.export_coverage": Case("GET", "/activities/coverage/units/{unit}/coverage.xlsx", LOGIN, 403, None),
    "activities.invite_unreached": Case("POST", "/activities/coverage/units/{unit}/invite", LOGIN, 403, None),
    "activities.list_exemplars": Case("GET", "/activities/exemplars", LOGIN, 403, 200),
    "activities.show_exemplar": Case("GET", "/activities/exemplars/1", LOGIN, 403, 404),
    "activities.approve_exemplar": Case("POST", "/activities/exemplars/1/approve", LOGIN, 403, 404),
    "activities.record_consent": Case("POST", "/activities/exemplars/1/consent", LOGIN, 403, 404),
    "activities.publish_exemplar": Case("POST", "/activities/exemplars/1/publish", LOGIN, 403, 404),
    "activities.add_talk": Case("POST", "/activities/exemplars/1/talks", LOGIN, 403, 404),
    "activities.published_exemplars": Case("GET", "/activities/exemplars/published", LOGIN, 403, 200),
    "caseloads.show_caseload": Case("GET", "/caseloads/{caseload}", LOGIN, 403, 200),
    "caseloads.add_caseload_member": Case("POST", "/caseloads/{caseload}/members", LOGIN, 403, 302),
    "caseloads.remove_caseload_member": Case("POST", "/caseloads/{caseload}/members/{student}/remove",
                                             LOGIN, 403, 302),
    # The ledger's own tests check what its officers may do; here: nobody gets in without a role for it.
    "ledger.record_disbursement": Case("GET", "/ledger/students/{student}/disbursements/new", LOGIN, 403, None),
    "ledger.edit_disbursement": Case("GET", "/ledger/disbursements/1/edit", LOGIN, 403, None),
    "ledger.create_record": Case("POST", "/ledger/students/{student}/records", LOGIN, 403, None),
    "ledger.edit_record": Case("GET", "/ledger/records/{record}/edit", LOGIN, 403, None),
    "ledger.download_attachment": Case("GET", "/ledger/attachments/{attachment}", LOGIN, 403, None),
    "ledger.remove_entry": Case("POST", "/ledger/disbursements/1/remove", LOGIN, 403, None),
    "ledger.restore_entry": Case("POST", "/ledger/disbursements/1/restore", LOGIN, 403, None),
    "ledger.removed_entries": Case("GET", "/ledger/students/{student}/removed", LOGIN, 403, None),
    "ledger.list_disbursements": Case("GET", "/ledger/disbursements", LOGIN, 403, 200),
    "ledger.export_disbursements": Case("GET", "/ledger/disbursements/export.xlsx", LOGIN, 403, 200),
    "ledger.import_disbursements": Case("GET", "/ledger/import", LOGIN, 403, 200),
    "ledger.show_import": Case("GET", "/ledger/import/jobs/1", LOGIN, 403, None),
    "ledger.import_progress": Case("GET", "/ledger/import/jobs/1.json", LOGIN, 403, None),
    "ledger.confirm_import": Case("POST", "/ledger/import/jobs/1/confirm", LOGIN, 403, None),
    "ledger.cancel_import": Case("POST", "/ledger/import/jobs/1/cancel", LOGIN, 403, None),
    "ledger.rerun_import": Case("POST", "/ledger/import/jobs/1/rerun", LOGIN, 403, None),
    "ledger.my_caseload": Case("GET", "/ledger/caseload", LOGIN, 403, None),
    "ledger.list_projects": Case("GET", "/ledger/catalog", LOGIN, 403, 200),
    "ledger.edit_project": Case("GET", "/ledger/catalog/new", LOGIN, 403, 200),
    "followups.list_followups": Case("GET", "/followups/", LOGIN, 403, 200),
    "followups.list_owed": Case("GET", "/followups/owed", LOGIN, 403, 200),
    "followups.schedule_followup": Case("GET", "/followups/new?student={student}", LOGIN, 403, None),
    "followups.show_followup": Case("GET", "/followups/{followup}", LOGIN, 403, None),
    "followups.cancel_followup": Case("POST", "/followups/1/cancel", LOGIN, 403, None),
    "followups.calendar_settings": Case("GET", "/followups/calendar", LOGIN, 403, 200),
    "followups.list_cadence": Case("GET", "/followups/cadence", LOGIN, 403, 200),
    "followups.edit_cadence": Case("GET", "/followups/cadence/new", LOGIN, 403, 200),
    # The calendar feed needs no login: its secret token is the credential, and a wrong one finds nothing.
    "calendar.feed": Case("GET", "/calendar/not-a-valid-token.ics", 404, 404, 404),
    # The screening's own tests check units, cases and submissions; the city fixture here has no academic year,
    # so a unit's pages are left to them, and case or submission 1 does not exist.
    "screening.list_units": Case("GET", "/screening/", LOGIN, 403, 200),
    "screening.show_unit": Case("GET", "/screening/units/{unit}", LOGIN, 403, None),
    "screening.run_screening": Case("POST", "/screening/units/{unit}/run", LOGIN, 403, None),
    "screening.update_case": Case("POST", "/screening/cases/1", LOGIN, 403, 404),
    "screening.close_case": Case("POST", "/screening/cases/1/close", LOGIN, 403, 404),
    "screening.create_followups": Case("POST", "/screening/units/{unit}/followups", LOGIN, 403, None),
    "screening.submit_table": Case("POST", "/screening/units/{unit}/submit", LOGIN, 403, None),
    "screening.remind_late": Case("POST", "/screening/units/{unit}/remind", LOGIN, 403, None),
    "screening.export_table": Case("GET", "/screening/units/{unit}/table.xlsx", LOGIN, 403, None),
    "screening.export_json": Case("GET", "/screening/units/{unit}/table.json", LOGIN, 403, None),
    "screening.show_submission": Case("GET", "/screening/submissions/1", LOGIN, 403, 404),
    "screening.export_submission": Case("GET", "/screening/submissions/1/table.xlsx", LOGIN, 403, 404),
    "screening.list_rules": Case("GET", "/screening/rules", LOGIN, 403, 200),
    "screening.edit_rule": Case("GET", "/screening/rules/new", LOGIN, 403, 200),
    # Summaries: the city fixture has no academic year, so a student's summary or a year's archive is left to
    # tests/summaries; closing with an empty form flashes and goes back.
    "summaries.show_summary": Case("GET", "/summaries/students/{student}/2025/1", LOGIN, 403, None),
    "summaries.save_narrative": Case("POST", "/summaries/students/{student}/2025/1/narrative", LOGIN, 403, None),
    "summaries.download_pdf": Case("GET", "/summaries/students/{student}/2025/1.pdf", LOGIN, 403, None),
    "summaries.list_batches": Case("GET", "/summaries/", LOGIN, 403, 200),
    "summaries.list_narratives": Case("GET", "/summaries/narratives", LOGIN, 403, 403),
    "summaries.show_batch": Case("GET", "/summaries/batches/999999", LOGIN, 403, 404),
    "summaries.batch_progress": Case("GET", "/summaries/batches/999999.json", LOGIN, 403, 404),
    "summaries.download_batch": Case("GET", "/summaries/batches/999999/download", LOGIN, 403, 404),
    "summaries.list_archive": Case("GET", "/summaries/archive/", LOGIN, 403, 200),
    "summaries.close_year": Case("POST", "/summaries/archive/close", LOGIN, 403, 302),
    "summaries.show_archive": Case("GET", "/summaries/archive/2025/units/{unit}", LOGIN, 403, 404),
    "summaries.export_archive": Case("GET", "/summaries/archive/2025/units/{unit}.json", LOGIN, 403, 404),
    # The duties' own tests (tests/duties) check scope and roles; record, file, staff and improvement 1 do not exist.
    "duties.board_home": Case("GET", "/duties/", LOGIN, 403, 302),
    "duties.show_board": Case("GET", "/duties/boards/{unit}", LOGIN, 403, 200),
    "duties.show_unit": Case("GET", "/duties/units/{unit}", LOGIN, 403, 200),
    "duties.export_unit": Case("GET", "/duties/units/{unit}/inspection.xlsx", LOGIN, 403, 200),
    "duties.create_record": Case("GET", "/duties/units/{unit}/records/new", LOGIN, 403, 200),
    "duties.show_record": Case("GET", "/duties/records/1", LOGIN, 403, 404),
    "duties.add_file": Case("POST", "/duties/records/1/files", LOGIN, 403, 404),
    "duties.download_file": Case("GET", "/duties/files/1", LOGIN, 403, 404),
    "duties.add_staff": Case("POST", "/duties/units/{unit}/staff", LOGIN, 403, 302),
    "duties.end_staff": Case("POST", "/duties/staff/1/end", LOGIN, 403, 404),
    "duties.save_budget": Case("POST", "/duties/units/{unit}/budgets", LOGIN, 403, 302),
    "duties.list_visits": Case("GET", "/duties/visits", LOGIN, 403, 200),
    "duties.record_visit": Case("POST", "/duties/units/{unit}/visits", LOGIN, 403, 302),
    "duties.close_improvement": Case("POST", "/duties/improvements/1/close", LOGIN, 403, 404),
    "duties.list_types": Case("GET", "/duties/types", LOGIN, 403, 200),
    "duties.edit_type": Case("GET", "/duties/types/new", LOGIN, 403, 200),
    "duties.edit_record": Case("GET", "/duties/records/1/edit", LOGIN, 403, 404),
    "duties.delete_record": Case("POST", "/duties/records/1/delete", LOGIN, 403, 404),
    "duties.delete_file": Case("POST", "/duties/files/1/delete", LOGIN, 403, 404),
    "duties.edit_staff": Case("GET", "/duties/staff/1/edit", LOGIN, 403, 404),
    "duties.delete_staff": Case("POST", "/duties/staff/1/delete", LOGIN, 403, 404),
    "duties.delete_budget": Case("POST", "/duties/budgets/1/delete", LOGIN, 403, 404),
    "duties.edit_visit": Case("GET", "/duties/visits/1/edit", LOGIN, 403, 404),
    "duties.delete_visit": Case("POST", "/duties/visits/1/delete", LOGIN, 403, 404),
    "duties.delete_improvement": Case("POST", "/duties/improvements/1/delete", LOGIN, 403, 404),
    "duties.import_budgets": Case("GET", "/duties/import", LOGIN, 403, 200),
    "duties.show_import": Case("GET", "/duties/import/jobs/1", LOGIN, 403, None),
    "duties.import_progress": Case("GET", "/duties/import/jobs/1.json", LOGIN, 403, None),
    "duties.confirm_import": Case("POST", "/duties/import/jobs/1/confirm", LOGIN, 403, None),
    "duties.cancel_import": Case("POST", "/duties/import/jobs/1/cancel", LOGIN, 403, None),
    "duties.rerun_import": Case("POST", "/duties/import/jobs/1/rerun", LOGIN, 403, None),
    "audit.list_events": Case("GET", "/audit/", LOGIN, 403, 200),
    # Every logged-in user has an inbox; a notification of someone else's (id 1 is nobody's here) is 404.
    "notify.list_notifications": Case("GET", "/inbox/", LOGIN, 200, 200),
    "notify.mark_read": Case("POST", "/inbox/1/read", LOGIN, 404, 404),
    "notify.mark_all_read": Case("POST", "/inbox/read-all", LOGIN, 302, 302),
    "notify.list_webhook_units": Case("GET", "/inbox/webhooks", LOGIN, 403, 200),
    "notify.manage_webhooks": Case("GET", "/inbox/webhooks/units/{unit}", LOGIN, 403, 200),
    "notify.disable_webhook": Case("POST", "/inbox/webhooks/1/disable", LOGIN, 403, 404),
}
PLACEHOLDERS = ("unit", "user", "grant", "student", "caseload", "club", "unit_job", "student_job", "record",
                "attachment", "followup")


def test_every_endpoint_is_in_the_access_table(app):
    registered = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    missing, stale = sorted(registered - set(ENDPOINTS)), sorted(set(ENDPOINTS) - registered)
    assert not missing, f"add these endpoints to ENDPOINTS with their expected access: {missing}"
    assert not stale, f"these endpoints no longer exist: {stale}"


def test_the_table_paths_are_the_registered_routes(app):
    """Each case requests its own endpoint, not a neighbour's."""
    adapter = app.url_map.bind("localhost")
    for endpoint, case in ENDPOINTS.items():
        path = case.path.format(**dict.fromkeys(PLACEHOLDERS, 1)).split("?")[0]
        assert adapter.match(path, method=case.method)[0] == endpoint


def snapshot() -> tuple[int, ...]:
    """Row counts of every table a request could write to."""
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (User, RoleAssignment, Unit, College, SchoolClass, Term, AuditEvent, Student,
                               Job))


def request(browser, city, case: Case, owner: User | None = None):
    """Request the case's path, filled in with the city's objects (and import jobs of `owner`, if given)."""
    ids = {"unit": city.east_school.id, "user": city.teacher.id, "grant": city.teacher.role_assignments[0].id,
           "student": city.student.id, "caseload": city.caseload.id, "club": city.club.id, "unit_job": 1,
           "student_job": 1, "record": 1, "attachment": 1, "followup": 1}
    if owner is not None:
        ids["unit_job"], ids["student_job"] = (import_job(owner, kind).id for kind in ("units", "students"))
    return browser.open(case.path.format(**ids), method=case.method)


def import_job(owner: User, kind: str) -> Job:
    job = Job(kind=f"import.{kind}", user_id=owner.id, status="done",
              params={"filename": f"{kind}.csv", "token": f"{kind}-{owner.id}", "dry_run": True, "skip_invalid": False})
    db.session.add(job)
    db.session.flush()
    return job


def check(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response.location.startswith("/login")
    elif expected == HOME:
        assert response.status_code == 302
        assert response.location == "/"
    else:
        assert response.status_code == expected, response.get_data(as_text=True)[:500]


@pytest.fixture
def city(city):
    city.teacher = make_user(Role.CLASS_TEACHER, city.class_a, username="teacher")
    city.student = make_student(city.class_a, name="张小明")
    city.caseload = students.create_caseload(None, city.east_school, "重点关注")
    city.club = create_club(None, city.east_school, "自强社")
    students.add_to_caseload(None, city.caseload, city.student)
    db.session.flush()
    return city


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_anonymous_visitors(endpoint, city, client):
    case = ENDPOINTS[endpoint]
    before = snapshot()
    check(request(client, city, case), case.anonymous)
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_a_user_without_any_role(endpoint, city, client, login):
    case = ENDPOINTS[endpoint]
    login(make_user(username="nobody"))
    before = snapshot()
    response = request(client, city, case)
    check(response, case.no_role)
    if endpoint != "accounts.logout":  # the one action that records something: the logout
        assert snapshot() == before
    if case.no_role == 403:
        assert "无权操作" in response.get_data(as_text=True)


@pytest.mark.parametrize("endpoint", sorted(e for e, case in ENDPOINTS.items() if case.city_admin is not None))
def test_the_city_admin(endpoint, city, client, login):
    case = ENDPOINTS[endpoint]
    admin = make_user(Role.CITY_ADMIN, city.city)
    login(admin)
    check(request(client, city, case, owner=admin), case.city_admin)


# --- Scopes: a page outside one's scope is 404, an action one's role lacks is 403 --------------------------

def status(browser, path: str, method: str = "GET") -> int:
    return browser.open(path, method=method).status_code


def test_a_district_officer_cannot_reach_the_other_districts_units(city, client, login):
    login(make_user(Role.DISTRICT_OFFICER, city.east))
    assert status(client, f"/units/{city.east_school.id}") == 200
    assert status(client, f"/units/{city.east_school.id}/edit") == 200
    assert status(client, f"/units/{city.west_school.id}") == 404
    assert status(client, f"/units/{city.west_school.id}/edit") == 404
    assert status(client, f"/units/{city.west.id}") == 404
    assert status(client, f"/units/{city.west_school.id}/colleges", "POST") == 404


def test_a_school_officer_cannot_reach_another_school(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    east_teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    west_teacher = make_user(Role.CLASS_TEACHER, city.west_class)
    assert status(client, f"/units/{city.east_school.id}") == 200
    assert status(client, f"/units/{city.west_school.id}") == 404
    assert status(client, f"/units/{city.east.id}") == 404  # the district above is not theirs either
    assert status(client, f"/users/{east_teacher.id}") == 200
    assert status(client, f"/users/{west_teacher.id}") == 404
    assert status(client, f"/users/{west_teacher.id}/active", "POST") == 404
    assert west_teacher.is_active_user


def test_a_school_officer_cannot_manage_a_user_above_them(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    district_officer = make_user(Role.DISTRICT_OFFICER, city.east)
    assert status(client, f"/users/{district_officer.id}") == 404


def test_an_inspector_reads_but_never_edits(city, client, login):
    login(make_user(Role.INSPECTOR, city.east))
    assert status(client, f"/units/{city.east_school.id}") == 200
    assert status(client, f"/units/{city.east_school.id}/edit") == 403
    assert status(client, f"/units/{city.east_school.id}/colleges", "POST") == 403
    assert status(client, "/users") == 403
    assert status(client, "/audit/") == 403


def test_an_officer_cannot_edit_a_unit_above_their_own(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert status(client, f"/units/{city.east_school.id}/edit") == 200
    assert status(client, f"/units/{city.east.id}/edit") == 404


@pytest.mark.parametrize(("role", "unit_attr", "form"), [
    (Role.SCHOOL_OFFICER, "east_school", {"code": "2199010101", "name": "东城区第一中学（集团）", "kind": "school",
                                          "parent_code": "990101", "stages": ["compulsory"]}),
    (Role.DISTRICT_OFFICER, "east", {"code": "990101", "name": "东城区（新）", "kind": "district",
                                     "parent_code": "990000"}),
])
def test_an_officer_edits_their_own_unit_without_moving_it(city, client, login, role, unit_attr, form):
    unit = getattr(city, unit_attr)
    login(make_user(role, unit))
    response = client.post(f"/units/{unit.id}/edit", data={"owner_type": "public", **form})
    assert response.status_code == 302
    assert unit.name == form["name"]


def test_an_officer_cannot_move_their_school_to_another_district(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.post(f"/units/{city.east_school.id}/edit", data={
        "code": "2199010101", "name": "东城区第一中学", "kind": "school", "parent_code": "990102",
        "stages": ["compulsory"], "owner_type": "public"})
    assert response.status_code == 403
    assert city.east_school.parent == city.east


def test_a_class_teacher_has_no_admin_pages(city, client, login):
    login(make_user(Role.CLASS_TEACHER, city.class_a))
    for path in ("/units/", "/users", "/audit/", f"/units/{city.east_school.id}"):
        assert status(client, path) == 403, path
    page = client.get("/").get_data(as_text=True)
    assert "初一(1)班" in page
    assert 'href="/users"' not in page
    assert 'href="/units/"' not in page


def test_the_navigation_shows_each_role_what_it_may_open(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    page = client.get("/").get_data(as_text=True)
    for href in ('href="/units/"', 'href="/users"', 'href="/audit/"'):
        assert href in page


# --- Nothing leaks through the lists -----------------------------------------------------------------------

def test_a_school_officers_user_list_holds_only_their_schools_users(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    make_user(Role.CLASS_TEACHER, city.class_a, username="east_teacher")
    make_user(Role.CLASS_TEACHER, city.west_class, username="west_teacher")
    make_user(Role.SCHOOL_OFFICER, city.west_school, username="west_officer")
    page = client.get("/users").get_data(as_text=True)
    assert "east_teacher" in page
    assert "west_teacher" not in page
    assert "west_officer" not in page


def test_a_district_officers_unit_list_holds_only_their_district(city, client, login):
    login(make_user(Role.DISTRICT_OFFICER, city.east))
    page = client.get("/units/").get_data(as_text=True)
    assert "东城区第一中学" in page
    assert "西城区民族中学" not in page
    assert "示例理工大学" not in page
    assert "共 2 条" in page  # the district and its school


def test_a_school_officers_audit_log_holds_only_their_schools_events(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    record("unit_updated", username="east-school-event", unit_id=city.east_school.id)
    record("unit_updated", username="west-school-event", unit_id=city.west_school.id)
    record("unit_updated", username="district-event", unit_id=city.east.id)
    record("login_failed", username="city-wide-event")
    page = client.get("/audit/").get_data(as_text=True)
    assert "east-school-event" in page
    assert "west-school-event" not in page
    assert "district-event" not in page
    assert "city-wide-event" not in page
