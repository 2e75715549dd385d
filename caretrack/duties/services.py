"""Writes of the duties: records with their attendance, trainees and files; staff; visits; budgets; duty types.

Services take the acting user and domain objects, check the rules, flush and never commit.
"""

import secrets
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from caretrack.accounts.models import User
from caretrack.audit.services import record as audit
from caretrack.audit.services import register_action_labels
from caretrack.core import uploads
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError, ErrorCollector
from caretrack.core.models import check_version
from caretrack.duties.models import (
    AidStaff,
    Budget,
    CityVisit,
    DutyCheck,
    DutyFile,
    DutyRecord,
    DutyType,
    Improvement,
)
from caretrack.extensions import db
from caretrack.ledger.models import AidProject
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, Unit, UnitKind


class DutyAction:
    RECORDED = "duty_recorded"
    FILE_ADDED = "duty_file_added"
    STAFF_SAVED = "duty_staff_saved"
    VISIT_RECORDED = "duty_visit_recorded"
    IMPROVEMENT_CLOSED = "duty_improvement_closed"
    BUDGET_SAVED = "duty_budget_saved"
    TYPE_SAVED = "duty_type_saved"
    RECORD_UPDATED = "duty_record_updated"
    RECORD_DELETED = "duty_record_deleted"
    FILE_DELETED = "duty_file_deleted"
    STAFF_UPDATED = "duty_staff_updated"
    STAFF_DELETED = "duty_staff_deleted"
    BUDGET_DELETED = "duty_budget_deleted"
    VISIT_UPDATED = "duty_visit_updated"
    VISIT_DELETED = "duty_visit_deleted"
    IMPROVEMENT_DELETED = "duty_improvement_deleted"


register_action_labels({
    DutyAction.RECORDED: N_("记录单位职责"), DutyAction.FILE_ADDED: N_("上传职责附件"),
    DutyAction.STAFF_SAVED: N_("登记资助工作人员"), DutyAction.VISIT_RECORDED: N_("记录走访调研"),
    DutyAction.IMPROVEMENT_CLOSED: N_("整改完成"), DutyAction.BUDGET_SAVED: N_("保存资助经费预算"),
    DutyAction.TYPE_SAVED: N_("保存职责类型"), DutyAction.RECORD_UPDATED: N_("修改单位职责记录"),
    DutyAction.RECORD_DELETED: N_("删除单位职责记录"), DutyAction.FILE_DELETED: N_("删除职责附件"),
    DutyAction.STAFF_UPDATED: N_("修改资助工作人员"), DutyAction.STAFF_DELETED: N_("删除资助工作人员"),
    DutyAction.BUDGET_DELETED: N_("删除资助经费预算"), DutyAction.VISIT_UPDATED: N_("修改走访调研"),
    DutyAction.VISIT_DELETED: N_("删除走访调研"), DutyAction.IMPROVEMENT_DELETED: N_("删除整改要求"),
})


@dataclass
class RecordData:
    duty: DutyType
    done_on: date
    title: str
    summary: str | None = None
    channel: str | None = None
    contact: str | None = None
    attending_units: list[Unit] = field(default_factory=list)
    trainees: list[User] = field(default_factory=list)


def _check_record(unit: Unit, data: RecordData, today: date, allowed_units: set[int],
                  allowed_trainees: set[int]) -> None:
    errors = ErrorCollector()
    start_year = org.academic_year_of(data.done_on)
    if data.duty.check_enum is not DutyCheck.RECORDS:
        errors.add(_("该职责的完成情况由系统自动读取，无需登记。"), "duty_type_id")
    elif not data.duty.applies_to(unit, start_year):
        errors.add(_("%(unit)s在该学年不承担这项职责。", unit=unit.name), "duty_type_id")
    if data.done_on > today:
        errors.add(_("完成日期不能晚于今天。"), "done_on")
    if not data.title.strip():
        errors.add(_("请填写内容。"), "title")
    if data.duty.needs_contact and not (data.contact or "").strip():
        errors.add(_("请填写联系人和联系方式。"), "contact")
    if data.trainees and not data.duty.is_training:
        errors.add(_("只有培训需要登记参训人员。"), "trainee_ids")
    if any(u.id not in allowed_units for u in data.attending_units):
        errors.add(_("参加单位须为本单位或下属单位。"), "attending_unit_ids")
    if any(t.id not in allowed_trainees for t in data.trainees):
        errors.add(_("参训人员须为本单位或下属单位的人员。"), "trainee_ids")
    errors.raise_if_any()


