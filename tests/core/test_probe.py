"""The scope-and-fuzz probe of issue 9, re-runnable: the demo city, every demo login, every page, every form.

The demo city is loaded as `flask caretrack init` and `flask caretrack demo` load it, and the logins are read from
what the demo prints. Restricted care records carrying markers, a stored formula-like name and voucher, screening
cases, a submitted table, import jobs, webhooks and notifications are added, so that every route has real ids to
name. Then, as every demo role, with CSRF on as in production:
- every GET route of the URL map is requested with the ids of every school (those the role may not see too);
- every POST route is posted once with only the CSRF token of a rendered page and once with fuzzed fields.
Each answer is held to the rules of `caretrack.core.access` (403 without the role, 404 outside every scope the user
holds), and searched for restricted text its reader may not read, full ID numbers, live formulas and a cache
header. `pytest -s` prints what was tried; docs/security.md quotes the figures.
"""

import csv
import io
import json
import os
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from wtforms import BooleanField, DateField, DecimalField, IntegerField, SelectFieldBase
from wtforms.fields import FileField

from caretrack import demo
from caretrack.accounts.models import RoleAssignment, User
from caretrack.activities.models import (
    Activity,
    ActivityPhoto,
    Club,
    ClubProposal,
    CoverageGoal,
    Exemplar,
    Theme,
    club_members,
)
from caretrack.core import crypto
from caretrack.core.access import ROLE_PERMISSIONS, Permission, can, has_permission, roles_of
from caretrack.core.errors import DomainError
from caretrack.core.tabular import FORMULA_TRIGGERS
from caretrack.core.timeutil import local_today
from caretrack.duties.models import AidStaff, Budget, CityVisit, DutyFile, DutyRecord, DutyType, Improvement
from caretrack.extensions import db
from caretrack.followups.models import CadenceRule, FollowUp
from caretrack.jobs.models import Job
from caretrack.ledger.models import AidProject, Attachment, Disbursement, SupportRecord
from caretrack.notify.models import Notification, WebhookKind, WebhookTarget
from caretrack.notify.services import add_webhook_target, notify
from caretrack.org.models import College, SchoolClass, Unit, UnitKind
from caretrack.org.services import academic_year_of, ensure_academic_year, term_on
from caretrack.screening import services as screening
from caretrack.screening.models import ScreeningCase, ScreeningRule, TableSubmission
from caretrack.students.models import Caseload, Student
from caretrack.students.services import add_to_caseload, create_caseload
from tests.core.test_access_table import import_job
from tests.core.test_confidential_leaks import marked_record, text_of
from tests.core.test_fuzz import FAR_DATES, FORM_POSTS, ODD_NUMBERS, ODD_TEXT, fill
from tests.factories import FULL_WIDTH
from tests.html_forms import errors_by_field, form_data

# The model each path argument names; `rule_id` depends on the endpoint, `job_id` on the import's kind.
ARGUMENT_MODELS = {
    "student_id": Student, "unit_id": Unit, "caseload_id": Caseload, "club_id": Club, "followup_id": FollowUp,
    "record_id": SupportRecord, "disbursement_id": Disbursement, "attachment_id": Attachment,
    "case_id": ScreeningCase, "submission_id": TableSubmission, "target_id": WebhookTarget, "user_id": User,
    "assignment_id": RoleAssignment, "project_id": AidProject, "notification_id": Notification, "job_id": Job,
    "duty_record_id": DutyRecord, "duty_file_id": DutyFile, "staff_id": AidStaff, "duty_type_id": DutyType,
    "improvement_id": Improvement, "visit_id": CityVisit, "budget_id": Budget,
    "activity_id": Activity, "theme_id": Theme, "goal_id": CoverageGoal, "exemplar_id": Exemplar,
    "proposal_id": ClubProposal, "photo_id": ActivityPhoto, "college_id": College,
}
RULE_MODELS = {"followups.edit_cadence": CadenceRule, "screening.edit_rule": ScreeningRule}
ENTRY_KINDS = {"disbursements": Disbursement, "records": SupportRecord}
JOB_KINDS = {"org": "import.units", "students": "import.students", "ledger": "import.disbursements",
             "activities": "import.attendance", "summaries": "summaries.batch", "duties": "import.budgets"}
