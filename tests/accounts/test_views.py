"""Login, throttling, timeouts, passwords, CSRF and the user administration pages, through HTTP."""

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import func, select

from caretrack.accounts import services as accounts
from caretrack.accounts.models import LoginAttempt, RoleAssignment, User, UserSession
from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role, ScopeType
from caretrack.extensions import db
from caretrack.org import services as org
from tests.conftest import log_in
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "a-new-pass-2025"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def redirects_to(response, path: str) -> bool:
    return response.status_code == 302 and response.location.split("?")[0] == path


def csrf_token_of(response) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text_of(response)).group(1)


def browser_at(app, address: str):
    """A test client whose requests come from `address`."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


@pytest.fixture
def csrf_enabled(app):
    """CSRF protection switched on, as in production (the suite runs with it off)."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def now():
    """A fixed instant to travel from; starts at the real time so signed cookies are never from the future."""
    with time_machine.travel(datetime.now(timezone.utc), tick=False) as traveller:
        yield traveller


# --- Login and logout --------------------------------------------------------------------------------------

def test_login_page_is_in_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in text_of(response)
    assert re.search(r"<h1[^>]*>\s*登录\s*</h1>", text_of(response))


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/users")
    assert redirects_to(response, "/login")
    assert "请先登录" in text_of(client.get(response.location))


def test_a_good_login_goes_home_and_greets_the_user(city, client):
    make_user(Role.CLASS_TEACHER, city.class_a, username="liu", display_name="刘老师")
    response = client.post("/login", data={"username": "liu", "password": PASSWORD})
    assert redirects_to(response, "/")
    assert "您好，刘老师" in text_of(client.get("/"))


def test_after_login_the_user_gets_the_page_they_asked_for(city, client):
    user = make_user(Role.SCHOOL_OFFICER, city.east_school)
    asked = client.get("/users?q=liu")
    assert redirects_to(asked, "/login")
    next_url = re.search(r'name="next" type="hidden" value="([^"]+)"', text_of(client.get(asked.location))).group(1)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD, "next": next_url})
    assert response.location == "/users?q=liu"


@pytest.mark.parametrize("target", ["//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com/",
                                    "/\t/evil.example.com/", "\\\\evil.example.com/", "javascript:alert(1)"])
def test_login_never_redirects_to_another_site(city, app, target):
    user = make_user(Role.SCHOOL_OFFICER, city.east_school)
    response = app.test_client().post("/login", data={"username": user.username, "password": PASSWORD,
                                                      "next": target})
    assert response.location == "/"


def test_a_wrong_password_is_refused_and_only_the_attempt_is_written(city, client):
    user = make_user(Role.CLASS_TEACHER, city.class_a, username="liu")
    attempts, events = count(LoginAttempt), count(AuditEvent)
    response = client.post("/login", data={"username": "liu", "password": "not-the-password"})
    assert response.status_code == 401
    assert "用户名或密码错误" in text_of(response)
    assert count(LoginAttempt) == attempts + 1
    assert count(AuditEvent) == events + 1
    assert audit_actions()[-1] == "login_failed"
    assert user.last_login_at is None
    assert redirects_to(client.get("/"), "/login")


def test_an_empty_login_form_says_what_is_missing_and_writes_nothing(client):
    response = client.post("/login", data={"username": "", "password": ""})
    assert response.status_code == 400
    assert "此项必填" in text_of(response)
    assert (count(LoginAttempt), count(AuditEvent)) == (0, 0)


def test_after_five_failures_the_account_waits_seconds_not_minutes(city, app, now):
    make_user(Role.CLASS_TEACHER, city.class_a, username="liu")
    for attempt in range(5):
        browser = browser_at(app, f"10.1.0.{attempt + 1}")
        assert browser.post("/login", data={"username": "liu", "password": "wrong"}).status_code == 401
    browser = browser_at(app, "10.9.9.9")
    response = browser.post("/login", data={"username": "liu", "password": PASSWORD})
    assert response.status_code == 429
    assert "登录失败次数过多，请 2 秒后再试" in text_of(response)
    assert response.headers["Retry-After"] == "3"
    assert "locked_out" in audit_actions()
    now.shift(timedelta(seconds=2))
    assert redirects_to(browser.post("/login", data={"username": "liu", "password": PASSWORD}), "/")


