"""Accounts: authentication with throttling, passwords, users and role grants.

Services take the acting user as an argument, flush and never commit; the view owns the transaction.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import lazyload

from caretrack.accounts import queries
from caretrack.accounts.models import LoginAttempt, RoleAssignment, User, check_nobodys_password
from caretrack.audit.services import AuditAction, record
from caretrack.core.access import (
    GRANTABLE_ROLES,
    ROLE_SCOPES,
    ROLE_UNIT_LEVEL,
    SCOPE_MODELS,
    Permission,
    Role,
    ScopeType,
    scope_for,
)
from caretrack.core.errors import DomainError, Forbidden
from caretrack.core.timeutil import utcnow
from caretrack.core.urls import parse_id
from caretrack.extensions import db
from caretrack.org.models import Unit, UnitKind

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class ThrottlePolicy:
    """How an account's failed logins slow down its next tries.

    A hard lock after n failures lets anyone who knows a username lock its owner out, so there is none: after
    `free_failures` failures within `window` each further try must wait, 2 s doubling per failure up to
    `max_delay`. That leaves a guesser about one try a minute per account, while the real owner waits at most
    `max_delay`; and failures from other addresses do not slow the owner at an address they recently logged in
    from (see login_wait).
    """

    free_failures: int
    window: timedelta
    max_delay: timedelta

    def delay_after(self, failures: int) -> timedelta:
        """The wait after the last of `failures` recent failures."""
        if failures < self.free_failures:
            return timedelta(0)
        exponent = min(failures - self.free_failures + 1, 30)
        return min(timedelta(seconds=2 ** exponent), self.max_delay)


class LoginRefused(DomainError):
    """Login did not succeed; the message says why without telling which part was wrong."""


class LoginThrottled(LoginRefused):
    """The account must wait before another try; `retry_after` says how long."""

    def __init__(self, retry_after: timedelta):
        self.retry_after = retry_after
        seconds = max(1, int(retry_after.total_seconds() + 0.999))
        super().__init__(_("登录失败次数过多，请 %(seconds)d 秒后再试。", seconds=seconds))


def home_unit_id(user: User | None) -> int | None:
    """The unit a user's first grant sits in, so their logins show in that unit's audit log."""
    for assignment in user.role_assignments if user else ():
        scope_type = ScopeType(assignment.scope_type)
        if scope_type is ScopeType.UNIT:
            return assignment.scope_id
        model = SCOPE_MODELS.get(scope_type)
        if model is not None:
            return db.session.scalar(select(model.school_id).where(model.id == assignment.scope_id))
    return None


def _last_successes(username: str, address: str) -> tuple[datetime | None, datetime | None]:
    """When the account last logged in at all, and from this address, within the attempts kept."""
    success = (LoginAttempt.username == username) & LoginAttempt.succeeded.is_(True)
    row = db.session.execute(select(
        func.max(LoginAttempt.attempted_at),
        func.max(case((LoginAttempt.address == address, LoginAttempt.attempted_at))),
    ).where(success)).one()
    return row[0], row[1]


def home_unit(user: User | None) -> Unit | None:
    """The unit of the user's first grant, whose term dates set the user's default year and term."""
    unit_id = home_unit_id(user)
    # Only the unit's own row is wanted, for its term dates: not the stages its relationship loads by default.
    return db.session.get(Unit, unit_id, options=[lazyload(Unit.stage_rows)]) if unit_id else None


def login_wait(username: str, address: str, policy: ThrottlePolicy, now: datetime) -> timedelta:
    """How long the account must wait before a try from this address; zero when it may try now.

    Failures count within the window and since the last successful login. At an address the owner logged in
    from before, only that address's failures count, so a guesser elsewhere cannot make the owner wait.
    """
    last_success, last_success_here = _last_successes(username, address)
    since = max(filter(None, (now - policy.window, last_success)))
    failures = select(func.count(LoginAttempt.id), func.max(LoginAttempt.attempted_at)).where(
        LoginAttempt.username == username, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= since)
    if last_success_here is not None:
        failures = failures.where(LoginAttempt.address == address)
    count, last_failure = db.session.execute(failures).one()
    if not count:
        return timedelta(0)
    return max(timedelta(0), last_failure + policy.delay_after(count) - now)


def authenticate(username: str, password: str, address: str, policy: ThrottlePolicy) -> User:
    """Return the user for these credentials, recording the attempt; raise LoginRefused otherwise."""
    username = username.strip()
    now = utcnow()
    wait = login_wait(username, address, policy, now)
    if wait:
        # Refused unchecked and unrecorded as a failure, so hammering a throttled account does not prolong it.
        record(AuditAction.LOCKED_OUT, username=username, address=address)
        raise LoginThrottled(wait)
    user = db.session.scalar(select(User).where(User.username == username))
    # Every path hashes once: an unknown or inactive username must answer as slowly as a wrong password.
    password_ok = user.check_password(password) if user is not None else check_nobodys_password(password)
    succeeded = password_ok and user.is_active_user
    db.session.add(LoginAttempt(username=username, address=address, attempted_at=now, succeeded=succeeded))
    if not succeeded:
        record(AuditAction.LOGIN_FAILED, actor=user, username=username, address=address,
               unit_id=home_unit_id(user))
        raise LoginRefused(_("用户名或密码错误。"))
    user.last_login_at = now
    record(AuditAction.LOGIN, actor=user, address=address, obj=user, unit_id=home_unit_id(user))
    return user


def check_new_password(user: User, new_password: str) -> None:
    """Refuse passwords that are short, all one kind of character, or the username."""
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise DomainError(_("新密码至少需要 %(n)d 个字符。", n=MIN_PASSWORD_LENGTH), field="new_password")
    if new_password.isdigit() or new_password.isalpha():
        raise DomainError(_("新密码需同时包含字母和数字或符号。"), field="new_password")
    if new_password.lower() == user.username.lower():
        raise DomainError(_("新密码不能与用户名相同。"), field="new_password")


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the user's own password after checking the current one."""
    if not user.check_password(current_password):
        raise DomainError(_("当前密码不正确。"), field="current_password")
    if current_password == new_password:
        raise DomainError(_("新密码不能与当前密码相同。"), field="new_password")
    check_new_password(user, new_password)
    user.set_password(new_password)
    user.must_change_password = False
    record(AuditAction.PASSWORD_CHANGED, actor=user, obj=user)


