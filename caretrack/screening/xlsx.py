"""The screening table (附件1 / 附件2) as an Excel sheet laid out like the printed form, ready to print and stamp.

Cell map (12 columns A-L, the case list's columns; `r` marks the first row of each block):

    1      A:L title (bold, larger)
    2      A:G unit label + unit name          H:L academic year and term ("2025-2026学年第一学期")
    3-4    A:B 家庭困难学生总数 | C value | D 其中 (each merged over both rows)
           row 3: E:F 建档立卡学生数 G v | H:I 非建档立卡的家庭经济困难残疾学生数 J v | K 农村低保家庭学生数 L v
           row 4: E:F 农村特困救助供养学生数 G v | H:I 孤儿学生数 J v | K 学校认定的其他家庭经济困难学生数 L v
    5-6    A:F coverage question (merged over both rows) | G "☑是" / "□否" |
           H:I 覆盖学生数 / 具体原因及整改措施 | J:L the number / the text (only when not fully covered)
    7      A:L 经排查是否发现有应助未助学生情况    ☑是  □否
    8      A:L 排查发现应助未助情况
    9-10   the case list header: 序号 姓名 身份证号 学院（系）|学校 班级 家庭经济困难类型 是否建档立卡家庭
           是否已享受部分资助 (each merged over both rows), I9:J9 已享受资助项目情况 over I10 时间 | J10 名称,
           其他应资助未资助原因, 解决措施与时限 (some header texts hold a line break where the printed form has one)
    11..   one row per case (or one row "无"), then the notes (说明：…) merged across A:L

Rows 9-10 repeat on every printed page; the page is A4 landscape, one page wide.

The sheet is streamed (openpyxl's write-only mode): each row is written once complete, with its height, and
let go; each distinct style is built once and copied to the cells that share it. A university's thousands of
cases never sit in memory as a sheet of cells.
"""

import io
import math
import re
from copy import copy

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from caretrack.core import xlsx
from caretrack.screening.tables import COUNT_FIELDS, CaseRow, ScreeningTable

FONT_NAME = "宋体"  # Excel on Chinese Windows has it; LibreOffice substitutes a CJK font (Noto CJK)
BODY_SIZE = 10
HEADER_SIZE = 10
TITLE_SIZE = 16
LINE_HEIGHT = 14.0  # points per wrapped line of 10 pt CJK text
PADDING = 8.0  # points above and below the text of a row

YES, NO = "☑", "□"
TERM_NAMES = {1: "第一学期", 2: "第二学期"}

# (header text, column width in Excel character units) in the form's order; I:J sit under 已享受资助项目情况.
# The texts are the form's; "\n" breaks a header where the printed form breaks it (strip it to compare).
COLUMNS = [
    ("序号", 5),
    ("姓名", 9),
    ("身份证号", 20),
    ("", 14),  # 学院（系） or 学校: table.place_column
    ("班级", 12),
    ("家庭经济\n困难类型", 14),
    ("是否建档\n立卡家庭", 12),
    ("是否已享受\n部分资助", 12),
    ("时间", 15),
    ("名称", 16),
    ("其他应资助\n未资助原因", 22),
    ("解决措施\n与时限", 20),
]
WIDTH = len(COLUMNS)
RECEIVED_HEADER = "已享受资助项目情况"

THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True, indent=1)
NOTES_ALIGN = Alignment(horizontal="left", vertical="top", wrap_text=True)
MIN_ROW_HEIGHT = 22.0  # points, for every bordered row of the form


def term_label(academic_year: str, term: int) -> str:
    """'2025-2026学年第一学期'."""
    return f"{academic_year}学年{TERM_NAMES.get(term, f'第{term}学期')}"


def check_boxes(answer: bool) -> str:
    """The form's 是/否 boxes with the answer ticked: '☑是 □否' or '□是 ☑否'."""
    return f"{YES if answer else NO}是 {NO if answer else YES}否"


def form_filename(table: ScreeningTable) -> str:
    """A download name such as '附件1_某某大学_2025-2026学年第一学期.xlsx'."""
    return f"{table.form}_{table.unit_name}_{term_label(table.academic_year, table.term)}.xlsx"


# The characters counted twice: CJK and full-width ones (from U+2E80 on), the symbols U+2600-U+26FF, and □.
_WIDE = re.compile("[\u25a1\u2600-\u26ff\u2e80-\U0010ffff]")


def text_width(text: str) -> int:
    """Display width in Excel character units: CJK and full-width characters count twice."""
    return len(text) + len(_WIDE.findall(text))


