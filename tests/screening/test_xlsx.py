"""The Excel form (附件1 / 附件2) opened with openpyxl: the form's cells, merged ranges, check boxes and print setup."""

import shutil
import subprocess
from dataclasses import replace
from datetime import date
from xml.etree import ElementTree
from zipfile import ZipFile

import pytest
from openpyxl import load_workbook

from caretrack.screening.tables import NOTES, ReceivedAid
from caretrack.screening.xlsx import check_boxes, form_filename, form_workbook, term_label
from tests.conftest import skip_or_fail
from tests.screening.render_form import district_table, school_table

HEADER_ROW = 9
FIRST_CASE_ROW = 11
FORM_HEADER = ["序号", "姓名", "身份证号", "学院（系）", "班级", "家庭经济困难类型", "是否建档立卡家庭",
               "是否已享受部分资助", "已享受资助项目情况", None, "其他应资助未资助原因", "解决措施与时限"]


def open_sheet(table):
    workbook = load_workbook(form_workbook(table))
    assert workbook.sheetnames == [table.form]
    return workbook[table.form]


def merged(sheet) -> set[str]:
    return {str(r) for r in sheet.merged_cells.ranges}


def flat(value):
    """A header cell's text without the line breaks the printed form puts in it."""
    return value.replace("\n", "") if isinstance(value, str) else value


@pytest.fixture
def school():
    return open_sheet(school_table())


@pytest.fixture
def district():
    return open_sheet(district_table())


def test_title_and_unit_line(school):
    assert school["A1"].value == "普通高校（中职学校）家庭经济困难学生排查统计汇总表"
    assert "A1:L1" in merged(school)
    assert school["A1"].font.bold
    assert school["A1"].font.size > school["A3"].font.size
    assert school["A2"].value == "学校名称（公章）：某某市第一理工大学"
    assert school["H2"].value == "2025-2026学年第一学期"


def test_district_title_and_term(district):
    assert district["A1"].value == "区教育局家庭经济困难学生排查统计汇总表"
    assert district["A2"].value == "区教育局名称（公章）：某某区教育局"
    assert district["H2"].value == "2025-2026学年第二学期"


def test_counts_block_as_on_the_form(school):
    cells = {
        "A3": "家庭困难学生总数", "C3": 1260, "D3": "其中",
        "E3": "建档立卡学生数", "G3": 410,
        "H3": "非建档立卡的家庭经济困难残疾学生数", "J3": 36,
        "K3": "农村低保家庭学生数", "L3": 298,
        "E4": "农村特困救助供养学生数", "G4": 12,
        "H4": "孤儿学生数", "J4": 9,
        "K4": "学校认定的其他家庭经济困难学生数", "L4": 495,
    }
    assert {ref: school[ref].value for ref in cells} == cells
    assert {"A3:B4", "C3:C4", "D3:D4", "E3:F3", "H3:I3", "E4:F4", "H4:I4"} <= merged(school)
    assert sum(school[ref].value for ref in ("G3", "J3", "L3", "G4", "J4", "L4")) == school["C3"].value


def test_coverage_not_fully_covered(school):
    assert school["A5"].value.startswith("高校是否100%按照最高档次落实")
    assert school["A5"].alignment.wrap_text
    assert "A5:F6" in merged(school)
    assert (school["G5"].value, school["G6"].value) == ("□是", "☑否")
    assert (school["H5"].value, school["H6"].value) == ("覆盖学生数", "具体原因及整改措施")
    assert school["J5"].value == 763
    assert school["J6"].value == ("应助未助 1 人，原因：未填写原因 1 人；已有整改措施 1 人，尚未填写整改措施 0 人。"
                                  "未按最高档 1 人，原因：认定等级调整后未重新评定档次 1 人；已有整改措施 1 人，"
                                  "尚未填写整改措施 0 人。每名学生的原因和整改措施见下方名单。")
    assert {"H5:I5", "J5:L5", "H6:I6", "J6:L6"} <= merged(school)


def test_coverage_fully_covered(district):
    assert district["A5"].value.startswith("义务教育阶段是否100%落实")
    assert (district["G5"].value, district["G6"].value) == ("☑是", "□否")
    assert district["J5"].value == 378
    assert district["J6"].value in (None, "")