def generate_initial_password() -> str:
    """A readable random initial password that the user must change at first login."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8)) + secrets.choice("23456789") + "#"


def create_user(actor: User | None, *, username: str, display_name: str, mobile: str | None = None,
                email: str | None = None, password: str | None = None) -> tuple[User, str]:
    """Create a user with an initial password to be changed at first login; return it with the password."""
    username = username.strip()
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise DomainError(_("用户名“%(name)s”已被使用。", name=username), field="username")
    password = password or generate_initial_password()
    user = User(username=username, display_name=display_name.strip(), mobile=mobile or None,
                email=email or None, must_change_password=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record(AuditAction.USER_CREATED, actor=actor, obj=user, fields=["username", "display_name", "mobile", "email"])
    return user, password


def check_may_manage(actor: User, user: User) -> None:
    """An administrator acts on a user only if they could have granted every role the user holds."""
    for assignment in user.role_assignments:
        scope_type = ScopeType(assignment.scope_type)
        target = _scope_target(scope_type, assignment.scope_id)
        _check_may_grant(actor, Role(assignment.role), scope_unit_id(scope_type, target))


def reset_password(actor: User, user: User) -> str:
    """Give the user a new initial password (ending their sessions); return it to show the admin once."""
    check_may_manage(actor, user)
    password = generate_initial_password()
    user.set_password(password)
    user.must_change_password = True
    record(AuditAction.PASSWORD_RESET, actor=actor, obj=user)
    return password


def update_user(actor: User, user: User, **changes) -> None:
    """Change a user's profile fields and audit which ones changed."""
    check_may_manage(actor, user)
    changed = [name for name, value in changes.items() if getattr(user, name) != (value or None)]
    for name in changed:
        setattr(user, name, changes[name] or None)
    if changed:
        record(AuditAction.USER_UPDATED, actor=actor, obj=user, fields=changed)


def set_active(actor: User, user: User, active: bool) -> None:
    """Deactivate (ending the user's access at their next request) or reactivate a user."""
    if actor is not None and actor.id == user.id and not active:
        raise DomainError(_("不能停用自己的账号。"))
    check_may_manage(actor, user)
    if user.is_active_user == active:
        return
    user.is_active_user = active
    user.session_token = user.session_token if active else secrets.token_urlsafe(24)
    record(AuditAction.USER_REACTIVATED if active else AuditAction.USER_DEACTIVATED, actor=actor, obj=user)


def resolve_scope(scope_type: ScopeType, code_or_id: str | int):
    """The unit, college, class or caseload a grant names: units by code, the others by id."""
    if scope_type is ScopeType.UNIT:
        unit = db.session.scalar(select(Unit).where(Unit.code == str(code_or_id).strip()))
        if unit is None:
            raise DomainError(_("单位代码“%(code)s”不存在。", code=code_or_id), field="scope")
        return unit
    model = SCOPE_MODELS.get(scope_type)
    target = db.session.get(model, parse_id(code_or_id)) if model and parse_id(code_or_id) else None
    if target is None:
        raise DomainError(_("所选范围不存在。"), field="scope")
    return target


