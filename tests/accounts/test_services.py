"""Authentication, throttling, passwords and role grants, without HTTP."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from caretrack.accounts import services
from caretrack.accounts.models import LoginAttempt, UserSession
from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role, ScopeType
from caretrack.core.errors import DomainError, Forbidden
from caretrack.extensions import db
from tests.factories import PASSWORD, make_user

POLICY = services.ThrottlePolicy(free_failures=5, window=timedelta(minutes=15), max_delay=timedelta(seconds=60))


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_authenticate_returns_the_user_and_audits_the_login(city):
    user = make_user(Role.SCHOOL_OFFICER, city.east_school, username="zhou")
    assert services.authenticate("zhou", PASSWORD, "10.0.0.1", POLICY) is user
    login = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login"))
    assert (login.user_id, login.address, login.unit_id) == (user.id, "10.0.0.1", city.east_school.id)
    assert user.last_login_at is not None


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(city):
    make_user(username="zhou")
    with pytest.raises(services.LoginRefused) as refused:
        services.authenticate("zhou", "wrong-password", "10.0.0.1", POLICY)
    assert refused.value.message == "用户名或密码错误。"
    with pytest.raises(services.LoginRefused) as unknown:
        services.authenticate("nobody", "whatever", "10.0.0.1", POLICY)
    assert unknown.value.message == refused.value.message
    assert actions().count("login_failed") == 2


def fail(username: str, address: str, times: int = 1) -> None:
    for _attempt in range(times):
        with pytest.raises(services.LoginRefused) as refused:
            services.authenticate(username, "wrong", address, POLICY)
        assert not isinstance(refused.value, services.LoginThrottled)


def test_after_five_failures_each_try_waits_longer_but_never_more_than_a_minute(city):
    make_user(username="zhou")
    with time_machine.travel("2026-03-01 08:00:00+08:00", tick=False) as traveller:
        fail("zhou", "10.0.0.1", times=5)
        with pytest.raises(services.LoginThrottled) as throttled:
            services.authenticate("zhou", PASSWORD, "10.0.0.99", POLICY)
        assert throttled.value.retry_after == timedelta(seconds=2)
        assert throttled.value.message == "登录失败次数过多，请 2 秒后再试。"
        waits = []
        for _failure in range(6):
            traveller.shift(services.login_wait("zhou", "10.0.0.99", POLICY, services.utcnow()))
            fail("zhou", "10.0.0.1")
            waits.append(services.login_wait("zhou", "10.0.0.99", POLICY, services.utcnow()).total_seconds())
        assert waits == [4, 8, 16, 32, 60, 60]
        traveller.shift(timedelta(seconds=60))
        assert services.authenticate("zhou", PASSWORD, "10.0.0.99", POLICY).username == "zhou"
    assert "locked_out" in actions()


def test_a_throttled_try_is_not_checked_and_does_not_prolong_the_wait(city):
    make_user(username="zhou")
    with time_machine.travel("2026-03-01 08:00:00+08:00", tick=False) as traveller:
        fail("zhou", "10.0.0.1", times=5)
        for _try in range(20):
            with pytest.raises(services.LoginThrottled):
                services.authenticate("zhou", PASSWORD, "10.0.0.1", POLICY)
        traveller.shift(timedelta(seconds=2))
        assert services.authenticate("zhou", PASSWORD, "10.0.0.1", POLICY).username == "zhou"
    assert db.session.scalar(select(func.count(LoginAttempt.id))) == 6


def test_failures_elsewhere_do_not_slow_the_owner_at_an_address_they_logged_in_from(city):
    make_user(username="zhou")
    with time_machine.travel("2026-03-01 08:00:00+08:00", tick=False):
        services.authenticate("zhou", PASSWORD, "10.0.0.5", POLICY)
        fail("zhou", "203.0.113.7", times=5)
        with pytest.raises(services.LoginThrottled):
            services.authenticate("zhou", PASSWORD, "198.51.100.1", POLICY)
        assert services.authenticate("zhou", PASSWORD, "10.0.0.5", POLICY).username == "zhou"


def test_failures_older_than_the_window_or_before_a_login_do_not_count(city):
    make_user(username="zhou")
    with time_machine.travel("2026-03-01 08:00:00+08:00", tick=False) as traveller:
        fail("zhou", "10.0.0.1", times=4)
        traveller.shift(timedelta(minutes=16))
        fail("zhou", "10.0.0.1", times=4)
        traveller.shift(timedelta(seconds=1))
        services.authenticate("zhou", PASSWORD, "10.0.0.2", POLICY)
        traveller.shift(timedelta(seconds=1))
        fail("zhou", "10.0.0.3", times=4)
        assert services.login_wait("zhou", "10.0.0.3", POLICY, services.utcnow()) == timedelta(0)


def test_many_failures_from_one_address_do_not_slow_other_accounts(city):
    make_user(username="victim")
    for attempt in range(10):
        fail(f"guess{attempt}", "203.0.113.7")
    assert services.authenticate("victim", PASSWORD, "203.0.113.7", POLICY).username == "victim"


def test_unknown_usernames_take_as_long_as_wrong_passwords(city, monkeypatch):
    """Real scrypt on both sides: without the dummy hash an unknown name answered in 18 ms instead of 200."""
    from werkzeug.security import generate_password_hash

    from caretrack.accounts import models

    user = make_user(username="zhou")
    user.password_hash = generate_password_hash(PASSWORD)
    monkeypatch.setattr(models, "generate_password_hash", generate_password_hash)
    models._nobodys_password_hash.cache_clear()
    try:
        known = median_seconds(lambda: fail("zhou", "10.0.0.1"))
        unknown = median_seconds(lambda: fail("no-such-user", "10.0.0.1"))
    finally:
        models._nobodys_password_hash.cache_clear()
    assert unknown > known * 0.5, (known, unknown)


def median_seconds(action) -> float:
    import time

    timings = []
    for _run in range(3):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return sorted(timings)[1]


def test_a_deactivated_user_cannot_log_in(city):
    admin = make_user(Role.CITY_ADMIN, city.city)
    user = make_user(Role.CLASS_TEACHER, city.class_a, username="liu")
    services.set_active(admin, user, False)
    with pytest.raises(services.LoginRefused):
        services.authenticate("liu", PASSWORD, "10.0.0.1", POLICY)


def test_change_password_checks_the_current_one_and_the_new_one(city):
    user = make_user(username="zhou", must_change_password=True)
    token = user.session_token
    with pytest.raises(DomainError, match="当前密码不正确"):
        services.change_password(user, "not-it", "a-new-pass-1")
    with pytest.raises(DomainError, match="至少需要 10 个字符"):
        services.change_password(user, PASSWORD, "short1")
    with pytest.raises(DomainError, match="字母和数字"):
        services.change_password(user, PASSWORD, "onlylettersхх")
    services.change_password(user, PASSWORD, "a-new-pass-1")
    assert user.check_password("a-new-pass-1")
    assert not user.must_change_password
    assert user.session_token != token  # other sessions end


def test_create_user_refuses_a_taken_username_in_any_case(city):
    make_user(username="Zhou")
    with pytest.raises(DomainError, match="已被使用"):
        services.create_user(None, username="zhou", display_name="另一个周老师")


def test_initial_passwords_are_random_and_must_be_changed(city):
    user, password = services.create_user(None, username="newbie", display_name="新老师")
    assert user.must_change_password
    assert user.check_password(password)
    assert services.create_user(None, username="newbie2", display_name="x")[1] != password


@pytest.mark.parametrize(("role", "scope_attr", "fits"), [
    (Role.CITY_ADMIN, "city", True),
    (Role.CITY_ADMIN, "east", False),
    (Role.DISTRICT_OFFICER, "east", True),
    (Role.DISTRICT_OFFICER, "east_school", False),
    (Role.SCHOOL_OFFICER, "east_school", True),
    (Role.SCHOOL_OFFICER, "east", False),
    (Role.CLASS_TEACHER, "class_a", True),
    (Role.CLASS_TEACHER, "east_school", False),
    (Role.COUNSELOR, "college", True),
    (Role.INSPECTOR, "east", True),
])
def test_roles_fit_only_their_kinds_of_scope(city, role, scope_attr, fits):
    user = make_user()
    target = getattr(city, scope_attr)
    from tests.factories import scope_type_of

    if fits:
        services.grant_role(None, user, role, scope_type_of(target), target)
        assert [a.role for a in user.role_assignments] == [role]
    else:
        with pytest.raises(DomainError):
            services.grant_role(None, user, role, scope_type_of(target), target)
        assert user.role_assignments == []


def test_a_school_officer_grants_school_roles_in_their_school_only(city):
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    teacher = make_user()
    services.grant_role(officer, teacher, Role.CLASS_TEACHER, ScopeType.CLASS, city.class_a)
    with pytest.raises(Forbidden):
        services.grant_role(officer, teacher, Role.CLASS_TEACHER, ScopeType.CLASS, city.west_class)
    with pytest.raises(Forbidden):
        services.grant_role(officer, teacher, Role.DISTRICT_OFFICER, ScopeType.UNIT, city.east)
    assert [(a.role, a.scope_id) for a in teacher.role_assignments] == [(Role.CLASS_TEACHER, city.class_a.id)]


def test_granting_the_same_role_twice_is_refused(city):
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    with pytest.raises(DomainError, match="已拥有"):
        services.grant_role(None, teacher, Role.CLASS_TEACHER, ScopeType.CLASS, city.class_a)


def test_revoke_removes_the_grant_and_audits_it(city):
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    teacher = make_user(Role.CLASS_TEACHER, city.class_a)
    services.revoke_role(officer, teacher.role_assignments[0])
    db.session.flush()
    assert teacher.role_assignments == []
    assert "role_revoked" in actions()


def test_an_officer_cannot_deactivate_someone_holding_a_higher_role(city):
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    district = make_user(Role.DISTRICT_OFFICER, city.east)
    with pytest.raises(Forbidden):
        services.set_active(officer, district, False)
    assert district.is_active_user


def test_purge_keeps_recent_login_attempts_and_sessions(city):
    from caretrack.accounts.tasks import purge_login_attempts

    user = make_user(username="zhou")
    with time_machine.travel("2026-01-01 00:00:00+00:00", tick=False):
        with pytest.raises(services.LoginRefused):
            services.authenticate("old", "x", "10.0.0.1", POLICY)
        db.session.add(UserSession(user_id=user.id, key_hash="a" * 64, started_at=services.utcnow()))
    with pytest.raises(services.LoginRefused):
        services.authenticate("new", "x", "10.0.0.1", POLICY)
    db.session.add(UserSession(user_id=user.id, key_hash="b" * 64, started_at=services.utcnow()))
    db.session.flush()
    assert purge_login_attempts() == 2
    assert db.session.scalar(select(func.count(LoginAttempt.id))) == 1
    assert db.session.scalars(select(UserSession.key_hash)).all() == ["b" * 64]


def test_a_grant_scope_picked_from_the_lists_resolves_to_the_units_object(city):
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    assert services.resolve_grant_scope(officer, ScopeType.CLASS, str(city.east_school.id),
                                        str(city.class_b.id)) is city.class_b
    assert services.resolve_grant_scope(officer, ScopeType.UNIT, str(city.east_school.id), "") is city.east_school


@pytest.mark.parametrize(("unit", "scope_id", "field"), [
    ("west_school", "west_class", "unit"),
    ("east_school", "west_class", "scope_id"),
    ("east_school", "99999999999999999999", "scope_id"),
    ("east_school", "", "scope_id"),
])
def test_a_tampered_grant_scope_is_refused_on_the_field_it_names(city, unit, scope_id, field):
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    raw_scope = str(getattr(city, scope_id).id) if hasattr(city, scope_id) else scope_id
    with pytest.raises(DomainError) as refused:
        services.resolve_grant_scope(officer, ScopeType.CLASS, str(getattr(city, unit).id), raw_scope)
    assert refused.value.field == field
