"""`flask caretrack summaries ...` and `flask caretrack archive ...`."""

import json
import zipfile
from datetime import datetime, timezone

import pytest
import time_machine
from sqlalchemy import delete, text

from caretrack.extensions import db
from caretrack.summaries import services
from caretrack.summaries.models import ArchiveSnapshot

SCHOOL = "2199010101"


@pytest.fixture(autouse=True)
def _after_the_year():
    with time_machine.travel(datetime(2026, 9, 5, 4, 0, tzinfo=timezone.utc), tick=False):
        yield


def invoke(runner, *args):
    return runner.invoke(args=["caretrack", *args])


def test_generate_runs_to_the_end_and_says_how_many(ledger, runner):
    result = invoke(runner, "summaries", "generate", "--unit", SCHOOL, "--year", "2025-2026", "--term", "1")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "generated 1"


def test_export_json_has_the_issues_shape(ledger, runner, tmp_path):
    services.save_narrative(ledger.teacher, ledger.student, ledger.year, 1, "学习认真。")
    output = tmp_path / "s.json"
    result = invoke(runner, "summaries", "export", "--unit", SCHOOL, "--year", "2025-2026", "--term", "1",
                    "--format", "json", "-o", str(output))
    assert result.exit_code == 0, result.output
    [row] = json.loads(output.read_text(encoding="utf-8"))
    assert {key: row[key] for key in ("单位代码", "学号", "姓名", "学年", "学期", "资助合计", "跟进", "评语")} == {
        "单位代码": SCHOOL, "学号": "S2025001", "姓名": "李明", "学年": "2025-2026", "学期": 1,
        "资助合计": "1225.00", "跟进": {"已完成": 1, "未完成": 1}, "评语": "学习认真。"}
    assert row["资助"][1] == {"资助项目": "家庭经济困难寄宿生生活补助", "档次": "", "金额": "625.00",
                            "发放日期": "2025-11-20"}
    assert row["帮扶记录"]["心理关爱"] == 1
    assert row["活动"] == []


def test_export_pdf_of_one_student_or_a_zip_of_all(ledger, runner, tmp_path):
    one = tmp_path / "one.pdf"
    result = invoke(runner, "summaries", "export", "--unit", SCHOOL, "--year", "2025-2026", "--term", "1",
                    "--format", "pdf", "-o", str(one), "--student", "S2025001")
    assert result.exit_code == 0, result.output
    assert one.read_bytes().startswith(b"%PDF-")
    every = tmp_path / "all.zip"
    invoke(runner, "summaries", "export", "--unit", SCHOOL, "--year", "2025-2026", "--term", "1", "--format", "pdf",
           "-o", str(every))
    assert zipfile.ZipFile(every).namelist() == ["初一(1)班_S2025001_李明.pdf"]


def test_a_term_not_started_is_refused(ledger, runner, tmp_path):
    from caretrack.org.services import ensure_academic_year

    ensure_academic_year(2026)
    result = invoke(runner, "summaries", "generate", "--unit", SCHOOL, "--year", "2026-2027", "--term", "2")
    assert result.exit_code != 0
    assert "尚未开始" in result.output


def test_close_verify_and_export(ledger, runner, tmp_path):
    closed = invoke(runner, "archive", "close", "--year", "2025-2026", "--unit", SCHOOL)
    assert closed.exit_code == 0, closed.output
    assert "1 units, 2 snapshots" in closed.output
    again = invoke(runner, "archive", "close", "--year", "2025-2026", "--unit", SCHOOL)
    assert "0 units, 0 snapshots; 1 units already closed" in again.output
    verified = invoke(runner, "archive", "verify", "--year", "2025-2026")
    assert verified.exit_code == 0, verified.output
    output = tmp_path / "archive.json"
    exported = invoke(runner, "archive", "export", "--year", "2025-2026", "--unit", SCHOOL, "-o", str(output))
    assert exported.exit_code == 0, exported.output
    frozen = json.loads(output.read_text(encoding="utf-8"))
    assert [s["内容"]["资助合计"] for s in frozen["快照"]] == ["1225.00", "400.00"]


def test_verify_fails_and_names_a_removed_snapshot(ledger, runner):
    invoke(runner, "archive", "close", "--year", "2025-2026", "--unit", SCHOOL)
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER archive_snapshots_no_delete"))
    else:
        db.session.execute(text("ALTER TABLE archive_snapshots DISABLE TRIGGER archive_snapshots_append_only"))
    db.session.execute(delete(ArchiveSnapshot).where(ArchiveSnapshot.sequence == 1))
    result = invoke(runner, "archive", "verify", "--year", "2025-2026")
    assert result.exit_code == 1
    assert "单位 2199010101 第 1 条快照缺失" in result.output