# Path arguments that are not ids: a term summary's and the archive's academic year, and the term.
FIXED_ARGUMENTS = ("start_year", "term")
# Query strings that name an object, or change what a page lists.
QUERY_OBJECTS = {"students.create_student": ("school", Unit), "followups.schedule_followup": ("student", Student),
                 "accounts.scope_options": ("unit", Unit)}
VARIANTS = ["/followups/?mine=0", "/followups/?mine=0&status=done", "/followups/?status=done",
            "/students/?q=%E7%8E%8B", "/ledger/disbursements?q=DEMO"]
# The table downloads that carry full ID numbers to those who may reveal them, when asked.
FULL_ID_ENDPOINTS = {"screening.export_table", "screening.export_submission"}
FORMULA_NAME = '=HYPERLINK("http://x.example","点我")'
FORMULA_VOUCHER = "@SUM(1+1)"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
PER_SCHOOL = 1  # ids of each model taken per school: enough to cross every scope, few enough to stay quick


# --- the world --------------------------------------------------------------------------------------------

def load_demo(runner) -> tuple[list[str], str]:
    """`flask caretrack init` then `flask caretrack demo`; the logins and password the demo prints."""
    for command in ("init", "demo"):
        result = runner.invoke(args=["caretrack", command])
        assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    password = re.search(r"password for all: (\S+)\):", lines[0]).group(1)
    return [line.split()[0] for line in lines[1:] if line.strip()], password


def by_name(model, **where):
    return db.session.scalar(select(model).filter_by(**where))


