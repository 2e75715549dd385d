"""Scheduled jobs of the accounts domain."""

from datetime import timedelta

from sqlalchemy import delete

from caretrack.accounts.models import LoginAttempt, UserSession
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db

# Throttling needs minutes of history and a user's recent addresses; the audit log keeps the lasting record.
LOGIN_ATTEMPT_RETENTION = timedelta(days=7)


def purge_login_attempts() -> int:
    """Delete login attempts and browser sessions older than the retention; return how many rows went.

    A session lasts at most the absolute limit (hours), so a week-old one is over whether or not it was ended.
    """
    cutoff = utcnow() - LOGIN_ATTEMPT_RETENTION
    attempts = db.session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < cutoff)).rowcount
    sessions = db.session.execute(delete(UserSession).where(UserSession.started_at < cutoff)).rowcount
    db.session.commit()
    return attempts + sessions
