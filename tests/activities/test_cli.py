"""`flask caretrack activities create|attendance|coverage`: the output formats automation relies on."""

import json

from openpyxl import load_workbook

from caretrack.org.services import ensure_academic_year
from tests.factories import identify, make_student


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_create_prints_the_number_last_and_warns_of_a_closed_year(city, runner):
    result = runner.invoke(args=["caretrack", "activities", "create", "--organiser", city.university.code,
                                 "--theme", "诚信教育", "--theme", "防信贷诈骗教育", "--title", "诚信讲座",
                                 "--date", "2024-03-10", "--place", "礼堂"])
    assert result.exit_code == 0, result.output
    assert last_line(result.output).isdigit()
    assert "warning: 活动日期在已结束的学年 2023-2024 内" in result.output
    unknown = runner.invoke(args=["caretrack", "activities", "create", "--organiser", city.university.code,
                                  "--theme", "没有这个主题", "--title", "x", "--date", "2026-03-10"])
    assert unknown.exit_code == 1
    assert "unknown theme: 没有这个主题" in unknown.output


def test_attendance_and_coverage_match_a_hand_count(city, runner, tmp_path):
    year = ensure_academic_year(2025)
    students = [make_student(city.uni_class, name=f"学生{n}", student_no=f"U{n}") for n in range(1, 6)]
    for student in students[:4]:
        identify(student, 2025)  # U1-U4 identified this year; U5 not
    created = runner.invoke(args=["caretrack", "activities", "create", "--organiser", city.university.code,
                                  "--theme", "防信贷诈骗教育", "--title", "防范校园贷", "--date", "2026-03-10"])
    activity_id = last_line(created.output)
    sheet = tmp_path / "签到.csv"
    sheet.write_text("学号\nU1\nU2\nU2\nU5\n", encoding="utf-8")
    dry = runner.invoke(args=["caretrack", "activities", "attendance", activity_id, str(sheet), "--dry-run"])
    assert last_line(dry.output) == "created 3, updated 0, unchanged 1, invalid 0"
    result = runner.invoke(args=["caretrack", "activities", "attendance", activity_id, str(sheet)])
    assert result.exit_code == 0, result.output
    assert last_line(result.output) == "created 3, updated 0, unchanged 1, invalid 0"
    again = runner.invoke(args=["caretrack", "activities", "attendance", activity_id, str(sheet)])
    assert last_line(again.output) == "created 0, updated 0, unchanged 4, invalid 0"
    bad = tmp_path / "bad.csv"
    bad.write_text("学号\nU1\nNOPE\n", encoding="utf-8")
    refused = runner.invoke(args=["caretrack", "activities", "attendance", activity_id, str(bad)])
    assert refused.exit_code == 1
    assert "line 3, 学号: 没有学号为“NOPE”的学生。" in refused.output
    assert last_line(refused.output) == "created 0, updated 0, unchanged 0, invalid 1"

    out = tmp_path / "coverage.json"
    runner.invoke(args=["caretrack", "activities", "coverage", "--unit", city.university.code,
                        "--year", year.label, "--format", "json", "-o", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    fraud = next(goal for goal in data["目标"] if goal["主题"] == "防信贷诈骗教育")
    # identified: U1-U4; came: U1, U2 (U5 came but is not identified)
    assert (fraud["应覆盖学生数"], fraud["已覆盖学生数"]) == (4, 2)
    assert fraud["未覆盖"] == [{"单位代码": city.university.code, "学号": f"U{n}", "姓名": f"学生{n}"} for n in (3, 4)]
    honesty = next(goal for goal in data["目标"] if goal["主题"] == "诚信教育")
    assert (honesty["应覆盖学生数"], honesty["已覆盖学生数"], len(honesty["未覆盖"])) == (4, 0, 4)

    workbook_path = tmp_path / "coverage.xlsx"
    result = runner.invoke(args=["caretrack", "activities", "coverage", "--unit", city.university.code,
                                 "--year", year.label, "--format", "xlsx", "-o", str(workbook_path)])
    assert "防信贷诈骗教育 2/4" in result.output
    names = [row[5] for row in load_workbook(workbook_path)["未覆盖学生"].iter_rows(min_row=2, values_only=True)]
    assert names.count("学生3") == 2  # unreached by both goals of a university


def test_a_districts_coverage_covers_its_schools(city, runner, tmp_path):
    year = ensure_academic_year(2025)
    identify(make_student(city.class_a, student_no="E1"), 2025)
    identify(make_student(city.west_class, student_no="W1"), 2025)
    out = tmp_path / "east.json"
    runner.invoke(args=["caretrack", "activities", "coverage", "--unit", city.east.code, "--year", year.label,
                        "-o", str(out)])
    thanks = next(g for g in json.loads(out.read_text(encoding="utf-8"))["目标"] if g["主题"] == "感恩教育")
    assert [s["学号"] for s in thanks["未覆盖"]] == ["E1"]
