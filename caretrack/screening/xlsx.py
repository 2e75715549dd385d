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

XlsxWriter writes the form around the case list (rows 1-10, the notes, merges, styles, print setup), streamed
(constant_memory mode): each row written once complete, with its height; each distinct style one format, made
once. The case lines, thousands for a university and twelve cells each in three styles, are written by
`case_rows_xml` as the sheet XML XlsxWriter would write for them (the same bytes), and put into its sheet while
the package is copied (`_insert_rows`), a few hundred lines at a time: XlsxWriter's per-cell calls cost 4-5 µs a
cell, 0.75 s for 8,005 lines (openpyxl's write-only mode took four times as long again). No sheet of cells sits
in memory either way.
"""

import io
import math
import re
from functools import lru_cache
from typing import NamedTuple
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from xlsxwriter import Workbook

from caretrack.core import xlsx
from caretrack.core.tabular import safe_text, safe_value
from caretrack.screening.tables import COUNT_FIELDS, CaseRow, ScreeningTable, WorkedOutOnce

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



class Alignment(NamedTuple):
    """How a cell's text sits: horizontal "center" / "left" / "right", vertical "center" / "top"."""

    horizontal: str
    vertical: str = "center"
    wrap_text: bool = False
    indent: int = 0


CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True, indent=1)
NOTES_ALIGN = Alignment(horizontal="left", vertical="top", wrap_text=True)
RIGHT = Alignment(horizontal="right", vertical="center")
VERTICAL = {"center": "vcenter", "top": "top"}  # XlsxWriter's names
MIN_ROW_HEIGHT = 22.0  # points, for every bordered row of the form
DIGIT_PIXELS = 7  # a character of column width, in pixels, at Excel's default font


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
    Rows and columns are counted from 1 here, as on the printed form (XlsxWriter counts from 0).
    """

    def __init__(self, workbook: Workbook, sheet):
        self.workbook, self.sheet = workbook, sheet
        self.lines: dict[int, float] = {}
        self.fixed: dict[int, float] = {}
        self.pending: dict[int, dict[int, tuple]] = {}
        self.written = 0  # rows written so far (1..written)
        self.formats: dict[tuple, object] = {}
        self.filler = workbook.add_format({"border": 1})  # inside a merged range: only its borders

    def _format(self, size: int, bold: bool, align: Alignment, border: bool, number_format: str | None):
        key = (size, bold, align, border, number_format)
        known = self.formats.get(key)
        if known is None:
            properties = {"font_name": FONT_NAME, "font_size": size, "bold": bold, "align": align.horizontal,
                          "valign": VERTICAL[align.vertical], "text_wrap": align.wrap_text, "indent": align.indent}
            if border:
                properties["border"] = 1
            if number_format:
                properties["num_format"] = number_format
            known = self.formats[key] = self.workbook.add_format(properties)
        return known

    def _cell(self, row: int, column: int, value, cell_format) -> None:
        if row <= self.written:
            raise ValueError(f"row {row} of the form is written already")
        self.pending.setdefault(row, {})[column] = (value, cell_format)

    def put(self, row: int, first: int, value, *, last: int | None = None, rows: int = 1, bold: bool = False,
            size: int = BODY_SIZE, align: Alignment = CENTER, border: bool = True, number_format: str | None = None):
        last = last or first
        self._cell(row, first, value, self._format(size, bold, align, border, number_format))
        if last > first or rows > 1:
            # The range only: merge_range would write its cells at once, across rows not yet complete, and in
            # the first cell's style (the form keeps the others to their borders).
            self.sheet.merge.append([row - 1, first - 1, row + rows - 2, last - 1])
        if border:
            for r in range(row, row + rows):
                for c in range(first, last + 1):
                    if (r, c) != (row, first):
                        self._cell(r, c, None, self.filler)
        if value is not None and size <= HEADER_SIZE:
            width = sum(COLUMNS[c - 1][1] for c in range(first, last + 1))
            needed = wrapped_lines(str(value), width) / rows
            for r in range(row, row + rows):
                self.lines[r] = max(self.lines.get(r, 1), needed)

    def case_styles(self) -> "CaseStyles":
        """The style numbers of a case line's cells, as `put` would style them (left-aligned text in I-L, centred
        otherwise, C as text), for `case_rows_xml`.
        """
        # XlsxWriter numbers a format (its `s` in the sheet, its place in styles.xml) when a cell first uses it; a
        # case line's cells do not go through it, so the number is asked for here, once per format.
        return CaseStyles(*(self._format(BODY_SIZE, False, align, True, number_format)._get_xf_index()
                            for align, number_format in ((CENTER, None), (LEFT, None), (CENTER, "@"))))

    def _height(self, row: int) -> float | None:
        if row in self.fixed:
            return xlsx.row_height(self.fixed[row])
        if row in self.lines:
            return line_height(self.lines[row])
        return None

    def flush(self, before: int | None = None) -> None:
        """Write every row before `before` (all of them when None), in order, each with its height."""
        end = max(self.pending, default=self.written) + 1 if before is None else before
        for row in range(self.written + 1, end):
            height = self._height(row)
            if height is not None:
                self.sheet.set_row(row - 1, height)
            for column, (value, cell_format) in sorted(self.pending.pop(row, {}).items()):
                _write(self.sheet, row - 1, column - 1, value, cell_format)
            self.lines.pop(row, None)
            self.written = row


def _write(sheet, row: int, column: int, value, cell_format) -> None:
    """A cell as `xlsx.set_value` writes one: text made safe and always text (never a formula), numbers as numbers."""
    value = safe_value(value)
    if value is None or value == "":
        sheet.write_blank(row, column, None, cell_format)
    elif isinstance(value, str):
        sheet.write_string(row, column, value, cell_format)
    else:
        sheet.write_number(row, column, value, cell_format)


def wrapped_lines(text: str, width: float) -> int:
    """How many lines `text` takes in a wrapped cell `width` characters wide (a little margin kept)."""
    usable = max(width - 2, 2)
    if "\n" in text:
        return sum(max(1, math.ceil(text_width(line) / usable)) for line in text.split("\n"))
    if 2 * len(text) <= usable or (len(text) <= usable and text.isascii()):  # fits, wide or narrow: no counting
        return 1
    return max(1, math.ceil(text_width(text) / usable))


def line_height(lines: float) -> float:
    """The height in points of a bordered row whose tallest cell takes `lines` wrapped lines."""
    return xlsx.row_height(max(math.ceil(lines) * LINE_HEIGHT + PADDING, MIN_ROW_HEIGHT))


# --- the case lines, as sheet XML (see the module's note) ---------------------------------------------------

_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f]|_x[0-9a-fA-F]{4}_")
_ESCAPE_LIKE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


class CaseStyles(NamedTuple):
    """The style numbers (`s`) of a case line's cells."""

    centred: int
    text: int
    id_number: int


