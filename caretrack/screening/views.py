"""Screening pages: the units' overview, a unit's table and the work on its cases, downloads, submissions."""

import json
from dataclasses import dataclass
from io import BytesIO

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from caretrack.audit.services import record
from caretrack.core import crypto, requests
from caretrack.core.access import Permission, can, get_or_404, permission_required, require, scoped
from caretrack.core.errors import DomainError
from caretrack.core.forms import flash_saved
from caretrack.core.pagination import Page, page_of, requested_page
from caretrack.core.timeutil import local_today
from caretrack.core.urls import parse_id
from caretrack.core.xlsx import download
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, Unit, UnitKind
from caretrack.screening import bp, queries, services
from caretrack.screening.forms import NO_OWNER, CaseForm, CloseForm, SubmitForm
from caretrack.screening.models import CaseStatus, ScreeningCase, TableSubmission
from caretrack.screening.tables import COUNT_FIELDS, CaseRow, ScreeningTable, form_for
from caretrack.students.models import Student


@bp.context_processor
def form_fields():
    """The count fields in the form's order, and which table a unit fills in, for these pages."""
    return {"count_fields": COUNT_FIELDS, "form_for": form_for}


# --- the term asked for, and the unit --------------------------------------------------------------------

def _year_and_term(unit: Unit | None = None) -> tuple[AcademicYear | None, int]:
    """?year=2025&term=1, by default the year and term today is in by the unit's own term dates."""
    term = request.args.get("term", type=parse_id)
    asked = request.args.get("year", type=parse_id)
    current = org.term_on(unit, local_today())
    term = term if term in (1, 2) else (current.number if current else 1)
    if asked:
        year = db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == asked))
        if year is None:
            abort(404)
        return year, term
    return (current.year if current else None), term


def _years() -> list[AcademicYear]:
    return list(db.session.scalars(select(AcademicYear).order_by(AcademicYear.start_year.desc())))


def _unit_or_404(unit_id: int) -> Unit:
    """A school or district in the user's screening scope; the city has no table of its own."""
    unit = get_or_404(Unit, unit_id, current_user, Permission.SCREENING_VIEW)
    if unit.unit_kind is UnitKind.CITY:
        abort(404)
    return unit


def _unit_to_run(unit_id: int) -> Unit:
    return require(current_user, Permission.SCREENING_RUN, _unit_or_404(unit_id))


def _term_or_404(unit: Unit) -> tuple[AcademicYear, int]:
    year, term = _year_and_term(unit)
    if year is None:
        abort(404)
    return year, term


def _unit_url(unit: Unit, year: AcademicYear, term: int, anchor: str = "") -> str:
    """The unit's page for the term, on the page of the case list the user was working on."""
    page = requested_page()
    return url_for("screening.show_unit", unit_id=unit.id, year=year.start_year, term=term,
                   **({"page": page} if page > 1 else {})) + anchor


# --- the overview and a unit's page ----------------------------------------------------------------------

@bp.route("/")
@login_required
@permission_required(Permission.SCREENING_VIEW)
def list_units():
    units = queries.units_for(current_user)
    # One unit in view (a school's own officer): its own term dates; several: the city-wide ones.
    year, term = _year_and_term(units[0] if len(units) == 1 else None)
    statuses = services.statuses(units, year, term) if year and units else []
    today = local_today()
    report = request.args.get("report", "")
    overseers = queries.overseen_units(current_user)
    if report in services.REPORT_STATES:
        # The home page's counts link here, one state at a time: the units reporting to the user's city or
        # districts (a district officer chases their schools, not their own district's table).
        own = {unit.id for unit in overseers}
        statuses = [state for state in statuses if state.report_state(today) == report and state.unit.id not in own]
    overseen = [_reporting(unit, year, term, today) for unit in overseers] if year else []
    return render_template("screening/units.html", statuses=statuses, year=year, term=term, years=_years(),
                           today=today, deadline=services.deadline_of(year, term) if year else None,
                           overseen=overseen, report=report if report in services.REPORT_STATES else "")


@dataclass
class ReportingView:
    """The units reporting to a city or district, and whether the user may 催报 them."""

    reporting: services.Reporting
    may_remind: bool


def _reporting(unit: Unit, year: AcademicYear, term: int, today) -> ReportingView:
    return ReportingView(services.reporting(unit, year, term, today), can(current_user, Permission.SCREENING_RUN, unit))


@dataclass
class CaseLine:
    """One line of the case list, with its case and, when the user may work on it, the forms to do so."""

    row: CaseRow
    case: ScreeningCase | None = None
    form: CaseForm | None = None
    close_form: CloseForm | None = None


