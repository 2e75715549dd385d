"""Scheduled jobs of the accounts domain."""

from datetime import timedelta

from sqlalchemy import delete

from caretrack.accounts.models import LoginAttempt
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db

# Lock-out needs minutes of history; the audit log keeps the lasting record of every attempt.
LOGIN_ATTEMPT_RETENTION = timedelta(days=7)


def purge_login_attempts() -> int:
    """Delete login attempts older than the retention; return how many."""
    cutoff = utcnow() - LOGIN_ATTEMPT_RETENTION
    result = db.session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < cutoff))
    db.session.commit()
    return result.rowcount
