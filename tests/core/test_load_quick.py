"""The load generator of tests/perf/load.py in its quick mode: a real gunicorn, two writers for a few seconds.

The 60-second run and its figures are in docs/security.md; this only keeps the script working and the audit
count exact (one row per accepted write).
"""

import os

import pytest

from tests.perf import load

pytestmark = pytest.mark.no_transaction


def test_a_short_mixed_run_has_no_errors_and_one_audit_row_per_write():
    figures = load.run(os.environ.get("CARETRACK_TEST_DATABASE_URL"), seconds=3, users=2, workers=1)
    assert figures["requests"] > 0
    assert figures["errors"] == 0, figures["error_kinds"]
    assert figures["audit_exact"], figures