def _cell_xml(value: str | None, style: int, empty_style: int) -> str:
    """A text cell after its reference (`<c r="B11"`), as `_write` has XlsxWriter write it in constant-memory
    mode: the text made safe, as an inline string (control characters as _xHHHH_ and a literal _xHHHH_ with its
    underscore escaped; &, < and > as entities; leading or trailing white space kept); an empty one blank, in
    `empty_style`.
    """
    if not value:
        return f' s="{empty_style}"/>'
    text = safe_text(value)
    if _SPECIAL.search(text):
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", _ESCAPE_LIKE.sub(r"_x005F\1", text))
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    preserve = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f' s="{style}" t="inlineStr"><is><t{preserve}>{text}</t></is></c>'


def _lines_in(width: int) -> WorkedOutOnce:
    return WorkedOutOnce(lambda text: wrapped_lines(text, width) if text else 1)


@lru_cache(maxsize=64)
def _row_attributes(lines: int) -> str:
    """A case line's height as XlsxWriter's `set_row` writes it: rounded to whole pixels (4/3 of a point), in
    points.
    """
    pixels = int(line_height(lines) * 4.0 / 3.0 + 0.5)
    return f' ht="{pixels * 0.75:.16g}" customHeight="1"'


def case_rows_xml(cases: list[CaseRow], first_row: int, styles: CaseStyles):
    """The case lines as `<row>` elements, from `first_row` (counted from 1) on, one string per line: the number
    in A, text in B-L (C styled as text, I-L left-aligned when filled, centred otherwise), the row as tall as its
    tallest cell needs.
    """
    centred, text, id_number = styles
    filled = [centred, id_number, *[centred] * 5, *[text] * 4]  # B-L
    empty = [centred, id_number, *[centred] * 9]
    # Per column, each distinct text's cell XML and its number of wrapped lines (an empty cell is one line)
    cells = [WorkedOutOnce(lambda text, style=style, empty_style=empty_style: _cell_xml(text, style, empty_style))
             for style, empty_style in zip(filled, empty, strict=True)]
    lines_of = [_lines_in(width) for _text, width in COLUMNS[1:]]
    number_lines = _lines_in(COLUMNS[0][1])
    look_up = dict.__getitem__  # through `map`: one C call per cell, `__missing__` only for a new text
    for row, case in enumerate(cases, start=first_row):
        number, *texts = case_cells(case)
        number, r = str(number), str(row)
        lines = max(number_lines[number], *map(look_up, lines_of, texts))
        b, c, d, e, f, g, h, i, j, k, l = map(look_up, cells, texts)  # noqa: E741 - the form's columns
        yield (f'<row r="{r}"{_row_attributes(lines)}><c r="A{r}" s="{centred}"><v>{number}</v></c>'
               f'<c r="B{r}"{b}<c r="C{r}"{c}<c r="D{r}"{d}<c r="E{r}"{e}<c r="F{r}"{f}<c r="G{r}"{g}'
               f'<c r="H{r}"{h}<c r="I{r}"{i}<c r="J{r}"{j}<c r="K{r}"{k}<c r="L{r}"{l}</row>')