def _case_form(case: ScreeningCase, owners: dict, submitted: bool = False) -> CaseForm:
    """The work form of one case; each has its own prefix so the field ids of the page stay unique."""
    prefix = f"case{case.id}"
    form = CaseForm(prefix=prefix) if submitted else CaseForm(formdata=None, obj=case, prefix=prefix)
    if not submitted:
        form.owner_id.data = case.owner_id or NO_OWNER
    people = {user.id: user for user in owners.get(case.school_id, [])}
    if case.owner is not None:
        people.setdefault(case.owner.id, case.owner)
    form.owner_id.choices = [(NO_OWNER, _("未指定"))] + [(u.id, u.display_name) for u in people.values()]
    return form


def _case_lines(table: ScreeningTable | None, unit: Unit, year: AcademicYear, term: int, may_run: bool,
                kept: dict[int, CaseForm]) -> Page | None:
    """One page of the table's case list joined to its cases (same order, one query), with forms for the open ones.

    Forms post back with the page number, so a refused form is shown again on its own page.
    """
    if table is None:
        return None
    school_ids = [school.id for school in services.schools_of(unit)]
    cases = queries.cases_for_work(school_ids, year, term)
    if [c.student_id for c in cases] != [r.student_id for r in table.cases]:
        cases = [None] * len(table.cases)  # a run committed in between: show the lines, the forms after a reload
    owners = queries.owners_by_school(school_ids) if may_run else {}
    page = page_of(list(zip(table.cases, cases, strict=True)))
    lines = []
    for row, case in page.items:
        line = CaseLine(row, case)
        if may_run and case is not None and case.status == CaseStatus.OPEN:
            line.form = kept.get(case.id) or _case_form(case, owners)
            line.close_form = CloseForm(formdata=None, prefix=f"close{case.id}")
        lines.append(line)
    page.items = lines
    return page


def _unit_page(unit: Unit, year: AcademicYear, term: int, kept: dict[int, CaseForm] | None = None,
               status: int = 200):
    """The unit's table for the term and the work on its cases; `kept` holds forms as someone typed them."""
    try:
        table, notice = services.build_table(unit, year, term), None
    except DomainError as error:
        table, notice = None, error.message
    may_run = can(current_user, Permission.SCREENING_RUN, unit)
    district = UnitKind(unit.kind) is UnitKind.DISTRICT
    return render_template(
        "screening/unit.html", unit=unit, year=year, term=term, years=_years(), table=table, notice=notice,
        overseen=_reporting(unit, year, term, local_today()) if district else None,
        identified=services.identified_by_school([s.id for s in services.schools_of(unit)], year) if district else {},
        state=services.statuses([unit], year, term)[0],
        case_page=_case_lines(table, unit, year, term, may_run, kept or {}),
        may_run=may_run, may_reveal=can(current_user, Permission.ID_REVEAL, unit), today=local_today(),
        submissions=services.submissions(unit, year, term), submit_form=SubmitForm()), status


@bp.route("/units/<int:unit_id>")
@login_required
@permission_required(Permission.SCREENING_VIEW)
def show_unit(unit_id: int):
    unit = _unit_or_404(unit_id)
    year, term = _term_or_404(unit)
    return _unit_page(unit, year, term)


# --- running, the work on cases, follow-ups, submitting ----------------------------------------------------

@bp.route("/units/<int:unit_id>/run", methods=["POST"])
@login_required
@permission_required(Permission.SCREENING_RUN)
def run_screening(unit_id: int):
    unit = _unit_to_run(unit_id)
    year, term = _term_or_404(unit)
    try:
        with services.exclusive_run(unit, year, term):
            found = services.run_screening(current_user, unit, year, term).cases_found
    except DomainError as error:
        requests.roll_back_anyway()
        flash(error.message, "danger")
    else:
        flash(_("排查完成：%(year)s 学年第 %(term)d 学期发现 %(n)d 条应助未助情况。", year=year.label, term=term,
                n=found), "success")
    return redirect(_unit_url(unit, year, term))


def _case_to_work(case_id: int) -> tuple[ScreeningCase, Unit, AcademicYear]:
    """A case in the user's scope they may work on; the unit page to return to (?unit=, else the school)."""
    case = get_or_404(ScreeningCase, case_id, current_user, Permission.SCREENING_VIEW, then=Permission.SCREENING_RUN)
    unit = _unit_or_404(request.args.get("unit", type=parse_id) or case.school_id)
    return case, unit, db.session.get(AcademicYear, case.academic_year_id)


