"""The student file (一生一档): students, guardians, the yearly identification (认定), caseloads."""

from datetime import date, datetime

from sqlalchemy import Column, Date, ForeignKey, Index, LargeBinary, String, Table, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caretrack.core.access import ScopeType, register_scope_model
from caretrack.core.choices import N_, LabelledEnum
from caretrack.core.models import EncryptedText, TimestampMixin, UTCDateTime, VersionedMixin
from caretrack.extensions import db
from caretrack.org.models import AcademicYear, College, SchoolClass, Unit


class Gender(LabelledEnum):
    MALE = "m", N_("男")
    FEMALE = "f", N_("女")


class Hukou(LabelledEnum):
    RURAL = "rural", N_("农村")
    URBAN = "urban", N_("城镇")


class StudentStatus(LabelledEnum):
    ACTIVE = "active", N_("在校")
    GRADUATED = "graduated", N_("已毕业")
    LEFT = "left", N_("已离校")


class Category(LabelledEnum):
    """家庭经济困难类型, declared in the notice's order, which is also the counting priority."""

    REGISTERED = "registered", N_("建档立卡")
    DISABLED = "disabled", N_("残疾")
    RURAL_DIBAO = "rural_dibao", N_("农村低保")
    RURAL_TEKUN = "rural_tekun", N_("农村特困救助供养")
    ORPHAN = "orphan", N_("孤儿")
    OTHER = "other", N_("其他")

    @property
    def priority(self) -> int:
        return CATEGORY_PRIORITY[self]


# Each category's place in the notice's order. Keyed by the members, which as StrEnum members equal (and hash as)
# their stored codes: a row's plain code string finds its place too.
CATEGORY_PRIORITY: dict[str, int] = {category: index for index, category in enumerate(Category)}


class Level(LabelledEnum):
    SPECIAL = "special", N_("特别困难")
    DIFFICULT = "difficult", N_("困难")
    GENERAL = "general", N_("一般困难")


class Student(TimestampMixin, VersionedMixin, db.Model):
    """One student's identity and place in a school. The 身份证号 is only ever stored encrypted."""

    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("school_id", "student_no"),
        # The list's order (student_query): a page is read in index order, not sorted.
        Index("ix_students_school_class_no", "school_id", "class_id", "student_no"),
        # The home pages' counts of active students by school and stage, answered from the index alone.
        Index("ix_students_status_school_stage", "status", "school_id", "stage", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    college_id: Mapped[int | None] = mapped_column(ForeignKey("colleges.id"), index=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), index=True)
    student_no: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(50), index=True)
    gender: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[date | None] = mapped_column(Date)
    id_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    id_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_masked: Mapped[str] = mapped_column(String(18))
    stage: Mapped[str] = mapped_column(String(20))
    enrolment_year: Mapped[int | None]
    is_boarder: Mapped[bool] = mapped_column(default=False)
    hukou: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=StudentStatus.ACTIVE, index=True)
    status_changed_on: Mapped[date | None] = mapped_column(Date)
    # Why the student left or paused school: encrypted at rest like the care records (core.models.EncryptedText).
    status_note: Mapped[str | None] = mapped_column(EncryptedText(b"students.status_note"))
    # When the retention job erased the ID number, guardians and care notes (ledger.retention); None until then.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    school: Mapped[Unit] = relationship()
    college: Mapped[College | None] = relationship()
    school_class: Mapped[SchoolClass] = relationship()
    guardians: Mapped[list["Guardian"]] = relationship(
        back_populates="student", cascade="all, delete-orphan", order_by="Guardian.id")
    identifications: Mapped[list["Identification"]] = relationship(
        back_populates="student", cascade="all, delete-orphan", order_by="Identification.academic_year_id.desc()")

    def __repr__(self) -> str:
        return f"<Student {self.id}>"


class Guardian(db.Model):
    """A guardian's contact for a student."""

    __tablename__ = "guardians"
    __version_owner__ = "student"  # a changed phone bumps the student's version

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    relation: Mapped[str | None] = mapped_column(String(20))

    student: Mapped[Student] = relationship(back_populates="guardians")


class Identification(TimestampMixin, VersionedMixin, db.Model):
    """家庭经济困难认定 of one student for one academic year; each year keeps its own row.

    `primary_category` is the first of the student's categories in the notice's order: the one column the
    official tables count by, so that the six sub-counts add up to the total.
    """

    __tablename__ = "identifications"
    __version_owner__ = "student"
    __table_args__ = (
        UniqueConstraint("student_id", "academic_year_id"),
        # A year's identifications joined to their students (the home pages' counts), from the index alone.
        Index("ix_identifications_year_student", "academic_year_id", "student_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id"), index=True)
    level: Mapped[str] = mapped_column(String(20))
    primary_category: Mapped[str] = mapped_column(String(20))
    is_registered_poverty: Mapped[bool] = mapped_column(default=False)
    is_martyr_child: Mapped[bool] = mapped_column(default=False)
    is_disaster: Mapped[bool] = mapped_column(default=False)
    is_disabled: Mapped[bool] = mapped_column(default=False)
    is_boarder: Mapped[bool] = mapped_column(default=False)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Why the family was found in difficulty: encrypted at rest (core.models.EncryptedText).
    note: Mapped[str | None] = mapped_column(EncryptedText(b"identifications.note"))

    student: Mapped[Student] = relationship(back_populates="identifications")
    academic_year: Mapped[AcademicYear] = relationship(lazy="joined")
    category_rows: Mapped[list["IdentificationCategory"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")

    @property
    def categories(self) -> list[Category]:
        return sorted((Category(row.category) for row in self.category_rows), key=lambda c: c.priority)

    @property
    def level_enum(self) -> Level:
        return Level(self.level)


class IdentificationCategory(db.Model):
    """One of the difficulty categories of an identification."""

    __tablename__ = "identification_categories"

    identification_id: Mapped[int] = mapped_column(
        ForeignKey("identifications.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)


caseload_members = Table(
    "caseload_members",
    db.metadata,
    Column("caseload_id", ForeignKey("caseloads.id", ondelete="CASCADE"), primary_key=True),
    Column("student_id", ForeignKey("students.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Caseload(TimestampMixin, db.Model):
    """A named list of students that a counselor may be granted on (名单), inside one school."""

    __tablename__ = "caseloads"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    school: Mapped[Unit] = relationship()
    students: Mapped[list[Student]] = relationship(secondary=caseload_members, order_by=Student.name)


def _students_in_caseloads(caseload_ids):
    return Student.id.in_(select(caseload_members.c.student_id).where(caseload_members.c.caseload_id.in_(caseload_ids)))


Student.__access_columns__ = {
    "unit": Student.school_id, "college": Student.college_id, "class": Student.class_id,
    "caseload": _students_in_caseloads,
}


def access_via_student(student_id_column, school_id_column) -> dict:
    """Access columns for a student's records: the school directly, college, class and caseload via the student."""

    def through(scope_type):
        def clause(ids):
            column = Student.__access_columns__[scope_type]
            inner = column(ids) if callable(column) and not hasattr(column, "in_") else column.in_(ids)
            return student_id_column.in_(select(Student.id).where(inner))
        return clause

    return {"unit": school_id_column, "college": through("college"), "class": through("class"),
            "caseload": through("caseload")}


Caseload.__access_columns__ = {"unit": Caseload.school_id, "caseload": Caseload.id}
register_scope_model(ScopeType.CASELOAD, Caseload)
