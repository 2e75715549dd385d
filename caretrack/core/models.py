"""Column types and model mixins shared by every domain."""

import json
import sqlite3
from datetime import datetime, timezone

from flask_babel import gettext as _
from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    and_,
    event,
    func,
    inspect,
    or_,
    type_coerce,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnClause, Null
from sqlalchemy.types import TypeDecorator

from caretrack.core import crypto
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


class EncryptedText(TypeDecorator):
    """Free text stored AES-GCM encrypted (core.crypto), read back as plain text: callers see a str column.

    `context` binds each ciphertext to its column (b"support_records.summary"), so a value copied into another
    column does not open. The empty string is stored as b"" (a purged text, ledger.retention) and None as NULL.
    Encryption is random, so the column cannot be compared, searched or sorted in SQL: such an expression raises
    (the comparator below) instead of silently never matching; the pages filter records by student, date, kind
    and tier, never by their text. `flask caretrack rotate-key` moves these columns to a new key with the ID
    numbers; a backup copies their ciphertext as stored.
    """

    impl = LargeBinary
    cache_ok = True

    class comparator_factory(TypeDecorator.Comparator):  # noqa: N801 (the name SQLAlchemy looks up)
        """Refuse every SQL operator on the ciphertext but the NULL checks: `== "x"`, LIKE, IN, ORDER BY and the like.

        Each value has its own nonce, so equal texts have different ciphertexts and `summary == "x"` would be
        valid SQL that never matches: a filter that silently returns nothing (and a test that cannot fail).
        """

        __slots__ = ()

        def operate(self, op, *other, **kwargs):
            if not _is_allowed(op, other):
                raise EncryptedComparisonError(self.expr, op)
            return super().operate(op, *other, **kwargs)

        def reverse_operate(self, op, other, **kwargs):
            raise EncryptedComparisonError(self.expr, op)

    def __init__(self, context: bytes):
        super().__init__()
        self.context = context

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value == "":
            return b""
        return crypto.encrypt(value, self.context)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite: the migration's default '' of a row written around it
            value = value.encode()
        return crypto.decrypt(bytes(value), self.context)


def has_text(column) -> ColumnElement[bool]:
    """SQL that is true where an EncryptedText column holds a text (not NULL, not the empty text).

    The one question of content SQL can answer on ciphertext: the empty text is stored as b"" and any other as
    its ciphertext, so the length of what is stored tells (SQL functions on the text itself, such as trim, would
    run on the ciphertext). Callers store texts stripped, so a text of blanks is never stored.
    """
    return func.length(type_coerce(column, LargeBinary)) > 0


class EncryptedJSON(EncryptedText):
    """A JSON document stored like EncryptedText: its compact JSON text encrypted, read back as the document.

    For documents that quote the file (a generated summary, a frozen archive snapshot): a dump of the database
    shows their ciphertext only. An archive snapshot stores its canonical text as EncryptedText instead, since its
    hash is of that exact text.
    """

    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return super().process_bind_param(json.dumps(value, ensure_ascii=False, separators=(",", ":")), dialect)

    def process_result_value(self, value, dialect):
        text = super().process_result_value(value, dialect)
        return None if text is None else json.loads(text)


class EncryptedComparisonError(TypeError):
    """An SQL operator used on an encrypted column: it would compare ciphertexts, never the texts."""

    def __init__(self, column, op):
        operator = getattr(op, "__name__", op)
        super().__init__(
            f"{_column_name(column)} is encrypted at rest (a fresh nonce each write): SQL {operator} on it"
            " compares ciphertexts, so it never matches (nor sorts by the text); select the rows by other "
            "columns and compare the text after decryption, in Python")


def _column_name(column) -> str:
    """`support_records.summary` for a table's column; a bound value (`"x" + column`) has no name to give."""
    table_name = getattr(getattr(column, "table", None), "name", None)
    return f"{table_name}.{column.key}" if table_name else "an encrypted column"


# Against None each writes IS (NOT) NULL: `== None` as well as `.is_(None)`, the one question ciphertext answers.
_NULL_OPERATORS = (operators.is_, operators.is_not, operators.eq, operators.ne)


def _is_allowed(op, other) -> bool:
    """Whether `op` only tests the column for NULL, or is SQLAlchemy comparing column objects.

    The ORM looks columns up in dicts and lists (`mapper._columntoproperty[column]`): Python then calls `==`
    between two columns and reads the truth of the result, so column against column stays allowed. A value,
    however written (`"x"`, `literal("x")`, `bindparam`), is refused.
    """
    if op not in _NULL_OPERATORS or len(other) != 1:
        return False
    return other[0] is None or isinstance(other[0], Null) or (
        op in (operators.eq, operators.ne) and isinstance(other[0], ColumnClause))


