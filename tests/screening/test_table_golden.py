"""The tables of the golden world (tests/screening/golden.py), field by field: the JSON document, the frozen
snapshot, and the printed xlsx (values, merged ranges, styles, heights, print setup). Whatever the code that
builds them, these must not change; and the statements of a table do not grow with its cases, classes,
colleges or schools.
"""

from datetime import date

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from caretrack.core import crypto
from caretrack.org.models import Stage
from caretrack.org.services import get_or_create_class, get_or_create_college
from caretrack.screening import services
from caretrack.screening.tables import NOTES, ScreeningTable
from caretrack.screening.xlsx import form_workbook
from caretrack.students.models import Category
from tests.screening import golden
from tests.screening.conftest import grant

CASE_FIELDS = ["单位代码", "学号", "姓名", "身份证号", None, "班级", "类型", "应享受资助项目", "家庭经济困难类型",
               "是否建档立卡家庭", "是否已享受部分资助", "已享受资助项目", "其他应资助未资助原因", "解决措施与时限"]
UNI, EAST_SCHOOL, PRIMARY = "4199010001", "2199010101", "2199010102"
GRANT = "国家助学金（一档）"
NON_BOARDING, BOARDING = "家庭经济困难非寄宿生生活补助", "家庭经济困难寄宿生生活补助"

UNIVERSITY_CASES = [
    (UNI, "G0011", "孤儿甲", "110105********1111", "机械工程学院", "机械2401", "应助未助", GRANT, "残疾、孤儿",
     "否", "否", [], "材料未齐", "补齐材料后发放（2025-12-10 前完成）"),
    (UNI, "G0012", "低保乙", "110105********1234", "外国语学院", "英语2401", "未按最高档", GRANT,
     "建档立卡、农村低保", "是", "是", [("2025-10-20", "国家助学金")], "", "2025-12-15 前完成"),
    (UNI, "G0013", "特困丙", "110105********1314", "", "预科2501", "应助未助", GRANT, "农村特困救助供养",
     "否", "否", [], "学生已退学", ""),
    (UNI, "G0014", "其他丁", "110105********1437", "机械工程学院", "机械2401", "其他应资助未资助", "任一资助",
     "其他", "否", "否", [], "", ""),
    (UNI, "G0015", "已发戊", "110105********1517", "机械工程学院", "机械2401", "应助未助", GRANT, "孤儿",
     "否", "是", [("2025-11-02", "国家助学金")], "", "已于 2025-11-02 发放国家助学金"),
    (UNI, "G0016", "烈士己", "110105********163X", "外国语学院", "英语2401", "应助未助", GRANT, "其他",
     "否", "是", [("2025-09-15", "学校奖助学金")], "", ""),
    (UNI, "G0017", "去年庚", "110105********171X", "机械工程学院", "机械2401", "应助未助", GRANT, "孤儿",
     "否", "是", [("2024-10-20", "国家助学金")], "", ""),
]
EAST_SCHOOL_CASES = [
    (EAST_SCHOOL, "G0021", "东一", "110105********2114", "东城区第一中学", "初一(1)班", "应助未助", NON_BOARDING,
     "建档立卡", "是", "否", [], "", ""),
    (EAST_SCHOOL, "G0022", "东二", "110105********2237", "东城区第一中学", "初一(2)班", "应助未助", BOARDING,
     "孤儿", "否", "是", [("2026-01-10", "营养改善计划")], "", ""),
]
PRIMARY_CASES = [
    (PRIMARY, "G0023", "东三", "110105********2317", "东城区实验小学", "三年级1班", "其他应资助未资助", "任一资助",
     "其他", "否", "否", [], "", ""),
    # paid on 10 Jan 2026, after the school's own term 1 ended (31 Dec 2025): not received in term 1
    (PRIMARY, "G0025", "东五", "110105********251X", "东城区实验小学", "三年级1班", "应助未助", BOARDING,
     "其他", "否", "否", [], "", ""),
]


def cases_json(rows, place: str) -> list[dict]:
    fields = [place if name is None else name for name in CASE_FIELDS]
    out = []
    for row in rows:
        case = dict(zip(fields, row, strict=True))
        case["已享受资助项目"] = [{"时间": day, "名称": name} for day, name in case["已享受资助项目"]]
        out.append(case)
    return out


