"""Who the user is on the home page: their units, classes and students (the cards beside the sections)."""

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from caretrack.core import totals
from caretrack.core.access import ScopeType
from caretrack.extensions import db
from caretrack.org.models import SchoolClass, Unit

HOME_LIST_LIMIT = 20


def my_units(user) -> list[Unit]:
    """The units the user's roles are granted on, and the units reporting to them, first few."""
    granted = [a.scope_id for a in user.role_assignments if a.scope_type == ScopeType.UNIT]
    if not granted:
        return []
    return db.session.scalars(
        select(Unit).where(or_(Unit.id.in_(granted), Unit.parent_id.in_(granted)))
        .order_by(Unit.parent_id.is_not(None), Unit.code).limit(HOME_LIST_LIMIT)).all()


def my_classes(user) -> list[SchoolClass]:
    """The classes the user is granted on directly (class teachers, counselors)."""
    class_ids = [a.scope_id for a in user.role_assignments if a.scope_type == ScopeType.CLASS]
    if not class_ids:
        return []
    return db.session.scalars(select(SchoolClass).where(SchoolClass.id.in_(class_ids))
                              .order_by(SchoolClass.name)).all()


@dataclass
class StudentSummary:
    """How many students the user works with, how many identified this year, and the first few of them."""

    total: int
    identified: int
    year_label: str
    first: list


def my_students(user, limit: int = 10) -> StudentSummary | None:
    """The students the user may see, counted in two queries; None for roles that see no student files."""
    from caretrack.accounts.services import home_unit
    from caretrack.core.access import Permission, has_permission
    from caretrack.core.timeutil import local_today
    from caretrack.org.services import current_year
    from caretrack.students import queries

    if not has_permission(user, Permission.STUDENTS_VIEW):
        return None
    year = current_year(home_unit(user), local_today())
    everyone = queries.student_query(user, queries.StudentFilters(year=year))
    identified = queries.student_query(user, queries.StudentFilters(year=year, identified="yes"))
    first = db.session.scalars(queries.with_places(everyone).limit(limit)).unique().all()
    total, identified_total = totals.remembered(user, "student_totals", lambda: (_count(everyone), _count(identified)),
                                                year.id if year else None)
    return StudentSummary(total, identified_total, year.label if year else "", first)


def _count(statement) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
