"""Reads for user administration, always through the acting user's scope."""

from typing import NamedTuple

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import joinedload

from caretrack.accounts.models import RoleAssignment, User
from caretrack.core.access import SCOPE_MODELS, Permission, ScopeType, scope_for
from caretrack.core.urls import parse_id
from caretrack.extensions import db
from caretrack.org.models import College, SchoolClass, Unit


class ScopeOption(NamedTuple):
    """A college, class, club or caseload offered for a grant; classes are grouped by their college."""

    id: int
    label: str
    group: str = ""



def grant_units(actor):
    """The active units an administrator may grant roles in, by code."""
    scope = scope_for(actor, Permission.USERS_MANAGE)
    statement = select(Unit).where(Unit.is_active.is_(True)).options(joinedload(Unit.parent)).order_by(Unit.code)
    if not scope.everything:
        statement = statement.where(Unit.id.in_(scope.unit_ids))
    return db.session.scalars(statement).all()


def grant_unit(actor, raw_unit_id) -> Unit | None:
    """The unit with this id, if the administrator may grant roles in it."""
    unit_id = parse_id(raw_unit_id)
    if unit_id is None:
        return None
    scope = scope_for(actor, Permission.USERS_MANAGE)
    if not (scope.everything or unit_id in scope.unit_ids):
        return None
    unit = db.session.get(Unit, unit_id)
    return unit if unit is not None and unit.is_active else None


def scope_options(unit: Unit | None, scope_type: str) -> list[ScopeOption]:
    """The colleges, classes, clubs or caseloads of a unit that a grant may name (none for a unit grant)."""
    if unit is None or scope_type not in {t.value for t in SCOPE_MODELS} or scope_type == ScopeType.UNIT:
        return []
    if scope_type == ScopeType.CLASS:
        rows = db.session.execute(
            select(SchoolClass.id, SchoolClass.name, College.name).outerjoin(College)
            .where(SchoolClass.school_id == unit.id).order_by(College.name.nulls_first(), SchoolClass.name))
        return [ScopeOption(class_id, name, college or "") for class_id, name, college in rows]
    model = SCOPE_MODELS[ScopeType(scope_type)]
    rows = db.session.execute(select(model.id, model.name).where(model.school_id == unit.id).order_by(model.name))
    return [ScopeOption(row_id, name) for row_id, name in rows]


def _assignment_in_scope(scope):
    """Role grants placed inside the scope's units (colleges, classes and caseloads by their school)."""
    unit_ids = scope.unit_ids
    clauses = [(RoleAssignment.scope_type == ScopeType.UNIT) & RoleAssignment.scope_id.in_(unit_ids)]
    for scope_type, model in SCOPE_MODELS.items():
        if scope_type is not ScopeType.UNIT:
            clauses.append((RoleAssignment.scope_type == scope_type) & RoleAssignment.scope_id.in_(
                select(model.id).where(model.school_id.in_(unit_ids))))
    return or_(*clauses)


def manageable_users(actor, q: str = "", role: str = ""):
    """A select() of the users an administrator may manage: those holding a role inside their scope.

    Users created without any role yet are visible to the city admin only.
    """
    scope = scope_for(actor, Permission.USERS_MANAGE)
    statement = select(User).order_by(User.username)
    if not scope.everything:
        statement = statement.where(exists().where(RoleAssignment.user_id == User.id, _assignment_in_scope(scope)))
    if q:
        like = f"%{q.strip()}%"
        statement = statement.where(or_(User.username.ilike(like), User.display_name.ilike(like)))
    if role:
        statement = statement.where(exists().where(RoleAssignment.user_id == User.id, RoleAssignment.role == role))
    return statement


def get_manageable_user(actor, user_id: int) -> User | None:
    """The user, if the actor may manage them."""
    return db.session.scalar(manageable_users(actor).where(User.id == user_id))


def describe_scopes(assignments) -> dict[int, str]:
    """A readable name for each grant's scope: one query per scope type, whatever the number of grants."""
    wanted: dict[str, set[int]] = {}
    for a in assignments:
        wanted.setdefault(a.scope_type, set()).add(a.scope_id)
    names: dict[tuple[str, int], str] = {}
    for scope_type, model in SCOPE_MODELS.items():
        ids = wanted.get(scope_type)
        if not ids:
            continue
        statement = select(model).where(model.id.in_(ids))
        if scope_type != ScopeType.UNIT:
            # Name the school too: "初一(1)班" alone is ambiguous across a district.
            statement = statement.options(joinedload(model.school))
        for row in db.session.scalars(statement):
            names[(scope_type, row.id)] = (row.name_with_code if scope_type == ScopeType.UNIT
                                           else f"{row.school.name} · {row.name}")
    return {a.id: names.get((a.scope_type, a.scope_id), f"#{a.scope_id}") for a in assignments}


def user_by_calendar_token(token: str) -> User | None:
    """The active user whose calendar feed this secret token opens (notify/calendar.py asks)."""
    user = db.session.scalar(select(User).where(User.calendar_token == token))
    return user if user is not None and user.is_active_user else None
