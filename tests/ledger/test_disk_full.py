"""The disk full while a care record's attachment is saved: a clear message, the form kept, no file left over."""

import errno
import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caretrack.core import uploads
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.ledger import services
from caretrack.ledger.models import SupportRecord
from tests.factories import make_user
from tests.ledger.test_views import PNG, story  # noqa: F401 - the fixture

SUMMARY = "家访：母亲说明了家里的困难，孩子最近睡眠不好，下周再去一次。"


def _folder(app) -> Path:
    return Path(app.instance_path) / "attachments"


def _post(client, student_id: int):
    return client.post(f"/ledger/students/{student_id}/records", data={
        "kind": "home_visit", "happened_on": "2026-11-20", "summary": SUMMARY, "tier": "",
        "attachment": (io.BytesIO(PNG), "家访.png")}, content_type="multipart/form-data")


@pytest.fixture
def disk_full(monkeypatch):
    written = []

    def half_then_full(path, content):
        path.write_bytes(content[:10])  # part of it got out before the disk filled
        written.append(path)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(uploads, "_write_file", half_then_full)
    return written


def test_a_full_disk_keeps_the_users_text_says_why_and_writes_nothing(app, story, login, disk_full):  # noqa: F811
    before = set(_folder(app).glob("*")) if _folder(app).exists() else set()
    client = login(make_user(Role.COUNSELOR, story.east_school))
    response = _post(client, story.ann.id)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "服务器存储空间已满" in page
    assert SUMMARY in page  # the form is shown again with what the user typed
    assert db.session.scalar(select(func.count()).where(SupportRecord.kind == "home_visit")) == 0
    assert disk_full  # the write was tried, and its partial file is gone
    assert set(_folder(app).glob("*")) == before


def test_the_file_takes_its_name_only_after_the_commit(app, story, login):  # noqa: F811
    client = login(make_user(Role.COUNSELOR, story.east_school))
    assert _post(client, story.ann.id).status_code == 302
    visit = db.session.scalar(select(SupportRecord).where(SupportRecord.kind == "home_visit"))
    (attachment,) = visit.attachments
    assert (_folder(app) / attachment.stored_name).read_bytes() == PNG
    assert not (_folder(app) / (attachment.stored_name + uploads.TEMPORARY_SUFFIX)).exists()


def test_the_sweep_removes_orphans_and_finishes_a_rename_a_crash_cut_off(story, tmp_path):  # noqa: F811
    kept = services.add_attachment(None, story.psych, "scan.png", PNG, tmp_path, 1024)
    db.session.flush()
    (tmp_path / kept.stored_name).rename(tmp_path / (kept.stored_name + uploads.TEMPORARY_SUFFIX))
    (tmp_path / "deadbeef.png.part").write_bytes(PNG)  # a rolled-back save
    (tmp_path / "cafebabe.png").write_bytes(PNG)  # named by no row
    (tmp_path / "fresh.png.part").write_bytes(PNG)  # a save in progress right now
    old = time.time() - timedelta(days=1).total_seconds()
    for name in (kept.stored_name + ".part", "deadbeef.png.part", "cafebabe.png"):
        os.utime(tmp_path / name, (old, old))
    assert uploads.sweep_folder(tmp_path, {kept.stored_name}, timedelta(hours=6)) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([kept.stored_name, "fresh.png.part"])