def test_coverage_reasons_hidden_when_covered():
    table = replace(school_table(), covered=765)
    sheet = open_sheet(table)
    assert (sheet["G5"].value, sheet["G6"].value) == ("☑是", "□否")
    assert sheet["J5"].value == 765
    assert sheet["J6"].value in (None, "")


def test_unaided_answer_and_heading(school, district):
    assert school["A7"].value == "经排查是否发现有应助未助学生情况    ☑是  □否"
    assert district["A7"].value == "经排查是否发现有应助未助学生情况    □是  ☑否"
    assert school["A8"].value == "排查发现应助未助情况"
    assert {"A7:L7", "A8:L8"} <= merged(school)


def test_case_list_header_two_rows_in_form_order(school, district):
    assert [flat(c.value) for c in school[HEADER_ROW]] == FORM_HEADER
    assert [flat(c.value) for c in district[HEADER_ROW]] == [*FORM_HEADER[:3], "学校", *FORM_HEADER[4:]]
    assert (school["I10"].value, school["J10"].value) == ("时间", "名称")
    ranges = merged(school)
    assert "I9:J9" in ranges  # 已享受资助项目情况 over 时间 and 名称
    for column in "ABCDEFGHKL":  # every other header cell spans both header rows
        assert f"{column}9:{column}10" in ranges
    header_cells = [school.cell(HEADER_ROW, c) for c in range(1, 13) if c != 10] + [school["I10"], school["J10"]]
    assert all(cell.alignment.horizontal == "center" for cell in header_cells)
    assert all(cell.font.bold for cell in header_cells)


def test_case_rows(school):
    rows = [[c.value for c in school[r]] for r in range(FIRST_CASE_ROW, FIRST_CASE_ROW + 3)]
    first, second, third = rows
    assert first == [1, "张小明", "110101********1234", "机械工程学院", "机械2301", "建档立卡学生", "☑是 □否",
                     "□是 ☑否", None, None, "【应助未助】应享受：国家助学金（一档）",
                     "本学期内补发国家助学金一档，2025年12月31日前"]
    assert second[:8] == [2, "李芳", "110105200301015678", "外国语学院", "英语2202", "农村低保家庭学生、残疾",
                          "□是 ☑否", "☑是 □否"]
    assert second[8] == "2025年10月20日\n2025年9月1日"
    assert second[9] == "国家助学金（二档）\n绿色通道"
    assert second[10] == "【未按最高档】认定等级调整后未重新评定档次"
    assert third[0] == 3
    assert third[10] == "【其他应资助未资助】新生入学后才提交认定材料"
    id_cell = school.cell(FIRST_CASE_ROW + 1, 3)
    assert isinstance(id_cell.value, str)  # never turned into a number
    assert id_cell.number_format == "@"
    for column in (9, 10, 11, 12):
        assert school.cell(FIRST_CASE_ROW + 1, column).alignment.wrap_text
    # two received projects: the row is tall enough for two lines
    assert school.row_dimensions[FIRST_CASE_ROW + 1].height >= 2 * 14


def test_no_case_row_says_none(district):
    assert district.cell(FIRST_CASE_ROW, 1).value == "无"
    assert f"A{FIRST_CASE_ROW}:L{FIRST_CASE_ROW}" in merged(district)


def test_notes_merged_and_wrapped(school, district):
    for sheet, row in ((school, FIRST_CASE_ROW + 3), (district, FIRST_CASE_ROW + 1)):
        notes = sheet.cell(row, 1).value
        assert notes.startswith("说明：1.家庭经济困难类型包括")
        assert all(note in notes for note in NOTES)
        assert f"A{row}:L{row}" in merged(sheet)
        assert sheet.cell(row, 1).alignment.wrap_text
        assert sheet.max_row == row


def test_borders_on_every_form_cell(school, district):
    """Every cell of rows 3 to the last case has a thin line on each side (inside a merged range: its outer edges)."""
    for sheet, last in ((school, FIRST_CASE_ROW + 2), (district, FIRST_CASE_ROW)):
        ranges = list(sheet.merged_cells.ranges)
        for row in sheet.iter_rows(min_row=3, max_row=last, max_col=12):
            for cell in row:
                area = next((r for r in ranges if cell.coordinate in r), None)
                top, left, bottom, right = ((area.min_row, area.min_col, area.max_row, area.max_col) if area
                                            else (cell.row, cell.column, cell.row, cell.column))
                edges = {"left": cell.column == left, "right": cell.column == right,
                         "top": cell.row == top, "bottom": cell.row == bottom}
                for side, outer in edges.items():
                    if outer:
                        assert getattr(cell.border, side).style == "thin", f"{cell.coordinate} {side}"


