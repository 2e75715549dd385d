"""The pause points of fault tests (core/faults.py): inert unless asked for, then stopping on the pass asked for."""

import threading
import time

from caretrack.core.faults import pause_point


def test_a_pause_point_does_nothing_unless_the_environment_names_it(monkeypatch, capsys):
    monkeypatch.delenv("CARETRACK_FAULT_PAUSE", raising=False)
    pause_point("test.unnamed")
    monkeypatch.setenv("CARETRACK_FAULT_PAUSE", "test.other=1")
    pause_point("test.unnamed")
    assert capsys.readouterr().err == ""


def test_the_named_pass_waits_while_the_gate_file_exists_and_goes_on_once_it_is_gone(monkeypatch, tmp_path, capfd):
    gate = tmp_path / "gate"
    gate.touch()
    monkeypatch.setenv("CARETRACK_FAULT_PAUSE", "test.gated=2")
    monkeypatch.setenv("CARETRACK_FAULT_GATE", str(gate))
    pause_point("test.gated")  # the first pass goes by
    passed = threading.Event()
    worker = threading.Thread(target=lambda: (pause_point("test.gated"), passed.set()), daemon=True)
    worker.start()
    deadline = time.monotonic() + 10
    while "CARETRACK FAULT PAUSE test.gated=2" not in capfd.readouterr().err:
        assert time.monotonic() < deadline, "the second pass did not pause"
        time.sleep(0.02)
    assert not passed.is_set()
    gate.unlink()
    assert passed.wait(10)
    pause_point("test.gated")  # the third pass goes by again
