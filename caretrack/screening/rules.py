"""The screening rules as data, and the set-based evaluation of one rule over a unit's students.

Evaluating a rule costs one query whatever the number of students: the identified students it applies to,
each with the best grade of the required project they were paid (or whether they were paid anything).
"""

from dataclasses import dataclass

from sqlalchemy import and_, exists, false, func, or_, select, true

from caretrack.extensions import db
from caretrack.ledger.models import AidProject, Disbursement
from caretrack.org.models import AcademicYear, Stage
from caretrack.screening.models import CaseKind, ScreeningRule
from caretrack.screening.tables import FORM_DISTRICT, FORM_SCHOOL
from caretrack.students.models import Category, Identification, IdentificationCategory, Student, StudentStatus

SEED_FROM_YEAR = 2019
PRIORITY_GROUPS = [Category.REGISTERED, Category.RURAL_DIBAO, Category.RURAL_TEKUN, Category.ORPHAN,
                   Category.DISABLED]
FOUR_CATEGORIES = [Category.REGISTERED, Category.DISABLED, Category.RURAL_DIBAO, Category.RURAL_TEKUN]

# (name, stage, categories, flags, boarder, project, min grade, the table whose coverage question it answers)
SEED_RULES = [
    ("高等教育：建档立卡、农村低保、农村特困、孤儿、残疾、烈士子女、遭遇灾害或突发事件的学生须获最高档国家助学金",
     Stage.HIGHER, PRIORITY_GROUPS, ["martyr", "disaster"], None, "国家助学金", "1", FORM_SCHOOL),
    ("中职：建档立卡、农村低保、农村特困、孤儿、残疾、烈士子女、遭遇灾害或突发事件的学生须获最高档国家助学金",
     Stage.VOCATIONAL, PRIORITY_GROUPS, ["martyr", "disaster"], None, "国家助学金", "1", FORM_SCHOOL),
    ("义务教育：已认定的寄宿生须获家庭经济困难寄宿生生活补助",
     Stage.COMPULSORY, [], [], True, "家庭经济困难寄宿生生活补助", None, FORM_DISTRICT),
    ("义务教育：建档立卡、非建档立卡残疾、农村低保、农村特困的非寄宿生须获家庭经济困难非寄宿生生活补助",
     Stage.COMPULSORY, FOUR_CATEGORIES, [], False, "家庭经济困难非寄宿生生活补助", None, FORM_DISTRICT),
    ("所有学段：已认定的学生在本学年须获得资助", None, [], [], None, None, None, None),
]


@dataclass(frozen=True)
class Finding:
    student_id: int
    kind: CaseKind


@dataclass
class Evaluation:
    """What one rule found: everyone it applies to, and those missing what it asks."""

    rule: ScreeningRule
    eligible: set[int]
    findings: list[Finding]


def payments_until(year: AcademicYear, term: int):
    """Payments of the academic year up to the end of `term`; a payment without a term counts for the year."""
    return (Disbursement.academic_year_id == year.id, Disbursement.deleted_at.is_(None),
            or_(Disbursement.term.is_(None), Disbursement.term <= term))


def applies_clauses(rule: ScreeningRule, category=None):
    """The WHERE clause picking the identified students a rule speaks of.

    `category`, when given, is an identification_categories alias outer-joined to the identification (restricted to
    the rules' categories) to read the categories from, instead of an EXISTS per rule: in a CASE over thousands of
    rows PostgreSQL costs each EXISTS as a subplan per row, and the estimate made it compile the query (JIT).
    """
    clauses = []
    if rule.stage:
        clauses.append(Student.stage == rule.stage)
    if rule.boarder is not None:
        clauses.append(Identification.is_boarder.is_(rule.boarder))
    groups = []
    if rule.categories and category is not None:
        groups.append(category.category.in_(rule.categories))
    elif rule.categories:
        groups.append(exists().where(IdentificationCategory.identification_id == Identification.id,
                                     IdentificationCategory.category.in_(rule.categories)))
    if "martyr" in rule.flags:
        groups.append(Identification.is_martyr_child.is_(True))
    if "disaster" in rule.flags:
        groups.append(Identification.is_disaster.is_(True))
    if groups:
        clauses.append(or_(*groups))
    return clauses


def evaluate(rule: ScreeningRule, school_ids: list[int], year: AcademicYear, term: int,
             student_ids: list[int] | None = None) -> Evaluation:
    """The students of the schools (or only `student_ids`) the rule applies to, and what each is missing."""
    paid = select(Disbursement.student_id, func.min(Disbursement.grade).label("best"),
                  func.count(Disbursement.id).label("payments")).where(*payments_until(year, term))
    if rule.project_name:
        paid = paid.join(AidProject, AidProject.id == Disbursement.project_id).where(
            AidProject.name == rule.project_name)
    paid = paid.group_by(Disbursement.student_id).subquery()
    statement = (select(Student.id, paid.c.best, paid.c.payments)
                 .join(Identification, (Identification.student_id == Student.id)
                       & (Identification.academic_year_id == year.id))
                 .outerjoin(paid, paid.c.student_id == Student.id)
                 .where(Student.school_id.in_(school_ids), Student.status == StudentStatus.ACTIVE,
                        *applies_clauses(rule)))
    if student_ids is not None:
        statement = statement.where(Student.id.in_(student_ids))
    eligible, findings = set(), []
    for student_id, best, payments in db.session.execute(statement):
        eligible.add(student_id)
        kind = _missing(rule, best, payments or 0)
        if kind is not None:
            findings.append(Finding(student_id, kind))
    return Evaluation(rule, eligible, findings)


def applies_any(rules: list[ScreeningRule], category=None):
    """One clause over a student joined to the year's identification: any of the rules applies to them (the
    union of `evaluate`'s eligible sets, as a WHERE or a CASE); `category` as in `applies_clauses`.
    """
    return or_(*(and_(true(), *applies_clauses(rule, category)) for rule in rules)) if rules else false()


def _missing(rule: ScreeningRule, best_grade: str | None, payments: int) -> CaseKind | None:
    if rule.project_name is None:
        return CaseKind.NO_AID if payments == 0 else None
    if payments == 0:
        return CaseKind.UNAIDED
    if rule.min_grade and (best_grade is None or best_grade > rule.min_grade):
        return CaseKind.BELOW_TOP_GRADE  # grades are "1" (highest) to "3": a larger code is a lower grade
    return None


def seed_rules() -> int:
    """The rules of DOMAIN.md "Screening", created when there are none (idempotent)."""
    if db.session.scalar(select(ScreeningRule.id).limit(1)) is not None:
        return 0
    for name, stage, categories, flags, boarder, project, grade, form in SEED_RULES:
        db.session.add(ScreeningRule(
            name=name, stage=stage.value if stage else None, categories=[c.value for c in categories], flags=flags,
            boarder=boarder, project_name=project, min_grade=grade, coverage_form=form, valid_from=SEED_FROM_YEAR))
    db.session.flush()
    return len(SEED_RULES)