def add_probe_data(app) -> dict:
    """What the demo lacks for every route to have an id: restricted records, cases, a submission, jobs, ..."""
    today = local_today()
    users = {u.username: u for u in db.session.scalars(select(User))}
    year = ensure_academic_year(academic_year_of(today))
    term = 1 if today.month >= 9 or today.month < 2 else 2
    folder = Path(app.instance_path) / "attachments"
    restricted = []
    for counselor, class_name in (("school_counselor", "初一(1)班"), ("uni_counselor", "机械2401")):
        student = db.session.scalar(select(Student).join(SchoolClass).where(SchoolClass.name == class_name)
                                    .order_by(Student.id).limit(1))
        restricted.append(marked_record(users[counselor], student, today, folder, suffix=f"x{len(restricted)}"))
    first = db.session.scalar(select(Student).join(SchoolClass).where(SchoolClass.name == "初一(2)班")
                              .order_by(Student.id).limit(1))
    first.name = FORMULA_NAME  # stored before input was checked: an export must still neutralise it
    payment = db.session.scalar(select(Disbursement).order_by(Disbursement.id).limit(1))
    payment.voucher = FORMULA_VOUCHER
    for officer, code in (("school_officer", "2199010101"), ("uni_officer", "4199010001")):
        school = by_name(Unit, code=code)
        screening.run_screening(users[officer], school, year, term)
        caseload = create_caseload(users[officer], school, "重点关注")
        add_to_caseload(users[officer], caseload, db.session.scalar(
            select(Student).where(Student.school_id == school.id).order_by(Student.id).limit(1)))
        add_webhook_target(users[officer], school.id, WebhookKind.WECOM,
                           f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={code}")
        try:
            screening.submit(users[officer], school, year, term)
        except DomainError:  # a school with cases left without remedy cannot submit yet
            pass
        for kind in ("students", "disbursements"):
            import_job(users[officer], kind)
    import_job(users["city"], "units")
    _add_duty_evidence(app, users, today)
    add_activity_probe_data(app, users, year, term)
    for number, user in enumerate(users.values()):
        user.calendar_token = f"probe{number:02d}" + "c" * 40
        notify(user.id, f"probe-{user.id}", "提醒")
    db.session.flush()
    return {"restricted": restricted, "year": year, "term": term}


def _add_duty_evidence(app, users, today) -> None:
    """A file of the demo's district training and a city visit with an improvement, for the duties' routes."""
    from caretrack.duties import services as duties

    training = db.session.scalar(select(DutyRecord).order_by(DutyRecord.id).limit(1))
    duties.add_file(users["district"], training, "纪要.pdf", b"%PDF-1.4 probe", Path(app.instance_path)
                    / "duty_files", 1024 * 1024)
    duties.record_visit(users["city"], by_name(Unit, code="990101"), today, "培训未覆盖全部学校",
                        [("补办培训", None)], today)


def add_activity_probe_data(app, users, year, term) -> None:
    """An attendance import and a summary batch job with its file, a photo, an exemplar, a club proposal."""
    from caretrack.activities import services as activities
    from caretrack.jobs import services as jobs
    from caretrack.summaries import batches, files

    import_job(users["school_officer"], "attendance")
    school = by_name(Unit, code="2199010101")
    job = jobs.create(batches.JOB_KIND, users["school_officer"], {
        "target": f"unit:{school.id}", "start_year": year.start_year, "term": term, "format": "xlsx",
        "token": "probe-batch"})
    job.status, job.result = "done", {"count": 0, "filename": "学期小结.xlsx"}
    batches.file_path(job).write_bytes(files.write_all([], files.XLSX, local_today()))
    activity = db.session.scalar(select(Activity).order_by(Activity.id))
    activities.add_photo(None, activity, "合影.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32,
                         activities.PHOTOS.path(), 1024 * 1024)
    student = db.session.scalar(select(Student).where(Student.school_id == school.id).order_by(Student.id))
    activities.nominate(users["school_officer"], student, "勤奋自强，热心公益。")
    club = db.session.scalar(select(Club).order_by(Club.id))
    members = select(club_members.c.student_id).where(club_members.c.club_id == club.id)
    outsider = db.session.scalar(select(Student).where(Student.school_id == club.school_id,
                                                       Student.id.notin_(members)).order_by(Student.id))
    if outsider is not None:
        activities.propose_member(None, club, outsider)


def sample_ids(model, where=None) -> list[int]:
    """Ids of `model` from every class or school (PER_SCHOOL of each), or the first few of a model without either."""
    query = select(model).order_by(model.id)
    if where is not None:
        query = query.where(where)
    rows = db.session.scalars(query).all()
    place = "class_id" if hasattr(model, "class_id") else "school_id"  # a student of each class, so every teacher
    if not hasattr(model, place):
        return [row.id for row in rows[:8]]
    taken: Counter = Counter()
    chosen = []
    for row in rows:
        if taken[getattr(row, place)] < PER_SCHOOL:
            taken[getattr(row, place)] += 1
            chosen.append(row.id)
    return chosen


def candidates(endpoint: str, argument: str, restricted_ids: list[int]) -> tuple[type, list[int]]:
    """The model an argument names and the ids to try: every school's, the restricted records' included."""
    model = RULE_MODELS.get(endpoint) or ARGUMENT_MODELS[argument]
    where = Job.kind == JOB_KINDS[endpoint.split(".")[0]] if model is Job else None
    ids = sample_ids(model, where)
    if model is SupportRecord:
        ids = sorted(set(ids) | set(restricted_ids))
    if model is Attachment:
        ids = sorted(set(ids) | {a.id for a in db.session.scalars(select(Attachment))})
    return model, ids


def fixed_values() -> dict[str, str]:
    """The current academic year and term, for the routes that name them."""
    current = term_on(None, local_today())
    return {"start_year": str(current.year.start_year), "term": str(current.number)}


def get_urls(app, restricted_ids) -> list[tuple[str, str, list]]:
    """(endpoint, url, objects named) for every GET route, once per id of each argument."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "calendar.feed"):
            continue
        arguments = sorted(rule.arguments - set(FIXED_ARGUMENTS))
        if not arguments:
            path = rule.rule
            if rule.endpoint in QUERY_OBJECTS:
                name, model = QUERY_OBJECTS[rule.endpoint]
                extra = "&type=class" if rule.endpoint == "accounts.scope_options" else ""
                urls += [(rule.endpoint, f"{path}?{name}={i}{extra}", [db.session.get(model, i)])
                         for i in sample_ids(model)]
            urls.append((rule.endpoint, path, []))
            continue
        (argument,) = arguments
        model, ids = candidates(rule.endpoint, argument, restricted_ids)
        for object_id in ids:
            url = fill(rule.rule, lambda converter, name, object_id=object_id: fixed_values().get(name, str(object_id)))
            objects = [db.session.get(model, object_id)]
            urls.append((rule.endpoint, url, objects))
            if rule.endpoint in FULL_ID_ENDPOINTS:
                urls.append((rule.endpoint, url + "?full_ids=1", objects))
    for student_id in sample_ids(Student):
        urls.append(("students.show_student", f"/students/{student_id}?kind=psych_care",
                     [db.session.get(Student, student_id)]))
    urls += [(app.url_map.bind("localhost").match(v.split("?")[0])[0], v, []) for v in VARIANTS]
    return urls


# --- what access.py says --------------------------------------------------------------------------------

def scope_target(obj):
    """The row whose scope decides access to `obj`: itself when scoped, an attachment's record; else None."""
    if obj is None:
        return None
    if isinstance(obj, Attachment):
        return obj.record
    return obj if hasattr(type(obj), "__access_columns__") else None


def held_permissions(user) -> set[Permission]:
    return {p for role in roles_of(user) for p in ROLE_PERMISSIONS[role]}


def refusal(app, user, endpoint: str, objects) -> set[int] | None:
    """The answers access.py allows: {403} without the role, {404} for an object outside every scope the user
    holds, {403, 404} for one visible but outside the route's own permission; None when it lets the user in.
    """
    permission = getattr(app.view_functions[endpoint], "required_permission", None)
    if permission is None:
        return None
    if not has_permission(user, permission):
        return {403}
    for target in filter(None, map(scope_target, objects)):
        if not can(user, permission, target):
            visible = any(can(user, p, target) for p in held_permissions(user))
            return {403, 404} if visible else {404}
    return None


# --- what each answer must not carry ------------------------------------------------------------------------

class Probe:
    """Requests made and what was found wrong, by kind."""

    def __init__(self, app, world):
        self.app = app
        self.world = world
        self.tried: Counter = Counter()
        self.found: dict[str, list] = {kind: [] for kind in (
            "server error", "wrong refusal", "restricted text", "full ID number", "formula cell", "cacheable",
            "duplicate student")}
        self.id_numbers = {crypto.decrypt(c) for c in db.session.scalars(select(Student.id_cipher))}
        self.marker_seen: Counter = Counter()
        self.neutralised = 0

    def request(self, browser, user, endpoint, method, url, objects, data=None, reveals=False):
        self.tried[method] += 1
        allowed = refusal(self.app, user, endpoint, objects)  # before the request, which may change the user's roles
        try:
            response = browser.open(url, method=method, data=data)
        except Exception as error:  # noqa: BLE001 - report which URL raised, whatever it raised
            self.found["server error"].append((user.username, method, url, f"{type(error).__name__}: {error}"[:200]))
            return None
        where = (user.username, method, url)
        if response.status_code >= 500:
            self.found["server error"].append((*where, response.status_code))
        if allowed is not None:
            self.tried["refusals checked"] += 1
            if response.status_code not in allowed:
                self.found["wrong refusal"].append((*where, response.status_code, sorted(allowed)))
        self.inspect(user, where, response, reveals)
        return response

    def inspect(self, user, where, response, reveals: bool) -> None:
        body = text_of(response)
        for record, markers in self.world["restricted"]:
            shown = [field for field, marker in markers.items() if marker in body]
            if shown and not can(user, Permission.CARE_RESTRICTED, record.student):
                self.found["restricted text"].append((*where, shown))
            self.marker_seen[(user.username, record.id)] += bool(shown)
        if not reveals and any(number in body for number in self.id_numbers):
            self.found["full ID number"].append(where)
        if response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", ""):
            self.found["cacheable"].append(where)
        if response.mimetype == XLSX:
            self.check_xlsx(where, response.get_data())
        elif response.mimetype == "text/csv":
            self.check_csv(where, response.get_data(as_text=True))

    def check_xlsx(self, where, content: bytes) -> None:
        self.tried["xlsx files"] += 1
        workbook = load_workbook(io.BytesIO(content))
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    self.tried["xlsx cells"] += cell.value is not None
                    if cell.data_type == "f":
                        self.found["formula cell"].append((*where, sheet.title, cell.coordinate, cell.value))
                    self.neutralised += isinstance(cell.value, str) and cell.value.startswith(("'=", "'@"))

    def check_csv(self, where, text: str) -> None:
        self.tried["csv files"] += 1
        for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
            self.found["formula cell"] += [(*where, cell) for cell in row if cell.startswith(FORMULA_TRIGGERS)]


# --- logging in and posting as a browser does --------------------------------------------------------------

def csrf_token(browser, url: str = "/") -> str:
    match = CSRF.search(browser.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def log_in(app, username: str, password: str):
    browser = app.test_client()
    response = browser.post("/login", data={"username": username, "password": password,
                                            "csrf_token": csrf_token(browser, "/login")})
    assert response.status_code == 302, (username, response.get_data(as_text=True)[:300])
    return browser


def fuzzed_fields(app, endpoint: str, path: str, rng: random.Random) -> dict:
    """Values that break apps, for each field of the endpoint's form (test_fuzz.FORM_POSTS names the forms)."""
    post = FORM_POSTS.get(endpoint)
    if post is None:
        return {}
    if post.form is None:
        return {name: rng.choice(ODD_TEXT + ODD_NUMBERS) for name in post.raw_fields}
    prefix = ""
    if post.prefix:  # the case forms are prefixed with their case's id
        prefix = post.prefix.split("{")[0] + path.split("/")[3].split("?")[0]
    with app.test_request_context():
        form = post.form(formdata=None, prefix=prefix, meta={"csrf": False})
        fields = [f for f in form if f.type != "CSRFTokenField" and not isinstance(f, FileField)]
    values = {}
    for field in fields:
        if isinstance(field, DateField):
            values[field.name] = rng.choice(FAR_DATES)
        elif isinstance(field, IntegerField | DecimalField):
            values[field.name] = rng.choice(ODD_NUMBERS)
        elif isinstance(field, BooleanField):
            values[field.name] = rng.choice(["y", "\x00", "1" * 100])
        elif isinstance(field, SelectFieldBase):
            values[field.name] = rng.choice(ODD_NUMBERS + ODD_TEXT)
        else:
            values[field.name] = rng.choice(ODD_TEXT + ODD_NUMBERS)
    return values


def reachable_row(user, model, ids):
    """The first row of `ids` the user may reach under any permission held, else the first row (None: no rows)."""
    rows = [db.session.get(model, i) for i in ids]
    reachable = [r for r in rows if scope_target(r) is None or any(
        can(user, p, scope_target(r)) for p in held_permissions(user))]
    return (reachable or rows or [None])[0]


def post_urls(app, user, restricted_ids) -> list[tuple[str, str, list]]:
    """(endpoint, url, objects) for every POST route, each argument an id the user may reach where there is one."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        for kind in ENTRY_KINDS if "kind" in rule.arguments else [None]:
            objects, values = [], {"kind": kind, **fixed_values()}
            for argument in sorted(rule.arguments - {"kind", *FIXED_ARGUMENTS}):
                model, ids = ((ENTRY_KINDS[kind], sample_ids(ENTRY_KINDS[kind])) if kind
                              else candidates(rule.endpoint, argument, restricted_ids))
                row = reachable_row(user, model, ids)
                values[argument] = str(row.id) if row is not None else "1"
                objects.append(row)
            url = fill(rule.rule, lambda converter, name, values=values: values[name])
            query = FORM_POSTS[rule.endpoint].path.partition("?")[2] if rule.endpoint in FORM_POSTS else ""
            if query:
                student = reachable_row(user, Student, sample_ids(Student))
                activity = reachable_row(user, Activity, sample_ids(Activity))
                url += "?" + query.format(unit_id=values.get("unit_id", sample_ids(Unit)[0]),
                                          student_id=student.id, case_id=values.get("case_id", "1"),
                                          activity_id=activity.id)
            urls.append((rule.endpoint, url, objects))
    return urls


def post_and_roll_back(probe, browser, user, endpoint, url, objects, data, reveals):
    """Post in a savepoint rolled back afterwards, with the session cookie kept, so no post changes the next."""
    cookie = browser.get_cookie("session")
    savepoint = db.session.connection().begin_nested()
    try:
        probe.request(browser, user, endpoint, "POST", url, objects, data=data, reveals=reveals)
    finally:
        savepoint.rollback()
        db.session.expire_all()
        browser.set_cookie("session", cookie.value)


SPELLINGS = {"full-width": FULL_WIDTH, "Arabic-Indic": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")}


def register_again(probe, browser, user, token) -> None:
    """Register each sampled demo child again, in each school the user may edit, its number in other digits.

    Each post must be refused on the number, and the child still has one file (in a savepoint rolled back).
    """
    if not has_permission(user, Permission.STUDENTS_EDIT):
        return
    schools = [s for s in db.session.scalars(select(Unit).where(Unit.kind.in_([UnitKind.SCHOOL, UnitKind.UNIVERSITY])))
               if can(user, Permission.STUDENTS_EDIT, s)]
    children = [db.session.get(Student, i) for i in sample_ids(Student)]
    for school in schools:
        url = f"/students/new?school={school.id}"
        form = form_data(browser.get(url).get_data(as_text=True), url)
        for child in children:
            number = crypto.decrypt(child.id_cipher)
            for spelling in SPELLINGS.values():
                form.update({"csrf_token": token, "name": "探针学生", "student_no": f"P{child.id:06d}",
                             "id_number": number.translate(spelling)})
                savepoint = db.session.connection().begin_nested()
                try:
                    response = probe.request(browser, user, "students.create_student", "POST", url, [school],
                                             data=form)
                    index = crypto.blind_index(number)
                    files = db.session.scalar(select(func.count()).where(Student.id_index == index))
                    probe.tried["registrations in other digits"] += 1
                    refused = response is not None and errors_by_field(response.get_data(as_text=True)).get("id_number")
                    if files != 1 or not refused:
                        probe.found["duplicate student"].append((user.username, school.code, child.id, files))
                finally:
                    savepoint.rollback()
                    db.session.expire_all()


# --- the probe ------------------------------------------------------------------------------------------------

@pytest.fixture
def demo_city(app, runner, monkeypatch):
    usernames, password = load_demo(runner)
    world = add_probe_data(app)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    return usernames, password, world


def test_every_demo_role_on_every_route_finds_nothing_wrong(app, demo_city):
    usernames, password, world = demo_city
    assert len(usernames) == len(demo.USERS)
    probe = Probe(app, world)
    restricted_ids = [record.id for record, _markers in world["restricted"]]
    urls = get_urls(app, restricted_ids)
    for username in usernames:
        user = by_name(User, username=username)
        browser = log_in(app, username, password)
        for endpoint, url, objects in urls:
            if endpoint != "accounts.logout":
                probe.request(browser, user, endpoint, "GET", url, objects, reveals=reveals_ids(user, url, objects))
        probe.request(app.test_client(), user, "calendar.feed", "GET", f"/calendar/{user.calendar_token}.ics", [])
        token = csrf_token(browser)
        register_again(probe, browser, user, token)
        rng = random.Random(username)
        for endpoint, url, objects in post_urls(app, user, restricted_ids):
            reveals = endpoint == "students.reveal_id" and can(user, Permission.ID_REVEAL, objects[0])
            for data in ({}, fuzzed_fields(app, endpoint, url, rng)):
                post_and_roll_back(probe, browser, user, endpoint, url, objects, {"csrf_token": token, **data},
                                   reveals)
    report(probe, usernames, urls)
    if os.environ.get("CARETRACK_PROBE_REPORT"):  # every finding, not just the first five the assertion shows
        Path(os.environ["CARETRACK_PROBE_REPORT"]).write_text(json.dumps(
            {"urls": len(urls), "tried": probe.tried, "found": probe.found}, ensure_ascii=False, indent=1, default=str))
    assert {kind: found[:5] for kind, found in probe.found.items() if found} == {}
    # The probe looked where the holes were: readers saw the markers, exports held the neutralised formula.
    for record, _markers in world["restricted"]:
        readers = [u for u in usernames if can(by_name(User, username=u), Permission.CARE_RESTRICTED, record.student)]
        assert readers, record.id
        assert all(probe.marker_seen[(u, record.id)] for u in readers), record.id
    assert probe.neutralised > 0
    assert probe.tried["registrations in other digits"] > 0
    assert probe.tried["refusals checked"] > 1000


def reveals_ids(user, url: str, objects) -> bool:
    """Whether a table download rightly carries full ID numbers: asked for, by one who may reveal them there."""
    if "full_ids=1" not in url:
        return False
    unit = objects[0].unit if isinstance(objects[0], TableSubmission) else objects[0]
    return can(user, Permission.ID_REVEAL, unit)


def report(probe, usernames, urls) -> None:
    """The figures of the run, for `pytest -s` and docs/security.md."""
    posts = probe.tried["POST"] - probe.tried["registrations in other digits"]
    print(f"\nprobe: {len(urls)} URLs x {len(usernames)} roles; {probe.tried['GET']} GETs, "
          f"{posts} POSTs ({posts // 2} with the token only + {posts // 2} fuzzed); "
          f"{probe.tried['refusals checked']} answers held to access.py; {probe.tried['xlsx files']} xlsx files "
          f"({probe.tried['xlsx cells']} cells), {probe.tried['csv files']} CSV files, "
          f"{len(probe.id_numbers)} ID numbers searched for; {probe.tried['registrations in other digits']} "
          "registrations of a child again in full-width or Arabic-Indic digits")
    for kind, found in probe.found.items():
        print(f"probe: {kind}: {len(found)}")