def record_duty(actor, unit: Unit, data: RecordData, today: date, allowed_units: set[int],
                allowed_trainees: set[int]) -> DutyRecord:
    """Keep one act fulfilling a duty of the unit; its academic year is the one its date falls in."""
    _check_record(unit, data, today, allowed_units, allowed_trainees)
    year = org.ensure_academic_year(org.academic_year_of(data.done_on))
    entry = DutyRecord(unit_id=unit.id, academic_year_id=year.id, created_by_id=getattr(actor, "id", None),
                       **_record_values(data))
    entry.attending_units = list(data.attending_units)
    entry.trainees = list(data.trainees)
    db.session.add(entry)
    db.session.flush()
    audit(DutyAction.RECORDED, actor=actor, obj=entry, unit_id=unit.id, detail=data.duty.code)
    return entry


def _record_values(data: RecordData) -> dict:
    return {"duty_type_id": data.duty.id, "done_on": data.done_on, "title": data.title.strip(),
            "summary": (data.summary or "").strip() or None, "channel": (data.channel or "").strip() or None,
            "contact": (data.contact or "").strip() or None}


def _set_changed(row, values: dict) -> list[str]:
    """Set on `row` the values that differ from what it holds; their names, in the order of `values`."""
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    return changed


def _update(actor, row, values: dict, action: DutyAction) -> list[str]:
    """Change a row of a unit to `values` and audit the fields that changed; nothing written when none did."""
    changed = _set_changed(row, values)
    if changed:
        db.session.flush()
        audit(action, actor=actor, obj=row, unit_id=row.unit_id, fields=changed)
    return changed


def update_record(actor, entry: DutyRecord, data: RecordData, today: date, allowed_units: set[int],
                  allowed_trainees: set[int], expected_version: int | None = None) -> list[str]:
    """Change a record, its attendance and its trainees; what changed (nothing written when nothing did).

    A unit or a trainee the record already lists stays allowed although they have since left the choices (a
    school closed, a person's role ended), so that correcting a typo does not force dropping them.
    """
    check_version(entry.version, expected_version)
    _check_record(entry.unit, data, today, allowed_units | {u.id for u in entry.attending_units},
                  allowed_trainees | {u.id for u in entry.trainees})
    changed = _set_changed(entry, _record_values(data))
    if "done_on" in changed:
        entry.academic_year_id = org.ensure_academic_year(org.academic_year_of(data.done_on)).id
    if {u.id for u in entry.attending_units} != {u.id for u in data.attending_units}:
        entry.attending_units = list(data.attending_units)
        changed.append("attending_units")
    if {u.id for u in entry.trainees} != {u.id for u in data.trainees}:
        entry.trainees = list(data.trainees)
        changed.append("trainees")
    if changed:
        entry.duty_type = data.duty
        flag_modified(entry, "title")  # a change of attendance alone bumps the version too
        db.session.flush()
        audit(DutyAction.RECORD_UPDATED, actor=actor, obj=entry, unit_id=entry.unit_id, fields=changed)
    return changed


def delete_record(actor, entry: DutyRecord) -> None:
    """Delete a record with its attendance, trainees and files; the files leave the disk once the delete commits."""
    names = [stored.stored_name for stored in entry.files]
    unit_id, detail = entry.unit_id, f"{entry.duty_type.code} {entry.done_on.isoformat()} {entry.title}"[:200]
    record_id = entry.id
    db.session.delete(entry)
    db.session.flush()
    audit(DutyAction.RECORD_DELETED, actor=actor, object_type=DutyRecord.__tablename__, object_id=record_id,
          unit_id=unit_id, detail=detail)
    uploads.remove_after_commit(DUTY_FILES, names)


