"""The term summary as a printed school document (fpdf2, with the Noto CJK SC subsets the project ships).

A PDF leaves the screen: confidential records are counted in it, never quoted, whoever prints it.
"""

import copy
import functools
from datetime import date
from io import BytesIO
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace, SubsetMap, TTFFont

from caretrack.ledger.models import Grade, RecordKind
from caretrack.summaries.queries import TermSummary
from caretrack.summaries.services import money_text

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"
SONG = ("song", FONTS / "NotoSerifSC-Regular-GB2312.otf")  # body text, as a school prints in 宋体
HEI = ("hei", FONTS / "NotoSansSC-Bold-GB2312.otf")  # headings, in 黑体
TERM_NAMES = {1: "第一学期", 2: "第二学期"}
SECTION_NUMBERS = "一二三四五六七八"
LINE = 6.0
NARRATIVE_MIN_HEIGHT = 32


def zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@functools.cache
def _parsed_font(name: str, path: Path) -> TTFFont:
    """The font as fpdf reads it (cmap, widths, metrics): parsed once per process, not once per PDF."""
    document = FPDF()
    document.add_font(name, fname=str(path))
    return document.fonts[name]


def _fresh_font(document: FPDF, name: str, path: Path) -> TTFFont:
    """A document's own copy of the parsed font: what a document changes (the glyphs it uses, the font tables
    subset in place when it is written) is new; the metrics read from the file are shared.
    """
    font = copy.copy(_parsed_font(name, path))
    font.i = len(document.fonts) + 1
    font.ttfont = TTFont(str(path), recalcTimestamp=False, lazy=True)
    # The subset keeps the font's own bounding boxes: recomputing them from every CFF outline was half the
    # time of writing a PDF, for numbers no reader uses.
    font.ttfont.recalcBBoxes = False
    font.subset, font.missing_glyphs, font.biggest_size_pt, font._hbfont = SubsetMap(font), [], 0, None
    return font


