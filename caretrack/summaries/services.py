"""Rules and writes of term summaries: the narrative, the export shape, batch generation."""

import logging
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.audit.services import record, register_action_labels
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError
from caretrack.core.timeutil import local_today, utcnow
from caretrack.extensions import db
from caretrack.ledger.models import Grade, RecordKind
from caretrack.org.models import AcademicYear
from caretrack.org.services import parse_year_label
from caretrack.students.models import Student
from caretrack.students.services import check_version
from caretrack.summaries import queries
from caretrack.summaries.models import GeneratedSummary, SummaryNarrative

log = logging.getLogger(__name__)

NARRATIVE_MAX = 2000
TERMS = (1, 2)


class SummaryAction:
    NARRATIVE_SAVED = "summary_narrative_saved"
    YEAR_CLOSED = "archive_year_closed"
    YEAR_CLOSED_FORCED = "archive_year_closed_forced"


register_action_labels({
    SummaryAction.NARRATIVE_SAVED: N_("保存学期评语"),
    SummaryAction.YEAR_CLOSED: N_("学年归档"),
    SummaryAction.YEAR_CLOSED_FORCED: N_("学年强制归档"),
})


def money_text(amount: Decimal) -> str:
    """An amount as the exports write it: a string with two decimals."""
    return str(Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def term_label(term: int) -> str:
    return _("第一学期") if term == 1 else _("第二学期")


def check_term(term: int) -> None:
    if term not in TERMS:
        raise DomainError(_("学期只能是 1 或 2。"), field="term")


def check_started(window: queries.TermWindow, today: date) -> None:
    """A summary is of a term that has begun; one not started yet has nothing to say."""
    if today < window.starts_on:
        raise DomainError(_("该学期尚未开始（%(day)s 开学），不能生成小结。",
                            day=f"{window.starts_on.year}年{window.starts_on.month}月{window.starts_on.day}日"))


def check_all_started(unit_ids, year: AcademicYear, term: int, today: date) -> None:
    """The term has begun for the unit asked about and for every school of the batch (each by its own dates)."""
    for window in queries.term_windows(unit_ids, year, term).values():
        check_started(window, today)


def resolve_year(label_or_start) -> AcademicYear:
    """The academic year of a label ('2025-2026') or a start year; a clear error when it is not set up."""
    start_year = label_or_start if isinstance(label_or_start, int) else parse_year_label(label_or_start)
    year = queries.year_by_start(start_year)
    if year is None:
        raise DomainError(_("学年 %(year)s 尚未设置。", year=f"{start_year}-{start_year + 1}"), field="year")
    return year


# --- the export shape ---------------------------------------------------------------------------------------

def summary_record(summary: queries.TermSummary) -> dict:
    """The summary as exports and the archive keep it; confidential records only counted, names in Chinese."""
    identification = summary.identification
    return {
        "单位代码": summary.student.school.code,
        "学号": summary.student.student_no,
        "姓名": summary.student.name,
        "学年": summary.year.label,
        "学期": summary.term,
        "资助": [{"资助项目": line.project, "档次": Grade(line.grade).zh_name if line.grade else "",
                "金额": money_text(line.amount), "发放日期": line.paid_on.isoformat()} for line in summary.aid],
        "资助合计": money_text(summary.aid_total),
        "帮扶记录": {kind.zh_name: summary.record_counts[kind] for kind in RecordKind if summary.record_counts[kind]},
        "活动": [{"主题": "、".join(line.themes), "名称": line.title, "日期": line.day.isoformat()}
               for line in summary.activities],
        "跟进": {"已完成": summary.followups_done, "未完成": summary.followups_open},
        "评语": summary.narrative_text,
        "认定": ({"等级": identification.level_enum.zh_name,
                "类型": [category.zh_name for category in identification.categories]} if identification else None),
        "勤工助学": {"时长": str(summary.work_study_hours), "报酬": money_text(summary.work_study_pay)},
    }


# --- the narrative ------------------------------------------------------------------------------------------

def save_narrative(actor, student: Student, year: AcademicYear, term: int, text: str,
                   expected_version: int | None = None, today: date | None = None) -> SummaryNarrative:
    """Write or rewrite the term's narrative; a stale form (someone saved in between) is refused."""
    check_term(term)
    check_started(queries.term_window(student, year, term), today or local_today())
    text = (text or "").strip()
    if len(text) > NARRATIVE_MAX:
        raise DomainError(_("评语不能超过 %(n)s 字。", n=NARRATIVE_MAX), field="text")
    narrative = db.session.scalar(select(SummaryNarrative).where(
        SummaryNarrative.student_id == student.id, SummaryNarrative.academic_year_id == year.id,
        SummaryNarrative.term == term))
    if narrative is None:
        if expected_version:
            check_version(0, expected_version)  # the form was opened on a narrative that no longer matches
        narrative = SummaryNarrative(student_id=student.id, school_id=student.school_id,
                                     academic_year_id=year.id, term=term, text=text,
                                     written_by_id=getattr(actor, "id", None))
        db.session.add(narrative)
    else:
        check_version(narrative.version, expected_version)
        if narrative.text == text:
            return narrative
        narrative.text, narrative.written_by_id = text, getattr(actor, "id", None)
    db.session.flush()
    record(SummaryAction.NARRATIVE_SAVED, actor=actor, obj=narrative, unit_id=student.school_id, fields=["text"])
    return narrative


# --- generation ---------------------------------------------------------------------------------------------

def store_generated(summaries: list[queries.TermSummary]) -> int:
    """Keep each summary's content; an unchanged summary writes nothing (generation is idempotent)."""
    if not summaries:
        return 0
    year, term = summaries[0].year, summaries[0].term
    existing = {row.student_id: row for row in db.session.scalars(select(GeneratedSummary).where(
        GeneratedSummary.student_id.in_([s.student.id for s in summaries]),
        GeneratedSummary.academic_year_id == year.id, GeneratedSummary.term == term))}
    for summary in summaries:
        content = summary_record(summary)
        row = existing.get(summary.student.id)
        if row is None:
            db.session.add(GeneratedSummary(student_id=summary.student.id, school_id=summary.student.school_id,
                                            academic_year_id=year.id, term=term, content=content))
        elif row.content != content:
            row.content, row.generated_at = content, utcnow()
    db.session.flush()
    return len(summaries)


Progress = Callable[[int, int], None]