def delete_file(actor, stored: DutyFile) -> None:
    """Delete one file of a record (from the disk once the delete commits)."""
    entry = stored.record
    name, file_id = stored.stored_name, stored.id
    entry.files.remove(stored)
    flag_modified(entry, "title")  # the record's version moves with its files
    db.session.flush()
    audit(DutyAction.FILE_DELETED, actor=actor, object_type=DutyFile.__tablename__, object_id=file_id,
          unit_id=entry.unit_id, detail=stored.filename)
    uploads.remove_after_commit(DUTY_FILES, [name])


def _duty_file_names() -> set[str]:
    return set(db.session.scalars(select(DutyFile.stored_name)))


# Photos, minutes or scans of a duty done: checked, stored (0600, renamed after the commit) and swept by core.uploads.
DUTY_FILES = uploads.register(uploads.UploadKind(
    folder="duty_files", types=(*uploads.IMAGES, "application/pdf"), field="file",
    too_big=N_("附件不能超过 %(mb)d MB。"), wrong_type=N_("附件只能是 JPG、PNG 照片或 PDF 扫描件。"),
    referenced=_duty_file_names))


def add_file(actor, entry: DutyRecord, filename: str, content: bytes, folder, max_bytes: int) -> DutyFile:
    """Keep a photo, the minutes or a scan of a record, checked by size and real type as the ledger's are."""
    kept = uploads.store(DUTY_FILES, content, max_bytes, folder)
    stored = DutyFile(filename=Path(filename or "附件").name[:200], stored_name=kept.stored_name,
                      content_type=kept.content_type, size=kept.size)
    entry.files.append(stored)
    db.session.flush()
    audit(DutyAction.FILE_ADDED, actor=actor, obj=stored, unit_id=entry.unit_id)
    return stored


def add_staff(actor, unit: Unit, name: str, is_full_time: bool, is_head: bool, starts_on: date,
              ends_on: date | None = None, user: User | None = None) -> AidStaff:
    """Enter one person of the unit's aid centre."""
    if not name.strip():
        raise DomainError(_("请填写姓名。"), field="name")
    if ends_on is not None and ends_on < starts_on:
        raise DomainError(_("离岗日期不能早于到岗日期。"), field="ends_on")
    person = AidStaff(unit_id=unit.id, name=name.strip(), is_full_time=is_full_time, is_head=is_head,
                      starts_on=starts_on, ends_on=ends_on, user_id=user.id if user else None)
    db.session.add(person)
    db.session.flush()
    audit(DutyAction.STAFF_SAVED, actor=actor, obj=person, unit_id=unit.id)
    return person


@dataclass
class StaffData:
    name: str
    is_full_time: bool
    is_head: bool
    starts_on: date
    ends_on: date | None = None
    user: User | None = None


def update_staff(actor, person: AidStaff, data: StaffData) -> list[str]:
    """Correct a person of the aid centre; what changed (nothing written when nothing did)."""
    if not data.name.strip():
        raise DomainError(_("请填写姓名。"), field="name")
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise DomainError(_("离岗日期不能早于到岗日期。"), field="ends_on")
    values = {"name": data.name.strip(), "is_full_time": bool(data.is_full_time), "is_head": bool(data.is_head),
              "starts_on": data.starts_on, "ends_on": data.ends_on, "user_id": data.user.id if data.user else None}
    return _update(actor, person, values, DutyAction.STAFF_UPDATED)


def delete_staff(actor, person: AidStaff) -> None:
    """Delete a person entered by mistake (one who left is given a leaving day instead, and stays on record)."""
    person_id, unit_id, name = person.id, person.unit_id, person.name
    db.session.delete(person)
    db.session.flush()
    audit(DutyAction.STAFF_DELETED, actor=actor, object_type=AidStaff.__tablename__, object_id=person_id,
          unit_id=unit_id, detail=name)


