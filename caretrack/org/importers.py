"""Import units from CSV/XLSX (IMPORT-FORMATS.md "units")."""

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.core.errors import DomainError
from caretrack.core.imports import Column, Importer, RowError, RowInvalid, split_multi
from caretrack.extensions import db
from caretrack.org import services
from caretrack.org.models import OwnerType, Stage, Unit, UnitKind

KIND_ORDER = list(UnitKind)  # parents before children: city, district, then schools
FIELD_COLUMNS = {"code": "单位代码", "stages": "学段", "parent_code": "上级单位代码"}


class UnitImporter(Importer):
    """Rows are matched on 单位代码; a changed row updates the unit."""

    columns = (
        Column("单位代码", required=True),
        Column("单位名称", required=True),
        Column("单位类型", required=True),
        Column("上级单位代码", required=True),
        Column("学段"),
        Column("举办者"),
    )

    def __init__(self, actor):
        self.actor = actor
        self.existing: dict[str, Unit] = {}

    def prepare(self) -> None:
        self.existing = {unit.code: unit for unit in db.session.scalars(select(Unit))}

    def validate(self, line: int, row: dict[str, str]) -> services.UnitData:
        errors = []
        kind = UnitKind.from_zh(row.get("单位类型", ""))
        if kind is None:
            errors.append(("单位类型", _("“%(value)s”不是有效的单位类型（市、区、高校、中职、中小学、幼儿园）。",
                                        value=row.get("单位类型", ""))))
        if not row.get("单位名称"):
            errors.append(("单位名称", _("单位名称不能为空。")))
        stages = []
        for name in split_multi(row.get("学段", "")):
            stage = Stage.from_zh(name)
            if stage is None:
                errors.append(("学段", _("“%(value)s”不是有效的学段。", value=name)))
            else:
                stages.append(stage)
        owner = OwnerType.from_zh(row.get("举办者") or "公办")
        if owner is None:
            errors.append(("举办者", _("举办者只能是公办或民办。")))
        if errors:
            raise RowInvalid(*errors)
        data = services.UnitData(code=row["单位代码"], name=row["单位名称"], kind=kind,
                                 parent_code=row.get("上级单位代码") or None, stages=stages, owner_type=owner)
        try:
            services.check_unit_code(data.code, kind)
            services.check_stages(kind, stages)
        except DomainError as error:
            raise RowInvalid((FIELD_COLUMNS.get(error.field, "单位代码"), error.message)) from None
        return data

    def check_file(self, parsed):
        """Codes are unique in the file; each parent exists here or in the database, of a fitting kind."""
        first_line: dict[str, int] = {}
        kinds = {code: UnitKind(unit.kind) for code, unit in self.existing.items()}
        for line, data in parsed:
            if data.code in first_line:
                yield RowError(line, "单位代码", _("单位代码与第 %(other)d 行重复。", other=first_line[data.code]))
            first_line.setdefault(data.code, line)
            kinds[data.code] = data.kind
        for line, data in parsed:
            try:
                services.check_parent(data.kind, kinds.get(data.parent_code), data.parent_code)
            except DomainError as error:
                yield RowError(line, "上级单位代码", error.message)

    def order(self, rows):
        return sorted(rows, key=lambda item: KIND_ORDER.index(item[1].kind))

    def apply(self, data: services.UnitData) -> str:
        existing = self.existing.get(data.code)
        unit, changed = services.save_unit(self.actor, data, existing)
        self.existing[unit.code] = unit
        if existing is None:
            return "created"
        return "updated" if changed else "unchanged"

    def describe(self, data: services.UnitData) -> str:
        return f"{data.code} {data.name}"
