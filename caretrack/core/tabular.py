"""Read the rosters schools have: CSV in UTF-8 (with or without BOM) or GB18030, and XLSX.

Rows come out as (line number, {header: text}) so every error can name the line a person sees in Excel.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask_babel import gettext as _

from caretrack.core.errors import DomainError

XLSX_MAGIC = b"PK\x03\x04"
SNIFF_BYTES = 64 * 1024


class FileRefused(DomainError):
    """The file as a whole cannot be read as a table; nothing was written."""


@dataclass
class Table:
    """A header and a lazy stream of numbered rows."""

    headers: list[str]
    rows: Iterator[tuple[int, dict[str, str]]]


def _clean(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel keeps 2024 as 2024.0
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
                if any(v.strip() for v in values):
                    yield reader.line_num, dict(zip(headers, (_clean(v) for v in values), strict=False))
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
