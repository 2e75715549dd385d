"""The generated city: units, users and student rosters, all made up and the same on every run.

One city with four districts, a 40,000-student university, a vocational school and K-12 schools; the rest of
the students are shared between the other schools. Each school's roster is cut in two: the first part goes
into the import file the import benchmark times, the rest fills the city up to its full size.
"""

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select

from caretrack.accounts import services as accounts
from caretrack.core.access import Role, ScopeType
from caretrack.demo import RosterSpec, roster_rows
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.models import SchoolClass, Stage, Unit, UnitKind
from caretrack.students.models import Student

CITY = org.UnitData("990000", "示例市", UnitKind.CITY, None, [])
DISTRICTS = [org.UnitData(f"9901{n:02d}", f"{name}区", UnitKind.DISTRICT, CITY.code, [])
             for n, name in enumerate(("东城", "西城", "南湖", "北山"), start=1)]
UNIVERSITY = org.UnitData("4199010001", "示例理工大学", UnitKind.UNIVERSITY, CITY.code, [Stage.HIGHER])
VOCATIONAL = org.UnitData("3199010001", "示例市职业技术学校", UnitKind.VOCATIONAL, CITY.code, [Stage.VOCATIONAL])
K12_SCHOOLS = 18
COLLEGES = ("机械工程", "电气工程", "计算机", "经济管理", "外国语", "数学", "物理", "化学化工", "土木工程", "材料",
            "生命科学", "文", "法", "艺术", "医", "建筑", "环境", "新闻", "马克思主义", "体育")
GRADES = {Stage.COMPULSORY: ("初一", "初二", "初三"), Stage.SENIOR_HIGH: ("高一", "高二", "高三"),
          Stage.VOCATIONAL: ("中职一", "中职二", "中职三")}
CLASS_SIZE = 45
PASSWORD = "bench-pass-2025"
OFFICER, CITY_ADMIN = "uni_officer", "city_admin"
USERS = ((OFFICER, Role.SCHOOL_OFFICER, UNIVERSITY.code), (CITY_ADMIN, Role.CITY_ADMIN, CITY.code))


def k12_schools() -> list[org.UnitData]:
    """Schools of both secondary stages, spread over the districts."""
    return [org.UnitData(f"21{DISTRICTS[n % len(DISTRICTS)].code}{n + 1:02d}", f"示例市第{n + 1}中学",
                         UnitKind.SCHOOL, DISTRICTS[n % len(DISTRICTS)].code, [Stage.COMPULSORY, Stage.SENIOR_HIGH])
            for n in range(K12_SCHOOLS)]


def schools() -> list[org.UnitData]:
    return [UNIVERSITY, VOCATIONAL, *k12_schools()]


def units() -> list[org.UnitData]:
    """Parents before children."""
    return [CITY, *DISTRICTS, *schools()]