class _FormSheet:
    """Writes merged, bordered cells to a streamed sheet, row by row, each row with the height its wrapped lines
    need. Cells wait in `pending` until `flush` writes every row before a given one; a row once written is final.
    """

    def __init__(self, sheet):
        self.sheet = sheet
        self.lines: dict[int, float] = {}
        self.fixed: dict[int, float] = {}
        self.pending: dict[int, dict[int, WriteOnlyCell]] = {}
        self.written = 0  # rows written so far (1..written)
        # Each distinct style is set once through openpyxl (which hashes the Font, Border and Alignment to find
        # them in the workbook's lists: most of the time of a large form); later cells copy its style ids.
        self.styles: dict[tuple, StyleArray] = {}

    def _style(self, size: int, bold: bool, align: Alignment, border: bool, number_format: str | None) -> StyleArray:
        key = (size, bold, align.horizontal, align.vertical, align.wrap_text, align.indent, border, number_format)
        known = self.styles.get(key)
        if known is None:
            cell = WriteOnlyCell(self.sheet)
            cell.font, cell.alignment = Font(name=FONT_NAME, size=size, bold=bold), align
            if number_format:
                cell.number_format = number_format
            if border:
                cell.border = BORDER
            known = self.styles[key] = cell._style
        return known

    def _filler_style(self) -> StyleArray:
        """A cell inside a merged range: only its borders (the range's outer edges are drawn from them)."""
        known = self.styles.get(("border",))
        if known is None:
            cell = WriteOnlyCell(self.sheet)
            cell.border = BORDER
            known = self.styles[("border",)] = cell._style
        return known

    def _cell(self, row: int, column: int, style: StyleArray) -> WriteOnlyCell:
        if row <= self.written:
            raise ValueError(f"row {row} of the form is written already")
        cell = WriteOnlyCell(self.sheet)
        cell.row, cell.column, cell._style = row, column, copy(style)
        self.pending.setdefault(row, {})[column] = cell
        return cell

    def put(self, row: int, first: int, value, *, last: int | None = None, rows: int = 1, bold: bool = False,
            size: int = BODY_SIZE, align: Alignment = CENTER, border: bool = True, number_format: str | None = None):
        last = last or first
        cell = self._cell(row, first, self._style(size, bold, align, border, number_format))
        xlsx.set_value(cell, value)
        if last > first or rows > 1:
            self.sheet.merged_cells.add(CellRange(min_col=first, min_row=row, max_col=last, max_row=row + rows - 1))
        if border:
            for r in range(row, row + rows):
                for c in range(first, last + 1):
                    if (r, c) != (row, first):
                        self._cell(r, c, self._filler_style())
        if value is not None and size <= HEADER_SIZE:
            width = sum(COLUMNS[c - 1][1] for c in range(first, last + 1))
            needed = wrapped_lines(str(value), width) / rows
            for r in range(row, row + rows):
                self.lines[r] = max(self.lines.get(r, 1), needed)
        return cell

    def case_row(self, row: int, values: list) -> None:
        """One line of the case list: twelve single bordered cells, each styled as `put` would (left-aligned text in
        I-L, centred otherwise; C as text), the row as tall as its tallest cell needs; the rows before it written.
        """
        self.flush(row)
        centred = self._style(BODY_SIZE, False, CENTER, True, None)
        text = self._style(BODY_SIZE, False, LEFT, True, None)
        id_number = self._style(BODY_SIZE, False, CENTER, True, "@")  # never read as a number
        cells, needed = {}, 1
        for column, value in enumerate(values, start=1):
            style = id_number if column == 3 else text if column >= 9 and value else centred
            cell = cells[column] = WriteOnlyCell(self.sheet)
            cell.row, cell.column, cell._style = row, column, copy(style)
            xlsx.set_value(cell, value)
            if value is not None:
                needed = max(needed, wrapped_lines(str(value), COLUMNS[column - 1][1]))
        self.pending[row] = cells
        self.lines[row] = needed

    def _height(self, row: int) -> float | None:
        if row in self.fixed:
            return xlsx.row_height(self.fixed[row])
        if row in self.lines:
            return xlsx.row_height(max(math.ceil(self.lines[row]) * LINE_HEIGHT + PADDING, MIN_ROW_HEIGHT))
        return None

    def flush(self, before: int | None = None) -> None:
        """Write every row before `before` (all of them when None), in order, each with its height."""
        end = max(self.pending, default=self.written) + 1 if before is None else before
        for row in range(self.written + 1, end):
            height = self._height(row)
            if height is not None:
                self.sheet.row_dimensions[row].height = height
            cells = self.pending.pop(row, {})
            self.sheet.append([cells[column] for column in sorted(cells)])
            if height is not None:
                del self.sheet.row_dimensions[row]  # written with the row; not kept for thousands of rows
            self.lines.pop(row, None)
            self.written = row


def _cells_as_made(cells: list[WriteOnlyCell], _row: int) -> list[WriteOnlyCell]:
    """A streamed row's cells as _FormSheet made them, each with its style, row and column. openpyxl's own
    conversion (`WriteOnlyWorksheet._values_to_row`) tries each cell as a value first, then makes a spare cell
    after each styled one: a third of the time of a large form.
    """
    return cells


def wrapped_lines(text: str, width: float) -> int:
    """How many lines `text` takes in a wrapped cell `width` characters wide (a little margin kept)."""
    usable = max(width - 2, 2)
    return sum(max(1, math.ceil(text_width(line) / usable)) for line in text.split("\n"))


