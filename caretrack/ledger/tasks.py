"""Scheduled work of the ledger: the attachment folder's orphans swept."""

from pathlib import Path

from flask import current_app

from caretrack.ledger.services import sweep_attachment_orphans


def sweep_attachments() -> int:
    """Remove attachment files no record names (a rolled-back save's), finish a rename a crash cut off."""
    return sweep_attachment_orphans(Path(current_app.instance_path) / "attachments")
