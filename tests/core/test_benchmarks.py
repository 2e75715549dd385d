"""The benchmarks' quick mode: a small city through every benchmark and its floor, so that the code paths of
`make bench` keep working. No timing is asserted: the machine is shared, the data tiny.
"""

import re

import pytest

from tests.perf import run_benchmarks


@pytest.mark.no_transaction
def test_the_quick_benchmark_runs_every_row_beside_its_floor(monkeypatch, capsys):
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", "unused")  # the run points it at its temp folder; undone after
    run_benchmarks.main(["--quick"])
    output = capsys.readouterr().out
    for row in ("import 500 rows: re-import of the same file", "screening run, university: rerun",
                "screening table JSON, university", "screening table xlsx, university",
                "file page of a university student", "caseload, first page", "home page (city admin)",
                "throughput: file page", "bare Flask \"hello\" (the floor)"):
        assert row in output
    assert set(re.findall(r"(\d+) errors", output)) == {"0"}  # every request under load answered 200


def test_only_the_screening_rows_never_rewrite_the_docs():
    args = run_benchmarks.parse_args(["--only", "screening"])
    assert (args.only, args.no_docs) == ("screening", True)
    assert run_benchmarks.parse_args([]).only is None
