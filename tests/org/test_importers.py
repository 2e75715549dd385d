"""Importing units from CSV and XLSX (IMPORT-FORMATS.md "units")."""

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caretrack.core.imports import RowError, run_import
from caretrack.extensions import db
from caretrack.org.importers import UnitImporter
from caretrack.org.models import OwnerType, Stage, Unit, UnitKind
from tests.factories import xlsx_bytes

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "units-sample.csv"
HEADER = ["单位代码", "单位名称", "单位类型", "上级单位代码", "学段", "举办者"]


def sample_rows() -> list[list[str]]:
    with SAMPLE.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)



def import_bytes(data: bytes, filename: str = "units.csv", **options):
    return run_import(UnitImporter(None), io.BytesIO(data), filename, **options)


def unit(code: str) -> Unit | None:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def unit_count() -> int:
    return db.session.scalar(select(func.count(Unit.id)))


def counts(report) -> tuple[int, int, int, int]:
    return report.created, report.updated, report.unchanged, report.invalid


def test_the_sample_file_creates_its_eleven_units(app):
    with SAMPLE.open("rb") as stream:
        report = run_import(UnitImporter(None), stream, SAMPLE.name)
    assert not report.refused
    assert counts(report) == (11, 0, 0, 0)
    assert unit_count() == 11


def test_the_sample_units_have_the_parents_kinds_and_stages_of_the_file(app):
    import_bytes(SAMPLE.read_bytes())
    city = unit("990000")
    assert (city.name, city.unit_kind, city.parent, city.stages) == ("示例市", UnitKind.CITY, None, [])
    assert unit("990102").parent == city
    assert (unit("4199010001").unit_kind, unit("4199010001").parent) == (UnitKind.UNIVERSITY, city)
    assert unit("3199010001").parent == city  # an industry-run vocational school reports to the city
    first = unit("2199010101")
    assert (first.name, first.parent.code, first.stages) == ("东城区第一中学", "990101",
                                                             [Stage.COMPULSORY, Stage.SENIOR_HIGH])
    kindergarten = unit("1199010101")
    assert (kindergarten.unit_kind, kindergarten.stages) == (UnitKind.KINDERGARTEN, [Stage.PRESCHOOL])
    affiliated = unit("2199010202")  # city-affiliated, managed by the district it stands in
    assert (affiliated.name, affiliated.parent.name) == ("示例市教委直属实验学校", "西城区")
    assert affiliated.owner is OwnerType.PUBLIC


def test_importing_the_same_file_again_changes_nothing(app):
    import_bytes(SAMPLE.read_bytes())
    report = import_bytes(SAMPLE.read_bytes())
    assert counts(report) == (0, 0, 11, 0)
    assert report.changes == []


def test_a_changed_name_updates_that_unit_only(app):
    import_bytes(SAMPLE.read_bytes())
    rows = sample_rows()
    rows[7][1] = "东城区第一中学（集团）"
    rows[8][5] = "民办"
    report = import_bytes(csv_bytes(rows))
    assert counts(report) == (0, 2, 9, 0)
    assert unit("2199010101").name == "东城区第一中学（集团）"
    assert unit("2199010102").owner is OwnerType.PRIVATE


def test_a_dry_run_reports_the_changes_and_writes_nothing(app):
    report = import_bytes(SAMPLE.read_bytes(), dry_run=True)
    assert counts(report) == (11, 0, 0, 0)
    assert "新增：2199010101 东城区第一中学" in report.changes
    assert unit_count() == 0


def test_a_file_with_a_bad_row_writes_nothing_and_names_line_column_and_reason(app):
    rows = sample_rows()
    rows[3][0] = "99010"  # line 4: 西城区 with a five-digit code
    rows[9][2] = "小学"  # line 10, the kindergarten: an unknown kind
    report = import_bytes(csv_bytes(rows))
    assert report.refused
    assert report.refused_reason == "文件中有 4 行有误，未导入任何数据。"
    assert report.errors == [
        RowError(4, "单位代码", "区的单位代码应为 6 位数字。"),
        RowError(10, "单位类型", "“小学”不是有效的单位类型（市、区、高校、中职、中小学、幼儿园）。"),
        RowError(11, "上级单位代码", "上级单位代码“990102”不存在。"),  # the schools of the bad district
        RowError(12, "上级单位代码", "上级单位代码“990102”不存在。"),
    ]
    assert unit_count() == 0


def test_skip_invalid_imports_the_good_rows_and_reports_the_rest(app):
    rows = sample_rows()
    rows[8][4] = "小学教育"  # line 9: an unknown stage
    report = import_bytes(csv_bytes(rows), skip_invalid=True)
    assert not report.refused
    assert counts(report) == (10, 0, 0, 1)
    assert report.errors == [RowError(9, "学段", "“小学教育”不是有效的学段。")]
    assert unit("2199010102") is None
    assert unit_count() == 10


