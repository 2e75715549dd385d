"""Reads of student files, always through core.access.scoped."""

from dataclasses import dataclass
from functools import cache

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import joinedload, lazyload

from caretrack.core import crypto, idnumber
from caretrack.core.access import Permission, scoped
from caretrack.core.errors import DomainError
from caretrack.extensions import db
from caretrack.org.models import AcademicYear, College, SchoolClass, Unit
from caretrack.students.models import Category, Identification, IdentificationCategory, Level, Student


@dataclass
class StudentFilters:
    """What the student list can be narrowed by; empty values mean no filter."""

    q: str = ""
    school_id: int | None = None
    college_id: int | None = None
    class_id: int | None = None
    stage: str = ""
    status: str = "active"
    year: AcademicYear | None = None
    identified: str = ""  # "yes", "no" or ""
    category: str = ""
    level: str = ""


def _search(statement, q: str):
    """Name or 学号 by prefix; a complete, valid ID number through its blind index (never by plaintext)."""
    q = q.strip()
    try:
        number = idnumber.parse(q)
    except DomainError:
        like = f"{q}%"
        return statement.where(or_(Student.name.like(like), Student.student_no.like(like)))
    return statement.where(Student.id_index.in_(crypto.blind_indexes(number.value)))


def _identification_of_year(year: AcademicYear):
    return select(Identification.id).where(
        Identification.student_id == Student.id, Identification.academic_year_id == year.id)


def student_query(user, filters: StudentFilters):
    """A select() of the students the user may see, narrowed by the filters, in a stable order."""
    statement = scoped(select(Student), user, Permission.STUDENTS_VIEW)
    if filters.q:
        statement = _search(statement, filters.q)
    for column, value in ((Student.school_id, filters.school_id), (Student.college_id, filters.college_id),
                          (Student.class_id, filters.class_id)):
        if value:
            statement = statement.where(column == value)
    if filters.stage:
        statement = statement.where(Student.stage == filters.stage)
    if filters.status:
        statement = statement.where(Student.status == filters.status)
    statement = _identification_filters(statement, filters)
    return statement.order_by(Student.school_id, Student.class_id, Student.student_no)


def _identification_filters(statement, filters: StudentFilters):
    if filters.year is None:
        return statement
    of_year = _identification_of_year(filters.year)
    if filters.identified == "yes":
        statement = statement.where(of_year.exists())
    elif filters.identified == "no":
        statement = statement.where(~of_year.exists())
    if filters.level:
        statement = statement.where(of_year.where(Identification.level == filters.level).exists())
    if filters.category:
        statement = statement.where(of_year.where(exists().where(
            IdentificationCategory.identification_id == Identification.id,
            IdentificationCategory.category == filters.category)).exists())
    return statement


def counted_students(statement):
    """The same students as ids only, for the list's count: no row is read wider than the count needs."""
    return statement.with_only_columns(Student.id)


def with_places(statement):
    """Load each student's school, college and class in the same query (no query per row).

    The schools come without their stages, which a list of students never shows (one statement fewer).
    """
    return statement.options(joinedload(Student.school).options(lazyload(Unit.stage_rows)),
                             joinedload(Student.college), joinedload(Student.school_class))


@dataclass(frozen=True)
class Badge:
    """What a list shows of a student's identification of one year: the level and the categories, in order."""

    level: Level
    categories: tuple[Category, ...]


def identification_badges(student_ids, year: AcademicYear | None) -> dict[int, Badge]:
    """The identification of that year for each of the students, as badges: one query, whatever their number."""
    if year is None or not student_ids:
        return {}
    rows = db.session.execute(
        select(Identification.student_id, Identification.level, IdentificationCategory.category)
        .outerjoin(IdentificationCategory, IdentificationCategory.identification_id == Identification.id)
        .where(Identification.student_id.in_(student_ids), Identification.academic_year_id == year.id))
    levels: dict[int, str] = {}
    categories: dict[int, list[Category]] = {}
    for student_id, level, category in rows:
        levels[student_id] = level
        found = categories.setdefault(student_id, [])
        if category is not None:
            found.append(Category(category))
    return {student_id: Badge(Level(level), tuple(sorted(categories[student_id], key=lambda c: c.priority)))
            for student_id, level in levels.items()}


def get_student(user, student_id: int) -> Student | None:
    """One student's file with its school's stages, guardians and identifications, if the user may see it.

    One query: the student with their places, the school's stages, the guardians and the identifications of every
    year with their categories, all joined. The collections multiply each other's rows (guardians x years x
    categories: a few dozen at most), which costs less than a second statement.
    """
    statement = scoped(select(Student).where(Student.id == student_id), user, Permission.STUDENTS_VIEW)
    return db.session.execute(statement.options(*_file_options())).unique().scalar_one_or_none()


@cache
def _file_options() -> tuple:
    """The loader options of a student's file, made once per process (every view of a file asks for them)."""
    return (joinedload(Student.school).joinedload(Unit.stage_rows), joinedload(Student.college),
            joinedload(Student.school_class), joinedload(Student.guardians),
            joinedload(Student.identifications).joinedload(Identification.category_rows))


def filter_choices(user, school_id: int | None) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The colleges and classes the filter selects offer, as (id, name): those of the visible schools.

    Rows, not objects: a university's select lists nine hundred classes on every view of the list.
    """
    colleges = scoped(select(College.id, College.name), user, Permission.STUDENTS_VIEW, College).order_by(College.name)
    classes = scoped(select(SchoolClass.id, SchoolClass.name), user, Permission.STUDENTS_VIEW,
                     SchoolClass).order_by(SchoolClass.name)
    if school_id:
        colleges = colleges.where(College.school_id == school_id)
        classes = classes.where(SchoolClass.school_id == school_id)
    return ([tuple(row) for row in db.session.execute(colleges.limit(500))],
            [tuple(row) for row in db.session.execute(classes.limit(1000))])
