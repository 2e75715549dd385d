"""The term screening of the university: the run, its table as JSON and as the printed xlsx, the counts; each
beside its floor, hand-written SQL doing the same work in as few statements as the database allows.

- run: one INSERT ... SELECT ... ON CONFLICT per rule (the rules' own WHERE clauses), in a transaction rolled
  back, on the same cases the real rerun keeps;
- table JSON: one statement aggregating the case rows (and their places) into one JSON document;
- table xlsx: the JSON floor (a spreadsheet cannot cost less than the data it shows);
- counts: the counts' GROUP BY as a hand-written statement.
"""

import json
import statistics

from flask import Flask
from sqlalchemy import and_, bindparam, case, func, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite

from caretrack.core.timeutil import utcnow
from caretrack.extensions import db
from caretrack.org.models import AcademicYear, College, SchoolClass, Unit
from caretrack.screening import rules as rule_engine
from caretrack.screening import services
from caretrack.screening.models import CaseStatus, ScreeningCase, ScreeningRule
from caretrack.screening.xlsx import form_workbook
from caretrack.students.models import Identification, Student
from tests.perf import city
from tests.perf.timing import Measurement, measure

TERM = 1


def _unit_and_year() -> tuple[Unit, AcademicYear]:
    unit = db.session.scalar(select(Unit).where(Unit.code == city.UNIVERSITY.code))
    start_year = db.session.scalar(select(func.max(Identification.academic_year_id)))
    return unit, db.session.get(AcademicYear, start_year)


def _timed(app: Flask, action, runs: int) -> list[Measurement]:
    with app.app_context():
        return [measure(db.engine, action) for _ in range(runs)]


def _seconds(measurements: list[Measurement]) -> list[float]:
    return [m.seconds for m in measurements]


def run_once() -> ScreeningCase:
    unit, year = _unit_and_year()
    run = services.run_screening(None, unit, year, TERM)
    db.session.commit()
    return run


def _rule_upsert(rule: ScreeningRule, school_ids: list[int], year: AcademicYear, run_id: int):
    """The rule's findings written as cases in one statement (what the run writes, without the Python between)."""
    paid = select(rule_engine.Disbursement.student_id, func.min(rule_engine.Disbursement.grade).label("best"),
                  func.count(rule_engine.Disbursement.id).label("payments")).where(
        *rule_engine.payments_until(year, TERM))
    if rule.project_name:
        paid = paid.join(rule_engine.AidProject, rule_engine.AidProject.id == rule_engine.Disbursement.project_id) \
            .where(rule_engine.AidProject.name == rule.project_name)
    paid = paid.group_by(rule_engine.Disbursement.student_id).subquery()
    if rule.project_name is None:
        kind = case((paid.c.payments.is_(None), literal("no_aid")))
    else:
        below = and_(literal(bool(rule.min_grade)), paid.c.best > literal(rule.min_grade or ""))
        kind = case((paid.c.payments.is_(None), literal("unaided")), (below, literal("below_top_grade")))
    now = utcnow()
    found = (select(Student.id, Student.school_id, literal(year.id), literal(TERM), literal(rule.id), kind,
                    literal(CaseStatus.OPEN.value), literal(run_id), literal(1), literal(now), literal(now))
             .join(Identification, (Identification.student_id == Student.id)
                   & (Identification.academic_year_id == year.id))
             .outerjoin(paid, paid.c.student_id == Student.id)
             .where(Student.school_id.in_(school_ids), Student.status == "active", kind.is_not(None),
                    *rule_engine.applies_clauses(rule)))
    dialect_insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(ScreeningCase).from_select(
        ["student_id", "school_id", "academic_year_id", "term", "rule_id", "kind", "status", "last_run_id",
         "version", "created_at", "updated_at"], found)
    return statement.on_conflict_do_update(index_elements=["student_id", "academic_year_id", "term", "rule_id"],
                                           set_={"last_run_id": statement.excluded.last_run_id})


def run_floor() -> int:
    """Every rule's upsert, then rolled back: the writes of a rerun, as hand-written SQL."""
    unit, year = _unit_and_year()
    school_ids = [s.id for s in services.schools_of(unit)]
    run_id = db.session.scalar(select(func.max(services.ScreeningRun.id)))
    rules = [r for r in db.session.scalars(select(ScreeningRule).order_by(ScreeningRule.id))
             if r.applies_in(year.start_year)]
    written = sum(db.session.execute(_rule_upsert(rule, school_ids, year, run_id)).rowcount for rule in rules)
    db.session.rollback()
    return written


def table_json() -> str:
    unit, year = _unit_and_year()
    return json.dumps(services.build_table(unit, year, TERM).to_json(), ensure_ascii=False)


def table_xlsx() -> bytes:
    unit, year = _unit_and_year()
    return form_workbook(services.build_table(unit, year, TERM)).getvalue()


def table_floor() -> str:
    """The case rows with their places as one JSON document, built by the database in one statement."""
    unit, year = _unit_and_year()
    school_ids = [s.id for s in services.schools_of(unit)]
    postgres = db.engine.dialect.name == "postgresql"
    build = func.json_build_object if postgres else func.json_object
    aggregate = func.json_agg if postgres else func.json_group_array
    row = build("单位代码", Unit.code, "学号", Student.student_no, "姓名", Student.name, "身份证号", Student.id_masked,
                "院系", College.name, "班级", SchoolClass.name, "类型", ScreeningCase.kind,
                "应享受资助项目", ScreeningRule.project_name, "状态", ScreeningCase.status,
                "其他应资助未资助原因", ScreeningCase.reason, "解决措施", ScreeningCase.remedy)
    statement = (select(aggregate(row))
                 .select_from(ScreeningCase).join(Student, Student.id == ScreeningCase.student_id)
                 .join(Unit, Unit.id == Student.school_id).join(SchoolClass, SchoolClass.id == Student.class_id)
                 .outerjoin(College, College.id == Student.college_id)
                 .join(ScreeningRule, ScreeningRule.id == ScreeningCase.rule_id)
                 .where(ScreeningCase.school_id.in_(school_ids), ScreeningCase.academic_year_id == year.id,
                        ScreeningCase.term == TERM))
    return str(db.session.scalar(statement))


def counts() -> dict:
    unit, year = _unit_and_year()
    return services.counts([s.id for s in services.schools_of(unit)], year)


def counts_floor() -> list:
    """The counts' GROUP BY, hand-written."""
    unit, year = _unit_and_year()
    school_ids = [s.id for s in services.schools_of(unit)]
    statement = text("SELECT i.primary_category, count(*) FROM identifications i JOIN students s ON s.id = "
                     "i.student_id WHERE s.school_id IN :schools AND i.academic_year_id = :year "
                     "GROUP BY i.primary_category").bindparams(bindparam("schools", expanding=True))
    return db.session.execute(statement, {"schools": school_ids, "year": year.id}).all()


def median(values: list[float]) -> float:
    return statistics.median(values)
