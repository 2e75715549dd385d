"""`flask caretrack rotate-key`: every ID number moves to the new key while the app serves, resumable, audited."""

import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from caretrack import create_app
from caretrack.audit.models import AuditEvent
from caretrack.core import crypto, keyring
from caretrack.extensions import db
from caretrack.students import queries
from caretrack.students import tasks as keys
from caretrack.students.models import Student
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
        numbers = {row.id: crypto.decrypt(row.id_cipher) for row in db.session.execute(
            select(Student.id, Student.id_cipher))}
        db.session.remove()
    assert len(numbers) > 20
    return application, numbers


def _under_keys(application, key: str, previous: str | None) -> None:
    application.config.update(CARETRACK_DATA_KEY=key, CARETRACK_DATA_KEY_PREVIOUS=previous)


def _found(number: str) -> list[int]:
    return list(db.session.scalars(queries._search(select(Student.id), number)))


def _assert_all_under_the_new_key_only(application, numbers: dict[int, str]) -> None:
    _under_keys(application, NEW_KEY, None)
    with application.app_context():
        for student_id, cipher, index in db.session.execute(select(Student.id, Student.id_cipher, Student.id_index)):
            assert crypto.decrypt(cipher) == numbers[student_id]
            assert index == crypto.blind_index(numbers[student_id])
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

    def crash_after_two(last_id, _rows):
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
    _assert_all_under_the_new_key_only(application, numbers)


def test_rotating_without_the_previous_key_is_refused(city):
    application, _numbers = city
    result = invoke(application, "rotate-key")
    assert result.exit_code != 0
    assert "CARETRACK_DATA_KEY_PREVIOUS" in result.output
