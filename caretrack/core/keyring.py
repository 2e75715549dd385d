"""What the database remembers about its keys: the fingerprint of CARETRACK_DATA_KEY, and settings of its own.

A wrong key (a typo, another installation's, a restored dump with the old key) would otherwise show as a 500 at the
first reveal and, worse, give new students blind indexes that never match the old ones. The fingerprint is an
HMAC of a fixed text under a key derived from CARETRACK_DATA_KEY for that purpose alone: it tells whether two keys
are the same and nothing about either.
"""

import logging
from datetime import datetime

from flask import Flask
from sqlalchemy import String, Text, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from caretrack.core import crypto
from caretrack.core.database import begin_writing
from caretrack.core.models import UTCDateTime
from caretrack.core.outage import UNAVAILABLE_ERRORS
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db

log = logging.getLogger(__name__)

FINGERPRINT = "data_key_fingerprint"


class DataKeyError(RuntimeError):
    """CARETRACK_DATA_KEY is not the key this database's ID numbers were encrypted with."""


class InstanceSetting(db.Model):
    """A named value the installation keeps about itself (the data key's fingerprint, a rotation's progress)."""

    __tablename__ = "instance_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def get_setting(name: str) -> str | None:
    return db.session.scalar(select(InstanceSetting.value).where(InstanceSetting.name == name))


def set_setting(name: str, value: str | None) -> None:
    """Store (or, with None, remove) a setting; the caller commits."""
    setting = db.session.get(InstanceSetting, name)
    if value is None:
        if setting is not None:
            db.session.delete(setting)
    elif setting is None:
        db.session.add(InstanceSetting(name=name, value=value))
    else:
        setting.value = value
    db.session.flush()


def remember_data_key() -> None:
    """Store the fingerprint of the configured key when none is stored (init, the first start); the caller commits.

    Processes started together on a new database (the web workers, the scheduler, the task worker) all find no
    fingerprint and race to store theirs: the losers' insert fails on the primary key, inside a savepoint so
    their transaction goes on, and they check their key against the winner's instead.
    """
    if get_setting(FINGERPRINT) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(InstanceSetting(name=FINGERPRINT, value=crypto.fingerprint(crypto.current_secret())))
    except IntegrityError:
        check_data_key()


def check_data_key() -> None:
    """Raise DataKeyError when the configured key is not the one the database remembers.

    A key rotation in progress (CARETRACK_DATA_KEY_PREVIOUS set) may start its web workers before the rotation
    records the new key: the previous key's fingerprint is then accepted too.
    """
    stored = get_setting(FINGERPRINT)
    if stored is None:
        return
    accepted = {crypto.fingerprint(secret) for secret in crypto.configured_secrets()}
    if stored not in accepted:
        raise DataKeyError(
            "CARETRACK_DATA_KEY is not the key this database was encrypted with (its fingerprint differs from "
            f"the one stored in {InstanceSetting.__tablename__}): set the right key, or, to change keys, "
            "set the old one as CARETRACK_DATA_KEY_PREVIOUS and run `flask caretrack rotate-key`.")


def verify_at_start(app: Flask) -> None:
    """Refuse to start with a wrong key; remember the key on the first start of a migrated database.

    A database that is not migrated yet (`flask db upgrade` on a new one) or not reachable (it will be checked by
    the next start) lets the app start: neither holds an ID number that a wrong key could spoil.
    """
    with app.app_context():
        try:
            if not inspect(db.engine).has_table(InstanceSetting.__tablename__):
                return
            begin_writing()  # SQLite: processes starting together check and remember the key one at a time
            check_data_key()
            if get_setting(FINGERPRINT) is None and crypto.previous_secret() is None:
                remember_data_key()
                db.session.commit()
        except UNAVAILABLE_ERRORS as error:
            log.warning("data key not checked at start: database unavailable (%s)", type(error).__name__)
        finally:
            db.session.remove()