def document(code, name, form, counts, should_cover, covered, reasons, cases, place) -> dict:
    total, *parts = counts
    return {"单位代码": code, "单位名称": name, "表": form, "学年": "2025-2026", "学期": 1,
            "家庭困难学生总数": total, **dict(zip(["建档立卡学生数", "非建档立卡的家庭经济困难残疾学生数",
                                               "农村低保家庭学生数", "农村特困救助供养学生数", "孤儿学生数",
                                               "学校认定的其他家庭经济困难学生数"], parts, strict=True)),
            "应覆盖学生数": should_cover, "覆盖学生数": covered,
            "是否全覆盖": "是" if covered >= should_cover else "否",
            "具体原因及整改措施": reasons, "经排查是否发现有应助未助学生情况": "是" if cases else "否",
            "应助未助": cases_json(cases, place)}


UNIVERSITY_REASONS = ("应助未助 3 人，原因：未填写原因 2 人、材料未齐 1 人；已有整改措施 1 人，尚未填写整改措施 2 人。"
                      "未按最高档 1 人，原因：未填写原因 1 人；已有整改措施 1 人，尚未填写整改措施 0 人。"
                      "每名学生的原因和整改措施见下方名单。")


def district_reasons(n: int) -> str:
    return (f"应助未助 {n} 人，原因：未填写原因 {n} 人；已有整改措施 0 人，尚未填写整改措施 {n} 人。"
            "每名学生的原因和整改措施见下方名单。")


@pytest.fixture
def gold(world, year):
    world.people = golden.build(world)
    return world


def test_the_university_table_field_by_field(gold, year):
    table = services.build_table(gold.university, year, 1)
    assert table.to_json() == document(UNI, "示例理工大学", "附件1", [7, 1, 1, 0, 1, 2, 2], 6, 2, UNIVERSITY_REASONS,
                                       UNIVERSITY_CASES, "学院（系）")
    assert [c.number for c in table.cases] == list(range(1, 8))
    assert [c.student_id for c in table.cases] == [gold.people[row[2]].id for row in UNIVERSITY_CASES]
    assert (table.title, table.unit_label, table.run_at_local, table.school_share) == (
        "普通高校（中职学校）家庭经济困难学生排查统计汇总表", "学校名称（公章）：", "2025-12-01 16:06", False)


def test_the_district_table_and_its_schools_shares(gold, year):
    district = services.build_table(gold.east, year, 1)
    assert district.to_json() == document("990101", "东城区", "附件2", [5, 1, 0, 0, 0, 1, 3], 4, 1,
                                          district_reasons(3), EAST_SCHOOL_CASES + PRIMARY_CASES, "学校")
    assert (district.title, district.unit_label, district.school_share) == (
        "区教育局家庭经济困难学生排查统计汇总表", "区教育局名称（公章）：", False)
    school = services.build_table(gold.east_school, year, 1)
    assert school.to_json() == document(EAST_SCHOOL, "东城区第一中学", "附件2", [2, 1, 0, 0, 0, 1, 0], 2, 0,
                                        district_reasons(2), EAST_SCHOOL_CASES, "学校")
    primary = services.build_table(gold.primary, year, 1)
    assert primary.to_json() == document(PRIMARY, "东城区实验小学", "附件2", [3, 0, 0, 0, 0, 0, 3], 2, 1,
                                         district_reasons(1), PRIMARY_CASES, "学校")
    assert (primary.title, primary.unit_label, primary.school_share) == (
        "区教育局家庭经济困难学生排查统计汇总表（学校填报）", "学校名称（公章）：", True)


def test_full_id_numbers_only_when_revealed_and_the_snapshot_round_trips(gold, year):
    revealed = services.build_table(gold.university, year, 1, reveal_ids=True)
    assert [c.id_number for c in revealed.cases] == [crypto.decrypt(gold.people[row[2]].id_cipher)
                                                     for row in UNIVERSITY_CASES]
    assert revealed.cases[0].id_number == "110105200501011111"
    masked = services.build_table(gold.university, year, 1)
    assert ScreeningTable.from_snapshot(masked.snapshot()).to_json() == masked.to_json()
    assert masked.snapshot()["cases"][1]["received"] == [{"paid_on": "2025-10-20", "name": "国家助学金"}]
    assert masked.snapshot()["cases"][1]["required"] == GRANT


