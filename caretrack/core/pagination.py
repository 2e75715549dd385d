"""Pagination of select() statements, shared by every list page."""

from dataclasses import dataclass
from math import ceil

from flask import current_app, request
from sqlalchemy import func, select

from caretrack.core.urls import parse_id
from caretrack.extensions import db


@dataclass
class Page:
    """One page of rows, with what the pagination macro needs."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def window(self, around: int = 2) -> list[int]:
        """Page numbers near the current one, for the links."""
        return list(range(max(1, self.page - around), min(self.pages, self.page + around) + 1))


def requested_page() -> int:
    return parse_id(request.args.get("page")) or 1


def paginate(statement, page: int | None = None, per_page: int | None = None, scalars: bool = True) -> Page:
    """Run one count query and one page query, whatever the number of rows."""
    page = page or requested_page()
    per_page = per_page or current_app.config["PER_PAGE"]
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page))
    items = list(rows.scalars() if scalars else rows)
    return Page(items=items, page=page, per_page=per_page, total=total)


def page_of(items: list, page: int | None = None, per_page: int | None = None) -> Page:
    """One page of a list already in memory (a computed table's case list), like paginate() for a statement."""
    page = page or requested_page()
    per_page = per_page or current_app.config["PER_PAGE"]
    start = (page - 1) * per_page
    return Page(items=items[start:start + per_page], page=page, per_page=per_page, total=len(items))
