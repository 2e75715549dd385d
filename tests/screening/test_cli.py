"""Issue 6's check: from the three sample files, the CLI's tables count what a hand count of the rows gives."""

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from caretrack.screening.tables import COUNT_FIELDS

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
PRIORITY = ["建档立卡", "残疾", "农村低保", "农村特困救助供养", "孤儿", "其他"]


def hand_counts() -> dict[str, list[int]]:
    """Per school and district: the total and the six sub-counts, each student under its first category."""
    units = {row["单位代码"]: row for row in csv.DictReader((SAMPLES / "units-sample.csv").open(encoding="utf-8-sig"))}
    counts: dict[str, Counter] = defaultdict(Counter)
    for row in csv.DictReader((SAMPLES / "students-sample.csv").open(encoding="utf-8-sig")):
        if row["认定学年"] != "2025-2026" or not row["家庭经济困难类型"]:
            continue
        first = min(row["家庭经济困难类型"].split("、"), key=PRIORITY.index)
        for code in (row["单位代码"], units[row["单位代码"]]["上级单位代码"]):
            counts[code][first] += 1
    return {code: [sum(c.values())] + [c[name] for name in PRIORITY] for code, c in counts.items()}


@pytest.fixture
def sample_city(runner):
    assert runner.invoke(args=["caretrack", "init"]).exit_code == 0
    for kind, name in (("units", "units-sample.csv"), ("students", "students-sample.csv"),
                       ("disbursements", "disbursements-sample.csv")):
        result = runner.invoke(args=["caretrack", "import", kind, str(SAMPLES / name)])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("code", ["4199010001", "4199010002", "3199010001", "990101", "990102"])
def test_the_table_of_each_school_and_district_matches_a_hand_count(sample_city, runner, tmp_path, code):
    run = runner.invoke(args=["caretrack", "screening", "run", "--unit", code, "--year", "2025-2026", "--term", "2"])
    assert run.exit_code == 0, run.output
    output = tmp_path / f"{code}.json"
    table = runner.invoke(args=["caretrack", "screening", "table", "--unit", code, "--year", "2025-2026", "--term",
                                "2", "--format", "json", "-o", str(output)])
    assert table.exit_code == 0, table.output
    data = json.loads(output.read_text(encoding="utf-8"))
    assert [data[field] for field in COUNT_FIELDS] == hand_counts()[code]
    assert data["表"] == ("附件2" if len(code) == 6 else "附件1")
    assert all("*" in case["身份证号"] for case in data["应助未助"])


def test_the_xlsx_table_is_written_and_a_missing_run_is_refused(sample_city, runner, tmp_path):
    from openpyxl import load_workbook

    refused = runner.invoke(args=["caretrack", "screening", "table", "--unit", "990102", "--year", "2025-2026",
                                  "--term", "1", "-o", str(tmp_path / "none.xlsx")])
    assert refused.exit_code != 0
    assert "请先运行排查" in refused.output
    runner.invoke(args=["caretrack", "screening", "run", "--unit", "990102", "--year", "2025-2026", "--term", "1"])
    runner.invoke(args=["caretrack", "screening", "table", "--unit", "990102", "--year", "2025-2026", "--term", "1",
                        "-o", str(tmp_path / "t.xlsx")])
    sheet = load_workbook(tmp_path / "t.xlsx").active
    assert sheet["A1"].value == "区教育局家庭经济困难学生排查统计汇总表"


def test_a_year_without_identification_is_refused_by_the_cli(sample_city, runner):
    result = runner.invoke(args=["caretrack", "screening", "run", "--unit", "4199010001", "--year", "2023-2024",
                                 "--term", "1"])
    assert result.exit_code != 0
    assert "还没有家庭经济困难认定数据" in result.output
