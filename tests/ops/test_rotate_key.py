"""`flask caretrack rotate-key`: every ID number moves to the new key while the app serves, resumable, audited."""

import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from caretrack import create_app
from caretrack.audit.models import AuditEvent
from caretrack.core import crypto, keyring
from caretrack.core.models import as_stored, encrypted_columns
from caretrack.extensions import db
from caretrack.students import queries
from caretrack.students import tasks as keys
from caretrack.students.models import Identification, Student
from tests.faults import TEST_DATA_KEY, process_env
from tests.ops.conftest import invoke

pytestmark = pytest.mark.no_transaction

NEW_KEY = "the-new-data-key-after-rotation-0123456789"


class Crash(Exception):
    pass


@pytest.fixture
def city(fresh_instance):
    application = fresh_instance("rotation")
    assert invoke(application, "init").exit_code == 0
    assert invoke(application, "demo").exit_code == 0
    with application.app_context():
        _restricted_records()
        _frozen_year()
        numbers = {row.id: crypto.decrypt(row.id_cipher) for row in db.session.execute(
            select(Student.id, Student.id_cipher))}
        db.session.remove()
    assert len(numbers) > 20
    return application, numbers


def _restricted_records() -> None:
    """Psychological-care records (restricted) with an outcome and a next step, and their follow-ups."""
    from caretrack.accounts.models import User
    from caretrack.followups.models import FollowUp
    from caretrack.ledger import services as ledger
    from caretrack.ledger.models import RecordKind, Tier

    today = date(2026, 11, 28)
    assignee = db.session.scalars(select(User.id)).first()
    for number, student in enumerate(db.session.scalars(select(Student).order_by(Student.id).limit(12))):
        record = ledger.create_record(None, ledger.RecordData(
            student=student, kind=RecordKind.PSYCH_CARE, happened_on=today, summary=f"心理关爱记录 {number}",
            outcome=f"情绪好转 {number}", next_step=f"两周后复谈 {number}", tier=Tier.RESTRICTED), today)
        db.session.add(FollowUp(student_id=student.id, school_id=student.school_id, kind="talk", due_on=today,
                                assignee_id=assignee, note=f"复谈 {number}", tier=Tier.RESTRICTED,
                                source="next_step", source_record_id=record.id))
        student.status_note = f"因病休学 {number}"
        if number == 0:  # a record removed and a follow-up cancelled: their reasons are encrypted too
            from caretrack.followups import services as followups
            ledger.remove_entry(None, ledger.create_record(None, ledger.RecordData(
                student=student, kind=RecordKind.TALK, happened_on=today, summary="误录的谈话"), today), "录错学生")
            db.session.flush()
            followups.cancel(None, db.session.scalars(select(FollowUp).where(
                FollowUp.student_id == student.id)).first(), "家长已办理转学")
    for number, identification in enumerate(db.session.scalars(select(Identification).order_by(Identification.id)
                                                                .limit(12))):
        identification.note = f"父亲重病 {number}"
    db.session.commit()


def _frozen_year() -> None:
    """The current year closed for the first school: its summaries frozen in the append-only archive."""
    from caretrack.core.timeutil import local_today
    from caretrack.org.models import Unit
    from caretrack.org.services import term_on
    from caretrack.summaries import archive

    school = db.session.get(Unit, db.session.scalar(select(Student.school_id).order_by(Student.id).limit(1)))
    report = archive.close_year(None, term_on(None, local_today()).year, school, force=True)
    assert report.snapshots > 0
    db.session.commit()


def test_the_fixture_holds_a_text_in_every_encrypted_column(city):
    """So that the rotations below move every kind of encrypted text, the frozen archive's included."""
    application, _numbers = city
    with application.app_context():
        filled = {(table, column) for table, _row, column in _texts()}
        db.session.remove()
    assert filled == {(table.name, column.name) for table, columns in encrypted_columns(db.metadata).items()
                      for column in columns}


def _texts() -> dict[tuple[str, int, str], str]:
    """Every encrypted text, decrypted, by table, row and column."""
    found = {}
    for table, columns in encrypted_columns(db.metadata).items():
        for row in db.session.execute(select(table)).mappings():
            for column in columns:
                if row[column.name] is not None:
                    found[table.name, row["id"], column.name] = row[column.name]
    return found


def _stored_under(table_name: str, row_id: int, column: str) -> str:
    """The key (NEW_KEY or TEST_DATA_KEY) a stored text opens with."""
    table = next(t for t in encrypted_columns(db.metadata) if t.name == table_name)
    stored = as_stored(table)
    blob = db.session.scalar(select(stored.c[column]).where(stored.c.id == row_id))
    return crypto.decrypt_with_secret(bytes(blob), f"{table_name}.{column}".encode())[1]


def _under_keys(application, key: str, previous: str | None) -> None:
    application.config.update(CARETRACK_DATA_KEY=key, CARETRACK_DATA_KEY_PREVIOUS=previous)


def _found(number: str) -> list[int]:
    return list(db.session.scalars(queries._search(select(Student.id), number)))


