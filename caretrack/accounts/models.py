"""Users, their role grants (role x scope), their browser sessions and login attempts."""

import hashlib
import secrets
from datetime import datetime
from functools import cache

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from caretrack.core.access import Role, ScopeType
from caretrack.core.models import TimestampMixin, UTCDateTime, VersionedMixin
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db
from caretrack.notify.models import register_recipient_model


def new_session_token() -> str:
    """A random token that ties browser sessions to the current password and status."""
    return secrets.token_urlsafe(24)


class User(UserMixin, TimestampMixin, VersionedMixin, db.Model):
    """A person who logs in. `session_token` changes to end every open session of the user."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    mobile: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active_user: Mapped[bool] = mapped_column("is_active", default=True)
    must_change_password: Mapped[bool] = mapped_column(default=True)
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The secret in the URL of the user's calendar feed; a new one revokes the old URL.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    role_assignments: Mapped[list["RoleAssignment"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin",
        foreign_keys="RoleAssignment.user_id", order_by="RoleAssignment.id",
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_active_user

    def get_id(self) -> str:
        # The token in the id makes a password change or deactivation end other sessions at their next request.
        return f"{self.id}:{self.session_token}"

    def set_password(self, password: str) -> None:
        """Hash with scrypt (werkzeug's default KDF) and end other sessions."""
        self.password_hash = generate_password_hash(password)
        self.session_token = new_session_token()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id}>"


@cache
def _nobodys_password_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def check_nobodys_password(password: str) -> bool:
    """Spend as long as a real password check, so an unknown username answers as slowly as a known one."""
    check_password_hash(_nobodys_password_hash(), password)
    return False


class RoleAssignment(db.Model):
    """A role granted to a user on one scope: a unit, a college, a class, a club or a caseload."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role", "scope_type", "scope_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    scope_type: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[int]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="role_assignments", foreign_keys=[user_id])

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def scope_enum(self) -> ScopeType:
        return ScopeType(self.scope_type)


class LoginAttempt(db.Model):
    """One login try; recent failures slow further tries on the account down (see services.login_wait)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "attempted_at"),
        Index("ix_login_attempts_address_at", "address", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50))
    address: Mapped[str] = mapped_column(String(45))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    succeeded: Mapped[bool] = mapped_column(default=False)


def session_key_hash(key: str) -> str:
    """What the server keeps of a session's key: a stolen copy of the table opens no session."""
    return hashlib.sha256(key.encode()).hexdigest()


class UserSession(db.Model):
    """One browser's login. The cookie carries the key; logging out ends this row, so a copied cookie is dead.

    Ending one row leaves the user's other browsers logged in; `User.session_token` still ends them all.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


register_recipient_model(User)  # the people notify mails its digests to