@dataclass(frozen=True)
class CityPlan:
    """How many students each school has, and how many of them the import file holds."""

    students: int
    university_students: int
    import_rows: int

    def size_of(self, school: org.UnitData) -> int:
        if school is UNIVERSITY:
            return self.university_students
        others = len(schools()) - 1
        rest = self.students - self.university_students
        return rest // others + (1 if schools().index(school) - 1 < rest % others else 0)

    def imported_of(self, school: org.UnitData) -> int:
        """The school's share of the import file, in proportion to its size (the shares add up exactly)."""
        before = sum(self.size_of(s) for s in schools()[:schools().index(school)])
        return (self.import_rows * (before + self.size_of(school)) // self.students
                - self.import_rows * before // self.students)


def roster_specs(school: org.UnitData, size: int) -> list[RosterSpec]:
    """One spec per stage the school teaches, with classes of about CLASS_SIZE students."""
    if school.kind is UnitKind.UNIVERSITY:
        per_college = math.ceil(size / CLASS_SIZE / len(COLLEGES))
        classes = [(f"{c}学院", f"{c}{n:03d}班") for c in COLLEGES for n in range(1, per_college + 1)]
        return [RosterSpec(school.code, Stage.HIGHER, classes)]
    per_stage = math.ceil(size / len(school.stages))
    return [RosterSpec(school.code, stage, [("", f"{grade}({n})班") for grade in GRADES[stage]
                                            for n in range(1, math.ceil(per_stage / CLASS_SIZE / 3) + 1)])
            for stage in school.stages]


def school_roster(school: org.UnitData, size: int, number: int, year_label: str,
                  used_ids: set[str]) -> list[list[str]]:
    """`size` rows for the school; ID numbers already used by another school are skipped (checked in one set)."""
    specs = roster_specs(school, size)
    rng = random.Random(number)
    rows = []
    for index, spec in enumerate(specs):
        count = size // len(specs) + (1 if index < size % len(specs) else 0)
        first_serial = (number + 1) * 10_000_000 + index * 1_000_000
        fresh = (row for row in roster_rows(spec, count * 2, rng, year_label, first_serial) if row[6] not in used_ids)
        part = list(itertools.islice(fresh, count))
        used_ids.update(row[6] for row in part)
        rows.append(part)
    return [row for group in itertools.zip_longest(*rows) for row in group if row is not None]


@dataclass
class Rosters:
    """The import file's rows and the rows that fill the city afterwards."""

    imported: list[list[str]]
    fill: list[list[str]]


def rosters(plan: CityPlan, year_label: str) -> Rosters:
    used_ids: set[str] = set()
    result = Rosters([], [])
    for number, school in enumerate(schools()):
        rows = school_roster(school, plan.size_of(school), number, year_label, used_ids)
        cut = plan.imported_of(school)
        result.imported += rows[:cut]
        result.fill += rows[cut:]
    return result


def build_units() -> None:
    """The city's units through the same service as the forms and the units import."""
    for data in units():
        org.save_unit(None, data)


def build_users() -> None:
    """An aid officer of the university and the city admin, able to log in at once."""
    for username, role, code in USERS:
        user, _password = accounts.create_user(None, username=username, display_name=username, password=PASSWORD)
        user.must_change_password = False
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        accounts.grant_role(None, user, role, ScopeType.UNIT, unit)


def first_university_class() -> tuple[int, int]:
    """The id of the university's first class and its number of students."""
    class_id = db.session.scalar(select(SchoolClass.id).join(Unit, SchoolClass.school_id == Unit.id)
                                 .where(Unit.code == UNIVERSITY.code).order_by(SchoolClass.id).limit(1))
    return class_id, db.session.scalar(select(func.count(Student.id)).where(Student.class_id == class_id))


def chunks(rows: list, size: int) -> Iterator[list]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def identified_university_student() -> int:
    """The id of the university's first identified student, whose file the file page benchmark opens."""
    from caretrack.students.models import Identification

    return db.session.scalar(select(Student.id).join(Unit, Student.school_id == Unit.id)
                             .join(Identification, Identification.student_id == Student.id)
                             .where(Unit.code == UNIVERSITY.code).order_by(Student.id).limit(1))


def seed_reference_data() -> None:
    """What `flask caretrack init` seeds: the years, the aid catalog, the visit cadence, the screening rules."""
    from caretrack.cli import FIRST_SEEDED_YEAR
    from caretrack.core.timeutil import local_today
    from caretrack.followups.services import seed_cadence
    from caretrack.ledger.services import seed_catalog
    from caretrack.screening.rules import seed_rules

    for start_year in range(FIRST_SEEDED_YEAR, org.academic_year_of(local_today()) + 2):
        org.ensure_academic_year(start_year)
    seed_catalog()
    seed_cadence()
    seed_rules()


def identified_count(school_code: str) -> int:
    """How many of the school's students are identified, in any year (the city identifies one year)."""
    from caretrack.students.models import Identification

    return db.session.scalar(select(func.count(Identification.id)).join(Student)
                             .join(Unit, Student.school_id == Unit.id).where(Unit.code == school_code))