def test_failures_on_many_accounts_from_one_address_do_not_lock_out_its_other_users(city, app):
    make_user(Role.CLASS_TEACHER, city.class_a, username="liu")
    school_proxy = browser_at(app, "203.0.113.7")
    for attempt in range(10):
        school_proxy.post("/login", data={"username": f"guess{attempt}", "password": "wrong"})
    colleague = browser_at(app, "203.0.113.7")
    assert redirects_to(colleague.post("/login", data={"username": "liu", "password": PASSWORD}), "/")


def test_logout_is_post_only_and_audited(city, client, login):
    user = make_user(Role.CLASS_TEACHER, city.class_a)
    login(user)
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200
    response = client.post("/logout")
    assert redirects_to(response, "/login")
    assert "您已安全退出" in text_of(client.get(response.location))
    logout = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "logout"))
    assert logout.user_id == user.id
    assert redirects_to(client.get("/"), "/login")


# --- Sessions ----------------------------------------------------------------------------------------------

def test_login_starts_a_new_session_dropping_what_was_there(city, client):
    user = make_user(Role.CLASS_TEACHER, city.class_a)
    with client.session_transaction() as session:
        session["planted"] = "set before login"
    before = client.get_cookie("session").value
    log_in(client, user)
    assert client.get_cookie("session").value != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == f"{user.id}:{user.session_token}"


def test_thirty_idle_minutes_end_the_session(city, client, now):
    user = make_user(Role.SCHOOL_OFFICER, city.east_school)
    log_in(client, user)
    now.shift(timedelta(minutes=29))
    assert client.get("/").status_code == 200
    now.shift(timedelta(minutes=31))
    response = client.get("/units/")
    assert redirects_to(response, "/login")
    assert "登录已超时" in text_of(client.get(response.location))
    expired = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session_expired"))
    assert (expired.user_id, expired.detail) == (user.id, "idle")
    assert redirects_to(client.get("/"), "/login")


def test_twelve_hours_end_even_a_busy_session(city, client, now):
    user = make_user(Role.SCHOOL_OFFICER, city.east_school)
    log_in(client, user)
    for _step in range(28):  # 11 h 40 min of work, a page every 25 minutes
        now.shift(timedelta(minutes=25))
        assert client.get("/").status_code == 200
    now.shift(timedelta(minutes=25))
    response = client.get("/")
    assert redirects_to(response, "/login")
    assert "登录已超时" in text_of(client.get(response.location))
    expired = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session_expired"))
    assert (expired.user_id, expired.detail) == (user.id, "absolute")


def test_a_cookie_copied_before_logout_no_longer_logs_in_after_it(city, app, client, login):
    user = make_user(Role.SCHOOL_OFFICER, city.east_school)
    login(user)
    copied = client.get_cookie("session").value
    other_device = log_in(app.test_client(), user)
    assert client.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert redirects_to(replay.get("/units/"), "/login")
    assert other_device.get("/units/").status_code == 200
    ended = db.session.scalars(select(UserSession.ended_at).where(UserSession.user_id == user.id)).all()
    assert sorted(value is None for value in ended) == [False, True]


def test_the_server_keeps_only_a_hash_of_the_session_key(city, client, login):
    user = make_user(Role.CLASS_TEACHER, city.class_a)
    login(user)
    with client.session_transaction() as session:
        key = session["key"]
    stored = db.session.scalar(select(UserSession.key_hash).where(UserSession.user_id == user.id))
    assert key not in stored
    assert len(stored) == 64


def test_the_cookie_expires_with_the_absolute_limit_however_busy_the_session(city, client, now):
    user = make_user(Role.SCHOOL_OFFICER, city.east_school)
    log_in(client, user)
    logged_in_at = datetime.now(timezone.utc).replace(microsecond=0)
    assert client.get_cookie("session").expires.replace(microsecond=0) == logged_in_at + timedelta(hours=12)
    for _step in range(12):  # five hours of work, a page every 25 minutes
        now.shift(timedelta(minutes=25))
        assert client.get("/").status_code == 200
    expires = client.get_cookie("session").expires.replace(microsecond=0)
    assert expires == logged_in_at + timedelta(hours=12)


def test_an_idle_timeout_ends_the_session_on_the_server_too(city, app, client, now):
    user = make_user(Role.SCHOOL_OFFICER, city.east_school)
    log_in(client, user)
    copied = client.get_cookie("session").value
    now.shift(timedelta(minutes=31))
    assert redirects_to(client.get("/"), "/login")
    now.shift(timedelta(minutes=-31))  # the copy's clock says it is fresh; the server says it is over
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert redirects_to(replay.get("/"), "/login")


