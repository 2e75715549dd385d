"""Fuzzing every route and every form: bad input is a clear 4xx or a form error, never a 500, and writes nothing.

The routes come from the app's URL map, so a new route is fuzzed without anyone adding it here. The forms are
posted to the endpoints listed in FORM_POSTS; a test fails when a POST route is in neither FORM_POSTS nor
NO_FIELDS, so a new form is fuzzed too. Hypothesis draws each field from what breaks apps: odd Unicode, control
characters, 10,000-character text, formula strings, huge and negative numbers, far dates.
"""

import re
from dataclasses import dataclass, field
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectFieldBase,
    StringField,
)
from wtforms.fields import FileField

from caretrack.accounts.forms import (
    ChangePasswordForm,
    CreateUserForm,
    GrantRoleForm,
    LoginForm,
)
from caretrack.activities.forms import (
    ActivityForm,
    ConsentForm,
    GoalForm,
    NominationForm,
    PasteForm,
    PhotoForm,
    TalkForm,
    ThemeForm,
)
from caretrack.core.access import Role
from caretrack.core.forms import ImportForm
from caretrack.duties import forms as duty_forms
from caretrack.extensions import db
from caretrack.followups.forms import CadenceForm, CancelForm, FollowUpForm
from caretrack.ledger.forms import DisbursementForm, ProjectForm, RecordForm, RemoveForm
from caretrack.ledger.models import Grade, RecordKind
from caretrack.notify.forms import WebhookForm
from caretrack.org.forms import ClassForm, NamedForm, TermDatesForm, UnitForm
from caretrack.screening.forms import CaseForm, CloseForm, RuleForm, SubmitForm
from caretrack.students.forms import CaseloadForm, IdentificationForm, MoveForm, StatusForm, StudentForm
from caretrack.students.models import Category
from caretrack.summaries.forms import BatchForm, CloseYearForm, NarrativeForm
from tests.factories import care, identify, make_student, make_user, pay

# --- what to send ------------------------------------------------------------------------------------------

HUGE_NUMBERS = [str(2**31), str(2**63), str(2**64 + 1), "9" * 30, "-1", "-" + "9" * 30, "0"]
BAD_PATH_INTS = [str(2**31), str(2**64 + 1), "0", "abc", "%EF%BC%91"]  # %EF%BC%91: a full-width 1
BAD_PATH_TEXT = ["x", "%00", "a" * 300, "..", "%E2%80%AE", "%25s%25(x)s"]
ODD_TEXT = [
    "", " ", "=1+1", "+cmd|' /C calc'!A0", "@SUM(A1:A9)", "-2+3", "\t=1", "\r=1", "名\x00字", "a\x0bb", "\x1b[31m",
    "名字\u202e", "\ufeff", "𠮷野家", "Ｚ１２３", "%s%(x)s%", "{{ 7*7 }}", "<script>", "' OR 1=1 --", "x" * 10000,
]
ODD_NUMBERS = [*HUGE_NUMBERS, "NaN", "Infinity", "-Infinity", "1e400", "1e-400", "0x10", "1,000", "１２"]
FAR_DATES = ["9999-12-31", "0001-01-01", "1989-12-31", "2101-01-01", "2025-02-30", "2025-1-1", "10000-01-01", ""]


def text_values():
    return st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=40))


def number_values():
    return st.one_of(st.sampled_from(ODD_NUMBERS), st.integers(-2**70, 2**70).map(str))


def date_values():
    return st.one_of(st.sampled_from(FAR_DATES), st.dates(min_value=date(1, 1, 1)).map(date.isoformat))


def values_for(form_field):
    """The strategy of values to post in a field of this kind (None: not sent)."""
    if isinstance(form_field, FileField):
        return None
    if isinstance(form_field, HiddenField):
        return st.one_of(number_values(), text_values())
    if isinstance(form_field, BooleanField):
        return st.sampled_from(["y", "", "n", "\x00", "1" * 100])
    if isinstance(form_field, DateField):
        return date_values()
    if isinstance(form_field, IntegerField | DecimalField):
        return number_values()
    if isinstance(form_field, SelectFieldBase):
        return st.one_of(number_values(), text_values(), st.lists(number_values(), max_size=3))
    if isinstance(form_field, StringField):
        return text_values()
    return text_values()


