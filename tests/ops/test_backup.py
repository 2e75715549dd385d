"""`flask caretrack backup` and `restore`: the demo city, screened and summarised, restores identical."""

import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from caretrack.core import crypto
from caretrack.extensions import db
from tests.ops.conftest import invoke

pytestmark = pytest.mark.no_transaction

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
DISTRICT, SCHOOL = "990101", "4199010001"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _after_the_year():
    with time_machine.travel(datetime(2026, 9, 5, 4, 0, tzinfo=timezone.utc), tick=False):
        yield


def ok(application, *args):
    result = invoke(application, *args)
    assert result.exit_code == 0, result.output
    return result.output


def _populate(application) -> None:
    """The demo city, the sample city, a screening run, term summaries and an attachment on a restricted record."""
    ok(application, "init")
    ok(application, "demo")
    for kind, name in (("units", "units-sample.csv"), ("students", "students-sample.csv"),
                       ("disbursements", "disbursements-sample.csv")):
        ok(application, "import", kind, str(SAMPLES / name))
    for unit in (DISTRICT, SCHOOL):
        ok(application, "screening", "run", "--unit", unit, "--year", "2025-2026", "--term", "2")
    ok(application, "summaries", "generate", "--unit", SCHOOL, "--year", "2025-2026", "--term", "2")
    with application.app_context():
        from caretrack.ledger.models import Attachment, SupportRecord

        support = db.session.scalars(select(SupportRecord).order_by(SupportRecord.id)).first()
        folder = Path(application.instance_path) / "attachments"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "a1.png").write_bytes(PNG)
        db.session.add(Attachment(record_id=support.id, filename="家访.png", stored_name="a1.png",
                                  content_type="image/png", size=len(PNG)))
        db.session.commit()


def _everything(application) -> dict:
    """Every row of every table, ordered by its key, as Python values."""
    with application.app_context():
        rows = {}
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows[table.name] = [dict(row) for row in db.session.execute(select(table).order_by(*order)).mappings()]
        db.session.remove()
        return rows


def _exports(application, folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    ok(application, "screening", "table", "--unit", DISTRICT, "--year", "2025-2026", "--term", "2",
       "--format", "json", "-o", str(folder / "district.json"))
    ok(application, "screening", "table", "--unit", SCHOOL, "--year", "2025-2026", "--term", "2",
       "--format", "json", "-o", str(folder / "school.json"))
    ok(application, "summaries", "export", "--unit", SCHOOL, "--year", "2025-2026", "--term", "2",
       "--format", "json", "-o", str(folder / "summaries.json"))
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_the_demo_city_restores_into_an_empty_instance_identical(fresh_instance, tmp_path):
    source = fresh_instance("source")
    _populate(source)
    backup = tmp_path / "caretrack.backup"
    assert "backup written" in ok(source, "backup", "-o", str(backup))
    target = fresh_instance("target")
    assert "restored" in ok(target, "restore", str(backup))

    before, after = _everything(source), _everything(target)
    for name in before:
        if name == "audit_events":  # the restore appends its own event, and the backup one was after the snapshot
            assert after[name][:len(before[name]) - 1] == before[name][:-1]
            continue
        assert after[name] == before[name], name
    assert sum(len(rows) for rows in before.values()) > 500
    assert _exports(source, tmp_path / "from-source") == _exports(target, tmp_path / "from-target")
    assert (Path(target.instance_path) / "attachments" / "a1.png").read_bytes() == PNG
    # The restore's own audit row got the next id (on PostgreSQL: the sequences follow the restored rows).
    assert after["audit_events"][-1]["action"] == "backup_restored"
    assert after["audit_events"][-1]["id"] == before["audit_events"][-2]["id"] + 1


def test_id_numbers_stay_encrypted_inside_the_backup(fresh_instance, tmp_path):
    source = fresh_instance("source")
    _populate(source)
    backup = tmp_path / "caretrack.backup"
    ok(source, "backup", "-o", str(backup))
    with source.app_context():
        from caretrack.students.models import Student

        numbers = [crypto.decrypt(cipher) for cipher in db.session.scalars(select(Student.id_cipher))]
    with zipfile.ZipFile(backup) as archive:
        content = b"".join(archive.read(name) for name in archive.namelist()).decode("utf-8", "replace")
        manifest = json.loads(archive.read("manifest.json"))
    assert len(numbers) > 50
    assert not [number for number in numbers if number in content]
    assert manifest["files"] == {"attachments/a1.png": __import__("hashlib").sha256(PNG).hexdigest()}


def test_a_restore_into_an_instance_with_data_is_refused_and_changes_nothing(fresh_instance, tmp_path):
    source = fresh_instance("source")
    ok(source, "init")
    backup = tmp_path / "caretrack.backup"
    ok(source, "backup", "-o", str(backup))
    result = invoke(source, "restore", str(backup))
    assert result.exit_code != 0
    assert "refusing to restore into an instance that is not empty" in result.output


def test_a_file_that_is_not_a_backup_is_refused(fresh_instance, tmp_path):
    target = fresh_instance("target")
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"not a zip")
    result = invoke(target, "restore", str(bogus))
    assert result.exit_code != 0
    assert "is not a caretrack backup" in result.output
