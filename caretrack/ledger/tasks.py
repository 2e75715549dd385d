"""Scheduled work of the ledger: the retention rules applied (core.uploads sweeps the attachment folder)."""

import logging
from datetime import datetime
from pathlib import Path

from flask import current_app

from caretrack.core.timeutil import local_today, utcnow
from caretrack.extensions import db
from caretrack.ledger.retention import BATCH, due_for_purge, expire_audit, purge_student

log = logging.getLogger(__name__)


def apply_retention(now: datetime | None = None) -> tuple[int, int]:
    """The scheduled job: purge the students due, a batch per commit, then expire the audit log."""
    now = now or utcnow()
    config = current_app.config
    purged = 0
    if config.get("RETENTION_YEARS"):
        folder = Path(current_app.instance_path) / "attachments"
        due = due_for_purge(local_today(), config["RETENTION_YEARS"])
        for start in range(0, len(due), BATCH):
            for student_id in due[start:start + BATCH]:
                purge_student(student_id, now, folder)
            db.session.commit()
            purged += len(due[start:start + BATCH])
    expired = expire_audit(now, config["AUDIT_RETENTION_YEARS"])
    db.session.commit()
    log.info("retention: %d students purged, %d audit events expired", purged, expired)
    return purged, expired
