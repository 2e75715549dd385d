"""The files of a batch of term summaries: an xlsx with a sheet per class, a zip of one PDF per student, or one
merged PDF. Each is written class by class (`add`), so a long batch job never holds every summary at once.

Confidential records are only counted in them, whoever downloads them.
"""

import zipfile
from datetime import date
from io import BytesIO
from itertools import groupby

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from caretrack.core.xlsx import HEADER_FILL, save, set_value
from caretrack.summaries import pdf
from caretrack.summaries.queries import TermSummary
from caretrack.summaries.services import summary_record

XLSX, ZIP, PDF = "xlsx", "zip", "pdf"
FORMATS = (XLSX, ZIP, PDF)
MIMETYPES = {XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ZIP: "application/zip",
             PDF: "application/pdf"}
XLSX_HEADERS = [("学号", 14), ("姓名", 10), ("身份证号", 20), ("认定等级", 10), ("困难类型", 18), ("资助明细", 40),
                ("资助合计（元）", 14), ("帮扶记录", 30), ("勤工助学（小时）", 14), ("勤工助学报酬（元）", 16),
                ("参加活动", 10), ("跟进已完成", 10), ("跟进未完成", 10), ("评语", 40)]
SHEET_FORBIDDEN = str.maketrans({char: "_" for char in "[]:*?/\\"})


def pdf_filename(summary: TermSummary) -> str:
    student = summary.student
    return f"{student.school_class.name}_{student.student_no}_{student.name}.pdf".translate(SHEET_FORBIDDEN)


def batch_filename(year_label: str, term: int, file_format: str) -> str:
    return f"学期小结_{year_label}_第{term}学期.{file_format}"


class XlsxBatch:
    """One workbook, a sheet per class (named after its school too when the batch spans schools)."""

    def __init__(self, several_schools: bool):
        self.workbook = Workbook()
        self.workbook.remove(self.workbook.active)
        self.several_schools = several_schools
        self.taken: set[str] = set()

    def _sheet_title(self, summary: TermSummary) -> str:
        """The class's name, unique and within Excel's rules."""
        student = summary.student
        base = (f"{student.school.name}{student.school_class.name}" if self.several_schools
                else student.school_class.name)
        base = base.translate(SHEET_FORBIDDEN)[:28] or "班级"
        title, number = base[:31], 2
        while title in self.taken:
            title, number = f"{base}({number})"[:31], number + 1
        self.taken.add(title)
        return title

    def add(self, group: list[TermSummary]) -> None:
        """The summaries of one class."""
        if not group:
            return
        sheet = self.workbook.create_sheet(self._sheet_title(group[0]))
        sheet.freeze_panes = "A2"
        for column, (text, width) in enumerate(XLSX_HEADERS, start=1):
            cell = sheet.cell(row=1, column=column)
            set_value(cell, text)
            cell.font, cell.fill, cell.alignment = Font(bold=True), HEADER_FILL, Alignment(horizontal="center")
            sheet.column_dimensions[get_column_letter(column)].width = width
        for row_number, summary in enumerate(group, start=2):
            for column, value in enumerate(_xlsx_row(summary), start=1):
                set_value(sheet.cell(row=row_number, column=column), value)

    def close(self) -> bytes:
        if not self.workbook.worksheets:
            self.workbook.create_sheet("小结")
        return save(self.workbook).getvalue()


def _xlsx_row(summary: TermSummary) -> list:
    content = summary_record(summary)
    identification = content["认定"] or {"等级": "", "类型": []}
    aid = "；".join(f"{a['资助项目']}{a['档次']} {a['金额']}（{a['发放日期']}）" for a in content["资助"])
    records = "；".join(f"{kind} {count}" for kind, count in content["帮扶记录"].items())
    return [summary.student.student_no, summary.student.name, summary.student.id_masked, identification["等级"],
            "、".join(identification["类型"]), aid, summary.aid_total, records, summary.work_study_hours,
            summary.work_study_pay, len(summary.activities), summary.followups_done, summary.followups_open,
            summary.narrative_text]


class ZipBatch:
    """A zip of one PDF per student, named by class, student number and name."""

    def __init__(self, today: date):
        self.today, self.buffer = today, BytesIO()
        self.archive = zipfile.ZipFile(self.buffer, "w", zipfile.ZIP_DEFLATED)

    def add(self, group: list[TermSummary]) -> None:
        for summary in group:
            self.archive.writestr(pdf_filename(summary), pdf.render([summary], self.today))

    def close(self) -> bytes:
        self.archive.close()
        return self.buffer.getvalue()


class MergedPdfBatch:
    """One PDF, each student's summary from a new page."""

    def __init__(self, today: date):
        self.document = pdf.SummaryDocument(today)

    def add(self, group: list[TermSummary]) -> None:
        for summary in group:
            pdf.add_summary(self.document, summary)

    def close(self) -> bytes:
        buffer = BytesIO()
        self.document.output(buffer)
        return buffer.getvalue()


def writer(file_format: str, today: date, several_schools: bool = False):
    """The writer of a batch file in `file_format`: `add(class's summaries)` for each class, then `close()`."""
    if file_format == XLSX:
        return XlsxBatch(several_schools)
    if file_format == ZIP:
        return ZipBatch(today)
    return MergedPdfBatch(today)


def write_all(summaries: list[TermSummary], file_format: str, today: date) -> bytes:
    """A batch file of summaries at hand (the CLI's export), class by class."""
    out = writer(file_format, today, several_schools=len({s.student.school_id for s in summaries}) > 1)
    for _key, group in groupby(summaries, key=lambda s: (s.student.school_id, s.student.class_id)):
        out.add(list(group))
    return out.close()