# --- the printed xlsx ---------------------------------------------------------------------------------------

PIXEL = 0.75  # points: a row's height is kept to the whole pixel (96 dpi), a quarter point off at most
NOTES_TEXT = "说明：" + "\n\u3000\u3000\u3000".join(NOTES)
HEADERS = {"A9": "序号", "B9": "姓名", "C9": "身份证号", "D9": "学院（系）", "E9": "班级",
           "F9": "家庭经济\n困难类型", "G9": "是否建档\n立卡家庭", "H9": "是否已享受\n部分资助",
           "I9": "已享受资助项目情况", "K9": "其他应资助\n未资助原因", "L9": "解决措施\n与时限",
           "I10": "时间", "J10": "名称"}
CASE_ROWS = {
    11: [1, "孤儿甲", "110105********1111", "机械工程学院", "机械2401", "残疾、孤儿", "□是 ☑否", "□是 ☑否", None,
         None, "【应助未助】材料未齐", "补齐材料后发放（2025-12-10 前完成）"],
    12: [2, "低保乙", "110105********1234", "外国语学院", "英语2401", "建档立卡、农村低保", "☑是 □否", "☑是 □否",
         "2025年10月20日", "国家助学金", "【未按最高档】应享受：国家助学金（一档）", "2025-12-15 前完成"],
    13: [3, "特困丙", "110105********1314", None, "预科2501", "农村特困救助供养", "□是 ☑否", "□是 ☑否", None, None,
         "【应助未助】学生已退学", None],
    14: [4, "其他丁", "110105********1437", "机械工程学院", "机械2401", "其他", "□是 ☑否", "□是 ☑否", None, None,
         "【其他应资助未资助】应享受：任一资助", None],
    15: [5, "已发戊", "110105********1517", "机械工程学院", "机械2401", "孤儿", "□是 ☑否", "☑是 □否", "2025年11月2日",
         "国家助学金", "【应助未助】应享受：国家助学金（一档）", "已于 2025-11-02 发放国家助学金"],
    16: [6, "烈士己", "110105********163X", "外国语学院", "英语2401", "其他", "□是 ☑否", "☑是 □否", "2025年9月15日",
         "学校奖助学金", "【应助未助】应享受：国家助学金（一档）", None],
    17: [7, "去年庚", "110105********171X", "机械工程学院", "机械2401", "孤儿", "□是 ☑否", "☑是 □否", "2024年10月20日",
         "国家助学金", "【应助未助】应享受：国家助学金（一档）", None],
}
MERGED = {"A1:L1", "A2:G2", "H2:L2", "A3:B4", "C3:C4", "D3:D4", "E3:F3", "E4:F4", "H3:I3", "H4:I4", "A5:F6",
          "H5:I5", "H6:I6", "J5:L5", "J6:L6", "A7:L7", "A8:L8", "I9:J9", "A18:L18",
          *(f"{c}9:{c}10" for c in "ABCDEFGHKL")}


def style(cell) -> tuple:
    """(font, size, bold, horizontal, vertical, wrap, indent, borders, number format) of a stored cell."""
    f, a, b = cell.font, cell.alignment, cell.border
    return (f.name, f.sz, bool(f.b), a.horizontal, a.vertical, bool(a.wrap_text), a.indent,
            "".join("T" if getattr(b, side).style == "thin" else "-" for side in ("left", "right", "top", "bottom")),
            cell.number_format)


BODY = ("宋体", 10.0, False, "center", "center", True, 0.0, "TTTT", "General")
HEAD = ("宋体", 10.0, True, "center", "center", True, 0.0, "TTTT", "General")
LEFT = ("宋体", 10.0, False, "left", "center", True, 1.0, "TTTT", "General")
FILLER = ("Calibri", 11.0, False, None, None, False, 0.0, "TTTT", "General")  # inside a merged range: borders only