@bp.route("/cases/<int:case_id>", methods=["POST"])
@login_required
@permission_required(Permission.SCREENING_RUN)
def update_case(case_id: int):
    case, unit, year = _case_to_work(case_id)
    form = _case_form(case, queries.owners_by_school([case.school_id]), submitted=True)
    if form.validate_on_submit():
        work = services.CaseWork(reason=form.reason.data, remedy=form.remedy.data, deadline=form.deadline.data,
                                 owner_id=form.owner_id.data or None)
        try:
            changed = services.update_case(current_user, case, work, int(form.version.data or 0))
        except DomainError as error:
            form.add_domain_error(error)
            if error.field == "version":  # the saved values are shown beside the form from now on
                requests.roll_back_now()  # the lost flush is undone before what is saved now is read
                form.show_saved({"reason": case.reason or "", "remedy": case.remedy or "", "deadline": case.deadline,
                                 "owner_id": case.owner_id or NO_OWNER}, case.version)
        else:
            flash_saved(_("已保存 %(name)s 的排查情况。", name=case.student.name), bool(changed))
            return redirect(_unit_url(unit, year, case.term, f"#case-{case.id}"))
    return _unit_page(unit, year, case.term, {case.id: form}, 400)


@bp.route("/cases/<int:case_id>/close", methods=["POST"])
@login_required
@permission_required(Permission.SCREENING_RUN)
def close_case(case_id: int):
    case, unit, year = _case_to_work(case_id)
    form = CloseForm(prefix=f"close{case.id}")
    try:
        if not form.validate_on_submit():
            raise DomainError(_("请写明关闭的原因（不超过 200 字）。"))
        services.close_case(current_user, case, form.closed_reason.data)
    except DomainError as error:
        requests.roll_back_anyway()
        flash(error.message, "danger")
    else:
        flash(_("排查情况已关闭。"), "success")
    return redirect(_unit_url(unit, year, case.term, f"#case-{case.id}"))


@bp.route("/units/<int:unit_id>/followups", methods=["POST"])
@login_required
@permission_required(Permission.SCREENING_RUN)
def create_followups(unit_id: int):
    unit = _unit_to_run(unit_id)
    year, term = _term_or_404(unit)
    chosen = [i for i in map(parse_id, request.form.getlist("case_ids")) if i]
    cases = db.session.scalars(scoped(select(ScreeningCase), current_user, Permission.SCREENING_RUN).where(
        ScreeningCase.id.in_(chosen), ScreeningCase.school_id.in_([s.id for s in services.schools_of(unit)]),
        ScreeningCase.academic_year_id == year.id, ScreeningCase.term == term)
        .options(joinedload(ScreeningCase.student), joinedload(ScreeningCase.rule))).all() if chosen else []
    try:
        if not cases:
            raise DomainError(_("请先勾选要安排跟进的排查情况。"))
        made = services.create_followups(current_user, cases, local_today())
    except DomainError as error:
        requests.roll_back_anyway()
        flash(error.message, "danger")
    else:
        flash(_("已为 %(n)d 条排查情况安排跟进，负责人可在“跟进”中看到。", n=made), "success")
    return redirect(_unit_url(unit, year, term))


@bp.route("/units/<int:unit_id>/submit", methods=["POST"])
@login_required
@permission_required(Permission.SCREENING_RUN)
def submit_table(unit_id: int):
    """报送 in two steps: the first POST shows what will be frozen, the cases without a remedy first; only the
    POST from that page (confirmed=1) submits.
    """
    unit = _unit_to_run(unit_id)
    year, term = _term_or_404(unit)
    form = SubmitForm()
    try:
        if not form.validate_on_submit():
            raise DomainError(_("更正原因不能超过 500 字。"))
        run = services.latest_run(unit, year, term)
        if form.confirmed.data != "1" or form.run_id.data != str(run.id if run else ""):
            # Not confirmed yet, or confirmed on a page showing an earlier run: show what would be frozen now.
            return _confirm_submit(unit, year, term, form, rerun=form.confirmed.data == "1")
        submission = services.submit(current_user, unit, year, term, form.correction_reason.data)
    except DomainError as error:
        requests.roll_back_anyway()
        flash(error.message, "danger")
    else:
        flash(_("%(form)s 已报送（第 %(version)d 版）。", form=submission.form, version=submission.version), "success")
    return redirect(_unit_url(unit, year, term, "#submissions"))


def _confirm_submit(unit: Unit, year: AcademicYear, term: int, form: SubmitForm, rerun: bool = False):
    """The confirmation page; refuses at once what the submission would refuse."""
    table = services.build_table(unit, year, term)
    earlier = services.submissions(unit, year, term)
    services.check_correction(earlier, form.correction_reason.data)
    form.confirmed.data, form.run_id.data = "1", str(services.latest_run(unit, year, term).id)
    return render_template("screening/submit_confirm.html", unit=unit, year=year, term=term, table=table,
                           form=form, earlier=earlier, unremedied=services.without_remedy(unit, year, term),
                           rerun=rerun)


