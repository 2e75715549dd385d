"""Who may see and do what: the one place that turns (user, roles, scopes) into permissions and query filters.

A user holds roles, each granted on a scope (a unit, a college, a class, a club, a caseload). A unit scope
covers the unit and every unit reporting to it. Two questions are asked of every request:
- may this user do this kind of thing at all? (`permission_required`, 403 when not);
- is this object inside the scope where the user may do it? (`scoped`, `get_or_404`, 404 when not), so
  that a page outside one's scope is indistinguishable from a page that does not exist.

Models that hold scoped data declare `__access_columns__`, a mapping from scope type to the column that
places a row in that scope, e.g. `{"unit": Student.school_id, "college": Student.college_id, ...}`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import wraps
from types import FunctionType

from flask import abort, g
from flask_login import current_user
from sqlalchemy import false, or_, select, true

from caretrack.core.choices import N_, LabelledEnum
from caretrack.core.requests import request_memo
from caretrack.extensions import db


class Role(LabelledEnum):
    CITY_ADMIN = "city_admin", N_("市级管理员")
    DISTRICT_OFFICER = "district_officer", N_("区资助中心")
    SCHOOL_OFFICER = "school_officer", N_("学校资助中心")
    COUNSELOR = "counselor", N_("辅导员/心理老师")
    CLASS_TEACHER = "class_teacher", N_("班主任")
    CLUB_LEADER = "club_leader", N_("自强社负责人")
    INSPECTOR = "inspector", N_("检查员")


class ScopeType(LabelledEnum):
    UNIT = "unit", N_("单位")
    COLLEGE = "college", N_("学院（系）")
    CLASS = "class", N_("班级")
    CLUB = "club", N_("自强社")
    CASELOAD = "caseload", N_("名单")


class Permission(StrEnum):
    ORG_VIEW = "org.view"
    ORG_MANAGE = "org.manage"
    USERS_MANAGE = "users.manage"
    AUDIT_VIEW = "audit.view"
    STUDENTS_VIEW = "students.view"
    STUDENTS_EDIT = "students.edit"
    STUDENTS_IMPORT = "students.import"
    STUDENTS_IDENTIFY = "students.identify"
    ID_REVEAL = "students.reveal_id"
    CASELOADS_MANAGE = "caseloads.manage"
    LEDGER_VIEW = "ledger.view"
    DISBURSE = "ledger.disburse"
    CATALOG_MANAGE = "ledger.catalog"
    CARE_RECORD = "ledger.care"
    CARE_RESTRICTED = "ledger.care_restricted"
    CARE_MANAGE = "ledger.care_manage"  # edit or remove care records others wrote
    LEDGER_RESTORE = "ledger.restore"
    WEBHOOKS_MANAGE = "notify.webhooks"
    SCREENING_VIEW = "screening.view"
    SCREENING_RUN = "screening.run"
    CLUBS_VIEW = "clubs.view"
    CLUBS_MANAGE = "clubs.manage"
    CLUBS_PROPOSE = "clubs.propose"
    ACTIVITIES_VIEW = "activities.view"
    ACTIVITIES_MANAGE = "activities.manage"
    COVERAGE_VIEW = "activities.coverage"
    COVERAGE_INVITE = "activities.invite"
    EXEMPLARS_NOMINATE = "activities.nominate"
    EXEMPLARS_APPROVE = "activities.approve"
    SUMMARIES_VIEW = "summaries.view"
    NARRATIVE_WRITE = "summaries.narrative"
    ARCHIVE_VIEW = "archive.view"
    ARCHIVE_CLOSE = "archive.close"
    DUTIES_VIEW = "duties.view"
    DUTIES_RECORD = "duties.record"
    VISITS_MANAGE = "duties.visits"


# Officers run the aid work of their unit; they alone see full ID numbers, because payments need them.
_OFFICER = {
    Permission.ORG_VIEW, Permission.ORG_MANAGE, Permission.USERS_MANAGE, Permission.AUDIT_VIEW,
    Permission.STUDENTS_VIEW, Permission.STUDENTS_EDIT, Permission.STUDENTS_IMPORT, Permission.STUDENTS_IDENTIFY,
    Permission.ID_REVEAL, Permission.CASELOADS_MANAGE, Permission.LEDGER_VIEW, Permission.DISBURSE,
    Permission.WEBHOOKS_MANAGE, Permission.SCREENING_VIEW, Permission.SCREENING_RUN, Permission.CLUBS_VIEW,
    Permission.CLUBS_MANAGE, Permission.ACTIVITIES_VIEW, Permission.ACTIVITIES_MANAGE, Permission.COVERAGE_VIEW,
    Permission.COVERAGE_INVITE, Permission.EXEMPLARS_NOMINATE, Permission.EXEMPLARS_APPROVE,
    Permission.SUMMARIES_VIEW, Permission.ARCHIVE_VIEW, Permission.DUTIES_VIEW, Permission.DUTIES_RECORD,
}
# The term's narrative is written by those who know the student: the class teacher and the counselor.
_SUMMARY_WRITERS = {Permission.SUMMARIES_VIEW, Permission.NARRATIVE_WRITE}
# Confidential care (psychological care by default) stays inside the school: its counselors and aid officer, who
# also answer for the care records others wrote (anyone else changes only their own).
_SCHOOL_CARE = {Permission.CARE_RECORD, Permission.CARE_RESTRICTED, Permission.CARE_MANAGE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CITY_ADMIN: frozenset(_OFFICER | {Permission.CATALOG_MANAGE, Permission.ARCHIVE_CLOSE,
                                                Permission.VISITS_MANAGE}),
    Role.DISTRICT_OFFICER: frozenset(_OFFICER),
    Role.SCHOOL_OFFICER: frozenset(_OFFICER | _SCHOOL_CARE | {Permission.LEDGER_RESTORE}),
    Role.COUNSELOR: frozenset({Permission.STUDENTS_VIEW, Permission.LEDGER_VIEW, Permission.ACTIVITIES_VIEW,
                               Permission.ACTIVITIES_MANAGE, Permission.COVERAGE_VIEW, Permission.EXEMPLARS_NOMINATE}
                              | _SCHOOL_CARE | _SUMMARY_WRITERS),
    Role.CLASS_TEACHER: frozenset({Permission.STUDENTS_VIEW, Permission.LEDGER_VIEW, Permission.CARE_RECORD}
                                  | _SUMMARY_WRITERS),
    # A club leader sees members' names and attendance through the club, never the student files; they record
    # the club's activities and propose members, whom the school aid officer approves.
    Role.CLUB_LEADER: frozenset({Permission.CLUBS_VIEW, Permission.CLUBS_PROPOSE, Permission.ACTIVITIES_VIEW,
                                 Permission.ACTIVITIES_MANAGE}),
    Role.INSPECTOR: frozenset({Permission.ORG_VIEW, Permission.STUDENTS_VIEW, Permission.LEDGER_VIEW,
                               Permission.SCREENING_VIEW, Permission.ACTIVITIES_VIEW, Permission.COVERAGE_VIEW,
                               Permission.SUMMARIES_VIEW, Permission.ARCHIVE_VIEW, Permission.DUTIES_VIEW}),
}

# The scope types each role may be granted on, and for unit scopes the kinds of unit.
ROLE_SCOPES: dict[Role, frozenset[ScopeType]] = {
    Role.CITY_ADMIN: frozenset({ScopeType.UNIT}),
    Role.DISTRICT_OFFICER: frozenset({ScopeType.UNIT}),
    Role.SCHOOL_OFFICER: frozenset({ScopeType.UNIT}),
    Role.COUNSELOR: frozenset({ScopeType.UNIT, ScopeType.COLLEGE, ScopeType.CLASS, ScopeType.CASELOAD}),
    Role.CLASS_TEACHER: frozenset({ScopeType.CLASS}),
    Role.CLUB_LEADER: frozenset({ScopeType.CLUB}),
    Role.INSPECTOR: frozenset({ScopeType.UNIT}),
}
ROLE_UNIT_LEVEL: dict[Role, str] = {
    Role.CITY_ADMIN: "city",
    Role.DISTRICT_OFFICER: "district",
    Role.SCHOOL_OFFICER: "school",
    Role.COUNSELOR: "school",
    Role.INSPECTOR: "any",
}

# Who may grant which roles (always inside the grantor's own scope).
GRANTABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.CITY_ADMIN: frozenset(Role),
    Role.DISTRICT_OFFICER: frozenset(set(Role) - {Role.CITY_ADMIN}),
    Role.SCHOOL_OFFICER: frozenset(
        {Role.SCHOOL_OFFICER, Role.COUNSELOR, Role.CLASS_TEACHER, Role.CLUB_LEADER, Role.INSPECTOR}
    ),
}


# The model behind each scope type, registered by the domain that owns it (org: units, colleges, classes;
# students: caseloads). Every one but the unit has a `school_id`.
SCOPE_MODELS: dict[ScopeType, type] = {}


def register_scope_model(scope_type: ScopeType, model: type) -> None:
    SCOPE_MODELS[scope_type] = model


@dataclass(frozen=True)
class Scope:
    """The rows a user may reach for one permission; `everything` for the city admin."""

    everything: bool = False
    unit_ids: frozenset[int] = field(default_factory=frozenset)
    college_ids: frozenset[int] = field(default_factory=frozenset)
    class_ids: frozenset[int] = field(default_factory=frozenset)
    club_ids: frozenset[int] = field(default_factory=frozenset)
    caseload_ids: frozenset[int] = field(default_factory=frozenset)

    def ids_for(self, scope_type: str) -> frozenset[int]:
        return {
            ScopeType.UNIT: self.unit_ids, ScopeType.COLLEGE: self.college_ids, ScopeType.CLASS: self.class_ids,
            ScopeType.CLUB: self.club_ids, ScopeType.CASELOAD: self.caseload_ids,
        }[ScopeType(scope_type)]


def _no_unit_tree(_root_ids) -> frozenset[int]:
    raise RuntimeError("no unit tree registered: caretrack.org registers it (register_unit_tree)")


_unit_tree: Callable[[list[int]], frozenset[int]] = _no_unit_tree


def register_unit_tree(subtree_ids: Callable[[list[int]], frozenset[int]]) -> None:
    """org, which owns the units, tells access how to find the units under some units (core names no domain)."""
    global _unit_tree
    _unit_tree = subtree_ids


def unit_subtree_ids(root_ids) -> frozenset[int]:
    """The given units and every unit reporting to them, at any depth (org's query, see register_unit_tree)."""
    root_ids = list(root_ids)
    return _unit_tree(root_ids) if root_ids else frozenset()


def _unproxied(user):
    """The user behind Flask-Login's `current_user` proxy: a page asks a dozen questions of the same user, and
    each attribute read through the proxy looks the user up again.
    """
    get = getattr(user, "_get_current_object", None)
    return get() if get is not None else user


def _assignments(user):
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return user.role_assignments


def roles_of(user) -> set[Role]:
    """Every role the user holds, on any scope."""
    user = _unproxied(user)
    return {Role(a.role) for a in _assignments(user)}


def has_permission(user, permission: Permission) -> bool:
    """Whether any of the user's roles carries the permission, on any scope."""
    user = _unproxied(user)
    return any(permission in ROLE_PERMISSIONS[role] for role in roles_of(user))


def scope_for(user, permission: Permission) -> Scope:
    """The union of the scopes on which the user holds a role carrying `permission` (cached per request)."""
    user = _unproxied(user)
    cache = g.setdefault("_access_scopes", {})
    grants = tuple((a.role, a.scope_type, a.scope_id) for a in _assignments(user))
    key = (getattr(user, "id", None), grants, permission)
    if key not in cache:
        cache[key] = _compute_scope(user, permission)
    return cache[key]


def _compute_scope(user, permission: Permission) -> Scope:
    granted: dict[ScopeType, set[int]] = {scope_type: set() for scope_type in ScopeType}
    for assignment in _assignments(user):
        role = Role(assignment.role)
        if permission not in ROLE_PERMISSIONS[role]:
            continue
        if role is Role.CITY_ADMIN:
            return Scope(everything=True)
        granted[ScopeType(assignment.scope_type)].add(assignment.scope_id)
    return Scope(
        unit_ids=_request_subtree(frozenset(granted[ScopeType.UNIT])),
        college_ids=frozenset(granted[ScopeType.COLLEGE]),
        class_ids=frozenset(granted[ScopeType.CLASS]),
        club_ids=frozenset(granted[ScopeType.CLUB]),
        caseload_ids=frozenset(granted[ScopeType.CASELOAD]),
    )


def remember_unit_subtrees(subtrees: dict[int, frozenset[int]]) -> None:
    """Each root unit's subtree (the unit and every unit under it), as the query that loaded the request's user
    read them (accounts.sessions): scopes on those roots need no query of their own in this transaction.
    """
    request_memo("access_unit_roots").update(subtrees)


def _request_subtree(root_ids: frozenset[int]) -> frozenset[int]:
    """unit_subtree_ids, asked once per request for the same roots (every permission shares the user's units),
    and not at all for roots whose subtrees came with the user.
    """
    cache = request_memo("access_subtrees")
    if root_ids not in cache:
        known = request_memo("access_unit_roots")
        if root_ids <= known.keys():
            cache[root_ids] = frozenset().union(*(known[root_id] for root_id in root_ids))
        else:
            cache[root_ids] = unit_subtree_ids(root_ids)
    return cache[root_ids]


def _in_scope_in_memory(obj, scope: Scope) -> bool | None:
    """Whether the loaded row lies inside `scope`, read from its own columns; None when only a query can tell
    (a scope placed through a function, such as caseload membership, and no column matched).
    """
    if scope.everything:
        return True
    undecided = False
    for scope_type, column in type(obj).__access_columns__.items():
        ids = scope.ids_for(scope_type)
        if not ids:
            continue
        if isinstance(column, FunctionType):
            undecided = True
        elif getattr(obj, column.key) in ids:
            return True
    return None if undecided else False


def scope_filter(model, scope: Scope):
    """A WHERE clause keeping the rows of `model` inside `scope`."""
    if scope.everything:
        return true()
    clauses = []
    for scope_type, column in model.__access_columns__.items():
        ids = scope.ids_for(scope_type)
        if ids:
            # A column places the row directly; a function builds the clause (e.g. membership of a caseload).
            clauses.append(column(ids) if isinstance(column, FunctionType) else column.in_(ids))
    return or_(*clauses) if clauses else false()


def scoped(query, user, permission: Permission, model=None):
    """Restrict a select() to the rows the user may reach with `permission`."""
    model = model or query.column_descriptions[0]["entity"]
    return query.where(scope_filter(model, scope_for(user, permission)))


def get_or_404(model, object_id, user, permission: Permission, then: Permission | None = None):
    """Load one row through the user's scope; 404 when it does not exist or lies outside the scope.

    With `then`, the row is also one to act on: 403 unless the user holds `then` on a scope that contains it
    (out of scope is 404, in scope without the role is 403).
    """
    row = db.session.scalar(scoped(select(model).where(model.id == object_id), user, permission, model))
    if row is None:
        abort(404)
    return row if then is None else require(user, then, row)


def require(user, permission: Permission, obj=None):
    """`obj` when the user holds `permission` on a scope that contains it (without `obj`: anywhere); else 403.

    For a row already found within the user's scope (get_or_404, students.queries.get_student): seeing it is
    not yet acting on it.
    """
    if not can(user, permission, obj):
        abort(403)
    return obj


def can(user, permission: Permission, obj=None) -> bool:
    """Whether the user holds `permission`, and, when `obj` is given, on a scope that contains it."""
    user = _unproxied(user)
    if not has_permission(user, permission):
        return False
    if obj is None:
        return True
    model = type(obj)
    # Pages ask the same question in loops; answer it once per request.
    cache = g.setdefault("_access_can", {})
    key = (getattr(user, "id", None), permission, model.__name__, obj.id)
    answer = _in_scope_in_memory(obj, scope_for(user, permission))
    if answer is not None:
        return answer
    if key not in cache:
        query = select(model.id).where(model.id == obj.id)
        cache[key] = db.session.scalar(scoped(query, user, permission, model)) is not None
    return cache[key]


def prime_can(user, permission: Permission, objs) -> None:
    """Answer `can` for many rows of one model in one query, so that a page asking it row by row runs none."""
    objs = [obj for obj in objs if obj is not None]
    if not objs or not has_permission(user, permission):
        return
    model = type(objs[0])
    cache = g.setdefault("_access_can", {})
    ids = {obj.id for obj in objs}
    allowed = set(db.session.scalars(scoped(select(model.id).where(model.id.in_(ids)), user, permission, model)))
    for object_id in ids:
        cache[(getattr(user, "id", None), permission, model.__name__, object_id)] = object_id in allowed


def permission_required(permission: Permission):
    """View decorator: 403 unless the logged-in user holds a role carrying `permission` somewhere."""

    def decorator(view):
        view.required_permission = permission

        @wraps(view)
        def wrapped(*args, **kwargs):
            if not has_permission(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
