"""Import a sign-in sheet (签到表) of an activity through the shared import machinery.

Columns: 学号, and 单位代码 for an activity of a city or district; 活动编号 names the activity (the command line
gives it instead); 是否到场 (empty: 是) lets the sheet carry the absent too. 姓名 and 班级 are read back from the
sheet this app downloads and ignored. A row's identity is (activity, student): the same student twice counts once,
a second import of the same sheet changes nothing.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.activities.models import Activity, Attendance
from caretrack.activities.services import ATTENDANCE_RECORDED, reach_clause
from caretrack.audit.services import record
from caretrack.core.access import Permission, scoped
from caretrack.core.imports import Column, Importer, RowError, RowInvalid, parse_yes_no
from caretrack.extensions import db
from caretrack.org.models import Unit
from caretrack.students.models import Student


@dataclass
class SheetRow:
    line: int
    activity_id: int | None
    school_code: str | None
    student_no: str
    is_present: bool
    student: Student | None = None
    activity: Activity | None = None


class AttendanceImporter(Importer):
    columns = (Column("活动编号"), Column("单位代码"), Column("学号", True), Column("姓名"), Column("班级"),
               Column("是否到场"))

    def __init__(self, actor, activity: Activity | None = None):
        self.actor = actor
        self.activity = activity
        self.existing: dict[tuple[int, int], Attendance] = {}
        self.touched: set[int] = set()
        self.applied: set[tuple[int, int]] = set()

    def validate(self, line: int, row: dict[str, str]) -> SheetRow:
        errors = []
        number = (row.get("活动编号") or "").strip().lstrip("#")
        activity_id = None
        if number:
            if not number.isdigit():
                errors.append(("活动编号", _("活动编号应为数字。")))
            else:
                activity_id = int(number)
                if self.activity is not None and activity_id != self.activity.id:
                    errors.append(("活动编号", _("与要导入的活动 #%(id)d 不符。", id=self.activity.id)))
        elif self.activity is None:
            errors.append(("活动编号", _("请填写活动编号。")))
        student_no = (row.get("学号") or "").strip()
        if not student_no:
            errors.append(("学号", _("学号不能为空。")))
        try:
            present = parse_yes_no(row.get("是否到场", ""), "是否到场", default=True)
        except RowInvalid as invalid:
            errors.extend(invalid.errors)
            present = True
        if errors:
            raise RowInvalid(*errors)
        return SheetRow(line, activity_id or self.activity.id, (row.get("单位代码") or "").strip() or None,
                        student_no, present)

    def check_file(self, parsed):
        activities = self._activities({row.activity_id for _line, row in parsed})
        seen: dict[tuple[int, int], int] = {}
        for line, row in parsed:
            row.activity = activities.get(row.activity_id)
            if row.activity is None:
                yield RowError(line, "活动编号", _("活动 #%(id)d 不存在，或您不能为它记录签到。", id=row.activity_id))
                continue
            if not row.activity.unit.is_school and not row.school_code:
                yield RowError(line, "单位代码", _("市、区组织的活动须填写学生所在学校的单位代码。"))
                row.activity = None  # nothing more to check on this row
        for activity in activities.values():
            yield from self._match_students(activity, [row for _line, row in parsed if row.activity is activity])
        for line, row in parsed:
            if row.student is None:
                continue
            key = (row.activity.id, row.student.id)
            if key in seen:
                self.report.warnings.append(RowError(line, "学号", _(
                    "与第 %(other)d 行是同一名学生，只记一次。", other=seen[key])))
            seen.setdefault(key, line)
        self.existing = {(a.activity_id, a.student_id): a for a in db.session.scalars(select(Attendance).where(
            Attendance.activity_id.in_(list(activities)),
            Attendance.student_id.in_([row.student.id for _line, row in parsed if row.student])))}

    def _activities(self, ids: set[int]) -> dict[int, Activity]:
        if self.activity is not None:
            return {self.activity.id: self.activity}
        statement = select(Activity).where(Activity.id.in_(ids))
        if self.actor is not None:
            statement = scoped(statement, self.actor, Permission.ACTIVITIES_MANAGE)
        return {a.id: a for a in db.session.scalars(statement)}

    def _match_students(self, activity: Activity, rows: list[SheetRow]):
        """Find the rows' students (one query), and refuse, by name, those outside the organiser's reach."""
        single = activity.unit.is_school
        numbers = {row.student_no for row in rows}
        found = {}
        inside = set()
        statement = (select(Student, Unit.code, reach_clause(activity)).join(Unit, Unit.id == Student.school_id)
                     .where(Student.student_no.in_(numbers)))
        if single:
            statement = statement.where(Student.school_id == activity.unit_id)
        for student, code, reached in db.session.execute(statement):
            found[(None if single else code, student.student_no)] = student
            if reached:
                inside.add(student.id)
        for row in rows:
            student = found.get((None if single else row.school_code, row.student_no))
            if student is None:
                yield RowError(row.line, "学号", _("没有学号为“%(no)s”的学生。", no=row.student_no))
            elif student.id not in inside:
                yield RowError(row.line, "学号", _("%(name)s（%(no)s）不在本活动组织方的范围内。",
                                                 name=student.name, no=student.student_no))
            else:
                row.student = student

    def apply(self, parsed: SheetRow) -> str:
        key = (parsed.activity.id, parsed.student.id)
        if key in self.applied:
            return "unchanged"  # the same student again further down the sheet: counted once
        self.applied.add(key)
        current = self.existing.get(key)
        if current is None:
            db.session.add(Attendance(activity_id=key[0], student_id=key[1], is_present=parsed.is_present))
            outcome = "created"
        elif current.is_present != parsed.is_present:
            current.is_present = parsed.is_present
            outcome = "updated"
        else:
            return "unchanged"
        self.touched.add(key[0])
        return outcome

    def finish(self, report) -> None:
        for activity_id in sorted(self.touched):
            record(ATTENDANCE_RECORDED, actor=self.actor, object_type="Activity", object_id=activity_id,
                   detail=f"import created:{report.created} updated:{report.updated}")

    def describe(self, parsed: SheetRow) -> str:
        state = _("到场") if parsed.is_present else _("缺席")
        return f"#{parsed.activity.id} {parsed.student.name}（{parsed.student.student_no}）{state}"
