"""Reads of the screening for its pages: whose units, the cases to work on, who may own a case."""

from sqlalchemy import or_, select, union
from sqlalchemy.orm import joinedload

from caretrack.accounts.models import RoleAssignment, User
from caretrack.core.access import ROLE_PERMISSIONS, Permission, Role, ScopeType, scoped
from caretrack.extensions import db
from caretrack.org.models import AcademicYear, College, SchoolClass, Unit, UnitKind
from caretrack.screening.models import ScreeningCase

# The people of a school who work on its cases; inspectors and club leaders never do.
OWNER_ROLES = (Role.SCHOOL_OFFICER, Role.COUNSELOR, Role.CLASS_TEACHER)


def units_for(user) -> list[Unit]:
    """The schools and districts the user screens or oversees: their own units and those reporting to them."""
    granted = {a.scope_id for a in user.role_assignments if a.scope_type == ScopeType.UNIT
               and Permission.SCREENING_VIEW in ROLE_PERMISSIONS[Role(a.role)]}
    if not granted:
        return []
    statement = (scoped(select(Unit), user, Permission.SCREENING_VIEW)
                 .where(Unit.kind != UnitKind.CITY, or_(Unit.id.in_(granted), Unit.parent_id.in_(granted)))
                 .order_by(Unit.kind != UnitKind.DISTRICT, Unit.code))
    return list(db.session.scalars(statement))


def overseen_units(user) -> list[Unit]:
    """The city or districts on which the user holds a screening role: units others report their tables to."""
    granted = {a.scope_id for a in user.role_assignments if a.scope_type == ScopeType.UNIT
               and Permission.SCREENING_VIEW in ROLE_PERMISSIONS[Role(a.role)]}
    if not granted:
        return []
    return list(db.session.scalars(scoped(select(Unit), user, Permission.SCREENING_VIEW).where(
        Unit.id.in_(granted), Unit.kind.in_([UnitKind.CITY, UnitKind.DISTRICT])).order_by(Unit.kind, Unit.code)))


def cases_for_work(school_ids: list[int], year: AcademicYear, term: int) -> list[ScreeningCase]:
    """The cases of the schools for a term, in the order of the table's case list (one query)."""
    return list(db.session.scalars(
        select(ScreeningCase).where(ScreeningCase.school_id.in_(school_ids),
                                    ScreeningCase.academic_year_id == year.id, ScreeningCase.term == term)
        .options(joinedload(ScreeningCase.owner))
        .order_by(ScreeningCase.school_id, ScreeningCase.student_id, ScreeningCase.rule_id)))


def owners_by_school(school_ids: list[int]) -> dict[int, list[User]]:
    """Active officers, counselors and class teachers holding a role inside each school (one query)."""
    working = RoleAssignment.role.in_([role.value for role in OWNER_ROLES])
    placed = union(
        select(RoleAssignment.user_id, RoleAssignment.scope_id.label("school_id"))
        .where(working, RoleAssignment.scope_type == ScopeType.UNIT, RoleAssignment.scope_id.in_(school_ids)),
        select(RoleAssignment.user_id, College.school_id)
        .join(College, College.id == RoleAssignment.scope_id)
        .where(working, RoleAssignment.scope_type == ScopeType.COLLEGE, College.school_id.in_(school_ids)),
        select(RoleAssignment.user_id, SchoolClass.school_id)
        .join(SchoolClass, SchoolClass.id == RoleAssignment.scope_id)
        .where(working, RoleAssignment.scope_type == ScopeType.CLASS, SchoolClass.school_id.in_(school_ids)),
    ).subquery()
    rows = db.session.execute(select(User, placed.c.school_id).join(placed, placed.c.user_id == User.id)
                              .where(User.is_active_user.is_(True)).order_by(User.display_name, User.id))
    owners: dict[int, list[User]] = {}
    for user, school_id in rows:
        owners.setdefault(school_id, []).append(user)
    return owners


def officers_of(unit_ids: list[int]) -> dict[int, list[int]]:
    """The active aid officers (school or district) holding their role on each unit, as user ids (one query)."""
    if not unit_ids:
        return {}
    rows = db.session.execute(
        select(RoleAssignment.scope_id, User.id).join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.scope_type == ScopeType.UNIT, RoleAssignment.scope_id.in_(unit_ids),
               RoleAssignment.role.in_([Role.SCHOOL_OFFICER.value, Role.DISTRICT_OFFICER.value]),
               User.is_active_user.is_(True))
        .order_by(User.id))
    officers: dict[int, list[int]] = {}
    for unit_id, user_id in rows:
        officers.setdefault(unit_id, []).append(user_id)
    return officers


def officers_owing_tables() -> list[tuple[int, str]]:
    """(user id, unit name) of the aid officers whose unit reports a screening table to the city.

    Units reporting to the city: districts (附件2) and the schools that report to it directly (附件1).
    """
    city_ids = select(Unit.id).where(Unit.kind == UnitKind.CITY)
    rows = db.session.execute(
        select(User.id, Unit.name).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(Unit, (RoleAssignment.scope_type == ScopeType.UNIT) & (RoleAssignment.scope_id == Unit.id))
        .where(Unit.parent_id.in_(city_ids), User.is_active_user.is_(True),
               RoleAssignment.role.in_([Role.SCHOOL_OFFICER, Role.DISTRICT_OFFICER]))
        .order_by(User.id))
    return [(user_id, name) for user_id, name in rows]
