"""The sections of each role's home page: what needs them today, each line a count linking to the list behind it."""

from dataclasses import dataclass
from datetime import date

from flask import current_app, g, url_for
from flask_babel import gettext as _

from caretrack.activities import queries as activities
from caretrack.core import totals
from caretrack.core.access import Permission, Role, can, has_permission
from caretrack.core.i18n import format_date
from caretrack.dashboard import queries
from caretrack.dashboard.sections import OVERSIGHT_ROLES, Bar, Chart, Line, Section, register_home_section
from caretrack.duties import queries as duties
from caretrack.followups import queries as followups
from caretrack.notify import services as notify
from caretrack.org.models import Stage
from caretrack.screening import services as screening
from caretrack.screening.models import CaseStatus
from caretrack.students.models import Category
from caretrack.summaries import queries as summaries


@dataclass
class Reporting:
    """The reporting card of a city or district (screening/_reporting.html), with 催报 when the user may."""

    reporting: screening.Reporting
    may_remind: bool


def _report_labels() -> dict[str, str]:
    return {"on_time": _("按时报送"), "late_submitted": _("逾期后报送"), "late": _("逾期未报送"),
            "pending": _("未到截止日未报送")}


# --- every user ----------------------------------------------------------------------------------------------

def inbox_section(user, today: date) -> Section:
    unread = notify.badge_count(user)
    g.unread_notifications = unread  # the navigation's badge shows the same number
    return Section("inbox", _("提醒"), [Line(_("未读提醒"), unread, url_for("notify.list_notifications", unread="1"),
                                           urgent=unread > 0)])


# --- class teachers and counselors -------------------------------------------------------------------------

def care_section(user, today: date) -> Section | None:
    """Follow-ups due, students long without contact: the care work of those who know the students."""
    if not has_permission(user, Permission.CARE_RECORD):
        return None
    due = queries.followup_counts(user, today)
    lines = [
        Line(_("今天到期的跟进"), due["today"], url_for("followups.list_followups", due="today"),
             urgent=due["today"] > 0),
        Line(_("7 天内到期的跟进"), due["week"], url_for("followups.list_followups", due="week")),
        Line(_("已逾期的跟进"), due["overdue"], url_for("followups.list_followups", due="overdue"),
             urgent=due["overdue"] > 0),
    ]
    term = queries.current_term(user, today)
    if term is not None:
        days = current_app.config["CARE_STALE_DAYS"]
        stale = queries.stale_students(user, term.year, today, days)
        lines.append(Line(_("超过 %(n)d 天未联系的已认定学生", n=days), stale,
                          url_for("ledger.my_caseload", days=days, stale="1"), urgent=stale > 0))
        owed = queries.count_of(followups.owing_query(user, term.year, today))
        lines.append(Line(_("走访要求未完成的学生"), owed, url_for("followups.list_owed"), urgent=owed > 0))
        if has_permission(user, Permission.NARRATIVE_WRITE):
            unwritten = queries.count_of(summaries.narratives_to_write(user, term.year, term.number))
            lines.append(Line(_("本学期待写的评语"), unwritten, url_for("summaries.list_narratives")))
    return Section("care", _("我的关怀工作"), lines)


# --- club leaders ------------------------------------------------------------------------------------------

def _proposal_lines(user) -> list[Line]:
    return [Line(_("%(club)s：待审批的拟加入成员", club=club.name), club.pending,
                 url_for("activities.show_club", club_id=club.club_id) + "#proposals")
            for club in queries.pending_proposals(user)]


def club_section(user, today: date) -> Section:
    counts = queries.activity_counts(user, today)
    lines = [
        Line(_("今天及以后的活动"), counts["upcoming"], url_for("activities.list_activities", when="upcoming")),
        Line(_("已举行、还没有记签到的活动"), counts["unrecorded"],
             url_for("activities.list_activities", when="unrecorded"), urgent=counts["unrecorded"] > 0),
        *_proposal_lines(user),
    ]
    return Section("club", _("自强社"), lines)


# --- school aid officers -----------------------------------------------------------------------------------