def resolve_grant_scope(actor: User, scope_type: ScopeType, unit_id, scope_id):
    """The unit, or the college, class, club or caseload of that unit, a grant picked from the lists names.

    The ids come from a form and are checked again here: a unit outside the actor's scope, or an object that is
    not the chosen unit's, is a form error and nothing is written.
    """
    unit = queries.grant_unit(actor, unit_id)
    if unit is None:
        raise DomainError(_("请从列表中选择您管理范围内的单位。"), field="unit")
    if scope_type is ScopeType.UNIT:
        return unit
    target_id = parse_id(scope_id)
    target = db.session.get(SCOPE_MODELS[scope_type], target_id) if target_id is not None else None
    if target is None or target.school_id != unit.id:
        raise DomainError(_("请从列表中选择该单位的%(kind)s。", kind=scope_type.label), field="scope_id")
    return target


def _scope_target(scope_type: ScopeType, scope_id: int):
    return db.session.get(SCOPE_MODELS[scope_type], scope_id)


def scope_unit_id(scope_type: ScopeType, target) -> int:
    """The unit a scope object belongs to (the school for colleges, classes and caseloads)."""
    return target.id if scope_type is ScopeType.UNIT else target.school_id


def _check_role_fits_scope(role: Role, scope_type: ScopeType, target) -> None:
    if scope_type not in ROLE_SCOPES[role]:
        raise DomainError(_("角色“%(role)s”不能授予在“%(scope)s”上。", role=role.label, scope=scope_type.label),
                          field="scope")
    if scope_type is not ScopeType.UNIT:
        return
    level = ROLE_UNIT_LEVEL[role]
    kind = UnitKind(target.kind)
    fits = (level == "any" or (level == "city" and kind is UnitKind.CITY)
            or (level == "district" and kind is UnitKind.DISTRICT) or (level == "school" and kind.is_school))
    if not fits:
        raise DomainError(_("角色“%(role)s”不能授予在%(kind)s级单位上。", role=role.label, kind=kind.label),
                          field="scope")


def grantable_roles(actor: User | None) -> frozenset[Role]:
    """The roles an administrator may grant (inside their own scope)."""
    if actor is None:
        return frozenset(Role)
    roles: set[Role] = set()
    for assignment in actor.role_assignments:
        roles |= GRANTABLE_ROLES.get(Role(assignment.role), frozenset())
    return frozenset(roles)


def _check_may_grant(actor: User | None, role: Role, unit_id: int) -> None:
    """The actor must hold a role that may grant `role`, on a scope containing the unit."""
    if actor is None:  # the CLI, run by whoever administers the server
        return
    if role not in grantable_roles(actor):
        raise Forbidden(_("您无权授予该角色。"))
    scope = scope_for(actor, Permission.USERS_MANAGE)
    if not (scope.everything or unit_id in scope.unit_ids):
        raise Forbidden(_("您无权在该单位授予角色。"))


def grant_role(actor: User | None, user: User, role: Role, scope_type: ScopeType, target) -> RoleAssignment:
    """Grant `role` on a scope; refuse what the actor may not grant or what does not fit the role."""
    _check_role_fits_scope(role, scope_type, target)
    _check_may_grant(actor, role, scope_unit_id(scope_type, target))
    existing = next((a for a in user.role_assignments
                     if (a.role, a.scope_type, a.scope_id) == (role, scope_type, target.id)), None)
    if existing:
        raise DomainError(_("该用户已拥有此角色。"), field="role")
    assignment = RoleAssignment(role=role, scope_type=scope_type, scope_id=target.id,
                                granted_by_id=getattr(actor, "id", None))
    user.role_assignments.append(assignment)
    db.session.flush()
    record(AuditAction.ROLE_GRANTED, actor=actor, obj=user, unit_id=scope_unit_id(scope_type, target),
           detail=f"{role}@{scope_type}:{target.id}")
    return assignment


def revoke_role(actor: User, assignment: RoleAssignment) -> None:
    """Take a role grant back; never one's own, so an administrator cannot lock the city out by a slip."""
    if actor is not None and assignment.user_id == actor.id:
        raise DomainError(_("不能撤销自己的角色，请由另一位管理员操作。"))
    scope_type = ScopeType(assignment.scope_type)
    unit_id = scope_unit_id(scope_type, _scope_target(scope_type, assignment.scope_id))
    _check_may_grant(actor, Role(assignment.role), unit_id)
    user = assignment.user
    user.role_assignments.remove(assignment)
    record(AuditAction.ROLE_REVOKED, actor=actor, obj=user, unit_id=unit_id,
           detail=f"{assignment.role}@{assignment.scope_type}:{assignment.scope_id}")
