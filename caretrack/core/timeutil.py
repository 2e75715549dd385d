"""Time: UTC in the database, the configured timezone on screen."""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def local_zone() -> ZoneInfo:
    """The configured local timezone (Asia/Shanghai unless configured)."""
    name = current_app.config["CARETRACK_TIMEZONE"] if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


def as_utc(value: datetime) -> datetime:
    """Treat a naive datetime read back from SQLite as UTC; leave aware ones as they are."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def to_local(value: datetime) -> datetime:
    """Convert a stored UTC datetime to local time."""
    return as_utc(value).astimezone(local_zone())


def local_today() -> date:
    """Today's date where the schools are."""
    return utcnow().astimezone(local_zone()).date()


# Every date a person types or imports lies in this range: a typo like 9999-12-31 would otherwise live in
# calendars, tables and sorting for good.
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def is_sane_date(value: date) -> bool:
    return EARLIEST_DATE <= value <= LATEST_DATE


def date_range_message() -> str:
    from flask_babel import gettext as _

    return _("日期须在 1990年1月1日 到 2100年12月31日 之间。")