def _screening_lines(units, year, term: int, today: date) -> list[Line]:
    """Per school: run or not, open cases without a remedy, submitted or not, days left to the deadline."""
    statuses = screening.statuses(units, year, term)
    unremedied = queries.unremedied_by_school([u.id for u in units], year, term)
    lines = []
    for state in statuses:
        url = url_for("screening.show_unit", unit_id=state.unit.id, year=year.start_year, term=term)
        ran = state.run.finished_at if state.run and state.run.finished_at else None
        lines.append(Line(_("%(unit)s：本学期排查", unit=state.unit.name), _("已运行") if ran else _("未运行"), url,
                          counted=False, urgent=ran is None))
        lines.append(Line(_("%(unit)s：没有写解决措施的待解决情况", unit=state.unit.name),
                          unremedied.get(state.unit.id, 0), url + "#cases", counted=False,
                          urgent=unremedied.get(state.unit.id, 0) > 0))
        submitted = state.latest is not None
        lines.append(Line(_("%(unit)s：报送", unit=state.unit.name),
                          _("已报送 v%(version)d", version=state.latest.version) if submitted else _("未报送"),
                          url + "#submissions", counted=False, urgent=not submitted and state.is_late(today)))
        if not submitted:
            left = (state.deadline - today).days
            lines.append(Line(_("距报送截止日（%(day)s）天数", day=format_date(state.deadline)), left,
                              url, counted=False, urgent=left < 14))
    return lines


def school_section(user, today: date) -> Section | None:
    units = queries.granted_units(user, Role.SCHOOL_OFFICER)
    term = queries.current_term(user, today)
    if not units or term is None:
        return None
    lines = _screening_lines(units, term.year, term.number, today)
    lines += [Line(_("%(cls)s：已逾期的跟进", cls=row.name), row.count,
                   url_for("followups.list_followups", mine="0", due="overdue", **{"class": row.class_id}),
                   urgent=True) for row in queries.overdue_by_class(user, today)]
    lines += _proposal_lines(user)
    missing = queries.count_of(summaries.summaries_not_generated(user, term.year, term.number))
    lines.append(Line(_("本学期还没有生成的学期小结"), missing, url_for("summaries.list_missing")))
    failed = len(queries.failed_imports(user))
    lines.append(Line(_("失败的导入"), failed, url_for("dashboard.failed_imports"), urgent=failed > 0))
    charts = [_remembered_identified_chart(user, term.year),
              *[_remembered_coverage_chart(user, unit, term.year) for unit in units]]
    return Section("school", _("本校资助工作"), lines, charts)


# --- district and city officers, inspectors ----------------------------------------------------------------

def oversight_section(user, today: date) -> Section | None:
    """Which units have submitted the term's table, which are late (with 催报), their cases, as charts."""
    if not queries.may_oversee(user):
        return None
    term = queries.current_term(user, today)
    if term is None:
        return None
    year, number = term.year, term.number
    overseen = queries.oversight(user, year, number)
    by_state = {state: 0 for state in screening.REPORT_STATES}
    for status in overseen.statuses:
        by_state[status.report_state(today)] += 1
    labels = _report_labels()
    lines = [Line(_("报送：%(state)s的单位", state=labels[state]), n,
                  url_for("screening.list_units", year=year.start_year, term=number, report=state),
                  urgent=state == "late" and n > 0) for state, n in by_state.items()]
    reporting = [Reporting(r, can(user, Permission.SCREENING_RUN, r.unit)) for r in overseen.reporting(today)]
    required = totals.remembered(user, "required_coverage_chart",
                                 lambda: required_coverage_chart(overseen.statuses, year, number),
                                 year.id, number, tuple(unit.id for unit in overseen.units))
    charts = [submissions_chart(by_state, year.start_year, number), required,
              cases_by_unit_chart(user, overseen.units, year, number),
              cases_by_term_chart(user, overseen.units), _remembered_identified_chart(user, year),
              *[_remembered_coverage_chart(user, unit, year)
                for unit in queries.granted_units(user, *OVERSIGHT_ROLES)]]
    return Section("oversight", _("所辖单位"), lines, charts, include="dashboard/_oversight.html",
                   context={"reporting": reporting, "year": year, "term": number})


def duties_section(user, today: date) -> Section | None:
    """The units' own duties this academic year: how many units are late on one, and each unit's counts."""
    if not has_permission(user, Permission.DUTIES_VIEW):
        return None
    term = queries.current_term(user, today)
    if term is None:
        return None
    summary = duties.board_summary(user, term.year, today)
    if not summary:
        return None
    late = sum(1 for item in summary if item["late"])
    url = url_for("duties.board_home", year=term.year.start_year)
    lines = [Line(_("有逾期职责的单位"), late, url, counted=False, urgent=late > 0)]
    return Section("duties", _("单位职责完成情况"), lines, include="duties/_board_summary.html",
                   context={"duty_summary": summary})


# --- charts ------------------------------------------------------------------------------------------------

# The charts of slow-moving totals over the whole scope (every student of a city) are remembered for a minute
# (core/totals.py); the cases and submissions, which officers act on, are counted on every view.

def _remembered_identified_chart(user, year) -> Chart:
    return totals.remembered(user, "identified_chart", lambda: identified_chart(user, year), year.id)


def _remembered_coverage_chart(user, unit, year) -> Chart:
    return totals.remembered(user, "coverage_chart", lambda: coverage_chart(unit, year), unit.id, year.id)


