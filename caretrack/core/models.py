"""Column types and model mixins shared by every domain."""

from datetime import datetime, timezone

from flask_babel import gettext as _
from sqlalchemy import DateTime, Integer
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

from caretrack.core.errors import DomainError
from caretrack.core.timeutil import utcnow


class UTCDateTime(TypeDecorator):
    """A datetime stored as UTC and always read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        # SQLite has no timezone type: store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class TimestampMixin:
    """created_at / updated_at, in UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class VersionedMixin:
    """Optimistic locking: a stale edit raises StaleDataError instead of overwriting someone else's work."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):  # noqa: N805 - declared_attr receives the class
        return {"version_id_col": cls.version}


def stale_message() -> str:
    """What a person is told when someone else saved the record since they opened it."""
    return _("该记录已被他人修改。请查看最新内容后重新填写；您填写的内容仍保留在表单中。")


def check_version(record_version: int, expected: int | None) -> None:
    """Refuse an edit made on a copy that someone else has changed since it was opened."""
    if expected is not None and record_version != expected:
        raise DomainError(stale_message(), field="version")