def end_staff(actor, person: AidStaff, ends_on: date) -> None:
    """The person left the aid centre on `ends_on`."""
    if ends_on < person.starts_on:
        raise DomainError(_("离岗日期不能早于到岗日期。"), field="ends_on")
    person.ends_on = ends_on
    db.session.flush()
    audit(DutyAction.STAFF_SAVED, actor=actor, obj=person, unit_id=person.unit_id, detail="ended")


def record_visit(actor, unit: Unit, visited_on: date, findings: str, requirements: list[tuple[str, date | None]],
                 today: date) -> CityVisit:
    """Record the city's visit to a unit, with the improvements it requires (each tracked until closed)."""
    errors = ErrorCollector()
    if visited_on > today:
        errors.add(_("走访日期不能晚于今天。"), "visited_on")
    if not findings.strip():
        errors.add(_("请填写发现的问题。"), "findings")
    if unit.kind == UnitKind.CITY:
        errors.add(_("走访调研的对象是区教育局和学校。"), "unit")
    errors.raise_if_any()
    visit = CityVisit(unit_id=unit.id, visited_on=visited_on, findings=findings.strip(),
                      created_by_id=getattr(actor, "id", None))
    visit.improvements = [Improvement(requirement=text.strip(), due_on=due) for text, due in requirements
                          if text.strip()]
    db.session.add(visit)
    db.session.flush()
    audit(DutyAction.VISIT_RECORDED, actor=actor, obj=visit, unit_id=unit.id)
    return visit


def update_visit(actor, visit: CityVisit, visited_on: date, findings: str, today: date) -> list[str]:
    """Correct a visit's date or findings; what changed."""
    errors = ErrorCollector()
    if visited_on > today:
        errors.add(_("走访日期不能晚于今天。"), "visited_on")
    if not findings.strip():
        errors.add(_("请填写发现的问题。"), "findings")
    errors.raise_if_any()
    return _update(actor, visit, {"visited_on": visited_on, "findings": findings.strip()}, DutyAction.VISIT_UPDATED)


def delete_visit(actor, visit: CityVisit) -> None:
    """Delete a visit recorded by mistake, with the improvements it required."""
    visit_id, unit_id = visit.id, visit.unit_id
    detail = f"{visit.visited_on.isoformat()} {visit.findings}"[:200]
    db.session.delete(visit)
    db.session.flush()
    audit(DutyAction.VISIT_DELETED, actor=actor, object_type=CityVisit.__tablename__, object_id=visit_id,
          unit_id=unit_id, detail=detail)


def delete_improvement(actor, improvement: Improvement) -> None:
    """Drop one improvement a visit required (entered by mistake)."""
    visit = improvement.visit
    improvement_id, detail = improvement.id, improvement.requirement[:200]
    visit.improvements.remove(improvement)
    db.session.flush()
    audit(DutyAction.IMPROVEMENT_DELETED, actor=actor, object_type=Improvement.__tablename__,
          object_id=improvement_id, unit_id=visit.unit_id, detail=detail)


def close_improvement(actor, improvement: Improvement, closed_on: date, note: str, today: date) -> None:
    """The unit made the improvement: when, and what it did."""
    if improvement.closed_on is not None:
        raise DomainError(_("该整改要求已完成。"), field="closed_on")
    if closed_on > today:
        raise DomainError(_("完成日期不能晚于今天。"), field="closed_on")
    if not note.strip():
        raise DomainError(_("请填写整改情况。"), field="note")
    improvement.closed_on, improvement.closing_note = closed_on, note.strip()
    db.session.flush()
    audit(DutyAction.IMPROVEMENT_CLOSED, actor=actor, obj=improvement, unit_id=improvement.visit.unit_id)


