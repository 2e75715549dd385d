"""Import budgets (docs/import-formats.md "budgets") through the shared import machinery.

A row is one unit's budget of one aid project for one academic year; its identity is (unit, project, year), so a
second import of the same unit, project and year replaces the amount instead of adding a budget. A user imports
the budgets of the units they may enter budgets for (their own unit and the units below it), as on the form.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.core.access import Permission, scope_for
from caretrack.core.errors import DomainError
from caretrack.core.i18n import format_money
from caretrack.core.imports import Column, Importer, RowError, RowInvalid
from caretrack.duties import services
from caretrack.duties.models import Budget
from caretrack.extensions import db
from caretrack.ledger.models import AidProject
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, Stage, Unit


@dataclass
class BudgetRow:
    line: int
    unit: Unit
    project: AidProject
    year: AcademicYear
    amount: Decimal


class BudgetImporter(Importer):
    columns = (Column("单位代码", True), Column("资助项目", True), Column("学段"), Column("学年", True),
               Column("预算金额", True))

    def __init__(self, actor):
        self.actor = actor

    def prepare(self) -> None:
        self.units = {unit.code: unit for unit in db.session.scalars(select(Unit))}
        self.years = {year.start_year: year for year in db.session.scalars(select(AcademicYear))}
        self.projects: dict[str, list[AidProject]] = defaultdict(list)
        for project in db.session.scalars(select(AidProject).order_by(AidProject.id)):
            self.projects[project.name].append(project)
        scope = scope_for(self.actor, Permission.DUTIES_RECORD) if self.actor is not None else None
        self.unit_ids = None if scope is None or scope.everything else set(scope.unit_ids)

    def validate(self, line: int, row: dict[str, str]) -> BudgetRow:
        errors = []
        unit = self.units.get(row.get("单位代码", "").strip())
        if not row.get("单位代码", "").strip():
            errors.append(("单位代码", _("单位代码不能为空。")))
        elif unit is None or (self.unit_ids is not None and unit.id not in self.unit_ids):
            # One message for both: another would tell a unit outside the user's scope exists.
            errors.append(("单位代码", _("找不到该单位，或该单位不在您的管理范围内。")))
            unit = None
        start_year = None
        try:
            start_year = org.parse_year_label(row.get("学年", ""))
        except DomainError as error:
            errors.append(("学年", error.message))
        if start_year is not None and start_year not in self.years:
            errors.append(("学年", _("学年 %(year)s 尚未设置，请先运行初始化。", year=row["学年"])))
            start_year = None
        stage = None
        if row.get("学段", "").strip():
            stage = Stage.from_zh(row["学段"])
            if stage is None:
                errors.append(("学段", _("学段只能是学前教育、义务教育、普通高中、中职或高等教育。")))
        amount = None
        try:
            amount = _parse_amount(row.get("预算金额", ""))
        except DomainError as error:
            errors.append(("预算金额", error.message))
        project = None
        if not row.get("资助项目", "").strip():
            errors.append(("资助项目", _("资助项目不能为空。")))
        elif start_year is not None and (row.get("学段", "").strip() == "" or stage is not None):
            project = self._project(row["资助项目"].strip(), start_year, stage, unit, errors)
        if errors:
            raise RowInvalid(*errors)
        return BudgetRow(line, unit, project, self.years[start_year], amount)

    def _project(self, name: str, start_year: int, stage, unit: Unit | None, errors: list) -> AidProject | None:
        """The project of that name in force in the year; of the stage given, else of the unit's stages."""
        found = [p for p in self.projects.get(name, []) if p.in_force(start_year)]
        if stage is not None:
            found = [p for p in found if p.stage == stage.value]
        elif len(found) > 1 and unit is not None and unit.stages:
            found = [p for p in found if p.stage in {s.value for s in unit.stages}] or found
        if not found:
            errors.append(("资助项目", _("“%(project)s”不是 %(year)d-%(next)d 学年的资助项目（请核对名称和学段）。",
                                       project=name, year=start_year, next=start_year + 1)))
            return None
        if len({p.stage for p in found}) > 1:
            if unit is None:  # the unit is refused already; its stages might have told which project it is
                return None
            errors.append(("学段", _("“%(project)s”在多个学段都有，请填写学段。", project=name)))
            return None
        return found[0]

    def check_file(self, parsed):
        seen: dict[tuple[int, int, int], int] = {}
        for line, row in parsed:
            key = (row.unit.id, row.project.id, row.year.id)
            if key in seen:
                yield RowError(line, "资助项目", _("与第 %(other)d 行是同一单位、同一项目、同一学年的预算。",
                                                other=seen[key]))
            seen.setdefault(key, line)

    def apply_batch(self, batch: list[BudgetRow]) -> list[str]:
        existing = {(b.unit_id, b.project_id, b.academic_year_id): b for b in db.session.scalars(
            select(Budget).where(Budget.unit_id.in_({row.unit.id for row in batch})))}
        return [services.put_budget(self.actor, row.unit, row.project, row.year, row.amount,
                                    existing.get((row.unit.id, row.project.id, row.year.id)), how="import")[1]
                for row in batch]

    def apply(self, row: BudgetRow) -> str:
        return self.apply_batch([row])[0]

    def describe(self, row: BudgetRow) -> str:
        return f"{row.unit.name} · {row.project.name} · {row.year.label} · {format_money(row.amount)}"


def _parse_amount(text: str) -> Decimal:
    """Yuan with at most two decimals, zero or more (a budget of nothing is one)."""
    try:
        amount = Decimal(str(text).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise DomainError(_("预算金额应为数字，如 120000.00。"), field="amount") from None
    services.check_budget_amount(amount)
    return amount.quantize(Decimal("0.01"))
