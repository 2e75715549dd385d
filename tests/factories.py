"""One-line test data: units, classes and users with roles."""

import itertools

from caretrack.accounts import services as accounts
from caretrack.accounts.models import User
from caretrack.core.access import Role, ScopeType
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.models import Stage, Unit, UnitKind

PASSWORD = "test-pass-123"
_sequence = itertools.count(1)


def make_unit(code: str, name: str, kind: UnitKind, parent: Unit | None = None,
              stages: list[Stage] | None = None) -> Unit:
    data = org.UnitData(code=code, name=name, kind=kind, parent_code=parent.code if parent else None,
                        stages=stages or ([] if not kind.is_school else [Stage.COMPULSORY]))
    unit, _changed = org.save_unit(None, data)
    return unit


def make_user(role: Role | None = None, scope=None, *, username: str | None = None,
              must_change_password: bool = False, **fields) -> User:
    """A user with a known password, optionally holding `role` on `scope` (a unit, college or class)."""
    username = username or f"user{next(_sequence)}"
    user, _password = accounts.create_user(None, username=username, display_name=fields.pop("display_name", username),
                                           password=PASSWORD, **fields)
    user.must_change_password = must_change_password
    if role is not None:
        accounts.grant_role(None, user, role, scope_type_of(scope), scope)
    db.session.flush()
    return user


def scope_type_of(target) -> ScopeType:
    from caretrack.org.models import College, SchoolClass

    if isinstance(target, College):
        return ScopeType.COLLEGE
    if isinstance(target, SchoolClass):
        return ScopeType.CLASS
    return ScopeType.UNIT


class City:
    """The organisation every access test works on: two districts, one school each, and a university."""

    def __init__(self):
        self.city = make_unit("990000", "示例市", UnitKind.CITY)
        self.east = make_unit("990101", "东城区", UnitKind.DISTRICT, self.city)
        self.west = make_unit("990102", "西城区", UnitKind.DISTRICT, self.city)
        self.east_school = make_unit("2199010101", "东城区第一中学", UnitKind.SCHOOL, self.east,
                                     [Stage.COMPULSORY, Stage.SENIOR_HIGH])
        self.west_school = make_unit("2199010201", "西城区民族中学", UnitKind.SCHOOL, self.west)
        self.university = make_unit("4199010001", "示例理工大学", UnitKind.UNIVERSITY, self.city, [Stage.HIGHER])
        self.college = org.get_or_create_college(None, self.university, "机械工程学院")
        self.other_college = org.get_or_create_college(None, self.university, "外国语学院")
        self.uni_class = org.get_or_create_class(None, self.university, "机械2401", self.college)
        self.class_a = org.get_or_create_class(None, self.east_school, "初一(1)班")
        self.class_b = org.get_or_create_class(None, self.east_school, "初一(2)班")
        self.west_class = org.get_or_create_class(None, self.west_school, "初一(1)班")
        db.session.flush()

    def user(self, role: Role, scope, **kwargs) -> User:
        return make_user(role, scope, **kwargs)


def build_city() -> City:
    return City()


# An ID number as typed with a Chinese input method in full-width mode: number.translate(FULL_WIDTH).
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def make_id_number(serial: int | None = None, birth: str = "20080101", region: str = "110105",
                   gender: str = "m") -> str:
    """A valid 身份证号 with a unique serial; gender sets the parity of the 17th digit."""
    from caretrack.core.idnumber import check_digit

    serial = next(_sequence) if serial is None else serial
    sequence = f"{serial % 100:02d}{(1 if gender == 'm' else 2) if serial % 2 else (3 if gender == 'm' else 4)}"
    first17 = f"{region}{birth}{sequence}"
    return first17 + check_digit(first17)


def make_student(school_class, *, name: str | None = None, student_no: str | None = None,
                 id_number: str | None = None, stage=None, **fields):
    """A student of the class's school, registered through the service (so the ID number is encrypted)."""
    from caretrack.core import idnumber
    from caretrack.org.models import Stage
    from caretrack.students import services

    school = school_class.school
    number = idnumber.parse(id_number or make_id_number(birth=f"20{next(_sequence) % 10 + 5:02d}0101"))
    data = services.StudentData(
        school=school, school_class=school_class, college=school_class.college,
        student_no=student_no or f"S{next(_sequence):06d}", name=name or f"学生{next(_sequence)}",
        id_number=number, stage=stage or Stage(school.stages[0].value), **fields)
    student, _warnings = services.create_student(None, data)
    return student


def identify(student, start_year: int, *categories, level=None, **flags):
    """Record the student's identification for that year (categories as Category members)."""
    from caretrack.org.services import ensure_academic_year
    from caretrack.students import services
    from caretrack.students.models import Category, Level

    categories = list(categories) or [Category.OTHER]
    flags.setdefault("is_registered_poverty", Category.REGISTERED in categories)
    return services.identify(None, student, services.IdentificationData(
        academic_year=ensure_academic_year(start_year), categories=categories, level=level or Level.DIFFICULT,
        **flags))


def seed_catalog():
    from caretrack.ledger.services import seed_catalog as seed

    seed()


def project(name: str, stage) -> "object":
    """The catalog project of that name and stage (seeding the catalog first when needed)."""
    from sqlalchemy import select

    from caretrack.ledger.models import AidProject

    found = db.session.scalar(select(AidProject).where(AidProject.name == name, AidProject.stage == stage))
    if found is None:
        seed_catalog()
        found = db.session.scalar(select(AidProject).where(AidProject.name == name, AidProject.stage == stage))
    return found


def pay(student, name: str, amount: str = "1000.00", start_year: int = 2025, *, grade=None, paid_on=None,
        term=None, voucher=None):
    """Record a payment of a catalog project to the student."""
    from datetime import date
    from decimal import Decimal

    from caretrack.ledger import services
    from caretrack.org.services import ensure_academic_year

    return services.record_disbursement(None, services.DisbursementData(
        student=student, project=project(name, student.stage), grade=grade, amount=Decimal(amount),
        paid_on=paid_on or date(start_year, 10, 20), academic_year=ensure_academic_year(start_year), term=term,
        voucher=voucher))


def care(student, kind, *, summary: str = "谈话记录", happened_on=None, actor=None, **fields):
    """Log an act of care (kind: a RecordKind) for the student."""
    from datetime import date

    from caretrack.ledger import services

    return services.create_record(actor, services.RecordData(
        student=student, kind=kind, happened_on=happened_on or date(2025, 10, 1), summary=summary, **fields),
        today=date(2026, 11, 28))


def xlsx_bytes(rows, merge: str | None = None) -> bytes:
    """An .xlsx file holding the rows on its first sheet, optionally with merged cells (e.g. "A1:B1")."""
    import io

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
