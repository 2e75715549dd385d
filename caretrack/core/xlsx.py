"""Excel downloads: the one way the app writes cells, and a one-sheet table for list downloads.

Every cell the app writes goes through `set_value` (or `save`, which checks a whole workbook before it leaves):
text from users is never a formula and never over Excel's limits, money is a number shown with two decimals.
"""

from collections.abc import Iterable
from decimal import Decimal
from io import BytesIO

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from caretrack.core.tabular import safe_text, safe_value

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_FILL = PatternFill("solid", fgColor="E6F2EE")
MONEY_FORMAT = "0.00"
MAX_ROW_HEIGHT = 409.0  # points; Excel refuses taller rows and shows the file as damaged


def set_value(cell, value) -> None:
    """Write `value` to an openpyxl cell: text as a string cell (never a formula), money (Decimal) as a number."""
    cell.value = safe_value(value)
    if isinstance(cell.value, str):
        cell.data_type = "s"
    elif isinstance(value, Decimal) and cell.number_format == "General":
        cell.number_format = MONEY_FORMAT


def row_height(points: float) -> float:
    """A row height Excel accepts."""
    return min(points, MAX_ROW_HEIGHT)


def _row_cells(sheet, values: Iterable) -> list:
    """A streamed row: text made safe, Decimal money in a cell of its own to carry the number format."""
    row = []
    for value in values:
        if isinstance(value, Decimal):
            cell = WriteOnlyCell(sheet)
            set_value(cell, value)
            row.append(cell)
        else:
            row.append(safe_value(value))
    return row


def table_workbook(title: str, headers: list[tuple[str, int]], rows: Iterable[Iterable]) -> BytesIO:
    """A one-sheet workbook; `headers` are (text, column width) pairs. Written in streaming mode."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for index, (_text, width) in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    header_cells = []
    for text, _width in headers:
        cell = WriteOnlyCell(sheet, value=safe_text(text))
        cell.font, cell.fill, cell.alignment = Font(bold=True), HEADER_FILL, Alignment(horizontal="center")
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append(_row_cells(sheet, row))
    return save(workbook)


def save(workbook: Workbook) -> BytesIO:
    """The workbook as bytes, every cell and row of it checked first (a streamed one was checked as written)."""
    if not workbook.write_only:
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str | Decimal):  # a formula's value is its text
                        set_value(cell, cell.value)
            for dimension in sheet.row_dimensions.values():
                if dimension.height is not None:
                    dimension.height = row_height(dimension.height)
    buffer = BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def download(buffer: BytesIO, filename: str, mimetype: str = XLSX_MIMETYPE) -> Response:
    """Send a workbook (or another file) as an attachment; the Chinese file name is encoded for every browser."""
    from urllib.parse import quote

    response = Response(buffer.getvalue(), mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