@bp.route("/units/<int:unit_id>/remind", methods=["POST"])
@login_required
@permission_required(Permission.SCREENING_RUN)
def remind_late(unit_id: int):
    """催报: the city reminds its late districts and schools; a district its late schools."""
    unit = get_or_404(Unit, unit_id, current_user, Permission.SCREENING_VIEW)
    if UnitKind(unit.kind) not in (UnitKind.CITY, UnitKind.DISTRICT):
        abort(404)
    require(current_user, Permission.SCREENING_RUN, unit)
    year, term = _term_or_404(unit)
    done = services.remind_late(current_user, unit, year, term, local_today(),
                                lambda late: _unit_url(late, year, term))
    if done.units:
        flash(_("已向 %(n)d 个逾期未报送的单位发送催报提醒。", n=len(done.units)), "success")
    else:
        flash(_("没有需要催报的单位：逾期未报送的单位今天都已催报过，或没有逾期未报送的单位。"), "info")
    if done.unreachable:
        flash(_("%(units)s 没有资助工作人员账号，无法催报，请电话联系。",
                units=_("、").join(u.name for u in done.unreachable)), "warning")
    if UnitKind(unit.kind) is UnitKind.CITY:
        return redirect(url_for("screening.list_units", year=year.start_year, term=term))
    return redirect(_unit_url(unit, year, term, "#reporting"))


# --- downloads and submitted tables ------------------------------------------------------------------------

def _wants_full_ids(unit: Unit) -> bool:
    """Full ID numbers only when asked for, and only for those who may reveal them in that unit."""
    return request.args.get("full_ids") == "1" and can(current_user, Permission.ID_REVEAL, unit)


def _send(table: ScreeningTable, obj, unit_id: int, kind: str, full_ids: bool = False):
    """Audit the download (which table, whether full ID numbers left the system), then send it."""
    record(services.ScreeningAction.TABLE_EXPORTED, actor=current_user, obj=obj, unit_id=unit_id,
           detail=f"{table.form} {table.academic_year}/{table.term} {kind} full_ids={full_ids}")
    if kind == "json":
        body = json.dumps(table.to_json(), ensure_ascii=False, indent=2).encode()
        stem = f"{table.form}_{table.unit_name}_{table.academic_year}_{table.term}"
        return download(BytesIO(body), f"{stem}.json", mimetype="application/json")
    from caretrack.screening.xlsx import form_filename, form_workbook  # the form's layout, loaded when used

    return download(form_workbook(table), form_filename(table))


def _unit_download(unit_id: int, kind: str):
    unit = _unit_or_404(unit_id)
    year, term = _term_or_404(unit)
    full_ids = kind == "xlsx" and _wants_full_ids(unit)
    try:
        table = services.build_table(unit, year, term, reveal_ids=full_ids)
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(_unit_url(unit, year, term))
    return _send(table, unit, unit.id, kind, full_ids)


@bp.route("/units/<int:unit_id>/table.xlsx")
@login_required
@permission_required(Permission.SCREENING_VIEW)
def export_table(unit_id: int):
    return _unit_download(unit_id, "xlsx")


@bp.route("/units/<int:unit_id>/table.json")
@login_required
@permission_required(Permission.SCREENING_VIEW)
def export_json(unit_id: int):
    return _unit_download(unit_id, "json")


def _with_full_ids(table: ScreeningTable) -> ScreeningTable:
    """A frozen table with the full ID numbers of the students its case list names (one query)."""
    ciphers = dict(db.session.execute(select(Student.id, Student.id_cipher).where(
        Student.id.in_({row.student_id for row in table.cases}))).all())
    table.cases = [row._replace(id_number=crypto.decrypt(ciphers[row.student_id])) if row.student_id in ciphers
                   else row for row in table.cases]
    return table


def _submission_or_404(submission_id: int) -> TableSubmission:
    return get_or_404(TableSubmission, submission_id, current_user, Permission.SCREENING_VIEW)


@bp.route("/submissions/<int:submission_id>")
@login_required
@permission_required(Permission.SCREENING_VIEW)
def show_submission(submission_id: int):
    submission = _submission_or_404(submission_id)
    table = ScreeningTable.from_snapshot(submission.snapshot)
    return render_template("screening/submission.html", submission=submission, table=table,
                           case_page=page_of([CaseLine(row) for row in table.cases]),
                           may_reveal=can(current_user, Permission.ID_REVEAL, submission.unit))


@bp.route("/submissions/<int:submission_id>/table.xlsx")
@login_required
@permission_required(Permission.SCREENING_VIEW)
def export_submission(submission_id: int):
    submission = _submission_or_404(submission_id)
    table = ScreeningTable.from_snapshot(submission.snapshot)
    full_ids = _wants_full_ids(submission.unit)
    return _send(_with_full_ids(table) if full_ids else table, submission, submission.unit_id, "xlsx", full_ids)


from caretrack.screening import rules_views  # noqa: E402,F401 - registers the rules pages on bp