def form_strategy(app, form_class, prefix: str = ""):
    """Every field of the form, each from the values its kind should survive."""
    with app.test_request_context():
        form = form_class(formdata=None, prefix=prefix, meta={"csrf": False})
        fields = {f.name: values_for(f) for f in form if f.type != "CSRFTokenField"}
    return st.fixed_dictionaries({name: values for name, values in fields.items() if values is not None})


# --- the world they are posted to --------------------------------------------------------------------------

@pytest.fixture
def world(city):
    """One of everything a route can name: a student with what hangs off it, a case, a rule, a club, ..."""
    from caretrack.activities.services import create_club
    from caretrack.followups import services as followups
    from caretrack.followups.models import CadenceRule, FollowUpKind
    from caretrack.ledger.models import AidProject
    from caretrack.notify.models import WebhookKind
    from caretrack.notify.services import add_webhook_target, notify
    from caretrack.org.models import Stage
    from caretrack.org.services import ensure_academic_year
    from caretrack.screening.models import ScreeningCase, ScreeningRule
    from caretrack.screening.rules import seed_rules
    from caretrack.screening.services import run_screening
    from caretrack.students.services import create_caseload

    w = city
    year = ensure_academic_year(2025)
    seed_rules()
    followups.seed_cadence()
    w.school = city.university
    w.officer = make_user(Role.SCHOOL_OFFICER, w.school, display_name="赵老师")
    w.admin = make_user(Role.CITY_ADMIN, city.city)
    w.teacher = make_user(Role.CLASS_TEACHER, city.uni_class)
    w.student = make_student(city.uni_class, name="孤儿甲", stage=Stage.HIGHER, guardian_name="家长",
                             guardian_phone="13800138000")
    identify(w.student, 2025, Category.ORPHAN)
    w.paid = make_student(city.uni_class, name="已资助", stage=Stage.HIGHER)
    w.disbursement = pay(w.paid, "国家助学金", "2475.00", 2025, grade=Grade.FIRST)
    w.record = care(w.student, RecordKind.TUTORING, actor=w.officer)
    w.followup = followups.schedule(w.officer, followups.FollowUpData(
        student=w.student, kind=FollowUpKind.VISIT, assignee=w.officer, due_on=date(2026, 12, 20)),
        today=date(2026, 11, 28))
    run_screening(w.officer, w.school, year, 1)
    w.case = db.session.scalar(select(ScreeningCase).where(ScreeningCase.student_id == w.student.id))
    w.rule = db.session.scalar(select(ScreeningRule).order_by(ScreeningRule.id))
    w.project = db.session.scalar(select(AidProject).order_by(AidProject.id))
    w.cadence = db.session.scalar(select(CadenceRule).order_by(CadenceRule.id))
    w.caseload = create_caseload(w.officer, w.school, "重点关注")
    w.caseload.students.append(w.student)
    w.club = create_club(w.officer, w.school, "自强社")
    w.target = add_webhook_target(w.officer, w.school.id, WebhookKind.WECOM,
                                  "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc")
    w.notification = notify(w.officer.id, "fuzz", "提醒")
    w.assignment = w.teacher.role_assignments[0]
    _add_duties(w)
    _add_activities(w)
    db.session.flush()
    return w


def _add_duties(w) -> None:
    """A duty record, a person of the aid centre and a visit with an improvement, at the world's school."""
    from caretrack.duties import services as duties
    from caretrack.duties.models import DutyType

    meeting = db.session.scalar(select(DutyType).where(DutyType.code == "leadership_meeting"))
    w.duty_record = duties.record_duty(w.officer, w.school, duties.RecordData(
        duty=meeting, done_on=date(2025, 10, 1), title="专题会议"), date(2025, 10, 2), set(), set())
    w.staff = duties.add_staff(w.officer, w.school, "赵老师", True, True, date(2024, 9, 1))
    w.visit = duties.record_visit(w.admin, w.school, date(2025, 10, 1), "问题", [("整改", None)], date(2025, 10, 2))


