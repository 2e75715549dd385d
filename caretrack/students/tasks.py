"""Key rotation: every ID number re-encrypted, and its blind index rebuilt, under a new CARETRACK_DATA_KEY.

Run with the new key as CARETRACK_DATA_KEY and the old one as CARETRACK_DATA_KEY_PREVIOUS, on the web workers
too: they read a row with whichever key opens it and look numbers up under both indexes, so the site keeps
serving while the rows move. The rotation walks the students in id order, one batch per transaction, and keeps
the last id it finished in `instance_settings`: killed, it starts again after that batch; every step is
idempotent anyway (a row already under the new key is only checked). Its start and its end are audited.
"""

import json
import logging
import time
from collections.abc import Callable

from sqlalchemy import bindparam, select, update

from caretrack.audit.services import AuditAction, record
from caretrack.core import crypto, keyring
from caretrack.extensions import db
from caretrack.students.models import Student

log = logging.getLogger(__name__)

PROGRESS = "data_key_rotation"
BATCH = 500


class RotationError(RuntimeError):
    """The configuration does not describe a rotation (no previous key, or the same key twice)."""


def _progress() -> dict | None:
    raw = keyring.get_setting(PROGRESS)
    return json.loads(raw) if raw else None


def _start(new: str, old: str) -> dict:
    """Resume the rotation to `new`, or begin it: the database then remembers the new key (the old one alone
    no longer starts an app, which would write rows the rotation has already passed).
    """
    progress = _progress()
    if progress and progress["to"] == crypto.fingerprint(new):
        return progress
    progress = {"to": crypto.fingerprint(new), "from": crypto.fingerprint(old), "last_id": 0, "rows": 0}
    keyring.set_setting(PROGRESS, json.dumps(progress))
    keyring.set_setting(keyring.FINGERPRINT, progress["to"])
    record(AuditAction.KEY_ROTATION_STARTED, detail="ID numbers and blind index to the new CARETRACK_DATA_KEY")
    db.session.commit()
    return progress


def _rotate_batch(rows, new: str) -> list[dict]:
    changes = []
    for student_id, cipher, index in rows:
        if not cipher:  # purged after the retention period: nothing left to re-encrypt
            continue
        plaintext, secret = crypto.decrypt_with_secret(cipher)
        new_index = crypto.blind_index(plaintext, secret=new)
        if secret != new or index != new_index:
            changes.append({"student_id": student_id, "cipher": crypto.encrypt(plaintext, secret=new),
                            "index": new_index})
    return changes


def rotate(batch: int = BATCH, pause: float = 0, on_batch: Callable[[int, int], object] | None = None) -> int:
    """Rotate every student's ID number to the current key; return how many rows were rewritten in this run."""
    new, old = crypto.current_secret(), crypto.previous_secret()
    if not old:
        raise RotationError("set the old key as CARETRACK_DATA_KEY_PREVIOUS and the new one as CARETRACK_DATA_KEY")
    if crypto.fingerprint(new) == crypto.fingerprint(old):
        raise RotationError("CARETRACK_DATA_KEY and CARETRACK_DATA_KEY_PREVIOUS are the same key")
    progress = _start(new, old)
    rewritten = 0
    while True:
        rows = db.session.execute(select(Student.id, Student.id_cipher, Student.id_index)
                                  .where(Student.id > progress["last_id"]).order_by(Student.id).limit(batch)).all()
        if not rows:
            break
        changes = _rotate_batch(rows, new)
        if changes:
            table = Student.__table__  # Core: the same plaintext, so no version bump and no ORM bookkeeping
            db.session.execute(update(table).where(table.c.id == bindparam("student_id")).values(
                id_cipher=bindparam("cipher"), id_index=bindparam("index")), changes)
        progress["last_id"], progress["rows"] = rows[-1].id, progress["rows"] + len(changes)
        keyring.set_setting(PROGRESS, json.dumps(progress))
        db.session.commit()  # per batch: a crash loses at most this batch's work, redone at the next run
        rewritten += len(changes)
        if on_batch:
            on_batch(progress["last_id"], rewritten)
        if pause:
            time.sleep(pause)
    keyring.set_setting(PROGRESS, None)
    record(AuditAction.KEY_ROTATED, detail=f"{progress['rows']} ID numbers re-encrypted and re-indexed")
    db.session.commit()
    log.info("key rotation finished: %d rows rewritten", progress["rows"])
    return rewritten
