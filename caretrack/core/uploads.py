"""Files users upload and the app keeps (a record's attachments, an activity's photos): checked by their content,
written readable by the app alone, and swept when no row names them.

A file is written in full under a temporary name (`.part`) before its row is flushed, and takes its own name only
once the request's transaction commits (in a job or the CLI, whose caller commits, at once): a rollback leaves no
file under a name a row could ever point to. A full disk is a message on the form, never a 500 nor half a file.
A deleted row's files go once its delete commits (`remove_after_commit`).
`sweep_orphans` (scheduled) deletes what rollbacks left once older than an hour, and finishes a rename that a crash
between the commit and the rename cut off, asking each kind's registered `referenced()` which names its rows hold.
"""

import errno
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import abort, current_app, has_request_context, send_file
from flask_babel import gettext as _

from caretrack.core import requests
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
TEMPORARY_SUFFIX = ".part"


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
    final = folder / stored_name
    temporary = final.with_name(final.name + TEMPORARY_SUFFIX)
    _write_whole(temporary, content, kind.field)
    if has_request_context():
        requests.after_commit(lambda: temporary.replace(final))
    else:
        temporary.replace(final)
    return StoredFile(stored_name, content_type, len(content))


def remove_after_commit(kind: UploadKind, stored_names: list[str], folder: Path | str | None = None) -> None:
    """Delete kept files whose rows the caller deleted, once the request's transaction commits (a rollback keeps
    them, for the rows it brings back). Outside a request (a job, the CLI) the files stay until the sweep, which
    deletes them an hour after no row names them.
    """
    if not stored_names or not has_request_context():
        return
    folder = Path(folder) if folder is not None else kind.path()
    paths = [folder / Path(name).name for name in stored_names]  # a stored name is never a path; make sure

    def remove() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    requests.after_commit(remove)


def send_stored(folder: Path, stored_name: str, *, mimetype: str, download_name: str, as_attachment: bool = False):
    """Send a kept file. One its row names but the disk lacks (a restore without its files, a disk fault) is a
    404 for the user and an error in the log for the operator, never a 500.
    """
    path = Path(folder) / Path(stored_name).name
    if not path.is_file():
        log.error("stored file missing: %s", path)
        abort(404)
    return send_file(path, mimetype=mimetype, download_name=download_name, as_attachment=as_attachment)


def _write_whole(path: Path, content: bytes, field: str) -> None:
    """Write the file in full, 0600, or leave nothing; a full disk is a message for the form."""
    try:
        _write_file(path, content)
    except OSError as error:
        path.unlink(missing_ok=True)  # no half-written file left behind
        log.error("upload not stored: %s", errno.errorcode.get(error.errno, type(error).__name__))
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DomainError(_("服务器存储空间已满，附件没有保存，本条记录也未保存。您填写的内容仍在下方表单中；"
                                "请联系系统管理员清理空间后再提交。"), field=field) from None
        raise DomainError(_("附件无法写入服务器存储，本条记录未保存。您填写的内容仍在下方表单中，请稍后再试。"),
                          field=field) from None


def _write_file(path: Path, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        target.write(content)
        target.flush()
        os.fsync(target.fileno())


def sweep_orphans(max_age: timedelta = ORPHAN_AGE) -> int:
    """Delete kept uploads no row names, older than `max_age` (a rolled-back upload); return how many."""
    return sum(sweep_folder(kind.path(), kind.referenced(), max_age) for kind in KINDS)


def sweep_folder(folder: Path, referenced: set[str], max_age: timedelta = ORPHAN_AGE) -> int:
    """In one folder: delete files older than `max_age` that no row names; rename a temporary file a committed
    row names (the process died between the commit and the rename). Returns how many were deleted.
    """
    if not folder.is_dir():
        return 0
    oldest = time.time() - max_age.total_seconds()
    removed = 0
    for path in folder.iterdir():
        name = path.name.removesuffix(TEMPORARY_SUFFIX)
        try:
            if not path.is_file() or path.stat().st_mtime >= oldest:
                continue
            if name in referenced and path.name != name:
                path.replace(folder / name)
            elif name not in referenced:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    if removed:
        log.info("deleted %d uploaded files no record names in %s", removed, folder.name)
    return removed