def _add_activities(w) -> None:
    """An activity with attendance, a theme and a goal, a nominated exemplar, a proposed club member."""
    from caretrack.activities import services as activities
    from caretrack.activities.models import CoverageGoal, Theme
    from tests.activities.conftest import make_activity

    w.activity = make_activity(w.school, "防信贷诈骗教育")
    activities.record_attendance(w.officer, w.activity, [w.student], {w.student.id})
    w.theme = db.session.scalar(select(Theme).order_by(Theme.id))
    w.goal = db.session.scalar(select(CoverageGoal).order_by(CoverageGoal.id))
    w.exemplar = activities.nominate(w.officer, w.student, "勤奋自强，热心公益。")
    w.proposal = activities.propose_member(w.officer, w.club, w.paid)


def ids_of(w) -> dict[str, int]:
    """A real id for each path argument name the routes use."""
    return {"student_id": w.student.id, "unit_id": w.school.id, "case_id": w.case.id, "rule_id": w.rule.id,
            "project_id": w.project.id, "disbursement_id": w.disbursement.id, "record_id": w.record.id,
            "entry_id": w.record.id, "followup_id": w.followup.id, "caseload_id": w.caseload.id, "club_id": w.club.id,
            "target_id": w.target.id, "notification_id": w.notification.id, "user_id": w.teacher.id,
            "assignment_id": w.assignment.id, "attachment_id": 1, "submission_id": 1, "job_id": 1,
            "duty_record_id": w.duty_record.id, "duty_file_id": 1, "staff_id": w.staff.id,
            "improvement_id": w.visit.improvements[0].id, "visit_id": w.visit.id,
            "duty_type_id": w.duty_record.duty_type_id,
            "activity_id": w.activity.id, "theme_id": w.theme.id, "goal_id": w.goal.id, "exemplar_id": w.exemplar.id,
            "proposal_id": w.proposal.id, "photo_id": 1, "start_year": 2025, "term": 1}


MAIN_TABLES = {
    "students", "guardians", "identifications", "identification_categories", "disbursements", "support_records",
    "attachments", "followups", "cadence_rules", "screening_rules", "screening_cases", "table_submissions",
    "units", "colleges", "classes", "terms", "users", "role_assignments", "caseloads", "clubs", "aid_projects",
    "webhook_targets", "notifications", "audit_events", "duty_types", "duty_records", "duty_record_units",
    "duty_record_trainees", "duty_files", "aid_staff", "city_visits", "visit_improvements", "duty_budgets",
    "activity_themes", "activities", "activity_attendance",
    "activity_photos", "coverage_goals", "club_proposals", "exemplars", "exemplar_talks", "summary_narratives",
    "archive_closures",
}


def row_counts(except_tables=frozenset()) -> dict[str, int]:
    tables = [t for t in db.metadata.sorted_tables if t.name in MAIN_TABLES - except_tables]
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in tables}


ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def fill(rule: str, value_for) -> str:
    """The rule's path with each argument replaced by value_for(converter, name)."""
    return ARGUMENT.sub(lambda m: value_for(m.group(1) or "default", m.group(2)), rule)


# --- every route, fuzzed path parameters -------------------------------------------------------------------

def assert_no_server_error(client, method: str, path: str) -> int:
    try:
        response = client.open(path, method=method, data={})
    except Exception as error:  # noqa: BLE001 - the test reports which path raised, whatever it raised
        pytest.fail(f"{method} {path} raised {type(error).__name__}: {error}"[:500])
    assert response.status_code < 500, f"{method} {path} -> {response.status_code}"
    return response.status_code


