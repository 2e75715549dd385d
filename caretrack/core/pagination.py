"""Pagination of select() statements, shared by every list page."""

from dataclasses import dataclass
from math import ceil

from flask import current_app, request
from sqlalchemy import func, select

from caretrack.core.urls import parse_id
from caretrack.extensions import db


@dataclass
class Page:
    """One page of rows, with what the pagination macro needs.

    A capped page (`capped`) was counted only up to `total`: there are more rows, how many is not known, so
    neither is the last page; `has_next` then says whether a row follows this page.
    """

    items: list
    page: int
    per_page: int
    total: int
    capped: bool = False
    more: bool = False  # a capped page: whether a row follows it

    @property
    def pages(self) -> int:
        """The number of pages, or on a capped page those known to exist."""
        if self.capped:
            known = max(self.total + 1, (self.page - 1) * self.per_page + len(self.items) + int(self.more))
            return max(1, ceil(known / self.per_page))
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.more if self.capped else self.page < self.pages

    def window(self, around: int = 2) -> list[int]:
        """Page numbers near the current one, for the links."""
        return list(range(max(1, self.page - around), min(self.pages, self.page + around) + 1))


def requested_page() -> int:
    return parse_id(request.args.get("page")) or 1


def paginate(statement, page: int | None = None, per_page: int | None = None, scalars: bool = True,
             cap: int | None = None, counted=None, total: int | None = None) -> Page:
    """Run one count query and one page query, whatever the number of rows.

    With `cap`, the count stops at that many rows (a count over a LIMIT, not over every row of a city) and the page
    comes back `capped` when there are more. `counted`: a statement returning the same rows more cheaply (without
    the page's computed columns), for the count. `total`: the rows counted beforehand as count_rows() counts them
    (a count remembered for a minute), and then no count query.
    """
    page = page or requested_page()
    per_page = per_page or current_app.config["PER_PAGE"]
    if total is None:
        total = count_rows(statement if counted is None else counted, cap)
    capped = cap is not None and total > cap
    # A capped page reads one row more, to know whether a next page exists.
    rows = db.session.execute(statement.limit(per_page + 1 if capped else per_page).offset((page - 1) * per_page))
    items = list(rows.scalars() if scalars else rows)
    more = capped and len(items) > per_page
    return Page(items=items[:per_page], page=page, per_page=per_page, total=cap if capped else total,
                capped=capped, more=more)


def count_rows(statement, cap: int | None = None) -> int:
    """The number of rows of `statement`, or with `cap` that many up to cap + 1 (a count over a LIMIT)."""
    statement = statement.order_by(None)
    if cap is not None:
        statement = statement.limit(cap + 1)
    return db.session.scalar(select(func.count()).select_from(statement.subquery()))


def counted_page(items: list, counted: int, page: int, per_page: int, cap: int | None = None) -> Page:
    """A page whose list was counted by the page's own query (a window count beside a sort that reads every row
    anyway), shown as paginate() shows it: beyond `cap`, capped at cap rows and saying whether a row follows.
    """
    if cap is not None and counted > cap:
        return Page(items=items, page=page, per_page=per_page, total=cap, capped=True,
                    more=(page - 1) * per_page + len(items) < counted)
    return Page(items=items, page=page, per_page=per_page, total=counted)


def page_of(items: list, page: int | None = None, per_page: int | None = None) -> Page:
    """One page of a list already in memory (a computed table's case list), like paginate() for a statement."""
    page = page or requested_page()
    per_page = per_page or current_app.config["PER_PAGE"]
    start = (page - 1) * per_page
    return Page(items=items[start:start + per_page], page=page, per_page=per_page, total=len(items))