def test_chinese_font_and_column_widths(school):
    assert school["A1"].font.name == "宋体"
    assert school["B11"].font.name == "宋体"
    widths = [school.column_dimensions[letter].width for letter in "ABCDEFGHIJKL"]
    assert all(width >= 5 for width in widths)
    assert widths[2] >= 19  # an 18-character ID number fits on one line
    assert 120 <= sum(widths) <= 200  # readable once fitted to an A4 landscape width


def test_print_setup(school, district):
    for sheet in (school, district):
        setup = sheet.page_setup
        assert setup.orientation == "landscape"
        assert str(setup.paperSize) == "9"  # A4
        assert (int(setup.fitToWidth or 1), int(setup.fitToHeight)) == (1, 0)  # absent: 1, the default
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$9:$10"
        assert sheet.page_margins.left <= 0.5
        assert sheet.page_margins.right <= 0.5
    assert "$A$1:$L$14" in str(school.print_area)


def test_many_cases_keep_the_header_in_place():
    table = school_table()
    table.cases = [table.cases[i % 3]._replace(number=i + 1) for i in range(60)]
    sheet = open_sheet(table)
    assert [flat(c.value) for c in sheet[HEADER_ROW]] == FORM_HEADER
    assert sheet.cell(FIRST_CASE_ROW + 59, 1).value == 60
    assert sheet.cell(FIRST_CASE_ROW + 60, 1).value.startswith("说明：")


def test_kind_prefix_with_and_without_reason():
    table = school_table(cases=1)
    table.cases[0] = table.cases[0]._replace(kind="未按最高档", reason="",
                             received=(ReceivedAid(date(2025, 3, 5), "国家助学金（三档）"),))
    sheet = open_sheet(table)
    assert sheet.cell(FIRST_CASE_ROW, 11).value == "【未按最高档】应享受：国家助学金（一档）"
    table.cases[0] = table.cases[0]._replace(required="")
    assert open_sheet(table).cell(FIRST_CASE_ROW, 11).value == "【未按最高档】"
    assert sheet.cell(FIRST_CASE_ROW, 9).value == "2025年3月5日"


def test_helpers():
    assert check_boxes(True) == "☑是 □否"
    assert check_boxes(False) == "□是 ☑否"
    assert term_label("2025-2026", 1) == "2025-2026学年第一学期"
    assert form_filename(district_table()) == "附件2_某某区教育局_2025-2026学年第二学期.xlsx"