def test_every_route_answers_fuzzed_path_parameters_without_a_server_error(app, world, client_for):
    officer = client_for(world.officer)
    ids = ids_of(world)
    rules = [r for r in app.url_map.iter_rules() if r.arguments and r.endpoint != "static"]
    assert len(rules) > 50
    for rule in rules:
        method = "GET" if "GET" in rule.methods else "POST"
        takes_ids = "<int:" in rule.rule
        for bad in BAD_PATH_INTS if takes_ids else ():
            path = fill(rule.rule, lambda converter, name, bad=bad: bad if converter == "int" else "x")
            assert assert_no_server_error(officer, method, path) == 404, f"{method} {path}"
        for bad in BAD_PATH_TEXT if rule.rule.count("<") > rule.rule.count("<int:") else ():
            path = fill(rule.rule, lambda converter, name, bad=bad: str(ids[name]) if converter == "int" else bad)
            assert_no_server_error(officer, method, path)


QUERY_NUMBERS = ("unit", "school", "student", "year", "term", "page", "class", "college", "parent", "days")


@pytest.mark.parametrize("bad", [str(2**63), "\u00b2"])
def test_every_page_answers_fuzzed_query_numbers_without_a_server_error(app, world, client_for, bad):
    officer = client_for(world.officer)
    ids = ids_of(world)
    query = "&".join(f"{name}={bad}" for name in QUERY_NUMBERS)
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint not in ("static", "accounts.logout"):
            path = fill(rule.rule, lambda converter, name: str(ids.get(name, 1)) if converter == "int" else "x")
            assert_no_server_error(officer, "GET", f"{path}?{query}")


# --- every form, fuzzed fields -----------------------------------------------------------------------------

@dataclass(frozen=True)
class FormPost:
    """Where a form is posted, by whom (officer, admin or anonymous), and its field prefix."""

    form: type | None
    path: str
    role: str = "officer"
    prefix: str = ""
    raw_fields: tuple[str, ...] = field(default=())
    # Tables a refusal rightly writes to: a failed login is counted and audited.
    written_when_refused: frozenset[str] = frozenset()


