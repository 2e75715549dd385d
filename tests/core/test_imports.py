"""The import machinery without HTTP: errors grouped for the preview, and xlsx cells read as Excel typed them."""

import io
from datetime import date, datetime

import pytest

from caretrack.core.imports import RowError, group_errors
from caretrack.core.tabular import ExcelNumber, open_table
from tests.factories import xlsx_bytes


def test_identical_errors_are_one_group_with_their_lines_as_ranges(app):
    scope = "单位代码“2199010101”不在您的管理范围内。"
    errors = [RowError(line, "单位代码", scope) for line in [*range(2, 41), 45, 47, 48]]
    errors.insert(3, RowError(5, "姓名", "姓名不能为空。"))
    groups = group_errors(errors)
    assert [(g.column, g.reason, len(g.lines)) for g in groups] == [
        ("单位代码", scope, 42), ("姓名", "姓名不能为空。", 1)]
    assert groups[0].lines_text == "2–40、45、47–48"
    assert groups[1].lines_text == "5"


def test_the_same_reason_on_two_columns_is_two_groups(app):
    groups = group_errors([RowError(2, "学号", "不能为空。"), RowError(2, "姓名", "不能为空。")])
    assert len(groups) == 2


def test_a_group_lists_its_first_ranges_and_says_there_are_more(app):
    (group,) = group_errors([RowError(line, None, "x") for line in range(2, 200, 2)])
    assert group.lines_text.startswith("2、4、6")
    assert group.lines_text.endswith("等")
    assert group.lines_text.count("、") == group.MAX_RANGES_SHOWN - 1


def rows_of(content: bytes, name: str = "file.xlsx") -> list[dict[str, str]]:
    return [row for _line, row in open_table(io.BytesIO(content), name).rows]


def test_xlsx_cells_are_read_as_excel_typed_them(app):
    content = xlsx_bytes([
        ["发放日期", "金额", "学期", "入学年份", "身份证号", "姓名"],
        [datetime(2025, 10, 20), 2475.0, 1, 2024.0, 1.10105194912310e17, "张三"],
        [date(2026, 3, 1), 1237.5, 2, 2024, "11010519491231002X", "李四"],
    ])
    first, second = rows_of(content)
    assert first == {"发放日期": "2025-10-20", "金额": "2475", "学期": "1", "入学年份": "2024",
                     "身份证号": "110105194912310000", "姓名": "张三"}
    assert second["发放日期"] == "2026-03-01"
    assert second["金额"] == "1237.5"
    assert isinstance(first["身份证号"], ExcelNumber)
    assert not isinstance(second["身份证号"], ExcelNumber)


@pytest.mark.parametrize("cell", [ExcelNumber("110105194912310000"), "1.10105E+17", "1.10105e+17", "1.1E17"])
def test_an_id_number_excel_stored_as_a_number_says_so(app, cell):
    from caretrack.core import idnumber
    from caretrack.core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        idnumber.parse(cell)
    assert refused.value.message == "Excel 把身份证号存成了数字，末几位已丢失，请把该列设为文本后重新导出。"