def test_libreoffice_prints_it_on_one_a4_landscape_page(tmp_path):
    """The sample 附件1 converted by LibreOffice is one A4 landscape page (skipped without LibreOffice)."""
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if not office or not shutil.which("pdfinfo"):
        skip_or_fail("libreoffice or pdfinfo not installed")
    source = tmp_path / "form.xlsx"
    source.write_bytes(form_workbook(school_table()).getvalue())
    subprocess.run([office, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(source)], check=True, capture_output=True, timeout=120)
    info = subprocess.run(["pdfinfo", str(tmp_path / "form.pdf")], check=True, capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    assert fields["Pages"].strip() == "1"
    width, height = (float(v) for v in fields["Page size"].split("pts")[0].split("x"))
    assert (round(width), round(height)) == (842, 595)  # A4 landscape


def test_thousands_of_cases_stay_within_excels_limits():
    """A large university (3,001 open cases): no cell over 32,767 characters, no row over 409 points."""
    from caretrack.screening.tables import summarise_reasons

    table = school_table()
    sample = table.cases
    table.cases = [sample[i % 3]._replace(number=i + 1) for i in range(3000)]
    table.cases.append(sample[1]._replace(number=3001, reason="原" * 2000, remedy="补" * 2000,
                               received=(ReceivedAid(date(2025, 9, 1), "国家助学金（二档）"),) * 40))
    table.covered = table.should_cover - len(table.cases)
    table.reasons_and_measures = summarise_reasons([(c.kind, c.reason, bool(c.remedy)) for c in table.cases])
    sheet = open_sheet(table)
    assert sheet["J6"].value == table.reasons_and_measures
    assert sheet["J6"].value.startswith("应助未助 1000 人，原因：未填写原因 1000 人；")
    longest = max(len(str(cell.value)) for row in sheet.iter_rows() for cell in row if cell.value is not None)
    assert longest <= 32767
    heights = [dim.height for dim in sheet.row_dimensions.values() if dim.height is not None]
    assert max(heights) <= 409
    assert sheet.row_dimensions[6].height <= 409
    assert sheet.cell(FIRST_CASE_ROW + 3000, 1).value == 3001
    assert sheet.row_dimensions[FIRST_CASE_ROW + 3000].height == pytest.approx(409, abs=0.75)  # to the pixel


def test_a_case_without_a_written_reason_says_what_its_rule_asks_for():
    table = school_table(cases=1)
    table.cases[0] = table.cases[0]._replace(required="国家助学金（一档）")
    sheet = open_sheet(table)
    assert sheet.cell(FIRST_CASE_ROW, 11).value == "【应助未助】应享受：国家助学金（一档）"


def test_the_footer_shows_the_local_run_time(app):
    table = replace(school_table(), run_at="2025-12-01T08:06:00+00:00")
    assert open_sheet(table).oddFooter.left.text == "排查时间：2025-12-01 16:06"


MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
XML = "{http://www.w3.org/XML/1998/namespace}"


def stored_by_xlsxwriter(text: str):
    """`text` as openpyxl reads it back from a cell XlsxWriter wrote itself (streamed, as the form's frame is)."""
    import io

    from xlsxwriter import Workbook

    buffer = io.BytesIO()
    workbook = Workbook(buffer, {"constant_memory": True})
    workbook.add_worksheet().write_string(0, 0, text)
    workbook.close()
    return load_workbook(buffer).active["A1"].value


def test_case_texts_read_back_as_xlsxwriter_stores_them():
    """The case lines are written as sheet XML by the app, not cell by cell by XlsxWriter: every awkward text (a
    formula, markup, a control character, a literal _xHHHH_, white space at either end) reads back as it would
    from a cell XlsxWriter wrote, and is never a formula.
    """
    from caretrack.core.tabular import safe_text

    awkward = {2: " 张 三 ", 4: "机械 & 电子 <学院>", 5: "班\x07级_x0041_", 11: '=HYPERLINK("x")',
               12: "\t先补齐\n再发放 "}
    table = school_table(cases=1)
    table.cases[0] = table.cases[0]._replace(name=awkward[2], place=awkward[4], class_name=awkward[5],
                                             kind="", reason=awkward[11], remedy=awkward[12])
    sheet = open_sheet(table)
    for column, text in awkward.items():
        cell = sheet.cell(FIRST_CASE_ROW, column)
        assert (cell.value, cell.data_type) == (stored_by_xlsxwriter(safe_text(text)), "s"), column
    assert sheet.cell(FIRST_CASE_ROW, 11).value.startswith("'=")
    # white space at either end is marked to be kept (Excel trims it otherwise)
    with ZipFile(form_workbook(table)) as package:
        cells = ElementTree.fromstring(package.read("xl/worksheets/sheet1.xml")).iter(f"{MAIN}c")
        kept = {c.get("r") for c in cells for t in c.iter(f"{MAIN}t") if t.get(f"{XML}space") == "preserve"}
    assert {"B11", "L11"} <= kept
    assert "D11" not in kept
    assert sheet.cell(FIRST_CASE_ROW + 1, 1).value.startswith("说明：")


def test_a_case_line_without_a_class_or_place_has_blank_bordered_cells():
    """A line from an old snapshot may lack a value: its cell is blank, bordered like the others, one line tall."""
    table = school_table(cases=1)
    table.cases[0] = table.cases[0]._replace(class_name=None, place=None, remedy=None)
    sheet = open_sheet(table)
    for column in (4, 5, 12):
        cell = sheet.cell(FIRST_CASE_ROW, column)
        assert cell.value is None
        assert cell.border.left.style == cell.border.bottom.style == "thin"
