"""Reads of the organisation, through the acting user's scope."""

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from caretrack.core.access import Permission, scoped
from caretrack.extensions import db
from caretrack.org.models import AcademicYear, College, SchoolClass, Term, Unit


def visible_units(user, q: str = "", kind: str = ""):
    """A select() of the units the user may view, filtered by a search text and a kind."""
    # The list shows each unit's parent: load them all at once, not one query per row.
    statement = scoped(select(Unit), user, Permission.ORG_VIEW).options(selectinload(Unit.parent)).order_by(Unit.code)
    if q:
        like = f"%{q.strip()}%"
        statement = statement.where(or_(Unit.code.like(like), Unit.name.like(like)))
    if kind:
        statement = statement.where(Unit.kind == kind)
    return statement


def school_structure(school: Unit) -> tuple[list[College], list[SchoolClass], dict[int | None, int]]:
    """The school's colleges, classes and the number of classes per college (three queries)."""
    colleges = db.session.scalars(select(College).where(College.school_id == school.id).order_by(College.name)).all()
    classes = db.session.scalars(
        select(SchoolClass).where(SchoolClass.school_id == school.id).order_by(SchoolClass.name)).all()
    counts = dict(db.session.execute(
        select(SchoolClass.college_id, func.count()).where(SchoolClass.school_id == school.id)
        .group_by(SchoolClass.college_id)).all())
    return colleges, classes, counts


def own_term_rows(unit: Unit) -> list[Term]:
    """The terms for which the unit has its own dates, newest first."""
    return db.session.scalars(
        select(Term).join(AcademicYear).where(Term.unit_id == unit.id)
        .order_by(AcademicYear.start_year.desc(), Term.number)).all()


def recent_years(limit: int = 3) -> list[AcademicYear]:
    return db.session.scalars(select(AcademicYear).order_by(AcademicYear.start_year.desc()).limit(limit)).all()


def unit_subtree_ids(root_ids: list[int]) -> frozenset[int]:
    """The given units and every unit reporting to them, at any depth (one recursive query).

    Registered with core.access (org/__init__.py), whose scopes and `unit_subtree_ids` use it.
    """
    tree = select(Unit.id).where(Unit.id.in_(root_ids)).cte("tree", recursive=True)
    tree = tree.union_all(select(Unit.id).join(tree, Unit.parent_id == tree.c.id))
    return frozenset(db.session.scalars(select(tree.c.id)))