def _assert_all_under_the_new_key_only(application, numbers: dict[int, str], texts: dict | None = None) -> None:
    _under_keys(application, NEW_KEY, None)
    with application.app_context():
        for student_id, cipher, index in db.session.execute(select(Student.id, Student.id_cipher, Student.id_index)):
            assert crypto.decrypt(cipher) == numbers[student_id]
            assert index == crypto.blind_index(numbers[student_id])
        if texts is not None:  # the new key alone opens every text, and each reads as before
            assert _texts() == texts
            assert {_stored_under(*key) for key in texts} == {NEW_KEY}
        actions = dict(db.session.execute(select(AuditEvent.action, func.count()).where(AuditEvent.action.in_(
            ["key_rotation_started", "key_rotated"])).group_by(AuditEvent.action)).all())
        assert actions == {"key_rotation_started": 1, "key_rotated": 1}
        assert keyring.get_setting(keys.PROGRESS) is None
        assert keyring.get_setting(keyring.FINGERPRINT) == crypto.fingerprint(NEW_KEY)
        db.session.remove()


def test_a_rotation_cut_short_serves_both_keys_and_the_rerun_finishes_it(city):
    application, numbers = city
    _under_keys(application, NEW_KEY, TEST_DATA_KEY)
    batches = []

    def crash_after_two(_table, last_id, _rows):
        batches.append(last_id)
        if len(batches) == 2:
            raise Crash

    with application.app_context(), pytest.raises(Crash):
        keys.rotate(batch=5, on_batch=crash_after_two)
    with application.app_context():  # half rotated: the site reads and finds both kinds of rows
        first, last = min(numbers), max(numbers)
        assert crypto.decrypt_with_secret(db.session.get(Student, first).id_cipher)[1] == NEW_KEY
        assert crypto.decrypt_with_secret(db.session.get(Student, last).id_cipher)[1] == TEST_DATA_KEY
        assert _found(numbers[first]) == [first]
        assert _found(numbers[last]) == [last]
        db.session.remove()
    result = invoke(application, "rotate-key", "--batch-size", "5")
    assert result.exit_code == 0, result.output
    resumed_from = int(result.output.splitlines()[0].split()[3].rstrip(":"))
    assert resumed_from > batches[-1]  # the batches committed before the crash were not walked again
    _assert_all_under_the_new_key_only(application, numbers)
    with pytest.raises(keyring.DataKeyError):  # the old key alone no longer starts the app
        create_app({"SQLALCHEMY_DATABASE_URI": application.config["SQLALCHEMY_DATABASE_URI"],
                    "CARETRACK_DATA_KEY": TEST_DATA_KEY, "CARETRACK_DATA_KEY_PREVIOUS": None, "SECRET_KEY": "s"})


def test_a_rotation_process_killed_with_sigkill_is_finished_by_the_next_run(city, tmp_path):
    application, numbers = city
    with application.app_context():
        texts = _texts()
        db.session.remove()
    env = process_env(application.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "process",
                      CARETRACK_DATA_KEY=NEW_KEY, CARETRACK_DATA_KEY_PREVIOUS=TEST_DATA_KEY)
    process = subprocess.Popen([sys.executable, "-m", "flask", "caretrack", "rotate-key", "--batch-size", "3",
                                "--pause", "0.5"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    lines = [process.stdout.readline() for _ in range(2)]  # two batches committed
    assert all(line.startswith("up to student") for line in lines), lines
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(0.2)
    rerun = subprocess.run([sys.executable, "-m", "flask", "caretrack", "rotate-key", "--batch-size", "50"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "rotation finished" in rerun.stdout
    _assert_all_under_the_new_key_only(application, numbers, texts)


def test_a_rotation_cut_short_among_the_care_texts_reads_both_keys_and_the_rerun_finishes_it(city):
    application, numbers = city
    with application.app_context():
        texts = _texts()
        db.session.remove()
    assert len({key for key in texts if key[0] == "support_records" and key[2] == "outcome"}) == 12
    _under_keys(application, NEW_KEY, TEST_DATA_KEY)

    def crash_in_the_care_records(table, _last_id, _rows):
        if table == "support_records texts":
            raise Crash

    with application.app_context(), pytest.raises(Crash):
        keys.rotate(batch=3, on_batch=crash_in_the_care_records)
    with application.app_context():  # the first batch of records moved, the rest not yet: all read the same
        records = sorted(key for key in texts if key[0] == "support_records" and key[2] == "summary")
        assert _stored_under(*records[0]) == NEW_KEY
        assert _stored_under(*records[-1]) == TEST_DATA_KEY
        assert {_stored_under(*key) for key in texts if key[0] == "followups"} == {TEST_DATA_KEY}
        assert _texts() == texts
        db.session.remove()
    result = invoke(application, "rotate-key", "--batch-size", "3")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("up to support_records texts ")  # resumed where it stopped
    assert "up to student" not in result.output
    _assert_all_under_the_new_key_only(application, numbers, texts)
    with application.app_context():
        detail = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "key_rotated"))
        db.session.remove()
    assert f"{len(numbers)} ID numbers" in detail
    rows_with_texts = len({key[:2] for key in texts})
    assert f"{rows_with_texts} rows of care texts" in detail


def test_rotating_without_the_previous_key_is_refused(city):
    application, _numbers = city
    result = invoke(application, "rotate-key")
    assert result.exit_code != 0
    assert "CARETRACK_DATA_KEY_PREVIOUS" in result.output
