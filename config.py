"""Configuration read from the environment.

Every setting has one environment variable; README.md lists them all. Development secrets are generated
into the instance folder on first run so `make run` works out of the box; production refuses to start
without real ones, because a generated key on a web worker would differ between workers and restarts.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def instance_path() -> Path:
    """Where the SQLite file, generated keys and attachments live."""
    return Path(os.environ.get("CARETRACK_INSTANCE_PATH", PROJECT_ROOT / "instance")).resolve()


def _instance_secret(name: str, env_var: str, is_production: bool, nbytes: int = 32) -> str:
    """Return the secret from the environment, or a development one kept in the instance folder."""
    value = os.environ.get(env_var)
    if value:
        return value
    if is_production:
        raise ConfigError(f"{env_var} must be set in production")
    folder = instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


def load_config() -> dict:
    """Build the Flask configuration mapping from the environment."""
    env = os.environ.get("CARETRACK_ENV", "development")
    is_production = env == "production"
    folder = instance_path()
    return {
        "CARETRACK_ENV": env,
        "SECRET_KEY": _instance_secret("secret_key", "SECRET_KEY", is_production),
        "CARETRACK_DATA_KEY": _instance_secret("data_key", "CARETRACK_DATA_KEY", is_production),
        # Set only while `flask caretrack rotate-key` moves the ID numbers from this key to CARETRACK_DATA_KEY.
        "CARETRACK_DATA_KEY_PREVIOUS": os.environ.get("CARETRACK_DATA_KEY_PREVIOUS") or None,
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'caretrack.sqlite3'}",
        # A failed statement's values (a student's name) stay out of its error message and so out of the logs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "CARETRACK_TIMEZONE": os.environ.get("CARETRACK_TIMEZONE", "Asia/Shanghai"),
        "BABEL_DEFAULT_LOCALE": os.environ.get("CARETRACK_DEFAULT_LOCALE", "zh_CN"),
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("CARETRACK_TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ["zh_CN", "en"],
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=_env_int("CARETRACK_IDLE_MINUTES", 30)),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=_env_int("CARETRACK_SESSION_HOURS", 12)),
        # The signed cookie is refused, and expires in the browser, once the absolute limit is over.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_env_int("CARETRACK_SESSION_HOURS", 12)),
        **_login_config(),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("CARETRACK_SECURE_COOKIES", is_production),
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "WTF_CSRF_TIME_LIMIT": None,
        "PER_PAGE": _env_int("CARETRACK_PER_PAGE", 50),
        # Long lists (the students, the caseload) count their rows up to this many, then say "10,000+".
        "COUNT_CAP": _env_int("CARETRACK_COUNT_CAP", 10_000),
        # A standby takes over at most a lease and a third after the holder died (renewed every third of it).
        "SCHEDULER_LEASE_SECONDS": _env_int("CARETRACK_SCHEDULER_LEASE_SECONDS", 15),
        # How long a SQLite statement waits for another connection's write lock before "database is locked".
        "SQLITE_BUSY_TIMEOUT_MS": _env_int("CARETRACK_SQLITE_BUSY_TIMEOUT_MS", 15000),
        "MAX_CONTENT_LENGTH": _env_int("CARETRACK_MAX_UPLOAD_MB", 16) * 1024 * 1024,
        "MAX_ATTACHMENT_BYTES": _env_int("CARETRACK_MAX_ATTACHMENT_MB", 10) * 1024 * 1024,
        "CARE_STALE_DAYS": _env_int("CARETRACK_CARE_STALE_DAYS", 60),
        # The home pages' charts and student totals, and the student list's count, are counted at most this often per
        # user (0: every view).
        "HOME_TOTALS_SECONDS": _env_int("CARETRACK_HOME_TOTALS_SECONDS", 60),
        **_mail_config(),
        "FOLLOWUP_ESCALATION_DAYS": _env_int("CARETRACK_FOLLOWUP_ESCALATION_DAYS", 3),
        **_retention_config(),
        **_queue_config(folder),
    }


def _retention_config() -> dict:
    """How long personal data is kept after a student graduated or left (0: for ever), and the audit log."""
    audit_years = _env_int("CARETRACK_AUDIT_RETENTION_YEARS", 3)
    if audit_years < 3:
        raise ConfigError("CARETRACK_AUDIT_RETENTION_YEARS must be at least 3 (the audit log is kept three years)")
    return {"RETENTION_YEARS": _env_int("CARETRACK_RETENTION_YEARS", 5), "AUDIT_RETENTION_YEARS": audit_years}


def _queue_config(folder: Path) -> dict:
    """The task queue of long work (caretrack/jobs): where its messages wait, and when a job counts as dead."""
    return {
        # sqlite:///path (the default, in the instance folder), postgresql://... or redis://...
        "CARETRACK_QUEUE_URL": os.environ.get("CARETRACK_QUEUE_URL") or f"sqlite:///{folder / 'queue.sqlite3'}",
        # Two installations may share one Redis or PostgreSQL under different names.
        "CARETRACK_QUEUE_NAME": os.environ.get("CARETRACK_QUEUE_NAME") or "caretrack",
        # Run each task at once in the caller (tests); never in production.
        "CARETRACK_QUEUE_IMMEDIATE": _env_bool("CARETRACK_QUEUE_IMMEDIATE", False),
        # A running job whose worker has not beaten for this long is shown as failed and may be rerun.
        "JOB_HEARTBEAT_LIMIT": timedelta(seconds=_env_int("CARETRACK_JOB_HEARTBEAT_LIMIT_SECONDS", 120)),
        # Uploaded files wait here for a worker: a folder every worker machine reaches.
        "UPLOAD_FOLDER": os.environ.get("CARETRACK_UPLOAD_FOLDER") or str(folder / "imports"),
    }


def _login_config() -> dict:
    """Login throttling: per address through Flask-Limiter, per account by a growing wait (accounts.services)."""
    return {
        "TRUSTED_PROXIES": _env_int("CARETRACK_TRUSTED_PROXIES", 0),
        "LOGIN_ADDRESS_LIMIT": os.environ.get("CARETRACK_LOGIN_ADDRESS_LIMIT") or "20 per minute;200 per hour",
        "LOGIN_MAX_FAILURES": _env_int("CARETRACK_LOGIN_MAX_FAILURES", 5),
        "LOGIN_FAILURE_WINDOW": timedelta(minutes=_env_int("CARETRACK_LOCKOUT_MINUTES", 15)),
        "LOGIN_MAX_DELAY": timedelta(seconds=_env_int("CARETRACK_LOGIN_MAX_DELAY_SECONDS", 60)),
        # Memory counts per worker process; Redis shares the counts between workers and servers.
        "RATELIMIT_STORAGE_URI": os.environ.get("CARETRACK_REDIS_URL") or "memory://",
        "RATELIMIT_KEY_PREFIX": "caretrack",
        "RATELIMIT_STRATEGY": "moving-window",
        # Redis down must not take login down with it; the per-account wait, kept in the database, still holds.
        "RATELIMIT_SWALLOW_ERRORS": True,
    }


def _mail_config() -> dict:
    """Outgoing mail (the daily digest) and group robots. Without an SMTP host no email is sent."""
    return {
        "SMTP_HOST": os.environ.get("CARETRACK_SMTP_HOST") or None,
        "SMTP_PORT": _env_int("CARETRACK_SMTP_PORT", 25),
        "SMTP_USERNAME": os.environ.get("CARETRACK_SMTP_USERNAME") or None,
        "SMTP_PASSWORD": os.environ.get("CARETRACK_SMTP_PASSWORD") or None,
        "SMTP_USE_TLS": _env_bool("CARETRACK_SMTP_USE_TLS", False),
        # Implicit TLS (SMTPS, usually port 465) instead of STARTTLS.
        "SMTP_USE_SSL": _env_bool("CARETRACK_SMTP_USE_SSL", False),
        "SMTP_CA_FILE": os.environ.get("CARETRACK_SMTP_CA_FILE") or None,
        "MAIL_FROM": os.environ.get("CARETRACK_MAIL_FROM") or "caretrack@localhost",
        # Emails carry links, and a job has no request to learn the site's address from.
        "BASE_URL": (os.environ.get("CARETRACK_BASE_URL") or "").rstrip("/"),
        "WEBHOOK_TIMEOUT_SECONDS": _env_int("CARETRACK_WEBHOOK_TIMEOUT_SECONDS", 5),
        # Group-robot hosts beyond WeCom's and DingTalk's that the city admin allows (a city's own gateway).
        "WEBHOOK_EXTRA_HOSTS": [host.strip() for host in os.environ.get("CARETRACK_WEBHOOK_HOSTS", "").split(",")
                                if host.strip()],
    }
