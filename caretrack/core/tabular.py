"""Read the rosters schools have: CSV in UTF-8 (with or without BOM) or GB18030, and XLSX; write safe CSV.

Rows come out as (line number, {header: text}) so every error can name the line a person sees in Excel.
Every text the app writes to a spreadsheet goes through `safe_text`, so that no cell becomes a formula.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from flask_babel import gettext as _

from caretrack.core.errors import DomainError

XLSX_MAGIC = b"PK\x03\x04"
SNIFF_BYTES = 64 * 1024

# A cell starting with one of these is a formula to Excel, LibreOffice and WPS (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_CHARS = 32_767  # Excel's limit; it cuts longer text without a word


class FileRefused(DomainError):
    """The file as a whole cannot be read as a table; nothing was written."""


@dataclass
class Table:
    """A header and a lazy stream of numbered rows."""

    headers: list[str]
    rows: Iterator[tuple[int, dict[str, str]]]


class ExcelNumber(str):
    """The text of a cell Excel stored as a (floating-point) number: it keeps 15 digits, so a longer number, such
    as a 身份证号 typed into a number cell, has lost its last digits. Readers of such a column can say so.
    """


def _clean(value) -> str:
    """A cell as text, read as what Excel typed it: a date (or date-time) as YYYY-MM-DD, 2024.0 as 2024."""
    if value is None:
        return ""
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return ExcelNumber(int(value) if value.is_integer() else repr(value))
    return str(value).strip()


def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # the sample cut a multi-byte character in two
            return "utf-8"
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise FileRefused(_("无法识别文件编码，请另存为 UTF-8 或 GB18030 编码的 CSV，或 XLSX 文件。")) from exc


def _looks_binary(head: bytes) -> bool:
    return b"\x00" in head


def _read_csv(stream: BinaryIO) -> Table:
    head = stream.read(SNIFF_BYTES)
    if not head.strip():
        raise FileRefused(_("文件是空的。"))
    if _looks_binary(head):
        raise FileRefused(_("文件不是文本格式的 CSV，请检查文件类型。"))
    stream.seek(0)
    encoding = _detect_encoding(head)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = csv.reader(text)
    try:
        headers = [_clean(h) for h in next(reader)]
    except (StopIteration, UnicodeDecodeError, csv.Error) as exc:
        raise FileRefused(_("无法读取表头。")) from exc

    def rows():
        try:
            for values in reader:
                cells = [v.strip() for v in values]  # what _clean makes of a CSV's text
                if any(cells):
                    yield reader.line_num, dict(zip(headers, cells, strict=False))
        except UnicodeDecodeError as exc:
            raise FileRefused(_("第 %(line)d 行附近的编码无法识别。", line=reader.line_num + 1)) from exc
        except csv.Error as exc:
            raise FileRefused(_("第 %(line)d 行的 CSV 格式有误。", line=reader.line_num)) from exc

    return Table(headers, rows())


def _read_xlsx(stream: BinaryIO) -> Table:
    from openpyxl import load_workbook

    try:
        # read_only streams the sheet row by row; merged header cells are detected below.
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileRefused(_("无法打开 Excel 文件，文件可能已损坏。")) from exc
    sheet = workbook.worksheets[0]
    iterator = sheet.iter_rows(values_only=True)
    try:
        headers = [_clean(h) for h in next(iterator)]
    except StopIteration as exc:
        raise FileRefused(_("文件是空的。")) from exc
    while headers and not headers[-1]:
        headers.pop()
    if "" in headers:
        raise FileRefused(_("表头有空白或合并的单元格，请使用单行表头，每列一个列名。"))

    def rows():
        for line, values in enumerate(iterator, start=2):
            cells = [_clean(v) for v in values[: len(headers)]]
            if any(cells):
                yield line, dict(zip(headers, cells, strict=False))
        workbook.close()

    return Table(headers, rows())


def open_table(stream: BinaryIO, filename: str) -> Table:
    """Open an uploaded or local file as a table, choosing the reader by content, not only by name."""
    head = stream.read(4)
    stream.seek(0)
    suffix = Path(filename).suffix.lower()
    if head == XLSX_MAGIC:
        return _read_xlsx(stream)
    if suffix == ".xlsx":
        raise FileRefused(_("文件扩展名是 .xlsx，但内容不是 Excel 文件。"))
    if suffix not in (".csv", ".txt", ""):
        raise FileRefused(_("只支持 CSV 和 XLSX 文件。"))
    return _read_csv(stream)


def count_rows(path: Path) -> int:
    """About how many data rows a file holds, to show progress (cheap: no parsing)."""
    with path.open("rb") as stream:
        head = stream.read(4)
        if head == XLSX_MAGIC:
            from openpyxl import load_workbook

            try:
                workbook = load_workbook(path, read_only=True)
                return max(0, (workbook.worksheets[0].max_row or 1) - 1)
            except Exception:  # noqa: BLE001 - a damaged file is reported by the import itself
                return 0
        stream.seek(0)
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b"")) - 1)


def safe_text(text: str) -> str:
    """Text as a spreadsheet must show it: never a formula, never longer than Excel keeps.

    A text that a spreadsheet would evaluate gets a leading apostrophe (the OWASP way), so it is read as text even
    when someone re-saves the file as CSV; a text over Excel's limit is cut with a visible mark, not silently.
    Applying it twice changes nothing more.
    """
    if text.startswith(FORMULA_TRIGGERS):
        text = "'" + text
    if len(text) > MAX_CELL_CHARS:
        mark = _("…（内容过长，已截断）")
        text = text[:MAX_CELL_CHARS - len(mark)] + mark
    return text


def safe_value(value):
    """A cell's value as the app writes it: text made safe, numbers, dates and empty cells as they are."""
    return safe_text(value) if isinstance(value, str) else value


def write_csv(header: list[str], rows) -> bytes:
    """A UTF-8 CSV (with BOM, so Excel reads the Chinese) whose every cell went through `safe_value`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_value(v) for v in header])
    writer.writerows([safe_value(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")