SHEET_PART = "xl/worksheets/sheet1.xml"  # the workbook's only sheet, as XlsxWriter names it in the package
ROWS_PER_WRITE = 500  # case lines joined before they go to the compressor


def _insert_rows(workbook: bytes, before_row: int, rows) -> io.BytesIO:
    """The workbook with `rows` (`<row>` elements, in order) put into its sheet's data just before row
    `before_row` (which the sheet has: the notes); every other part of the package copied as it is. The rows go
    to the compressor a few hundred at a time, never the whole sheet at once.
    """
    marker = f'<row r="{before_row}"'.encode()
    out = io.BytesIO()
    with ZipFile(io.BytesIO(workbook)) as source, ZipFile(out, "w", ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            part = ZipInfo(info.filename, info.date_time)  # XlsxWriter's fixed dates: the same file each time
            part.compress_type = ZIP_DEFLATED
            if info.filename != SHEET_PART:
                target.writestr(part, data)
                continue
            at = data.index(marker)  # a ValueError, not a broken sheet, if XlsxWriter ever wrote it otherwise
            with target.open(part, "w") as sheet:
                sheet.write(data[:at])
                batch = []
                for row in rows:
                    batch.append(row)
                    if len(batch) == ROWS_PER_WRITE:
                        sheet.write("".join(batch).encode())
                        batch.clear()
                sheet.write("".join(batch).encode())
                sheet.write(data[at:])
    out.seek(0)
    return out


def form_workbook(table: ScreeningTable) -> io.BytesIO:
    """The table as an .xlsx laid out like the notice's form; the sheet is named 附件1 or 附件2."""
    buffer = io.BytesIO()
    workbook = Workbook(buffer, {"constant_memory": True})
    sheet = workbook.add_worksheet(table.form)
    sheet.hide_gridlines(2)
    for index, (_text, width) in enumerate(COLUMNS):
        sheet.set_column_pixels(index, index, width * DIGIT_PIXELS)  # stored as exactly `width` characters
    setup_page(sheet)
    form = _FormSheet(workbook, sheet)

    # 1-2: title and unit line (outside the bordered form, as printed)
    form.put(1, 1, table.title, last=WIDTH, bold=True, size=TITLE_SIZE, border=False)
    form.fixed[1] = 32
    form.put(2, 1, f"{table.unit_label}{table.unit_name}", last=7, align=LEFT, border=False, size=11)
    form.put(2, 8, term_label(table.academic_year, table.term), last=WIDTH, border=False, size=11,
             align=RIGHT)
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
    sheet.repeat_rows(header - 1, header)

    # 11..: the cases (put in after XlsxWriter is done, see `case_rows_xml`), or one row 无
    row = header + 2
    form.flush(row)
    case_lines = None
    if table.cases:
        case_lines = case_rows_xml(table.cases, row, form.case_styles())
        row += len(table.cases)
    else:
        form.put(row, 1, "无", last=WIDTH)
        row += 1

    # the notes
    notes = "说明：" + "\n\u3000\u3000\u3000".join(table.notes)  # later lines under the first, as printed
    form.put(row, 1, notes, last=WIDTH, align=NOTES_ALIGN, border=False)
    last_row = row

    form.flush()
    sheet.print_area(0, 0, last_row - 1, WIDTH - 1)
    left = f"&L&8排查时间：{table.run_at_local}" if table.run_at else ""
    sheet.set_footer(f"{left}&R&8第 &P 页，共 &N 页", {"margin": 0.25})
    workbook.close()
    if case_lines is None:
        buffer.seek(0)
        return buffer
    return _insert_rows(buffer.getvalue(), last_row, case_lines)


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
    sheet.set_paper(9)  # A4
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.center_horizontally()
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    sheet.set_header("", {"margin": 0.2})
