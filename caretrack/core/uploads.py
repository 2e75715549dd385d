"""Files users upload and the app keeps (a record's attachments, an activity's photos): checked by their content,
written readable by the app alone, and swept when no row names them.

A file is written before its row is flushed and the request commits; a request that then rolls back leaves the
file behind with no row. `sweep_orphans` (scheduled) deletes such files once they are older than an hour, asking
each kind of upload's registered `referenced()` which names its rows hold.
"""

import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from caretrack.core.errors import DomainError

log = logging.getLogger(__name__)

# What an upload may be, recognised by its first bytes, not by its name.
SIGNATURES = {
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
    b"%PDF-": ("application/pdf", ".pdf"),
}
IMAGES = ("image/jpeg", "image/png")
ORPHAN_AGE = timedelta(hours=1)


def sniff_type(head: bytes) -> tuple[str, str] | None:
    """(content type, suffix) of a file by its first bytes; None when it is none of SIGNATURES."""
    return next((kind for signature, kind in SIGNATURES.items() if head.startswith(signature)), None)


@dataclass(frozen=True)
class UploadKind:
    """One kind of kept upload: its folder under the instance, the types it takes, the messages it refuses with,
    and the stored names its rows hold (for the sweep).
    """

    folder: str
    types: tuple[str, ...]
    field: str
    too_big: str  # message id with %(mb)d
    wrong_type: str  # message id
    referenced: Callable[[], set[str]]

    def path(self) -> Path:
        return Path(current_app.instance_path) / self.folder


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    content_type: str
    size: int


KINDS: list[UploadKind] = []


def register(kind: UploadKind) -> UploadKind:
    KINDS.append(kind)
    return kind


def store(kind: UploadKind, content: bytes, max_bytes: int, folder: Path | str | None = None) -> StoredFile:
    """Check the upload's size and real type, and write it under a random name, mode 0600, in `folder` (the
    kind's own by default); the caller adds the row naming it.
    """
    if not content:
        raise DomainError(_("上传的文件是空的。"), field=kind.field)
    if len(content) > max_bytes:
        raise DomainError(_(kind.too_big, mb=max_bytes // (1024 * 1024)), field=kind.field)
    sniffed = sniff_type(content[:8])
    if sniffed is None or sniffed[0] not in kind.types:
        raise DomainError(_(kind.wrong_type), field=kind.field)
    content_type, suffix = sniffed
    folder = Path(folder) if folder is not None else kind.path()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16) + suffix
    descriptor = os.open(folder / stored_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        target.write(content)
    return StoredFile(stored_name, content_type, len(content))


def sweep_orphans(max_age: timedelta = ORPHAN_AGE) -> int:
    """Delete kept uploads no row names, older than `max_age` (a rolled-back upload); return how many."""
    oldest = time.time() - max_age.total_seconds()
    removed = 0
    for kind in KINDS:
        folder = kind.path()
        if not folder.is_dir():
            continue
        referenced = kind.referenced()
        for path in folder.iterdir():
            try:
                if path.is_file() and path.name not in referenced and path.stat().st_mtime < oldest:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
    if removed:
        log.info("deleted %d uploaded files no record names", removed)
    return removed
