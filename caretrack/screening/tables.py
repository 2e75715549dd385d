"""The two official tables of the notice as data: 附件1 (universities and vocational schools reporting to the city)
and 附件2 (a district, with each of its schools filling in its share); `form_for` says which a unit fills in.

`ScreeningTable` is what the web page, the Excel form, the JSON export and a frozen submission all show; it is
built once by `screening.services.build_table` and never recomputed from a submitted snapshot.
"""

from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from typing import NamedTuple

from caretrack.core.choices import N_
from caretrack.core.timeutil import to_local
from caretrack.org.models import Unit, UnitKind

# The forms' names are data (stored, exported in Chinese); marked so a page in English can name them too.
FORM_SCHOOL = N_("附件1")
FORM_DISTRICT = N_("附件2")
# Universities and vocational schools that report to the city fill in 附件1 (its title names them); everyone
# else reports through a district's 附件2, a school of a district with its share of it.
_OWN_FORM_KINDS = (UnitKind.UNIVERSITY, UnitKind.VOCATIONAL)

TITLES = {
    FORM_SCHOOL: "普通高校（中职学校）家庭经济困难学生排查统计汇总表",
    FORM_DISTRICT: "区教育局家庭经济困难学生排查统计汇总表",
}
UNIT_LABELS = {FORM_SCHOOL: "学校名称（公章）：", FORM_DISTRICT: "区教育局名称（公章）："}
COVERAGE_QUESTIONS = {
    FORM_SCHOOL: "高校是否100%按照最高档次落实建档立卡、农村低保、农村特困救助、孤残学生、烈士子女"
                 "及家庭遭遇自然灾害或突发事件学生的国家助学金",
    FORM_DISTRICT: "义务教育阶段是否100%落实建档立卡、非建档立卡家庭经济困难残疾、农村低保、农村特困救助四类学生，"
                   "以及家庭经济困难寄宿生生活补助",
}
PLACE_COLUMNS = {FORM_SCHOOL: "学院（系）", FORM_DISTRICT: "学校"}
# The count fields, named as on the form, in the form's order; the six after the total add up to it.
COUNT_FIELDS = ["家庭困难学生总数", "建档立卡学生数", "非建档立卡的家庭经济困难残疾学生数", "农村低保家庭学生数",
                "农村特困救助供养学生数", "孤儿学生数", "学校认定的其他家庭经济困难学生数"]
NOTES = [
    "1.家庭经济困难类型包括：建档立卡学生、非建档立卡的家庭经济困难残疾学生、农村低保家庭学生、农村特困救助供养学生、"
    "孤儿、其他学校认定的家庭经济困难学生。",
    "2.资助项目包括学生入学以来的所有资助项目。",
    "3.每名学生只按上列困难类型的先后顺序计入一类，各类学生数之和等于家庭困难学生总数。",
]

# 具体原因及整改措施 is one cell: the open cases counted by kind and written reason, never a clause per case.
KIND_ORDER = ["应助未助", "未按最高档", "其他应资助未资助"]
REASONS_SHOWN = 5  # the most frequent reasons of a kind; the others are counted together
REASON_CHARS = 40
NO_REASON = "未填写原因"


def form_for(unit: Unit) -> str | None:
    """The table a unit fills in: 附件1 or 附件2; None for the city, which has no table of its own.

    附件1 (普通高校（中职学校）) is for a university or a vocational school reporting to the city; a district fills in
    附件2 for the schools under it, and each of those schools (kindergartens, 中小学, district vocational schools)
    fills in its share of the district's 附件2. The one answer every page, download and submission uses.
    """
    kind = UnitKind(unit.kind)
    if kind is UnitKind.CITY:
        return None
    parent_is_district = unit.parent is not None and UnitKind(unit.parent.kind) is UnitKind.DISTRICT
    return FORM_SCHOOL if kind in _OWN_FORM_KINDS and not parent_is_district else FORM_DISTRICT


