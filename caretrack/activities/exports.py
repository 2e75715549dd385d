"""The coverage workbook, shared by the coverage page's download and `flask caretrack activities coverage`."""

from io import BytesIO

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from caretrack.activities.queries import GoalCoverage
from caretrack.core.xlsx import save, set_value


def coverage_workbook(unit_name: str, year_label: str, entries: list[GoalCoverage], with_unreached: bool) -> BytesIO:
    """A sheet of counts per goal and school, and (for those who may see it) a sheet of the unreached."""
    workbook = Workbook()
    counts = workbook.active
    counts.title = _("覆盖情况")
    _append(counts, [f"{unit_name} {year_label} {_('主题教育覆盖情况')}"], bold=True)
    _append(counts, [_("主题"), _("单位代码"), _("学校"), _("应覆盖学生数"), _("已覆盖学生数"), _("未覆盖学生数")],
            bold=True)
    for entry in entries:
        _append(counts, [entry.goal.theme.name, "", _("合计"), entry.expected, entry.reached,
                         entry.expected - entry.reached], bold=True)
        for school in entry.schools:
            _append(counts, [entry.goal.theme.name, school.school.code, school.school.name, school.expected,
                             school.reached, school.expected - school.reached])
    for column, width in zip("ABCDEF", (18, 14, 30, 14, 14, 14), strict=True):
        counts.column_dimensions[column].width = width
    if with_unreached:
        left = workbook.create_sheet(_("未覆盖学生"))
        _append(left, [_("主题"), _("单位代码"), _("学校"), _("班级"), _("学号"), _("姓名")], bold=True)
        for entry in entries:
            for student in entry.unreached:
                _append(left, [entry.goal.theme.name, student.school.code, student.school.name,
                               student.school_class.name, student.student_no, student.name])
        for column, width in zip("ABCDEF", (18, 14, 30, 18, 16, 12), strict=True):
            left.column_dimensions[column].width = width
    return save(workbook)


def _append(sheet, values: list, bold: bool = False) -> None:
    row = sheet.max_row + 1 if sheet.max_row > 1 or sheet["A1"].value is not None else 1
    for index, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=index)
        set_value(cell, value)
        if bold:
            cell.font = Font(bold=True)
