"""The duties as data to hand over: the board as JSON (the CLI), the inspection of one unit's year as xlsx."""

from datetime import date

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from caretrack.core.xlsx import save
from caretrack.duties import queries
from caretrack.duties.models import AidStaff
from caretrack.org.models import AcademicYear, Unit
from caretrack.screening.models import TableSubmission


def _record_json(entry) -> dict:
    if isinstance(entry, TableSubmission):
        return {"类型": "排查统计表", "版本": entry.version, "提交时间": entry.submitted_at.isoformat()}
    if isinstance(entry, AidStaff):
        return {"类型": "资助工作人员", "姓名": entry.name, "专职": entry.is_full_time, "负责人": entry.is_head,
                "到岗日期": entry.starts_on.isoformat(),
                "离岗日期": entry.ends_on.isoformat() if entry.ends_on else None}
    return {"类型": "记录", "日期": entry.done_on.isoformat(), "内容": entry.title, "说明": entry.summary,
            "宣传渠道": entry.channel, "联系人": entry.contact,
            "参加单位": [unit.name for unit in entry.attending_units],
            "参训人员": [user.display_name for user in entry.trainees],
            "附件": [stored.filename for stored in entry.files]}


def board_json(units: list[Unit], year: AcademicYear, today: date) -> dict:
    """Each unit's duties for the year, their 状态 (已完成 / 未到期 / 逾期) and evidence; universities' staffing."""
    board = queries.build_board(units, year, today, full=True)
    result = []
    for row in board.rows:
        item = {"代码": row.unit.code, "名称": row.unit.name, "职责": [
            {"职责": cell.duty.name, "截止日期": cell.due_on.isoformat(), "状态": cell.status.zh_name,
             "记录": [_record_json(entry) for entry in cell.records]} for cell in row.cells]}
        if row.staffing is not None:
            item.update({"在校生数": row.staffing.students, "应配专职人员数": row.staffing.required,
                         "实有专职人员数": row.staffing.full_time, "缺口": row.staffing.shortfall})
        result.append(item)
    return {"学年": year.label, "单位": result}


def _evidence_text(entry) -> str:
    if isinstance(entry, TableSubmission):
        return _("第%(version)d版，%(day)s提交", version=entry.version, day=entry.submitted_at.date().isoformat())
    if isinstance(entry, AidStaff):
        return entry.name
    parts = [entry.done_on.isoformat(), entry.title]
    if entry.attending_units:
        parts.append(_("参加单位：%(units)s", units="、".join(u.name for u in entry.attending_units)))
    if entry.trainees:
        parts.append(_("参训人员：%(names)s", names="、".join(u.display_name for u in entry.trainees)))
    if entry.channel:
        parts.append(_("宣传渠道：%(channel)s", channel=entry.channel))
    if entry.contact:
        parts.append(_("联系人：%(contact)s", contact=entry.contact))
    return "；".join(parts)


def _sheet(workbook: Workbook, title: str, headers: list[str], rows, widths: list[int]):
    sheet = workbook.create_sheet(title[:31])
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    return sheet


def _staffing_headers() -> list[str]:
    return [_("在校生数"), _("应配专职人员数"), _("实有专职人员数"), _("缺口")]


def board_workbook(units: list[Unit], year: AcademicYear, today: date):
    """The board as one sheet: a row per unit and duty, with its status and evidence."""
    board = queries.build_board(units, year, today, full=True)
    workbook = Workbook()
    workbook.remove(workbook.active)
    rows = [(row.unit.code, row.unit.name, cell.duty.name, cell.due_on, cell.status.label,
             "\n".join(_evidence_text(entry) for entry in cell.records)) for row in board.rows for cell in row.cells]
    _sheet(workbook, _("职责完成情况"), [_("单位代码"), _("单位"), _("职责"), _("截止日期"), _("状态"), _("记录")],
           rows, [14, 24, 40, 12, 10, 80])
    staffed = [row for row in board.rows if row.staffing is not None]
    if staffed:
        _sheet(workbook, _("专职人员配备"), [_("单位"), *_staffing_headers()],
               [(r.unit.name, r.staffing.students, r.staffing.required, r.staffing.full_time, r.staffing.shortfall)
                for r in staffed], [24, 12, 16, 16, 10])
    return save(workbook)


def inspection_workbook(unit: Unit, year: AcademicYear, today: date):
    """Everything of one unit's year for an inspection: duties and evidence, staff, visits, budgets."""
    board = queries.build_board([unit], year, today, full=True)
    row = board.rows[0]
    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(workbook, _("职责完成情况"), [_("职责"), _("截止日期"), _("状态"), _("记录")],
           [(c.duty.name, c.due_on, c.status.label, "\n".join(_evidence_text(e) for e in c.records))
            for c in row.cells], [40, 12, 10, 80])
    _sheet(workbook, _("资助工作人员"), [_("姓名"), _("专职/兼职"), _("中心负责人"), _("到岗日期"), _("离岗日期")],
           [(p.name, _("专职") if p.is_full_time else _("兼职"), _("是") if p.is_head else "", p.starts_on, p.ends_on)
            for p in queries.staff_of([unit.id]).get(unit.id, [])], [14, 10, 10, 12, 12])
    if row.staffing is not None:
        _sheet(workbook, _("专职人员配备"), _staffing_headers(),
               [(row.staffing.students, row.staffing.required, row.staffing.full_time, row.staffing.shortfall)],
               [12, 16, 16, 10])
    visits = queries.visits_of(unit)
    headers = [_("走访日期"), _("发现的问题"), _("整改要求"), _("整改期限"), _("完成日期"), _("整改情况")]
    _sheet(workbook, _("走访调研"), headers,
           [(v.visited_on, v.findings, i.requirement, i.due_on, i.closed_on, i.closing_note)
            for v in visits for i in v.improvements]
           + [(v.visited_on, v.findings, "", None, None, "") for v in visits if not v.improvements],
           [12, 40, 40, 12, 12, 30])
    _sheet(workbook, _("资助经费预算执行"), [_("资助项目"), _("年度预算"), _("已发放"), _("执行率（%）")],
           [(line.budget.project.name, line.budget.amount, line.paid,
             round(float(line.rate), 1) if line.rate is not None else None)
            for line in queries.budget_lines(unit, year)], [30, 14, 14, 12])
    return save(workbook)