class SummaryDocument(FPDF):
    """A4 pages with the school's footer and page numbers."""

    def __init__(self, generated_on: date):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.generated_on = generated_on
        for name, path in (SONG, HEI):
            self.fonts[name] = _fresh_font(self, name, path)
        self.set_margins(22, 16, 22)
        self.set_auto_page_break(True, margin=20)
        self.set_title("学期资助育人小结")
        self.set_creator("caretrack")

    def footer(self):
        self.set_y(-14)
        self.set_font(SONG[0], size=8.5)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"生成日期：{zh_date(self.generated_on)}　　第 {self.page_no()} 页 共 {{nb}} 页", align="C")
        self.set_text_color(0, 0, 0)

    # --- building blocks ---------------------------------------------------------------------------------

    def keep_space(self, height: float) -> None:
        """Start a new page unless `height` fits on this one (a heading stays with what follows it)."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    def heading(self, number: int, text: str, keep: float = 20) -> None:
        self.ln(1.5)
        self.keep_space(keep)
        self.set_font(HEI[0], size=12)
        self.cell(0, 8, f"{SECTION_NUMBERS[number]}、{text}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(SONG[0], size=10.5)

    def paragraph(self, text: str) -> None:
        self.set_font(SONG[0], size=10.5)
        self.multi_cell(0, LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def grid(self, rows: list[list[str]], widths: tuple, headings: bool = True, align: str = "LEFT") -> None:
        style = FontFace(family=HEI[0], emphasis="", fill_color=(236, 240, 238))
        with self.table(col_widths=widths, line_height=LINE, first_row_as_headings=headings, text_align=align,
                        headings_style=style, borders_layout="ALL", padding=1) as table:
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(value)


def _identity_rows(summary: TermSummary) -> list[list[str]]:
    student, identification = summary.student, summary.identification
    gender = {"m": "男", "f": "女"}.get(student.gender or "", "")
    level = identification.level_enum.zh_name if identification else "未认定"
    categories = "、".join(c.zh_name for c in identification.categories) if identification else ""
    return [
        ["姓　　名", student.name, "学　　号", student.student_no],
        ["性　　别", gender, "班　　级", student.school_class.name],
        ["学院（系）", student.college.name if student.college else "—", "身份证号", student.id_masked],
        ["认定等级", level, "困难类型", categories],
    ]


def _aid(document: SummaryDocument, summary: TermSummary) -> None:
    if not summary.aid:
        document.paragraph("本学期无资助资金发放记录。")
        return
    rows = [["资助项目", "档次", "金额（元）", "发放日期"]]
    rows += [[line.project, Grade(line.grade).zh_name if line.grade else "—", money_text(line.amount),
              zh_date(line.paid_on)] for line in summary.aid]
    rows.append(["合计", "", money_text(summary.aid_total), ""])
    document.grid(rows, (70, 20, 36, 40))


def _records_text(lines, empty: str) -> list[str]:
    if not lines:
        return [empty]
    texts = []
    for line in lines:
        content = line.summary if line.summary is not None else "保密记录，内容不在此列示"
        texts.append(f"{zh_date(line.happened_on)}　{line.kind.zh_name}：{content}")
    return texts


def _counts_text(summary: TermSummary, kinds) -> str:
    parts = [f"{kind.zh_name} {summary.record_counts[kind]} 次" for kind in kinds if summary.record_counts[kind]]
    return "本学期共有" + "，".join(parts) + "。" if parts else ""


def _care(document: SummaryDocument, summary: TermSummary) -> None:
    kinds = (RecordKind.PSYCH_CARE, RecordKind.TUTORING, RecordKind.CAREER)
    if summary.care:
        document.paragraph(_counts_text(summary, kinds))
    for text in _records_text(summary.care, "本学期无关爱与学业帮扶记录。"):
        document.paragraph(text)


def _work_study(document: SummaryDocument, summary: TermSummary) -> None:
    if not summary.work_study:
        document.paragraph("本学期无勤工助学记录。")
        return
    posts = "、".join(dict.fromkeys(line.post for line in summary.work_study if line.post)) or "—"
    pay = money_text(summary.work_study_pay)
    document.paragraph(f"岗位：{posts}；共 {summary.work_study_hours} 小时，报酬 {pay} 元。")


def _contacts(document: SummaryDocument, summary: TermSummary) -> None:
    kinds = (RecordKind.HOME_VISIT, RecordKind.TALK, RecordKind.PARENT_MEETING)
    if summary.contacts:
        document.paragraph(_counts_text(summary, kinds))
    for text in _records_text(summary.contacts, "本学期无家访与谈心谈话记录。"):
        document.paragraph(text)


def _activities(document: SummaryDocument, summary: TermSummary) -> None:
    if not summary.activities:
        document.paragraph("本学期无主题教育活动参加记录。")
        return
    for line in summary.activities:
        document.paragraph(f"{zh_date(line.day)}　{line.title}（{'、'.join(line.themes)}）")


def _narrative(document: SummaryDocument, summary: TermSummary) -> None:
    text = summary.narrative_text or " "
    document.set_font(SONG[0], size=10.5)
    needed = document.multi_cell(0, LINE, text, padding=2, dry_run=True, output="HEIGHT")
    height = max(needed, NARRATIVE_MIN_HEIGHT)
    document.keep_space(height + 2 * LINE)  # the box and the signatures under it stay on one page
    top = document.get_y()
    document.multi_cell(0, LINE, text, padding=2, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    document.rect(document.l_margin, top, document.epw, height)
    document.set_y(top + height + 4)


def _signatures(document: SummaryDocument) -> None:
    document.set_font(SONG[0], size=10.5)
    half = document.epw / 2
    document.cell(half, LINE, "班主任（辅导员）签名：＿＿＿＿＿＿")
    document.cell(half, LINE, "学校资助中心（盖章）", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    document.cell(0, LINE, "年　　月　　日", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def add_summary(document: SummaryDocument, summary: TermSummary) -> None:
    """One student's summary, from a new page."""
    document.add_page()
    document.set_font(HEI[0], size=14)
    document.cell(0, 9, summary.student.school.name, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    document.set_font(HEI[0], size=19)
    document.cell(0, 12, "学期资助育人小结", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    document.set_font(SONG[0], size=10.5)
    document.cell(0, 7, f"{summary.year.label}学年{TERM_NAMES[summary.term]}"
                        f"（{zh_date(summary.starts_on)}至{zh_date(summary.ends_on)}）",
                  align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    document.ln(2)
    sections = [
        ("基本情况", lambda: document.grid(_identity_rows(summary), (24, 49, 24, 69), headings=False)),
        ("资助情况", lambda: _aid(document, summary)),
        ("关爱与学业帮扶", lambda: _care(document, summary)),
        ("勤工助学", lambda: _work_study(document, summary)),
        ("家访与谈心谈话", lambda: _contacts(document, summary)),
        ("主题教育活动", lambda: _activities(document, summary)),
        ("跟进事项", lambda: document.paragraph(
            f"本学期已完成跟进 {summary.followups_done} 项，尚未完成 {summary.followups_open} 项。")),
        ("班主任（辅导员）评语", lambda: _narrative(document, summary)),
    ]
    for number, (title, body) in enumerate(sections):
        last = number == len(sections) - 1  # the narrative's heading stays with its box and the signatures
        document.heading(number, title, keep=NARRATIVE_MIN_HEIGHT + 4 * LINE + 8 if last else 20)
        body()
    _signatures(document)


def render(summaries: list[TermSummary], generated_on: date) -> bytes:
    """One PDF holding each summary from a new page (one summary: one student's document)."""
    document = SummaryDocument(generated_on)
    for summary in summaries:
        add_summary(document, summary)
    buffer = BytesIO()
    document.output(buffer)
    return buffer.getvalue()