def form_workbook(table: ScreeningTable) -> io.BytesIO:
    """The table as an .xlsx laid out like the notice's form; the sheet is named 附件1 or 附件2."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.form)
    sheet._values_to_row = _cells_as_made
    sheet.sheet_view.showGridLines = False
    for index, (_text, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    setup_page(sheet)  # written before the first row (the sheet's properties head the stream), like the widths
    form = _FormSheet(sheet)

    # 1-2: title and unit line (outside the bordered form, as printed)
    form.put(1, 1, table.title, last=WIDTH, bold=True, size=TITLE_SIZE, border=False)
    form.fixed[1] = 32
    form.put(2, 1, f"{table.unit_label}{table.unit_name}", last=7, align=LEFT, border=False, size=11)
    form.put(2, 8, term_label(table.academic_year, table.term), last=WIDTH, border=False, size=11,
             align=Alignment(horizontal="right", vertical="center"))
    form.fixed[2] = 24

    # 3-4: the counts
    row = 3
    total, *categories = COUNT_FIELDS
    form.put(row, 1, total, last=2, rows=2, bold=True)
    form.put(row, 3, table.counts.get(total, 0), rows=2)
    form.put(row, 4, "其中", rows=2, bold=True)
    slots = [(5, 6, 7), (8, 9, 10), (11, 11, 12)]  # (label from, label to, value) for each pair of a row
    for index, field_name in enumerate(categories):
        label_first, label_last, value_col = slots[index % 3]
        r = row + index // 3
        form.put(r, label_first, field_name, last=label_last)
        form.put(r, value_col, table.counts.get(field_name, 0))

    # 5-6: the coverage question
    row = 5
    covered = table.fully_covered
    form.put(row, 1, table.coverage_question, last=6, rows=2, align=LEFT)
    form.put(row, 7, f"{YES if covered else NO}是")
    form.put(row, 8, "覆盖学生数", last=9)
    form.put(row, 10, table.covered, last=WIDTH)
    form.put(row + 1, 7, f"{NO if covered else YES}否")
    form.put(row + 1, 8, "具体原因及整改措施", last=9)
    form.put(row + 1, 10, "" if covered else table.reasons_and_measures, last=WIDTH, align=LEFT)

    # 7-8: the 应助未助 answer and the heading of the case list
    unaided = table.has_unaided
    form.put(7, 1, f"经排查是否发现有应助未助学生情况    {YES if unaided else NO}是  {NO if unaided else YES}否",
             last=WIDTH, align=LEFT)
    form.put(8, 1, "排查发现应助未助情况", last=WIDTH, bold=True)

    # 9-10: the two header rows of the case list
    header = 9
    for col, (text, _width) in enumerate(COLUMNS, start=1):
        if col in (9, 10):
            form.put(header + 1, col, text, bold=True)
        else:
            form.put(header, col, text or table.place_column, rows=2, bold=True)
    form.put(header, 9, RECEIVED_HEADER, last=10, bold=True)
    sheet.print_title_rows = f"{header}:{header + 1}"

    # 11..: the cases, or one row 无
    row = header + 2
    form.flush(row)
    if not table.cases:
        form.put(row, 1, "无", last=WIDTH)
        row += 1
    for case in table.cases:
        form.case_row(row, case_cells(case))
        row += 1

    # the notes
    notes = "说明：" + "\n\u3000\u3000\u3000".join(table.notes)  # later lines under the first, as printed
    form.put(row, 1, notes, last=WIDTH, align=NOTES_ALIGN, border=False)
    last_row = row

    form.flush()
    sheet.print_area = f"A1:{get_column_letter(WIDTH)}{last_row}"
    if table.run_at:
        sheet.oddFooter.left.text = f"排查时间：{table.run_at_local}"
        sheet.oddFooter.left.size = 8
    sheet.oddFooter.right.text = "第 &P 页，共 &N 页"
    sheet.oddFooter.right.size = 8

    return xlsx.save(workbook)  # every cell made safe (no formula, within Excel's limits) before it leaves


def case_cells(case: CaseRow) -> list:
    """The twelve cells of a case row, in the form's column order."""
    # Without a reason written, the cell says what the rule asks for, so the line still tells what is missing.
    reason = case.reason or (f"应享受：{case.required}" if case.required else "")
    reason = f"【{case.kind}】{reason}" if case.kind else reason
    return [
        case.number,
        case.name,
        case.id_number,
        case.place,
        case.class_name,
        case.categories,
        check_boxes(case.registered),
        check_boxes(case.has_some_aid),
        "\n".join(f"{r.paid_on.year}年{r.paid_on.month}月{r.paid_on.day}日" for r in case.received),
        "\n".join(r.name for r in case.received),
        reason,
        case.remedy,
    ]


def setup_page(sheet) -> None:
    """A4 landscape, one page wide (as many pages tall as needed), small margins, centred (the print area, the
    whole form, is set once its last row is known).
    """
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.orientation = Worksheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_options.horizontalCentered = True
    margins = sheet.page_margins
    margins.left = margins.right = 0.4
    margins.top = 0.5
    margins.bottom = 0.6
    margins.header = 0.2
    margins.footer = 0.25
