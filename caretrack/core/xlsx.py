"""Excel downloads: a header row and streamed data rows, readable as they open (frozen header, widths)."""

from collections.abc import Iterable
from io import BytesIO

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_FILL = PatternFill("solid", fgColor="E6F2EE")


def table_workbook(title: str, headers: list[tuple[str, int]], rows: Iterable[Iterable]) -> BytesIO:
    """A one-sheet workbook; `headers` are (text, column width) pairs. Written in streaming mode."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for index, (_text, width) in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    header_cells = []
    for text, _width in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.fill, cell.alignment = Font(bold=True), HEADER_FILL, Alignment(horizontal="center")
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append(list(row))
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
