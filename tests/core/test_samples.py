"""The sample import files of docs/samples are the project's own output, and say what the docs say they hold."""

import csv
import io
from pathlib import Path

from caretrack.core.idnumber import parse

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


def test_regenerating_the_samples_gives_the_committed_files_byte_for_byte(runner, tmp_path):
    result = runner.invoke(args=["caretrack", "samples", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == sorted(path.name for path in SAMPLES.iterdir())
    for name in written:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def rows_of(name: str, encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((SAMPLES / name).read_bytes().decode(encoding))))


def test_every_sample_id_number_is_valid_and_unique():
    students = rows_of("students-sample.csv")
    numbers = [row["身份证号"] for row in students]
    assert len(set(numbers)) == len(numbers) == 124
    for row in students:
        parsed = parse(row["身份证号"])
        assert row["性别"] == ("男" if parsed.gender == "m" else "女")


def test_the_gb18030_sample_holds_the_same_rows():
    assert rows_of("students-sample-gb18030.csv", "gb18030") == rows_of("students-sample.csv")


def test_each_row_of_the_bad_file_differs_from_its_good_row_in_one_cell_but_the_shared_student_number():
    good, bad = rows_of("students-sample.csv"), rows_of("students-bad.csv")
    changed = [[column for column in row if row[column] != good[number][column]] for number, row in enumerate(bad)]
    assert changed == [["身份证号"], ["身份证号"], ["身份证号"], ["学号"], [], ["家庭经济困难类型", "困难等级"],
                       ["单位代码"], ["姓名"]]
    assert bad[3]["学号"] == bad[4]["学号"]


def test_the_sample_payments_name_students_of_the_sample():
    numbers = {row["身份证号"] for row in rows_of("students-sample.csv")}
    payments = rows_of("disbursements-sample.csv")
    assert {row["身份证号"] for row in payments} <= numbers
    assert len({row["凭证号"] for row in payments}) == len(payments) == 36