def expected_styles() -> dict[str, tuple]:
    """The style of every stored cell of the university's sheet, as the form lays it out."""
    styles = {"A1": ("宋体", 16.0, True, "center", "center", True, 0.0, "----", "General"),
              "A2": ("宋体", 11.0, False, "left", "center", True, 1.0, "----", "General"),
              "H2": ("宋体", 11.0, False, "right", "center", False, 0.0, "----", "General"),
              "A18": ("宋体", 10.0, False, "left", "top", True, 0.0, "----", "General")}
    for ref in ("A3", "D3", *HEADERS, "A8"):
        styles[ref] = HEAD
    for ref in ("C3", "E3", "G3", "H3", "J3", "K3", "L3", "E4", "G4", "H4", "J4", "K4", "L4", "G5", "H5", "J5",
                "G6", "H6"):
        styles[ref] = BODY
    styles.update({"A5": LEFT, "J6": LEFT, "A7": LEFT})
    for row, values in CASE_ROWS.items():
        for col, value in enumerate(values, start=1):
            ref = f"{get_column_letter(col)}{row}"
            styles[ref] = LEFT if col in (9, 10, 11, 12) and value else BODY
        styles[f"C{row}"] = BODY[:-1] + ("@",)
    for area in MERGED:
        first, last = area.split(":")
        if first in ("A1", "A2", "H2", "A18"):
            continue  # outside the bordered form: no filler cells
        from openpyxl.utils.cell import range_boundaries

        min_col, min_row, max_col, max_row = range_boundaries(area)
        for r in range(min_row, max_row + 1):
            for c in range(min_col, max_col + 1):
                ref = f"{get_column_letter(c)}{r}"
                if ref != first:
                    styles[ref] = FILLER
    return styles


def test_the_university_sheet_cell_by_cell(gold, year):
    buffer = form_workbook(services.build_table(gold.university, year, 1))
    sheet = load_workbook(buffer)["附件1"]
    values = {c.coordinate: c.value for row in sheet.iter_rows() for c in row if c.value is not None}
    expected = {"A1": "普通高校（中职学校）家庭经济困难学生排查统计汇总表", "A2": "学校名称（公章）：示例理工大学",
                "H2": "2025-2026学年第一学期", "A3": "家庭困难学生总数", "C3": 7, "D3": "其中",
                "E3": "建档立卡学生数", "G3": 1, "H3": "非建档立卡的家庭经济困难残疾学生数", "J3": 1,
                "K3": "农村低保家庭学生数", "L3": 0, "E4": "农村特困救助供养学生数", "G4": 1, "H4": "孤儿学生数",
                "J4": 2, "K4": "学校认定的其他家庭经济困难学生数", "L4": 2,
                "A5": "高校是否100%按照最高档次落实建档立卡、农村低保、农村特困救助、孤残学生、烈士子女"
                      "及家庭遭遇自然灾害或突发事件学生的国家助学金",
                "G5": "□是", "H5": "覆盖学生数", "J5": 2, "G6": "☑否", "H6": "具体原因及整改措施",
                "J6": UNIVERSITY_REASONS,
                "A7": "经排查是否发现有应助未助学生情况    ☑是  □否", "A8": "排查发现应助未助情况", **HEADERS,
                "A18": NOTES_TEXT}
    for row, cells in CASE_ROWS.items():
        expected.update({f"{'ABCDEFGHIJKL'[c]}{row}": v for c, v in enumerate(cells) if v is not None})
    assert values == expected
    assert {str(r) for r in sheet.merged_cells.ranges} == MERGED
    assert all(sheet[f"C{row}"].data_type == "s" for row in CASE_ROWS)
    heights = {r: d.height for r, d in sheet.row_dimensions.items() if d.height is not None}
    assert heights == pytest.approx({1: 32, 2: 24, 3: 36, 4: 36, 5: 22, 6: 64, 7: 22, 8: 22, 9: 22, 10: 22,
                                     **dict.fromkeys(range(11, 18), 36), 18: 50}, abs=PIXEL)
    widths = {get_column_letter(c): d.width for d in sheet.column_dimensions.values()  # G:H, both 12, is one range
              for c in range(d.min, d.max + 1)}
    assert widths == dict(zip(
        "ABCDEFGHIJKL", [5, 9, 20, 14, 12, 14, 12, 12, 15, 16, 22, 20], strict=True))
    assert (sheet.max_row, sheet.max_column, sheet.sheet_view.showGridLines) == (18, 12, False)
    setup = sheet.page_setup
    assert (str(setup.paperSize), setup.orientation, int(setup.fitToWidth or 1), int(setup.fitToHeight)) == (
        "9", "landscape", 1, 0)  # fitToWidth absent: 1, the default
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_options.horizontalCentered
    m = sheet.page_margins
    assert (m.left, m.right, m.top, m.bottom, m.header, m.footer) == (0.4, 0.4, 0.5, 0.6, 0.2, 0.25)
    assert (sheet.print_title_rows, str(sheet.print_area)) == ("$9:$10", "'附件1'!$A$1:$L$18")
    footer = sheet.oddFooter
    assert (footer.left.text, footer.left.size, footer.right.text, footer.right.size) == (
        "排查时间：2025-12-01 16:06", 8, "第 &P 页，共 &N 页", 8)

    buffer.seek(0)  # the styles as stored, cell by cell (read-only mode leaves merged cells as written)
    stored = load_workbook(buffer, read_only=True)["附件1"]
    styles = {c.coordinate: style(c) for row in stored.iter_rows() for c in row if hasattr(c, "coordinate")}
    assert styles == expected_styles()


