"""One way to keep uploads for attachments and photos: checked by content, 0600, swept when no row names them."""

import os
import time

import pytest

from caretrack.activities import services as activities
from caretrack.core import uploads
from caretrack.core.errors import DomainError
from caretrack.ledger import services as ledger
from tests.activities.conftest import make_activity

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_attachments_and_photos_are_the_same_kind_of_stored_file(city, tmp_path):
    activity = make_activity(city.east_school, "感恩教育")
    photo = activities.add_photo(None, activity, "合影.png", PNG, tmp_path, 1024)
    assert (tmp_path / photo.stored_name).stat().st_mode & 0o777 == 0o600
    with pytest.raises(DomainError, match="照片只能是 JPG 或 PNG 图片"):
        activities.add_photo(None, activity, "scan.png", b"%PDF-1.4", tmp_path, 1024)
    stored = uploads.store(ledger.ATTACHMENTS, b"%PDF-1.4", 1024, tmp_path)  # a scan is an attachment
    assert stored.content_type == "application/pdf"
    assert (tmp_path / stored.stored_name).stat().st_mode & 0o777 == 0o600
    assert {kind.folder for kind in uploads.KINDS} >= {"attachments", "activity_photos"}


def test_the_sweep_deletes_old_files_no_row_names(city, app):
    activity = make_activity(city.east_school, "感恩教育")
    kept = activities.add_photo(None, activity, "合影.png", PNG, activities.PHOTOS.path(), 1024)
    orphan = uploads.store(activities.PHOTOS, PNG, 1024)  # its request rolled back: no row
    fresh = uploads.store(activities.PHOTOS, PNG, 1024)  # a request still running may yet add its row
    hour_ago = time.time() - 2 * 3600
    for name in (kept.stored_name, orphan.stored_name):
        os.utime(activities.PHOTOS.path() / name, (hour_ago, hour_ago))
    assert uploads.sweep_orphans() >= 1
    folder = activities.PHOTOS.path()
    assert (folder / kept.stored_name).exists()
    assert not (folder / orphan.stored_name).exists()
    assert (folder / fresh.stored_name).exists()


def test_a_kept_file_missing_from_the_disk_is_a_404_and_logged_not_a_500(app, tmp_path, caplog):
    from werkzeug.exceptions import NotFound

    from caretrack.core.uploads import send_stored

    (tmp_path / "kept.pdf").write_bytes(b"%PDF-1.4 kept")
    with app.test_request_context():
        response = send_stored(tmp_path, "kept.pdf", mimetype="application/pdf", download_name="签到表.pdf",
                               as_attachment=True)
        response.direct_passthrough = False
        assert response.get_data() == b"%PDF-1.4 kept"
        assert "attachment" in response.headers["Content-Disposition"]
        with pytest.raises(NotFound):
            send_stored(tmp_path, "gone.pdf", mimetype="application/pdf", download_name="签到表.pdf")
        with pytest.raises(NotFound):  # a stored name is never a path
            send_stored(tmp_path / "sub", "../kept.pdf", mimetype="application/pdf", download_name="x.pdf")
    assert "stored file missing" in caplog.text