def as_stored(table: Table) -> Table:
    """The table as the database stores it: its EncryptedText columns read and written as their ciphertext.

    Through the model's table a select decrypts and an insert or update encrypts; the backup and the key
    rotation move the ciphertext itself.
    """
    if not any(isinstance(column.type, EncryptedText) for column in table.columns):
        return table
    return Table(table.name, MetaData(), *(
        Column(column.name, column.type.impl_instance if isinstance(column.type, EncryptedText) else column.type,
               primary_key=column.primary_key) for column in table.columns))


def encrypted_columns(metadata: MetaData) -> dict[Table, list]:
    """Every table with columns of EncryptedText, and those columns (key rotation and backup find them here)."""
    found = {}
    for table in metadata.sorted_tables:
        columns = [column for column in table.columns if isinstance(column.type, EncryptedText)]
        if columns:
            found[table] = columns
    return found


class TimestampMixin:
    """created_at / updated_at, in UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class EffectiveYearsMixin:
    """Catalog or policy data in force over a range of academic years, named by their start years (2025 for
    2025-2026), both ends inclusive; `valid_to` None: still in force.

    A model whose columns have other names maps them onto these (`valid_from = mapped_column("first_year")`).
    """

    valid_from: Mapped[int]
    valid_to: Mapped[int | None]

    def in_force(self, start_year: int) -> bool:
        return self.valid_from <= start_year and (self.valid_to is None or start_year <= self.valid_to)

    @classmethod
    def in_force_clause(cls, start_year: int):
        """`in_force` as a WHERE clause."""
        return and_(cls.valid_from <= start_year, or_(cls.valid_to.is_(None), cls.valid_to >= start_year))

    @staticmethod
    def check_years(valid_from: int, valid_to: int | None, field: str = "valid_to") -> None:
        """Refuse a range that ends before it starts, on the form's field of the last year."""
        if valid_to is not None and valid_to < valid_from:
            raise DomainError(_("停用学年不能早于启用学年。"), field=field)


class VersionedMixin:
    """Optimistic locking: a stale edit raises StaleDataError instead of overwriting someone else's work.

    Rows that hang off a versioned record (a student's guardians, an identification's categories) name it in
    `__version_owner__`; changing, adding or removing one bumps the owner's version, so a stale form of the
    owner cannot silently revert them.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):  # noqa: N805 - declared_attr receives the class
        return {"version_id_col": cls.version}


def changed_attributes(obj) -> list[str]:
    """The attributes of a loaded row set to a different value since it was loaded (setting the same is no change)."""
    return [attr.key for attr in inspect(obj).attrs if attr.history.has_changes()]
def stale_message() -> str:
    """What a person is told when someone else saved the record since they opened it."""
    return _("该记录已被他人修改。请查看最新内容后重新填写；您填写的内容仍保留在表单中。")


def check_version(record_version: int, expected: int | None) -> None:
    """Refuse an edit made on a copy that someone else has changed since it was opened."""
    if expected is not None and record_version != expected:
        raise DomainError(stale_message(), field="version")


# SQLite in WAL mode refuses a write from a transaction whose snapshot another connection's commit has made
# stale (SQLITE_BUSY_SNAPSHOT): the same lost race that PostgreSQL reports as no row matching the version.
SQLITE_BUSY_SNAPSHOT = 517


def is_lost_race(error: Exception) -> bool:
    """True when a flush or commit failed because someone else saved first."""
    if isinstance(error, StaleDataError):
        return True
    original = getattr(error, "orig", None)
    return (isinstance(error, OperationalError) and isinstance(original, sqlite3.OperationalError)
            and getattr(original, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT)


def flush_versioned(session) -> None:
    """Flush; losing the race to someone else's save is the same conflict as a stale form, never a 500."""
    try:
        session.flush()
    except (StaleDataError, OperationalError) as error:
        if not is_lost_race(error):
            raise
        raise DomainError(stale_message(), field="version") from None


def _version_owner(obj):
    attribute = getattr(type(obj), "__version_owner__", None)
    return getattr(obj, attribute, None) if attribute else None


def _touch(obj, session, touched: set[int]) -> None:
    """Bump the version of `obj` (when it has one) and of every owner above it, once each."""
    while obj is not None and id(obj) not in touched and obj not in session.deleted:
        touched.add(id(obj))
        if isinstance(obj, VersionedMixin):
            obj.updated_at = utcnow()
        obj = _version_owner(obj)


@event.listens_for(Session, "before_flush")
def _bump_owner_versions(session, _context, _instances) -> None:
    """A changed, added or removed child row, or a changed collection, bumps the version of what owns it."""
    touched: set[int] = set()
    for obj in [*session.new, *session.deleted]:
        _touch(_version_owner(obj), session, touched)
    for obj in list(session.dirty):
        if session.is_modified(obj, include_collections=False):
            _touch(_version_owner(obj), session, touched)
        elif session.is_modified(obj):  # only a collection changed: the row itself would not be updated
            _touch(obj, session, touched)