def test_the_district_sheet_names_the_schools(gold, year):
    sheet = load_workbook(form_workbook(services.build_table(gold.east, year, 1)))["附件2"]
    assert sheet["A1"].value == "区教育局家庭经济困难学生排查统计汇总表"
    assert sheet["A2"].value == "区教育局名称（公章）：东城区"
    assert sheet["D9"].value == "学校"
    assert [sheet.cell(r, 4).value for r in range(11, 15)] == ["东城区第一中学", "东城区第一中学", "东城区实验小学",
                                                               "东城区实验小学"]
    assert sheet["I12"].value == "2026年1月10日"
    assert sheet["A15"].value == NOTES_TEXT
    assert {r: d.height for r, d in sheet.row_dimensions.items() if d.height is not None} == pytest.approx({
        1: 32, 2: 24, 3: 36, 4: 36, 5: 22, 6: 50, 7: 22, 8: 22, 9: 22, 10: 22, 11: 50, 12: 50, 13: 36, 14: 50,
        15: 50}, abs=PIXEL)
    assert str(sheet.print_area) == "'附件2'!$A$1:$L$15"


# --- statements -------------------------------------------------------------------------------------------

def test_a_tables_statements_do_not_grow_with_cases_classes_colleges_or_schools(world, year, count_queries):
    """The table of the university and of the district, built with few and with many cases spread over more
    classes, colleges and schools, costs the same statements (and so does its xlsx).
    """
    from caretrack.org.models import UnitKind
    from tests.factories import make_unit

    def statements(unit) -> int:
        services.run_screening(None, unit, year, 1)
        with count_queries() as counter:
            form_workbook(services.build_table(unit, year, 1))
        return counter.count

    def add(n: int, offset: int) -> None:
        for index in range(n):
            college = get_or_create_college(None, world.university, f"学院{offset + index}")
            school_class = get_or_create_class(None, world.university, f"班{offset + index}", college)
            serial = 2 * (offset + index) + 30
            kid = golden.kid(school_class, serial, f"大学{serial}", Category.ORPHAN if index % 2 else Category.OTHER,
                             stage=Stage.HIGHER)
            if index % 3 == 0:
                grant(kid, name="学校奖助学金", grade=None, amount="500.00", paid_on=date(2025, 9, 20))
            school = make_unit(f"21990101{offset + index + 10:02d}", f"东城区第{offset + index + 10}小学",
                               UnitKind.SCHOOL, world.east, [Stage.COMPULSORY])
            kid = golden.kid(get_or_create_class(None, school, "一年级1班"), serial + 1, f"小学{serial}",
                             Category.REGISTERED, stage=Stage.COMPULSORY, boarder=bool(index % 2))
            if index % 2:
                grant(kid, name="营养改善计划", grade=None, amount="400.00", paid_on=date(2025, 10, 1))

    def cases() -> tuple[int, int]:
        return tuple(len(services.build_table(unit, year, 1).cases) for unit in (world.university, world.east))

    add(2, 0)
    few = (statements(world.university), statements(world.east))
    assert cases() == (1, 2)
    add(12, 2)
    many = (statements(world.university), statements(world.east))
    assert cases() == (11, 14)
    assert many == few