FORM_POSTS = {
    "accounts.login": FormPost(LoginForm, "/login", role="anonymous", written_when_refused=frozenset({"audit_events"})),
    "accounts.change_password": FormPost(ChangePasswordForm, "/password"),
    "accounts.create_user": FormPost(CreateUserForm, "/users/new"),
    "accounts.grant_role": FormPost(GrantRoleForm, "/users/{user_id}/roles"),
    "accounts.set_active": FormPost(None, "/users/{user_id}/active", raw_fields=("active",)),
    "org.create_unit": FormPost(UnitForm, "/units/new", role="admin"),
    "org.edit_unit": FormPost(UnitForm, "/units/{unit_id}/edit", role="admin"),
    "org.add_college": FormPost(NamedForm, "/units/{unit_id}/colleges"),
    "org.add_class": FormPost(ClassForm, "/units/{unit_id}/classes"),
    "org.set_term_dates": FormPost(TermDatesForm, "/units/{unit_id}/terms"),
    "students.list_students": FormPost(None, "/students/", raw_fields=("q", "school", "class", "year", "stage")),
    "students.create_student": FormPost(StudentForm, "/students/new?school={unit_id}"),
    "students.edit_student": FormPost(StudentForm, "/students/{student_id}/edit"),
    "students.move_student": FormPost(MoveForm, "/students/{student_id}/move"),
    "students.set_status": FormPost(StatusForm, "/students/{student_id}/status"),
    "students.identify_student": FormPost(IdentificationForm, "/students/{student_id}/identification"),
    "students.import_students": FormPost(ImportForm, "/students/import"),
    "caseloads.list_caseloads": FormPost(CaseloadForm, "/caseloads/"),
    "caseloads.add_caseload_member": FormPost(None, "/caseloads/{caseload_id}/members", raw_fields=("student_no",)),
    "activities.list_clubs": FormPost(CaseloadForm, "/activities/clubs/"),
    "activities.add_member": FormPost(None, "/activities/clubs/{club_id}/members", raw_fields=("student_no",)),
    "activities.propose_member": FormPost(None, "/activities/clubs/{club_id}/proposals", raw_fields=("student_no",)),
    "activities.decide_proposal": FormPost(None, "/activities/clubs/proposals/{proposal_id}",
                                           raw_fields=("decision",)),
    "activities.create_activity": FormPost(ActivityForm, "/activities/new"),
    "activities.edit_activity": FormPost(ActivityForm, "/activities/{activity_id}/edit"),
    "activities.add_photo": FormPost(PhotoForm, "/activities/{activity_id}/photos"),
    "activities.take_attendance": FormPost(None, "/activities/{activity_id}/attendance",
                                           raw_fields=("school", "group", "present")),
    "activities.paste_attendance": FormPost(PasteForm, "/activities/{activity_id}/attendance/paste"),
    "activities.import_attendance": FormPost(ImportForm, "/activities/import?activity={activity_id}"),
    "activities.edit_theme": FormPost(ThemeForm, "/activities/themes/{theme_id}/edit", role="admin"),
    "activities.edit_goal": FormPost(GoalForm, "/activities/goals/{goal_id}/edit", role="admin"),
    "activities.invite_unreached": FormPost(None, "/activities/coverage/units/{unit_id}/invite", raw_fields=("goal",)),
    "activities.list_exemplars": FormPost(NominationForm, "/activities/exemplars"),
    "activities.record_consent": FormPost(ConsentForm, "/activities/exemplars/{exemplar_id}/consent"),
    "activities.add_talk": FormPost(TalkForm, "/activities/exemplars/{exemplar_id}/talks"),
    "summaries.save_narrative": FormPost(NarrativeForm, "/summaries/students/{student_id}/2025/1/narrative"),
    "summaries.list_batches": FormPost(BatchForm, "/summaries/"),
    "summaries.close_year": FormPost(CloseYearForm, "/summaries/archive/close", role="admin"),
    "ledger.record_disbursement": FormPost(DisbursementForm, "/ledger/students/{student_id}/disbursements/new"),
    "ledger.edit_disbursement": FormPost(DisbursementForm, "/ledger/disbursements/{disbursement_id}/edit"),
    "ledger.create_record": FormPost(RecordForm, "/ledger/students/{student_id}/records"),
    "ledger.edit_record": FormPost(RecordForm, "/ledger/records/{record_id}/edit"),
    "ledger.remove_entry": FormPost(RemoveForm, "/ledger/records/{record_id}/remove"),
    "ledger.edit_project": FormPost(ProjectForm, "/ledger/catalog/{project_id}/edit", role="admin"),
    "ledger.import_disbursements": FormPost(ImportForm, "/ledger/import"),
    "followups.schedule_followup": FormPost(FollowUpForm, "/followups/new?student={student_id}"),
    "followups.cancel_followup": FormPost(CancelForm, "/followups/{followup_id}/cancel"),
    "followups.edit_cadence": FormPost(CadenceForm, "/followups/cadence/{cadence_id}/edit", role="admin"),
    "followups.calendar_settings": FormPost(None, "/followups/calendar", raw_fields=("action",)),
    "notify.manage_webhooks": FormPost(WebhookForm, "/inbox/webhooks/units/{unit_id}"),
    "screening.update_case": FormPost(CaseForm, "/screening/cases/{case_id}?unit={unit_id}", prefix="case{case_id}"),
    "screening.close_case": FormPost(CloseForm, "/screening/cases/{case_id}/close", prefix="close{case_id}"),
    "screening.submit_table": FormPost(SubmitForm, "/screening/units/{unit_id}/submit?year=2025&term=1"),
    "screening.create_followups": FormPost(None, "/screening/units/{unit_id}/followups?year=2025&term=1",
                                           raw_fields=("case_ids", "days")),
    "screening.edit_rule": FormPost(RuleForm, "/screening/rules/{rule_id}/edit", role="admin"),
    "org.import_units": FormPost(ImportForm, "/units/import", role="admin"),
    "dashboard.set_language": FormPost(None, "/language", raw_fields=("locale", "next")),
    "duties.create_record": FormPost(duty_forms.RecordForm, "/duties/units/{unit_id}/records/new"),
    "duties.add_file": FormPost(duty_forms.FileForm, "/duties/records/{duty_record_id}/files"),
    "duties.add_staff": FormPost(duty_forms.StaffForm, "/duties/units/{unit_id}/staff"),
    "duties.end_staff": FormPost(duty_forms.EndStaffForm, "/duties/staff/{staff_id}/end"),
    "duties.save_budget": FormPost(duty_forms.BudgetForm, "/duties/units/{unit_id}/budgets"),
    "duties.edit_record": FormPost(duty_forms.RecordForm, "/duties/records/{duty_record_id}/edit"),
    "duties.edit_staff": FormPost(duty_forms.StaffForm, "/duties/staff/{staff_id}/edit"),
    "duties.edit_visit": FormPost(duty_forms.EditVisitForm, "/duties/visits/{visit_id}/edit", role="admin"),
    "duties.import_budgets": FormPost(ImportForm, "/duties/import"),
    "duties.record_visit": FormPost(duty_forms.VisitForm, "/duties/units/{unit_id}/visits", role="admin"),
    "duties.close_improvement": FormPost(duty_forms.CloseForm, "/duties/improvements/{improvement_id}/close"),
    "duties.edit_type": FormPost(duty_forms.DutyTypeForm, "/duties/types/{duty_type_id}/edit", role="admin"),
}
# POST routes whose only input is the path (fuzzed above) or that end the session.
NO_FIELDS = {
    "accounts.logout", "accounts.revoke_role", "accounts.reset_password", "students.reveal_id",
    "caseloads.remove_caseload_member", "activities.remove_member", "ledger.restore_entry", "notify.mark_read",
    "notify.mark_all_read", "notify.disable_webhook", "screening.run_screening", "students.confirm_import",
    "ledger.confirm_import", "org.confirm_import", "students.cancel_import", "ledger.cancel_import",
    "org.cancel_import", "screening.remind_late", "students.rerun_import", "ledger.rerun_import", "org.rerun_import",
    "activities.rerun_import", "activities.cancel_import", "activities.confirm_import", "activities.approve_exemplar",
    "activities.publish_exemplar", "duties.delete_record", "duties.delete_file", "duties.delete_staff",
    "duties.delete_budget", "duties.delete_visit", "duties.delete_improvement", "duties.confirm_import",
    "duties.cancel_import", "duties.rerun_import",
}


