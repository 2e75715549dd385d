"""What the home page lists for a user."""

from sqlalchemy import or_, select

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
