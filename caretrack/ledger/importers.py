"""Import disbursements (IMPORT-FORMATS.md "disbursements") through the shared import machinery.

A row's identity is (student, project, 凭证号); without a voucher, (student, project, year, term, date). Rows are
parsed one by one; the students they name are then looked up in bulk and every rule of a payment is checked
(check_file), so that a file of 50,000 payments costs a few dozen queries.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select, tuple_

from caretrack.core import crypto, idnumber
from caretrack.core.access import Permission, scope_for
from caretrack.core.errors import DomainError
from caretrack.core.i18n import format_date, format_money
from caretrack.core.imports import Column, Importer, RowError, RowInvalid
from caretrack.core.timeutil import date_range_message, is_sane_date
from caretrack.extensions import db
from caretrack.ledger import services
from caretrack.ledger.models import AidProject, Disbursement, Grade
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, Unit
from caretrack.students.models import Student

LOOKUP_CHUNK = 1000
FIELD_COLUMNS = {"project_id": "资助项目", "grade": "档次", "paid_on": "发放日期", "term": "学期", "amount": "金额",
                 "voucher": "凭证号"}


@dataclass
class PaymentRow:
    """A parsed row; `student` and `project` are filled in by check_file."""

    line: int
    id_index: str | None
    school_code: str | None
    student_no: str | None
    project_name: str
    grade: Grade | None
    amount: object
    paid_on: date
    start_year: int
    term: int | None
    voucher: str | None
    data: services.DisbursementData | None = None

    def student_key(self):
        return self.id_index or (self.school_code, self.student_no)


class DisbursementImporter(Importer):
    columns = (Column("身份证号", True), Column("资助项目", True), Column("档次"), Column("金额", True),
               Column("发放日期", True), Column("学年", True), Column("学期"), Column("凭证号"), Column("单位代码"),
               Column("学号"))

    def __init__(self, actor):
        self.actor = actor
        self.years: dict[int, AcademicYear] = {}
        self.projects: dict[tuple[str, str], list[AidProject]] = defaultdict(list)
        self.bounds: dict[tuple[int, int], tuple[date, date]] = {}

    def prepare(self) -> None:
        self.years = {y.start_year: y for y in db.session.scalars(select(AcademicYear))}
        for project in db.session.scalars(select(AidProject)):
            self.projects[(project.stage, project.name)].append(project)
        scope = scope_for(self.actor, Permission.DISBURSE) if self.actor is not None else None
        self.school_ids = None if scope is None or scope.everything else set(scope.unit_ids)

    def validate(self, line: int, row: dict[str, str]) -> PaymentRow:
        errors = []
        id_index = school_code = student_no = None
        if row.get("身份证号"):
            try:
                id_index = crypto.blind_index(idnumber.parse(row["身份证号"]).value)
            except DomainError as error:
                errors.append(("身份证号", error.message))
        elif row.get("单位代码") and row.get("学号"):
            school_code, student_no = row["单位代码"], row["学号"]
        else:
            errors.append(("身份证号", _("请填写身份证号，或同时填写单位代码和学号。")))
        if not row.get("资助项目"):
            errors.append(("资助项目", _("资助项目不能为空。")))
        grade = Grade.from_zh(row.get("档次", "")) if row.get("档次") else None
        if row.get("档次") and grade is None:
            errors.append(("档次", _("档次只能是一档、二档或三档。")))
        amount = _attempt(errors, "金额", lambda: services.parse_amount(row.get("金额", "")))
        paid_on = _attempt(errors, "发放日期", lambda: _parse_date(row.get("发放日期", "")))
        start_year = _attempt(errors, "学年", lambda: org.parse_year_label(row.get("学年", "")))
        term = _attempt(errors, "学期", lambda: _parse_term(row.get("学期", "")))
        if start_year is not None and start_year not in self.years:
            errors.append(("学年", _("学年 %(year)s 尚未设置，请先运行初始化。", year=row["学年"])))
        if errors:
            raise RowInvalid(*errors)
        return PaymentRow(line, id_index, school_code, student_no, row["资助项目"], grade, amount, paid_on,
                          start_year, term, row.get("凭证号") or None)

    # --- rules across rows and against the database ---------------------------------------------------------

    def check_file(self, parsed):
        students = self._students(parsed)
        seen: dict[tuple, int] = {}
        for line, row in parsed:
            try:
                self._complete(row, students)
            except DomainError as error:
                for one in error.errors:
                    yield RowError(line, FIELD_COLUMNS.get(one.field, "身份证号"), one.message)
                continue
            identity = self._identity(row)
            if identity in seen:
                yield RowError(line, "凭证号", _("与第 %(other)d 行是同一笔发放（学生、项目和凭证号相同）。",
                                              other=seen[identity]))
            seen.setdefault(identity, line)

    def _students(self, parsed) -> dict:
        indexes = [row.id_index for _line, row in parsed if row.id_index]
        pairs = [(row.school_code, row.student_no) for _line, row in parsed if not row.id_index]
        found: dict = {}
        for start in range(0, len(indexes), LOOKUP_CHUNK):
            for student in db.session.scalars(select(Student).where(
                    Student.id_index.in_(indexes[start:start + LOOKUP_CHUNK]))):
                found[student.id_index] = student
        for start in range(0, len(pairs), LOOKUP_CHUNK):
            rows = db.session.execute(select(Unit.code, Student).join(Unit, Unit.id == Student.school_id).where(
                tuple_(Unit.code, Student.student_no).in_(pairs[start:start + LOOKUP_CHUNK])))
            for code, student in rows:
                found[(code, student.student_no)] = student
        return found

    def _complete(self, row: PaymentRow, students: dict) -> None:
        student = students.get(row.student_key())
        if student is None or (self.school_ids is not None and student.school_id not in self.school_ids):
            # One message for both: a different one would tell that the child is registered in another school.
            raise DomainError(_("找不到这名学生，或该学生不在您的管理范围内。请核对身份证号（或单位代码和学号），"
                                "并确认已导入学生名单。"))
        project = next((p for p in self.projects.get((student.stage, row.project_name), [])
                        if p.in_force(row.start_year)), None)
        if project is None:
            raise DomainError(_("“%(project)s”不是该学生所在学段在 %(year)d-%(next)d 学年的资助项目。",
                                project=row.project_name, year=row.start_year, next=row.start_year + 1),
                              field="project_id")
        row.data = services.DisbursementData(
            student=student, project=project, grade=row.grade, amount=row.amount, paid_on=row.paid_on,
            academic_year=self.years[row.start_year], term=row.term, voucher=row.voucher)
        key = (student.school_id, row.start_year)
        if key not in self.bounds:
            self.bounds[key] = services.academic_year_bounds(student, self.years[row.start_year])
        services.check_disbursement(row.data, self.bounds[key])

    @staticmethod
    def _identity(row: PaymentRow) -> tuple:
        data = row.data
        if data.voucher:
            return (data.student.id, data.project.id, data.voucher)
        return (data.student.id, data.project.id, data.academic_year.id, data.term, data.paid_on)

    # --- writing -------------------------------------------------------------------------------------------

    def apply_batch(self, batch: list[PaymentRow]) -> list[str]:
        existing = self._existing([row.data.student.id for row in batch])
        outcomes = []
        for row in batch:
            current = existing.get(self._identity(row))
            if current is None:
                disbursement = Disbursement(**services.disbursement_values(row.data),
                                            recorded_by_id=getattr(self.actor, "id", None))
                db.session.add(disbursement)
                existing[self._identity(row)] = disbursement
                outcomes.append("created")
            else:
                outcomes.append("updated" if services.update_disbursement(self.actor, current, row.data)
                                else "unchanged")
        return outcomes

    def apply(self, row: PaymentRow) -> str:
        return self.apply_batch([row])[0]

    def _existing(self, student_ids: list[int]) -> dict[tuple, Disbursement]:
        rows = db.session.scalars(select(Disbursement).where(
            Disbursement.student_id.in_(set(student_ids)), Disbursement.deleted_at.is_(None)))
        found = {}
        for d in rows:
            key = (d.student_id, d.project_id, d.voucher) if d.voucher else (
                d.student_id, d.project_id, d.academic_year_id, d.term, d.paid_on)
            found[key] = d
        return found

    def finish(self, report) -> None:
        from caretrack.audit.services import record

        if report.created:
            record(services.LedgerAction.DISBURSED, actor=self.actor, object_type="disbursements",
                   detail=f"import created {report.created}")

    def describe(self, row: PaymentRow) -> str:
        """Who, what and how much, and what tells payments apart: the date, the term and the 凭证号."""
        data = row.data
        what = " ".join(part for part in (data.student.name, row.project_name,
                                          data.grade.label if data.grade else "", format_money(data.amount)) if part)
        term = {1: _("第一学期"), 2: _("第二学期")}.get(data.term, _("全学年"))
        voucher = _("凭证号 %(voucher)s", voucher=data.voucher) if data.voucher else _("无凭证号")
        return f"{what} · {format_date(data.paid_on)} · {data.academic_year.label} {term} · {voucher}"


def _attempt(errors: list, column: str, parse):
    try:
        return parse()
    except DomainError as error:
        errors.append((column, error.message))
        return None


# 2025-10-20 (and what a date cell reads as), and what Excel on a Chinese Windows writes to a CSV: 2025/10/20,
# 2025/10/20 0:00, 2025年10月20日, 2025.10.20.
DATE_PATTERN = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$", re.ASCII)


def _parse_date(text: str) -> date:
    found = DATE_PATTERN.match(text.strip())
    try:
        value = date(*(int(part) for part in found.groups()))
    except (AttributeError, ValueError):
        raise DomainError(_("发放日期应为 YYYY-MM-DD，如 2025-10-20。")) from None
    if not is_sane_date(value):
        raise DomainError(date_range_message())
    return value


def _parse_term(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if text not in ("1", "2"):
        raise DomainError(_("学期只能是 1（秋季）、2（春季）或留空（全学年）。"))
    return int(text)