def test_every_post_route_is_fuzzed_or_takes_no_fields(app):
    posting = {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods}
    assert posting - set(FORM_POSTS) - NO_FIELDS == set()


def is_refusal(client, response) -> bool:
    """A 4xx, or a redirect that flashed an error."""
    if response.status_code >= 400:
        return True
    with client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    return any(category == "danger" for category, _message in flashes)


FUZZ_SETTINGS = settings(max_examples=5, deadline=None, database=None, derandomize=True,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("endpoint", sorted(FORM_POSTS))
def test_fuzzed_form_fields_never_cause_a_server_error_and_a_refusal_writes_nothing(app, world, client_for,
                                                                                  endpoint):
    post = FORM_POSTS[endpoint]
    ids = {**ids_of(world), "cadence_id": world.cadence.id}
    users = {"officer": world.officer, "admin": world.admin}
    client = client_for(users[post.role]) if post.role in users else app.test_client()
    path = post.path.format(**ids)
    if post.form is not None:
        fields = form_strategy(app, post.form, post.prefix.format(**ids))
    else:
        fields = st.fixed_dictionaries({name: st.one_of(text_values(), number_values()) for name in post.raw_fields})

    @FUZZ_SETTINGS
    @given(data=fields)
    def submit(data):
        before = row_counts(post.written_when_refused)
        try:
            response = client.post(path, data=data)
        except Exception as error:  # noqa: BLE001 - report what raised on which input
            pytest.fail(f"POST {path} raised {type(error).__name__}: {error}"[:500])
        assert response.status_code < 500, f"POST {path} -> {response.status_code}"
        if is_refusal(client, response):
            assert row_counts(post.written_when_refused) == before, f"POST {path} was refused but wrote"

    submit()
