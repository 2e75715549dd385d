"""The web flow every import shares: upload, dry-run preview with the error report, confirm.

The uploaded file waits in the instance folder under a random name, remembered in the user's session, so the
confirmation imports exactly the file that was previewed.
"""

import secrets
from pathlib import Path

from flask import current_app, session

from caretrack.core.imports import Importer, ImportReport, run_import

SESSION_KEY = "pending_imports"


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stash_upload(kind: str, storage) -> str:
    """Keep an uploaded file until it is confirmed; return its token."""
    token = secrets.token_urlsafe(16)
    suffix = Path(storage.filename or "").suffix.lower()
    storage.save(_folder() / f"{token}{suffix}")
    pending = session.get(SESSION_KEY, {})
    pending[token] = {"kind": kind, "filename": storage.filename, "suffix": suffix}
    session[SESSION_KEY] = pending
    return token


def pending_upload(kind: str, token: str) -> tuple[Path, dict] | None:
    """The stashed file for this token, if this user uploaded it for this kind of import."""
    meta = session.get(SESSION_KEY, {}).get(token)
    if not meta or meta["kind"] != kind:
        return None
    path = _folder() / f"{token}{meta['suffix']}"
    return (path, meta) if path.exists() else None


def discard_upload(token: str) -> None:
    pending = session.get(SESSION_KEY, {})
    meta = pending.pop(token, None)
    session[SESSION_KEY] = pending
    if meta:
        (_folder() / f"{token}{meta['suffix']}").unlink(missing_ok=True)


def import_stashed(importer: Importer, path: Path, filename: str, *, skip_invalid: bool,
                   dry_run: bool) -> ImportReport:
    """Run an import on a stashed file."""
    with path.open("rb") as stream:
        return run_import(importer, stream, filename, skip_invalid=skip_invalid, dry_run=dry_run)