def _short(text: str | None) -> str:
    """A reason on one line, cut to REASON_CHARS characters so the summary stays a readable size."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= REASON_CHARS else flat[:REASON_CHARS - 1] + "…"


def summarise_reasons(open_cases: list[tuple[str, str | None, bool]]) -> str:
    """具体原因及整改措施 from the open cases as (kind, reason, has a measure): per kind, its count, its most
    frequent reasons with their counts, and how many cases have a measure. Its length does not grow with the
    number of cases (one clause per case made 129,469 characters for 6,998 cases: Excel cuts a cell at 32,767).
    """
    if not open_cases:
        return ""
    parts = []
    kinds = sorted({k for k, _r, _m in open_cases}, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 9)
    for kind in kinds:
        cases = [(reason, measured) for k, reason, measured in open_cases if k == kind]
        reasons = Counter(_short(reason) or NO_REASON for reason, _m in cases)
        shown = reasons.most_common(REASONS_SHOWN)
        listed = [f"{reason} {n} 人" for reason, n in shown]
        rest = len(cases) - sum(n for _r, n in shown)
        if rest:
            listed.append(f"其他原因 {rest} 人")
        measured = sum(1 for _r, m in cases if m)
        parts.append(f"{kind} {len(cases)} 人，原因：{'、'.join(listed)}；"
                     f"已有整改措施 {measured} 人，尚未填写整改措施 {len(cases) - measured} 人")
    return "。".join(parts) + "。每名学生的原因和整改措施见下方名单。"


class WorkedOutOnce(dict):
    """`make(key)` for each key, worked out the first time it is asked and kept: the texts of a table's case lines
    (a category combination's names, a cell's XML, a text's wrapped lines) repeat over thousands of lines.
    Looked up as a dict (through `dict.__getitem__` in a `map`, one C call), `make` runs only for a new key.
    """

    def __init__(self, make):
        super().__init__()
        self.make = make

    def __missing__(self, key):
        value = self[key] = self.make(key)
        return value


class ReceivedAid(NamedTuple):
    """One project the student has received: when and what (the form's 时间 and 名称)."""

    paid_on: date
    name: str


class CaseRow(NamedTuple):
    """One line of the case list (排查发现应助未助情况).

    A tuple, not an object: a university's thousands of lines are made at once, and an object's dict per line made
    Python's garbage collector sweep the whole heap once per table. (A named tuple is still tracked by the
    collector, unlike a plain tuple of plain values: keep the lines free of other containers made per line.)
    """

    number: int
    unit_code: str
    student_no: str
    name: str
    id_number: str  # masked unless the reader may see it in full
    place: str  # 学院（系） on 附件1, 学校 on 附件2
    class_name: str
    kind: str  # 应助未助, 未按最高档 or 其他应资助未资助
    required: str = ""  # what the rule asks for, e.g. "国家助学金（一档）" or "任一资助" (应享受资助项目)
    categories: str = ""  # e.g. "孤儿、其他"
    registered: bool = False  # 是否建档立卡家庭
    has_some_aid: bool = False  # 是否已享受部分资助
    received: tuple[ReceivedAid, ...] = ()
    reason: str = ""  # 其他应资助未资助原因
    remedy: str = ""  # 解决措施与时限
    student_id: int = 0  # to reveal the full ID number later to someone allowed; never exported


@dataclass
class ScreeningTable:
    form: str  # FORM_SCHOOL or FORM_DISTRICT
    unit_code: str
    unit_name: str
    academic_year: str  # "2025-2026"
    term: int
    counts: dict[str, int]  # COUNT_FIELDS -> number
    should_cover: int  # 应覆盖学生数
    covered: int  # 覆盖学生数
    reasons_and_measures: str  # 具体原因及整改措施, when not fully covered
    cases: list[CaseRow]
    run_at: str = ""  # when the screening behind it ran (ISO), for the footer
    school_share: bool = False  # a district's school: its part of the district's 附件2

    @property
    def run_at_local(self) -> str:
        """When the screening ran, in local time to the minute ("2025-12-01 16:06"); snapshots keep UTC."""
        if not self.run_at:
            return ""
        return f"{to_local(datetime.fromisoformat(self.run_at)):%Y-%m-%d %H:%M}"

    @property
    def title(self) -> str:
        return TITLES[self.form] + ("（学校填报）" if self.school_share else "")

    @property
    def unit_label(self) -> str:
        return "学校名称（公章）：" if self.school_share else UNIT_LABELS[self.form]

    @property
    def coverage_question(self) -> str:
        return COVERAGE_QUESTIONS[self.form]

    @property
    def place_column(self) -> str:
        return PLACE_COLUMNS[self.form]

    @property
    def fully_covered(self) -> bool:
        return self.covered >= self.should_cover

    @property
    def has_unaided(self) -> bool:
        return bool(self.cases)

    @property
    def notes(self) -> list[str]:
        return NOTES

    def to_json(self) -> dict:
        """The CLI's JSON: the form's own field names."""
        place_column = self.place_column
        return {
            "单位代码": self.unit_code, "单位名称": self.unit_name, "表": self.form, "学年": self.academic_year,
            "学期": self.term, **self.counts, "应覆盖学生数": self.should_cover, "覆盖学生数": self.covered,
            "是否全覆盖": "是" if self.fully_covered else "否", "具体原因及整改措施": self.reasons_and_measures,
            "经排查是否发现有应助未助学生情况": "是" if self.has_unaided else "否",
            "应助未助": [{
                "单位代码": c.unit_code, "学号": c.student_no, "姓名": c.name, "身份证号": c.id_number,
                place_column: c.place, "班级": c.class_name, "类型": c.kind, "应享受资助项目": c.required,
                "家庭经济困难类型": c.categories,
                "是否建档立卡家庭": "是" if c.registered else "否",
                "是否已享受部分资助": "是" if c.has_some_aid else "否",
                "已享受资助项目": [{"时间": r.paid_on.isoformat(), "名称": r.name} for r in c.received],
                "其他应资助未资助原因": c.reason, "解决措施与时限": c.remedy,
            } for c in self.cases],
        }

    def snapshot(self) -> dict:
        """Everything needed to show the table again exactly as it was submitted."""
        data = asdict(replace(self, cases=[]))
        data["cases"] = [{**case._asdict(), "received": [{"paid_on": r.paid_on.isoformat(), "name": r.name}
                                                         for r in case.received]} for case in self.cases]
        return data

    @classmethod
    def from_snapshot(cls, data: dict) -> "ScreeningTable":
        cases = [CaseRow(**{**c, "received": tuple(ReceivedAid(date.fromisoformat(r["paid_on"]), r["name"])
                                                   for r in c["received"])}) for c in data["cases"]]
        return cls(**{**data, "cases": cases})