def identified_chart(user, year) -> Chart:
    """已认定学生 by stage (rows) and category (bars), each bar linking to the student list so filtered."""
    counts = queries.identified_by_stage_and_category(user, year)
    groups = []
    for stage in Stage:
        bars = [Bar(category.label, counts.get((stage.value, category.value), 0),
                    url_for("students.list_students", year=year.start_year, identified="yes", stage=stage.value,
                            category=category.value)) for category in Category]
        if any(bar.value for bar in bars):
            groups.append((stage.label, bars))
    return Chart("identified", _("%(year)s 学年已认定学生：按学段和困难类型", year=year.label),
                 [category.label for category in Category], groups,
                 note=_("一名学生有几种困难类型，就在每种类型下各计一次。"))


def coverage_chart(unit, year) -> Chart:
    """Per goal of themed activities: identified students it should reach and those it reached (activities.coverage)."""
    url = url_for("activities.unit_coverage", unit_id=unit.id, year=year.start_year)
    groups = [(entry.goal.theme.name, [Bar(_("应覆盖"), entry.expected, url), Bar(_("已覆盖"), entry.reached, url)])
              for entry in activities.coverage_totals(unit, year)]
    return Chart(f"coverage-{unit.id}", _("%(unit)s 主题教育活动覆盖：按目标", unit=unit.name),
                 [_("应覆盖"), _("已覆盖")], groups)


def submissions_chart(by_state: dict[str, int], start_year: int, term: int) -> Chart:
    labels = _report_labels()
    bars = [Bar(labels[state], n, url_for("screening.list_units", year=start_year, term=term, report=state))
            for state, n in by_state.items()]
    return Chart("submissions", _("本学期排查统计表报送：对照截止日"), [_("单位数")],
                 [(bar.label, [bar]) for bar in bars])


def required_coverage_chart(statuses, year, term: int) -> Chart:
    """应助尽助 of the required grants per unit: the coverage question of each unit's table, 应覆盖 against 已覆盖,
    each bar linking to the unit's table and its case list (the students still missing their grant).
    """
    units = [status.unit for status in statuses]
    coverage = queries.required_coverage(units, year, term)
    groups = []
    for unit in units:
        if unit.id not in coverage:
            continue
        entry = coverage[unit.id]
        url = url_for("screening.show_unit", unit_id=unit.id, year=year.start_year, term=term) + "#table"
        groups.append((unit.name, [Bar(_("应覆盖"), entry.should_cover, url), Bar(_("已覆盖"), entry.covered, url)]))
    return Chart("required_coverage", _("本学期必须的资助项目覆盖情况：按单位"), [_("应覆盖"), _("已覆盖")], groups,
                 note=_("即各单位统计表中的覆盖问题：规则要求必须享受的资助项目（如最高档国家助学金、寄宿生生活补助）"
                        "应覆盖的学生数，减去仍有待解决情况的学生。本学期还没有排查的单位不列出。"))


def cases_by_unit_chart(user, units, year, term: int) -> Chart:
    totals = queries.cases_by_unit(user, units, year, term)
    groups = []
    for unit in units:
        url = url_for("screening.show_unit", unit_id=unit.id, year=year.start_year, term=term)
        counts = totals.get(unit.id, {})
        groups.append((unit.name, [Bar(CaseStatus.OPEN.label, counts.get(CaseStatus.OPEN.value, 0), url + "#cases"),
                                   Bar(CaseStatus.CLOSED.label, counts.get(CaseStatus.CLOSED.value, 0),
                                       url + "#cases")]))
    return Chart("cases_by_unit", _("本学期应助未助情况：按单位"), [CaseStatus.OPEN.label, CaseStatus.CLOSED.label],
                 groups)


def cases_by_term_chart(user, units) -> Chart:
    counts = queries.cases_by_term(user, units)
    terms = sorted({(start_year, term) for start_year, term, _status in counts})
    groups = []
    for start_year, term in terms:
        url = url_for("screening.list_units", year=start_year, term=term)
        groups.append((_("%(year)s 学年第 %(term)d 学期", year=f"{start_year}-{start_year + 1}", term=term),
                       [Bar(status.label, counts.get((start_year, term, status.value), 0), url)
                        for status in CaseStatus]))
    return Chart("cases_by_term", _("历学期应助未助情况"), [status.label for status in CaseStatus], groups)


register_home_section("inbox", set(Role), inbox_section)
register_home_section("care", {Role.CLASS_TEACHER, Role.COUNSELOR}, care_section)
register_home_section("club", {Role.CLUB_LEADER}, club_section)
register_home_section("school", {Role.SCHOOL_OFFICER}, school_section)
register_home_section("oversight", OVERSIGHT_ROLES, oversight_section)
register_home_section("duties", OVERSIGHT_ROLES, duties_section)