# --- Caching -----------------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_every_page_and_download_of_a_logged_in_user_is_sent_no_store(city, client, login):
    from caretrack.ledger.models import RecordKind, SupportRecord
    from tests.factories import make_student

    student = make_student(city.class_a, name="安安")
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    client.post(f"/ledger/students/{student.id}/records", data={
        "kind": RecordKind.HOME_VISIT.value, "happened_on": "2026-11-20", "summary": "家访", "tier": "",
        "attachment": (io.BytesIO(PNG), "家访.png")}, content_type="multipart/form-data")
    (attachment,) = db.session.scalar(select(SupportRecord).where(SupportRecord.student_id == student.id)).attachments
    client.post("/followups/calendar", data={"action": "new"})
    token = db.session.scalar(select(User.calendar_token).where(User.calendar_token.is_not(None)))
    paths = ["/", f"/students/{student.id}", "/students/export.xlsx", "/ledger/disbursements/export.xlsx",
             f"/ledger/attachments/{attachment.id}", "/users", f"/calendar/{token}.ics"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    assert app_static(client).headers.get("Cache-Control") != "no-store"


def app_static(client):
    response = client.get("/static/app.css")
    assert response.status_code == 200
    return response


# --- Passwords ---------------------------------------------------------------------------------------------

def test_an_initial_password_must_be_changed_before_anything_else(city, client):
    user = make_user(Role.SCHOOL_OFFICER, city.east_school, must_change_password=True)
    log_in(client, user)
    for path in ("/", "/units/", "/users", "/audit/", f"/units/{city.east_school.id}"):
        assert redirects_to(client.get(path), "/password"), path
    assert "这是初始密码" in text_of(client.get("/password"))
    response = client.post("/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                              "confirm_password": NEW_PASSWORD})
    assert redirects_to(response, "/")
    assert client.get("/units/").status_code == 200
    assert not user.must_change_password


def test_changing_the_password_asks_for_the_current_one(city, client, login):
    user = make_user(Role.CLASS_TEACHER, city.class_a)
    login(user)
    response = client.post("/password", data={"current_password": "a-guess-123", "new_password": NEW_PASSWORD,
                                              "confirm_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert "当前密码不正确" in text_of(response)
    assert user.check_password(PASSWORD)
    assert "password_changed" not in audit_actions()


def test_new_passwords_must_match_and_be_strong(city, client, login):
    login(make_user(Role.CLASS_TEACHER, city.class_a))
    mismatch = client.post("/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                              "confirm_password": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 400
    assert "两次输入的新密码不一致" in text_of(mismatch)
    short = client.post("/password", data={"current_password": PASSWORD, "new_password": "ab1",
                                           "confirm_password": "ab1"})
    assert short.status_code == 400
    assert "至少需要 10 个字符" in text_of(short)


def test_a_password_change_ends_the_users_other_sessions(city, client_for):
    user = make_user(Role.CLASS_TEACHER, city.class_a)
    office, home = client_for(user), client_for(user)
    response = office.post("/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                               "confirm_password": NEW_PASSWORD})
    assert redirects_to(response, "/")
    assert office.get("/").status_code == 200
    assert redirects_to(home.get("/"), "/login")


# --- Deactivation ------------------------------------------------------------------------------------------

def test_deactivating_a_user_ends_their_access_at_the_next_request(city, client_for):
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    teacher = make_user(Role.CLASS_TEACHER, city.class_a, username="liu")
    admin_browser, teacher_browser = client_for(officer), client_for(teacher)
    assert teacher_browser.get("/").status_code == 200
    response = admin_browser.post(f"/users/{teacher.id}/active", data={"active": "0"})
    assert redirects_to(response, f"/users/{teacher.id}")
    page = text_of(admin_browser.get(response.location))
    assert "账号已停用" in page
    assert "已停用</span>" in page
    assert not teacher.is_active_user
    assert redirects_to(teacher_browser.get("/"), "/login")
    assert teacher_browser.post("/login", data={"username": "liu", "password": PASSWORD}).status_code == 401
    assert "user_deactivated" in audit_actions()


def test_resetting_the_password_of_someone_holding_a_higher_role_is_forbidden(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    accounts.grant_role(None, teacher, Role.DISTRICT_OFFICER, ScopeType.UNIT, city.east)
    password_hash, events = teacher.password_hash, count(AuditEvent)
    response = client.post(f"/users/{teacher.id}/password")
    assert response.status_code == 403
    assert "无权" in text_of(response)
    assert (teacher.password_hash, count(AuditEvent)) == (password_hash, events)


def test_resetting_a_password_shows_the_new_one_once(city, app, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    response = client.post(f"/users/{teacher.id}/password")
    password = re.search(r"新的初始密码：(\S+?)（仅显示这一次", text_of(client.get(response.location))).group(1)
    assert teacher.must_change_password
    log_in(app.test_client(), teacher, password)


def test_an_officer_cannot_deactivate_themselves(city, client, login):
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    login(officer)
    response = client.post(f"/users/{officer.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账号" in text_of(response)
    assert officer.is_active_user


# --- CSRF --------------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("csrf_enabled")
def test_a_login_without_csrf_token_is_refused_and_writes_nothing(city, client):
    make_user(Role.CLASS_TEACHER, city.class_a, username="liu")
    events = count(AuditEvent)
    response = client.post("/login", data={"username": "liu", "password": PASSWORD})
    assert response.status_code == 400
    assert "页面已过期" in text_of(response)
    assert (count(LoginAttempt), count(AuditEvent)) == (0, events)
    token = csrf_token_of(client.get("/login"))
    response = client.post("/login", data={"username": "liu", "password": PASSWORD, "csrf_token": token})
    assert redirects_to(response, "/")


@pytest.mark.usefixtures("csrf_enabled")
def test_an_admin_form_without_csrf_token_writes_nothing(city, client):
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    token = csrf_token_of(client.get("/login"))
    client.post("/login", data={"username": officer.username, "password": PASSWORD, "csrf_token": token})
    users, events = count(User), count(AuditEvent)
    response = client.post("/users/new", data={
        "username": "newbie", "display_name": "新老师", "role": "class_teacher", "scope_type": "class",
        "unit": str(city.east_school.id), "scope_id": str(city.class_a.id)})
    assert response.status_code == 400
    assert "页面已过期" in text_of(response)
    assert (count(User), count(AuditEvent)) == (users, events)


# --- User administration -----------------------------------------------------------------------------------

def new_user_form(**overrides) -> dict:
    return {"username": "newbie", "display_name": "新老师", "mobile": "", "email": "", "role": "class_teacher",
            "scope_type": "class", **overrides}


def test_creating_a_user_shows_the_initial_password_once(city, app, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.post("/users/new", data=new_user_form(unit=str(city.east_school.id),
                                                             scope_id=str(city.class_a.id)))
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    assert redirects_to(response, f"/users/{user.id}")
    page = text_of(client.get(response.location))
    password = re.search(r"初始密码：(\S+?)（仅显示这一次", page).group(1)
    assert "初一(1)班" in page
    assert "初始密码" not in text_of(client.get(response.location))
    assert [(a.role, a.scope_id) for a in user.role_assignments] == [(Role.CLASS_TEACHER, city.class_a.id)]
    newcomer = log_in(app.test_client(), user, password)
    assert redirects_to(newcomer.get("/"), "/password")


def test_a_user_form_with_missing_or_malformed_fields_says_so(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    users = count(User)
    response = client.post("/users/new", data=new_user_form(username="", mobile="12345",
                                                             unit=str(city.east_school.id),
                                                             scope_id=str(city.class_a.id)))
    assert response.status_code == 400
    assert "此项必填" in text_of(response)
    assert "请输入11位手机号" in text_of(response)
    assert count(User) == users


@pytest.mark.parametrize("unit", ["", "999999", "-1", "abc", "99999999999999999999999"])
def test_creating_a_user_on_an_unknown_unit_writes_nothing(city, client, login, unit):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    users, events = count(User), count(AuditEvent)
    response = client.post("/users/new", data=new_user_form(role="school_officer", scope_type="unit", unit=unit))
    assert response.status_code == 400
    assert "请从列表中选择您管理范围内的单位" in text_of(response)
    assert (count(User), count(AuditEvent)) == (users, events)


def test_creating_a_user_on_a_tampered_unit_outside_ones_scope_writes_nothing(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    users, events = count(User), count(AuditEvent)
    response = client.post("/users/new", data=new_user_form(unit=str(city.west_school.id),
                                                             scope_id=str(city.west_class.id)))
    assert response.status_code == 400
    assert "请从列表中选择您管理范围内的单位" in text_of(response)
    assert (count(User), count(AuditEvent)) == (users, events)


def test_granting_a_role_in_a_unit_outside_ones_scope_is_a_form_error(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    grants, events = count(RoleAssignment), count(AuditEvent)
    response = client.post(f"/users/{teacher.id}/roles", data={
        "role": "class_teacher", "scope_type": "class", "unit": str(city.west_school.id),
        "scope_id": str(city.west_class.id)})
    assert response.status_code == 400
    assert "请从列表中选择您管理范围内的单位" in text_of(response)
    assert (count(RoleAssignment), count(AuditEvent)) == (grants, events)


def test_a_class_of_another_school_under_ones_own_unit_is_a_form_error(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    grants, events = count(RoleAssignment), count(AuditEvent)
    response = client.post(f"/users/{teacher.id}/roles", data={
        "role": "class_teacher", "scope_type": "class", "unit": str(city.east_school.id),
        "scope_id": str(city.west_class.id)})
    assert response.status_code == 400
    assert "请从列表中选择该单位的班级" in text_of(response)
    assert (count(RoleAssignment), count(AuditEvent)) == (grants, events)


def test_grant_and_revoke_a_role(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    response = client.post(f"/users/{teacher.id}/roles", data={
        "role": "class_teacher", "scope_type": "class", "unit": str(city.east_school.id),
        "scope_id": str(city.class_b.id)})
    assert redirects_to(response, f"/users/{teacher.id}")
    page = text_of(client.get(response.location))
    assert "已授予角色" in page
    assert "初一(2)班" in page
    granted = teacher.role_assignments[-1]
    assert (granted.role, granted.scope_id) == (Role.CLASS_TEACHER, city.class_b.id)
    response = client.post(f"/users/{teacher.id}/roles/{granted.id}/revoke")
    assert redirects_to(response, f"/users/{teacher.id}")
    page = text_of(client.get(response.location))
    assert "已撤销角色" in page
    assert "初一(2)班" not in page
    assert [a.scope_id for a in teacher.role_assignments] == [city.class_a.id]
    assert audit_actions()[-2:] == ["role_granted", "role_revoked"]


def test_revoking_the_last_role_in_ones_scope_returns_to_the_user_list(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    response = client.post(f"/users/{teacher.id}/roles/{teacher.role_assignments[0].id}/revoke")
    assert redirects_to(response, "/users")
    assert "已撤销角色" in text_of(client.get(response.location))
    assert teacher.role_assignments == []


def test_an_administrator_cannot_revoke_their_own_role(city, client, login):
    admin = make_user(Role.CITY_ADMIN, city.city)
    login(admin)
    own = admin.role_assignments[0]
    events = count(AuditEvent)
    response = client.post(f"/users/{admin.id}/roles/{own.id}/revoke")
    assert redirects_to(response, f"/users/{admin.id}")
    assert "不能撤销自己的角色" in text_of(client.get(response.location))
    assert [a.id for a in admin.role_assignments] == [own.id]
    assert count(AuditEvent) == events


# --- The user list -----------------------------------------------------------------------------------------

def test_the_user_list_filters_by_name_and_role(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school, username="officer"))
    make_user(Role.CLASS_TEACHER, city.class_a, username="liu", display_name="刘老师")
    make_user(Role.COUNSELOR, city.east_school, username="chen", display_name="陈老师")
    by_name = text_of(client.get("/users?q=刘"))
    assert "liu" in by_name
    assert "chen" not in by_name
    by_role = text_of(client.get("/users?role=counselor"))
    assert "chen" in by_role
    assert "liu" not in by_role


def test_the_user_list_runs_the_same_queries_for_3_or_30_users(city, client, login, count_queries):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))

    def add_teachers(start: int, stop: int):
        for number in range(start, stop):
            school_class = org.get_or_create_class(None, city.east_school, f"测试{number}班")
            teacher = make_user(Role.CLASS_TEACHER, school_class, username=f"teacher{number:02d}")
            if number % 2:  # some hold a second role, on another kind of scope
                accounts.grant_role(None, teacher, Role.COUNSELOR, ScopeType.UNIT, city.east_school)

    def queries_for_list(expected_rows: int) -> int:
        db.session.flush()  # count the page's queries, not the test's own writes
        with count_queries() as counter:
            page = text_of(client.get("/users"))
        assert f"共 {expected_rows} 条" in page
        return counter.count

    add_teachers(0, 2)  # with the officer: 3 users
    few = queries_for_list(3)
    add_teachers(2, 29)  # 30 users
    assert queries_for_list(30) == few


# --- Picking the scope from lists --------------------------------------------------------------------------

def options_of(html: str, name: str) -> dict[str, str]:
    """The options of a select on the page: value -> label."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return {value: label.strip() for value, label in re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)', select)}


def selected_of(html: str, name: str) -> str | None:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    chosen = [re.search(r'value="([^"]*)"', tag).group(1) for tag in re.findall(r"<option[^>]*>", select)
              if re.search(r"\bselected\b", tag)]
    return chosen[0] if chosen else None


def test_a_school_officer_picks_among_their_school_and_its_classes(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    html = text_of(client.get("/users/new?scope_type=class"))
    assert set(options_of(html, "unit")) == {"", str(city.east_school.id)}
    assert selected_of(html, "unit") == str(city.east_school.id)
    assert "班级和名单填其编号" not in html


def test_a_district_officer_is_offered_their_district_and_its_schools_only(city, client, login):
    login(make_user(Role.DISTRICT_OFFICER, city.east))
    units = options_of(text_of(client.get("/users/new")), "unit")
    assert set(units) == {"", str(city.east.id), str(city.east_school.id)}
    assert units[str(city.east_school.id)] == "东城区第一中学（2199010101）"


def test_a_city_admin_is_offered_every_unit_and_a_universitys_classes_by_college(city, client, login):
    login(make_user(Role.CITY_ADMIN, city.city))
    html = text_of(client.get("/users/new"))
    units = options_of(html, "unit")
    east = re.search(r'<optgroup label="东城区">(.*?)</optgroup>', html, re.S).group(1)
    assert "东城区第一中学（2199010101）" in east
    assert "西城区民族中学" not in east
    assert {str(u.id) for u in (city.city, city.east, city.west, city.east_school, city.west_school,
                                city.university)} <= set(units)
    response = client.get(f"/users/scope-options?unit={city.university.id}&type=class")
    assert response.get_json() == {"options": [{"id": city.uni_class.id, "label": "机械2401", "group": "机械工程学院"}]}
    colleges = client.get(f"/users/scope-options?unit={city.university.id}&type=college").get_json()["options"]
    assert [c["label"] for c in colleges] == sorted(["机械工程学院", "外国语学院"])


def test_the_scope_options_of_a_unit_outside_ones_scope_are_not_found(city, client, login):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert client.get(f"/users/scope-options?unit={city.west_school.id}&type=class").status_code == 404
    assert client.get("/users/scope-options?unit=99999999999999999999&type=class").status_code == 404
    classes = client.get(f"/users/scope-options?unit={city.east_school.id}&type=class").get_json()["options"]
    assert [c["id"] for c in classes] == [city.class_a.id, city.class_b.id]


def test_a_class_teacher_cannot_read_the_scope_options(city, client, login):
    login(make_user(Role.CLASS_TEACHER, city.class_a))
    assert client.get(f"/users/scope-options?unit={city.east_school.id}&type=class").status_code == 403


def test_the_grant_form_preselects_the_users_unit_and_a_refused_form_keeps_the_choices(city, client, login):
    login(make_user(Role.CITY_ADMIN, city.city))
    teacher = make_user(Role.CLASS_TEACHER, city.uni_class)
    html = text_of(client.get(f"/users/{teacher.id}"))
    assert selected_of(html, "unit") == str(city.university.id)
    response = client.post(f"/users/{teacher.id}/roles", data={
        "role": "class_teacher", "scope_type": "class", "unit": str(city.east_school.id), "scope_id": ""})
    assert response.status_code == 400
    html = text_of(response)
    assert "请从列表中选择该单位的班级" in html
    assert selected_of(html, "unit") == str(city.east_school.id)
    assert set(options_of(html, "scope_id")) == {"", str(city.class_a.id), str(city.class_b.id)}


def test_a_counselor_granted_on_a_college_picked_from_the_list(city, client, login):
    login(make_user(Role.CITY_ADMIN, city.city))
    response = client.post("/users/new", data=new_user_form(
        role="counselor", scope_type="college", unit=str(city.university.id), scope_id=str(city.college.id)))
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    assert redirects_to(response, f"/users/{user.id}")
    assert [(a.role, a.scope_type, a.scope_id) for a in user.role_assignments] == [
        (Role.COUNSELOR, ScopeType.COLLEGE, city.college.id)]
