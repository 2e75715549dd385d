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
# The text of a restricted record and of its follow-up, ASCII so that no escaping could hide it in the file.
MARKERS = {"summary": "zqBACKUPSUMMARYk1", "outcome": "zqBACKUPOUTCOMEk2", "next_step": "zqBACKUPNEXTk3",
           "note": "zqBACKUPNOTEk4"}


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
        _restricted_record(support.student)
        db.session.commit()


def _restricted_record(student) -> None:
    """A psychological-care record (restricted) and a restricted follow-up, their text the markers."""
    from caretrack.accounts.models import User
    from caretrack.followups.models import FollowUp
    from caretrack.ledger import services as ledger
    from caretrack.ledger.models import RecordKind, Tier

    today = datetime(2026, 9, 5).date()
    record = ledger.create_record(None, ledger.RecordData(
        student=student, kind=RecordKind.PSYCH_CARE, happened_on=today, summary=MARKERS["summary"],
        outcome=MARKERS["outcome"], next_step=MARKERS["next_step"], tier=Tier.RESTRICTED), today)
    db.session.add(FollowUp(student_id=student.id, school_id=student.school_id, kind="talk", due_on=today,
                            assignee_id=db.session.scalars(select(User.id)).first(), note=MARKERS["note"],
                            tier=Tier.RESTRICTED, source="next_step", source_record_id=record.id))


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


def _marked_texts(application) -> dict[str, str]:
    from caretrack.followups.models import FollowUp
    from caretrack.ledger.models import SupportRecord

    with application.app_context():
        record = db.session.scalars(select(SupportRecord).where(SupportRecord.tier == "restricted")
                                    .order_by(SupportRecord.id.desc())).first()
        followup = db.session.scalars(select(FollowUp).where(FollowUp.source_record_id == record.id)).one()
        texts = {"summary": record.summary, "outcome": record.outcome, "next_step": record.next_step,
                 "note": followup.note}
        db.session.remove()
    return texts


def test_id_numbers_and_restricted_notes_stay_encrypted_inside_the_backup(fresh_instance, tmp_path):
    source = fresh_instance("source")
    _populate(source)
    backup = tmp_path / "caretrack.backup"
    ok(source, "backup", "-o", str(backup))
    with source.app_context():
        from caretrack.ledger.models import SupportRecord
        from caretrack.students.models import Student

        numbers = [crypto.decrypt(cipher) for cipher in db.session.scalars(select(Student.id_cipher))]
        summaries = [text for text in db.session.scalars(select(SupportRecord.summary)) if len(text) >= 8]
    with zipfile.ZipFile(backup) as archive:
        raw = b"".join(archive.read(name) for name in archive.namelist())
        unzipped = b"".join(archive.read(name) for name in archive.namelist() if name.startswith("tables/"))
        care_tables = archive.read("tables/support_records.jsonl") + archive.read("tables/followups.jsonl")
        manifest = json.loads(archive.read("manifest.json"))
    content = raw.decode("utf-8", "replace")
    assert len(numbers) > 50
    assert len(summaries) > 5
    assert not [number for number in numbers if number in content]
    assert _marked_texts(source) == MARKERS  # the source reads them
    for text in MARKERS.values():  # neither in the file's bytes nor in its tables once unzipped
        assert text.encode() not in raw
        assert text.encode() not in unzipped
    # No care record's text at all in the tables that hold them, whatever its tier (a normal record's text is
    # still quoted in the term summaries, which the generated_summaries table keeps as they were shown).
    assert not [text for text in summaries if text.encode() in care_tables]
    assert manifest["files"] == {"attachments/a1.png": __import__("hashlib").sha256(PNG).hexdigest()}

    target = fresh_instance("target")
    ok(target, "restore", str(backup))
    assert _marked_texts(target) == MARKERS  # restored under the same key, they read back


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