def test_a_code_repeated_in_the_file_is_an_error_on_the_second_line(app):
    rows = [*sample_rows(), ["2199010101", "东城区第一中学分校", "中小学", "990101", "义务教育", "公办"]]
    report = import_bytes(csv_bytes(rows))
    assert report.errors == [RowError(13, "单位代码", "单位代码与第 8 行重复。")]
    assert unit_count() == 0


def test_a_missing_required_column_refuses_the_file_before_reading_rows(app):
    rows = [[cell for index, cell in enumerate(row) if index != 2] for row in sample_rows()]
    rows.append(["bad", "", "", "", ""])  # would be an error, were rows read
    report = import_bytes(csv_bytes(rows))
    assert report.refused
    assert report.refused_reason == "缺少必填列：单位类型。"
    assert report.errors == []
    assert unit_count() == 0


def test_unknown_columns_are_ignored_and_reported(app):
    rows = [[*row, "备注"] for row in sample_rows()]
    rows[0][-1] = "备注"
    report = import_bytes(csv_bytes(rows))
    assert report.unknown_columns == ["备注"]
    assert counts(report) == (11, 0, 0, 0)


def test_an_empty_file_is_refused(app):
    report = import_bytes(b"")
    assert (report.refused, report.refused_reason) == (True, "文件是空的。")


def test_a_binary_file_named_csv_is_refused(app):
    report = import_bytes(bytes(range(256)) * 8, "units.csv")
    assert report.refused
    assert report.refused_reason == "文件不是文本格式的 CSV，请检查文件类型。"
    assert unit_count() == 0


def test_a_text_file_named_xlsx_is_refused(app):
    report = import_bytes(SAMPLE.read_bytes(), "units.xlsx")
    assert (report.refused, report.refused_reason) == (True, "文件扩展名是 .xlsx，但内容不是 Excel 文件。")


def test_a_gb18030_csv_reads_the_same_as_utf8(app):
    text = SAMPLE.read_text(encoding="utf-8-sig")
    report = import_bytes(text.encode("gb18030"))
    assert counts(report) == (11, 0, 0, 0)
    assert unit("2199010202").name == "示例市教委直属实验学校"
    assert counts(import_bytes(SAMPLE.read_bytes())) == (0, 0, 11, 0)


def test_an_xlsx_imports_the_same_as_the_csv(app):
    rows = [sample_rows()[0]] + [
        # Excel keeps codes typed in a cell as numbers
        [int(row[0]), row[1], row[2], int(row[3]) if row[3] else None, row[4] or None, row[5]]
        for row in sample_rows()[1:]
    ]
    report = import_bytes(xlsx_bytes(rows), "units.xlsx")
    assert counts(report) == (11, 0, 0, 0)
    assert unit("2199010101").stages == [Stage.COMPULSORY, Stage.SENIOR_HIGH]
    assert counts(import_bytes(SAMPLE.read_bytes())) == (0, 0, 11, 0)


def test_an_xlsx_bad_row_is_named_by_its_excel_row_number(app):
    rows = sample_rows()
    rows[5][3] = "990101"  # row 6 of the sheet: a university under a district
    report = import_bytes(xlsx_bytes(rows), "units.xlsx")
    assert report.errors == [RowError(6, "上级单位代码", "高校不能隶属于区级单位。")]


def test_an_xlsx_with_merged_header_cells_is_refused(app):
    rows = sample_rows()
    report = import_bytes(xlsx_bytes(rows, merge="A1:B1"), "units.xlsx")
    assert report.refused
    assert report.refused_reason == "表头有空白或合并的单元格，请使用单行表头，每列一个列名。"
    assert unit_count() == 0


def test_a_damaged_xlsx_is_refused(app):
    data = xlsx_bytes(sample_rows())
    report = import_bytes(data[: len(data) // 2], "units.xlsx")
    assert (report.refused, report.refused_reason) == (True, "无法打开 Excel 文件，文件可能已损坏。")


@pytest.mark.parametrize("cell", ["义务教育、普通高中", "义务教育,普通高中", "义务教育；普通高中",
                                  "普通高中 ， 义务教育"])
def test_stages_may_be_separated_by_any_usual_mark(app, cell):
    rows = [HEADER, ["990000", "示例市", "市", "", "", ""], ["990101", "东城区", "区", "990000", "", ""],
            ["2199010101", "东城区第一中学", "中小学", "990101", cell, ""]]
    import_bytes(csv_bytes(rows))
    assert unit("2199010101").stages == [Stage.COMPULSORY, Stage.SENIOR_HIGH]
