"""Key rotation: every ID number re-encrypted, and its blind index rebuilt, under a new CARETRACK_DATA_KEY; then
every encrypted free text (core.models.EncryptedText: the care records' and follow-ups' text) re-encrypted too.

Run with the new key as CARETRACK_DATA_KEY and the old one as CARETRACK_DATA_KEY_PREVIOUS, on the web workers
too: they read a row with whichever key opens it and look numbers up under both indexes, so the site keeps
serving while the rows move. The rotation walks the students in id order, then each table with encrypted
columns, one batch per transaction, and keeps the table and the last id it finished in `instance_settings`:
killed, it starts again after that batch; every step is idempotent anyway (a row already under the new key is
only checked). Its start and its end are audited.
"""

import json
import logging
import time
from collections.abc import Callable

from sqlalchemy import bindparam, select, update

from caretrack.audit.services import AuditAction, record
from caretrack.core import crypto, keyring
from caretrack.core.database import append_only_suspended
from caretrack.core.models import as_stored, encrypted_columns
from caretrack.extensions import db
from caretrack.students.models import Student

log = logging.getLogger(__name__)

PROGRESS = "data_key_rotation"
BATCH = 500
STUDENTS = "students"


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
    progress = {"to": crypto.fingerprint(new), "from": crypto.fingerprint(old), "table": STUDENTS, "last_id": 0,
                "rows": 0, "texts": 0}
    keyring.set_setting(PROGRESS, json.dumps(progress))
    keyring.set_setting(keyring.FINGERPRINT, progress["to"])
    record(AuditAction.KEY_ROTATION_STARTED,
           detail="ID numbers, blind index and care texts to the new CARETRACK_DATA_KEY")
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


def _rotate_students(after: int, batch: int, new: str) -> tuple[int | None, int]:
    """One batch of students after id `after`: the last id walked (None: no more) and how many rows changed."""
    rows = db.session.execute(select(Student.id, Student.id_cipher, Student.id_index)
                              .where(Student.id > after).order_by(Student.id).limit(batch)).all()
    if not rows:
        return None, 0
    changes = _rotate_batch(rows, new)
    if changes:
        table = Student.__table__  # Core: the same plaintext, so no version bump and no ORM bookkeeping
        db.session.execute(update(table).where(table.c.id == bindparam("student_id")).values(
            id_cipher=bindparam("cipher"), id_index=bindparam("index")), changes)
    return rows[-1].id, len(changes)


def _rotate_texts(table, columns, after: int, batch: int, new: str) -> tuple[int | None, int]:
    """One batch of a table's encrypted texts, read and written as ciphertext (the plaintext stays in memory)."""
    stored = as_stored(table)
    names = [column.name for column in columns]
    rows = db.session.execute(select(stored.c.id, *(stored.c[name] for name in names))
                              .where(stored.c.id > after).order_by(stored.c.id).limit(batch)).all()
    if not rows:
        return None, 0
    changes: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        values = {}
        for column in columns:
            blob = row._mapping[column.name]
            if not blob:  # NULL, or erased after the retention period
                continue
            plaintext, secret = crypto.decrypt_with_secret(bytes(blob), column.type.context)
            if secret != new:
                values[f"new_{column.name}"] = crypto.encrypt(plaintext, column.type.context, secret=new)
        if values:
            changes.setdefault(tuple(sorted(values)), []).append({"row_id": row.id, **values})
    if not changes:
        return rows[-1].id, 0
    with append_only_suspended(table):  # the frozen archive: the same text, under the new key
        for keys, params in changes.items():
            db.session.execute(update(stored).where(stored.c.id == bindparam("row_id")).values(
                {key.removeprefix("new_"): bindparam(key) for key in keys}), params)
    return rows[-1].id, sum(len(params) for params in changes.values())


def _walkers() -> list[tuple[str, Callable[[int, int, str], tuple[int | None, int]]]]:
    """The students' ID numbers first, then every table with encrypted columns, in the metadata's order.

    Each walker has a name of its own, kept in the progress to resume at: the students table also holds an
    encrypted text (its status note), and a text walker named like the ID numbers' would resume after the last
    student the ID numbers reached, rotating none of its texts. (A rotation stored by an earlier version under a
    bare table name starts that table's texts again from the beginning: harmless, rotated rows are skipped.)
    """
    walkers = [(STUDENTS, _rotate_students)]
    for table, columns in encrypted_columns(db.metadata).items():
        walkers.append((f"{table.name} texts", lambda after, batch, new, table=table, columns=columns:
                        _rotate_texts(table, columns, after, batch, new)))
    return walkers


def rotate(batch: int = BATCH, pause: float = 0,
           on_batch: Callable[[str, int, int], object] | None = None) -> int:
    """Rotate every ID number and encrypted text to the current key; return how many rows this run rewrote.

    `on_batch(walked, last_id, rewritten)` is called after each committed batch; `walked` is STUDENTS for the
    ID numbers, "<table> texts" for a table's encrypted texts.
    """
    new, old = crypto.current_secret(), crypto.previous_secret()
    if not old:
        raise RotationError("set the old key as CARETRACK_DATA_KEY_PREVIOUS and the new one as CARETRACK_DATA_KEY")
    if crypto.fingerprint(new) == crypto.fingerprint(old):
        raise RotationError("CARETRACK_DATA_KEY and CARETRACK_DATA_KEY_PREVIOUS are the same key")
    progress = _start(new, old)
    progress.setdefault("table", STUDENTS)  # a rotation begun before the texts were encrypted
    progress.setdefault("texts", 0)
    walkers = _walkers()
    names = [name for name, _walk in walkers]
    resume_at = names.index(progress["table"]) if progress["table"] in names else 0
    rewritten = 0
    for name, walk in walkers[resume_at:]:
        if progress["table"] != name:
            progress["table"], progress["last_id"] = name, 0
        while True:
            last_id, changed = walk(progress["last_id"], batch, new)
            if last_id is None:
                break
            progress["last_id"] = last_id
            progress["rows" if name == STUDENTS else "texts"] += changed
            keyring.set_setting(PROGRESS, json.dumps(progress))
            db.session.commit()  # per batch: a crash loses at most this batch's work, redone at the next run
            rewritten += changed
            if on_batch:
                on_batch(name, last_id, rewritten)
            if pause:
                time.sleep(pause)
    keyring.set_setting(PROGRESS, None)
    record(AuditAction.KEY_ROTATED, detail=f"{progress['rows']} ID numbers re-encrypted and re-indexed, "
                                           f"{progress['texts']} rows of care texts re-encrypted")
    db.session.commit()
    log.info("key rotation finished: %d ID numbers and %d rows of texts rewritten", progress["rows"],
             progress["texts"])
    return rewritten
