"""Reads of student files, always through core.access.scoped."""

from dataclasses import dataclass
from functools import cache, lru_cache

from sqlalchemy import exists, func, literal, null, or_, select, union_all
from sqlalchemy.orm import aliased, joinedload, lazyload

from caretrack.core import crypto, idnumber
from caretrack.core.access import Permission, Scope, scope_filter, scope_for, scoped
from caretrack.core.errors import DomainError
from caretrack.extensions import db
from caretrack.org.models import AcademicYear, College, SchoolClass, Unit
from caretrack.students.groups import schools_in_scope
from caretrack.students.models import (
    CATEGORY_PRIORITY,
    Category,
    Identification,
    IdentificationCategory,
    Level,
    Student,
)


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


def filters_key(filters: StudentFilters) -> tuple:
    """The filters but the search text as plain values, for a count remembered per filter (core.totals)."""
    return (filters.school_id, filters.college_id, filters.class_id, filters.stage, filters.status,
            filters.year.id if filters.year else None, filters.identified, filters.category, filters.level)


@dataclass(frozen=True, slots=True)
class ListedStudent:
    """One row of the student list, every text ready to print: fifty rows per page, so no lookup in the template."""

    id: int
    name: str
    student_no: str
    id_masked: str
    school: str
    college: str | None
    school_class: str
    stage: str  # the 学段's label
    level: str  # the label of the year's 困难等级, "" without an identification that year
    categories: str  # the year's 困难类型, labelled, joined in the notice's order


# The identification a row shows. An alias, so that the identification filters' EXISTS subqueries correlate to the
# student, not to this join; made once, since a new alias sets up its columns again on every view.
_SHOWN = aliased(Identification, name="shown_identification")


def listed(statement, year: AcademicYear | None):
    """`student_query`'s students as the list's columns: their places' names and the year's identification (its
    level and its categories aggregated) in the same statement, as rows, not objects.
    """
    places = (Student.__table__.join(Unit, Unit.id == Student.school_id)
              .outerjoin(College, College.id == Student.college_id)
              .join(SchoolClass, SchoolClass.id == Student.class_id))
    level, categories = null(), null()
    if year is not None:
        places = places.outerjoin(_SHOWN, (_SHOWN.student_id == Student.id) & (_SHOWN.academic_year_id == year.id))
        level = _SHOWN.level
        categories = (select(func.aggregate_strings(IdentificationCategory.category, ","))
                      .where(IdentificationCategory.identification_id == _SHOWN.id).scalar_subquery())
    return statement.with_only_columns(
        Student.id, Student.name, Student.student_no, Student.id_masked, Unit.name, College.name, SchoolClass.name,
        Student.stage, level, categories).select_from(places)


@dataclass(frozen=True)
class ListLabels:
    """What the list prints for its codes in the current language, each looked up once per page, not per row:
    code -> label for the 学段, the levels and the categories, and the separator between categories.
    """

    stages: dict[str, str]
    levels: dict[str, str]
    categories: dict[str, str]
    separator: str


def listed_students(rows, labels: ListLabels) -> list[ListedStudent]:
    """The rows of `listed`, their codes labelled."""
    def categories(codes: str | None) -> str:
        if not codes:
            return ""
        return labels.separator.join(labels.categories[code]
                                     for code in sorted(codes.split(","), key=CATEGORY_PRIORITY.__getitem__))

    return [ListedStudent(student_id, name, student_no, id_masked, school, college, school_class,
                          labels.stages.get(stage, ""), labels.levels.get(level, ""), categories(codes))
            for student_id, name, student_no, id_masked, school, college, school_class, stage, level, codes in rows]


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


@dataclass(frozen=True)
class FilterChoices:
    """What the list's school, college and class selects offer, each as (id, name) in the select's order."""

    schools: list[tuple[int, str]]
    colleges: list[tuple[int, str]]
    classes: list[tuple[int, str]]


def filter_choices(user, school_id: int | None) -> FilterChoices:
    """The schools the user may see, and the colleges and classes of those schools (or of the school chosen).

    One statement, read as plain rows: a university's class select lists nine hundred classes on every view of the
    list, which as ORM rows in three queries cost more than the page's own students.
    """
    found: tuple[list, list, list] = ([], [], [])
    # All at once (fetchall), not a fetch per row: nine hundred rows.
    statement = _choices_statement(scope_for(user, Permission.STUDENTS_VIEW), school_id)
    for part, choice_id, name, _order in db.session.connection().execute(statement).all():
        found[part].append((choice_id, name))
    return FilterChoices(*found)


@lru_cache(maxsize=64)
def _choices_statement(scope: Scope, school_id: int | None):
    """The union of the three selects, built once per scope and school: it depends on nothing else, and building
    it (three subqueries and their columns) costs more than running it.
    """
    colleges = select(College.id, College.name, College.name).where(scope_filter(College, scope))
    classes = select(SchoolClass.id, SchoolClass.name, SchoolClass.name).where(scope_filter(SchoolClass, scope))
    if school_id:
        colleges = colleges.where(College.school_id == school_id)
        classes = classes.where(SchoolClass.school_id == school_id)
    # Each part keeps its own order (by the third column) and limit; `part` tells them apart.
    parts = [statement.order_by(statement.selected_columns[2]).limit(limit)
             for statement, limit in ((schools_in_scope(scope, Unit.code), None), (colleges, 500), (classes, 1000))]
    union = union_all(*[select(literal(number).label("part"), *part.subquery().c)
                        for number, part in enumerate(parts)]).subquery()
    return select(union).order_by(union.c.part, union.c[3])