def check_budget_amount(amount: Decimal) -> None:
    if not amount.is_finite():
        raise DomainError(_("预算金额应为数字，如 120000.00。"), field="amount")
    if amount < 0:
        raise DomainError(_("预算金额不能为负数。"), field="amount")
    if amount >= MAX_BUDGET:
        raise DomainError(_("预算金额过大，请核对。"), field="amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise DomainError(_("预算金额最多保留两位小数。"), field="amount")


MAX_BUDGET = Decimal(10) ** 10  # Numeric(12, 2)


def put_budget(actor, unit: Unit, project: AidProject, year: AcademicYear, amount: Decimal,
               existing: Budget | None = None, how: str = "form") -> tuple[Budget, str]:
    """Set the unit's budget of one aid project for one year (a second entry replaces the first); with what it
    did: "created", "updated" or "unchanged" (nothing written, nothing audited). `existing`: the row, when the
    caller has looked it up already (an import, in bulk).
    """
    check_budget_amount(amount)
    budget = existing or db.session.scalar(select(Budget).where(
        Budget.unit_id == unit.id, Budget.project_id == project.id, Budget.academic_year_id == year.id))
    if budget is None:
        budget = Budget(unit_id=unit.id, project_id=project.id, academic_year_id=year.id, amount=amount)
        db.session.add(budget)
        outcome = "created"
    elif budget.amount != amount:
        budget.amount = amount
        outcome = "updated"
    else:
        return budget, "unchanged"
    db.session.flush()
    audit(DutyAction.BUDGET_SAVED, actor=actor, obj=budget, unit_id=unit.id,
          detail=f"{how} {project.name} {year.label} {amount:.2f}")
    return budget, outcome


def save_budget(actor, unit: Unit, project: AidProject, year: AcademicYear, amount: Decimal) -> Budget:
    """Set the unit's budget of one aid project for one year (a second entry replaces the first)."""
    return put_budget(actor, unit, project, year, amount)[0]


def delete_budget(actor, budget: Budget) -> None:
    """Delete a budget entered by mistake (the payments it was read against stay in the ledger)."""
    budget_id, unit_id = budget.id, budget.unit_id
    detail = f"{budget.project.name} {budget.amount:.2f}"
    db.session.delete(budget)
    db.session.flush()
    audit(DutyAction.BUDGET_DELETED, actor=actor, object_type=Budget.__tablename__, object_id=budget_id,
          unit_id=unit_id, detail=detail)


@dataclass
class DutyTypeData:
    name: str
    unit_kinds: list[UnitKind]
    due_month: int
    due_day: int
    first_year: int
    last_year: int | None = None
    min_count: int = 1
    description: str | None = None
    needs_contact: bool = False
    is_training: bool = False


def save_duty_type(actor, data: DutyTypeData, duty: DutyType | None = None) -> DutyType:
    """Add a duty (kept by records) or change one; the city admin keeps the list."""
    errors = ErrorCollector()
    if not data.name.strip():
        errors.add(_("请填写名称。"), "name")
    if not data.unit_kinds:
        errors.add(_("请至少选择一种单位类型。"), "unit_kinds")
    try:
        date(2001, data.due_month, data.due_day)  # 2001: not a leap year, so 29 February is refused
    except (TypeError, ValueError):
        errors.add(_("截止日期不是有效的日期。"), "due_day")
    if data.last_year is not None and data.last_year < data.first_year:
        errors.add(_("停用学年不能早于启用学年。"), "last_year")
    if data.min_count < 1:
        errors.add(_("次数至少为 1。"), "min_count")
    errors.raise_if_any()
    if duty is None:
        duty = DutyType(code=f"custom-{secrets.token_hex(4)}", check=DutyCheck.RECORDS,
                        sort_order=100 + (db.session.scalar(select(db.func.count(DutyType.id))) or 0))
        db.session.add(duty)
    duty.name, duty.description = data.name.strip(), (data.description or "").strip() or None
    duty.unit_kinds = ",".join(kind.value for kind in data.unit_kinds)
    duty.due_month, duty.due_day, duty.min_count = data.due_month, data.due_day, data.min_count
    duty.first_year, duty.last_year = data.first_year, data.last_year
    duty.needs_contact, duty.is_training = data.needs_contact, data.is_training
    db.session.flush()
    audit(DutyAction.TYPE_SAVED, actor=actor, obj=duty)
    return duty
