"""Importing disbursements: the sample file, idempotency, and every rule on its own row."""

import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caretrack.core import crypto
from caretrack.core.access import Role
from caretrack.core.imports import run_import
from caretrack.extensions import db
from caretrack.ledger.importers import DisbursementImporter
from caretrack.ledger.models import Disbursement
from caretrack.org.importers import UnitImporter
from caretrack.students.importers import StudentImporter
from tests.factories import FULL_WIDTH, make_id_number, make_student, make_user, seed_catalog, xlsx_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = "身份证号,资助项目,档次,金额,发放日期,学年,学期,凭证号"


@pytest.fixture
def roster(app):
    from caretrack.org.services import ensure_academic_year

    for year in (2024, 2025):
        ensure_academic_year(year)
    seed_catalog()
    for importer, name in ((UnitImporter(None), "units-sample.csv"), (StudentImporter(None), "students-sample.csv")):
        with (SAMPLES / name).open("rb") as stream:
            assert not run_import(importer, stream, name).refused


def run_payments(content: bytes, actor=None, **options):
    return run_import(DisbursementImporter(actor), io.BytesIO(content), "payments.csv", **options)


def sample() -> bytes:
    return (SAMPLES / "disbursements-sample.csv").read_bytes()


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Disbursement))


def test_the_sample_imports_to_exactly_its_rows_and_again_changes_nothing(roster):
    report = run_payments(sample())
    assert (report.created, report.invalid) == (36, 0)
    assert count() == 36
    again = run_payments(sample())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 36)
    assert count() == 36


def test_a_changed_amount_updates_the_payment(roster):
    run_payments(sample())
    changed = sample().decode("utf-8-sig").replace("2475.00,2025-10-20,2025-2026,1,V0000001",
                                                   "2400.00,2025-10-20,2025-2026,1,V0000001")
    report = run_payments(changed.encode())
    assert (report.updated, report.unchanged) == (1, 35)


def rows(*lines: str) -> bytes:
    return "\n".join([HEADER, *lines]).encode()


@pytest.mark.parametrize(("line", "column", "reason"), [
    ("420102200711010030,国家助学金,一档,-1,2025-10-20,2025-2026,1,X1", "金额", "须大于 0"),
    ("420102200711010030,国家助学金,一档,10.555,2025-10-20,2025-2026,1,X1", "金额", "两位小数"),
    ("420102200711010030,家庭经济困难寄宿生生活补助,,1250,2025-10-20,2025-2026,1,X1", "资助项目", "不是该学生所在学段"),
    ("420102200711010030,国家助学金,,2475,2025-10-20,2025-2026,1,X1", "档次", "须填写档次"),
    ("420102200711010030,国家奖学金,一档,10000,2025-10-20,2025-2026,1,X1", "档次", "不分档次"),
    ("420102200711010030,国家助学金,一档,2475,2024-10-20,2025-2026,1,X1", "发放日期", "不在 2025-2026 学年内"),
    ("420102200711010030,国家助学金,一档,2475,2025-13-01,2025-2026,1,X1", "发放日期", "YYYY-MM-DD"),
    ("420102200711010030,国家助学金,一档,2475,2025-10-20,2025-2026,3,X1", "学期", "学期只能是"),
    ("110105194912310021,国家助学金,一档,2475,2025-10-20,2025-2026,1,X1", "身份证号", "校验位"),
    ("11010519491231002X,国家助学金,一档,2475,2025-10-20,2025-2026,1,X1", "身份证号", "找不到这名学生"),
])
def test_each_rule_is_reported_on_its_row(roster, line, column, reason):
    report = run_payments(rows(line))
    assert report.refused
    assert [(e.line, e.column) for e in report.errors] == [(2, column)]
    assert reason in report.errors[0].reason
    assert count() == 0


def test_a_voucher_repeated_in_the_file_is_refused_naming_the_first_line(roster):
    line = "420102200711010030,国家助学金,一档,2475,2025-10-20,2025-2026,1,X1"
    report = run_payments(rows(line, line))
    assert [(e.line, e.reason) for e in report.errors] == [(3, "与第 2 行是同一笔发放（学生、项目和凭证号相同）。")]


def test_a_student_can_be_named_by_school_code_and_student_number(roster):
    content = ("单位代码,学号,身份证号,资助项目,档次,金额,发放日期,学年,学期,凭证号\n"
               "4199010001,000100001,,国家助学金,一档,2475,2025-10-20,2025-2026,1,Y1\n").encode()
    report = run_payments(content)
    assert (report.created, report.invalid) == (1, 0)


def test_an_officer_cannot_pay_students_of_another_school(roster):
    from caretrack.org.models import Unit

    school = db.session.scalar(select(Unit).where(Unit.code == "2199010101"))
    report = run_payments(sample(), actor=make_user(Role.SCHOOL_OFFICER, school))
    assert report.refused
    assert any("不在您的管理范围内" in e.reason for e in report.errors)
    assert count() == 0


# --- who the file names: one spelling of a number, one message for a student one may not pay -------------------

@pytest.fixture
def student(city):
    """A university student of the test city, with the catalog and the year to pay them in."""
    from caretrack.org.models import Stage
    from caretrack.org.services import ensure_academic_year

    ensure_academic_year(2025)
    seed_catalog()
    city.student = make_student(city.uni_class, stage=Stage.HIGHER)
    city.number = crypto.decrypt(city.student.id_cipher)
    return city


def test_a_full_width_id_number_pays_the_registered_student(student):
    typed = student.number.translate(FULL_WIDTH)
    report = run_payments(rows(f"{typed},国家助学金,一档,2475,2025-10-20,2025-2026,1,F1"))
    assert (report.created, report.invalid) == (1, 0)
    assert db.session.scalar(select(Disbursement.student_id)) == student.student.id


def test_a_student_outside_ones_scope_and_an_unknown_one_get_the_same_message(student):
    officer = make_user(Role.SCHOOL_OFFICER, student.east_school)
    unknown = make_id_number()
    report = run_payments(rows(f"{student.number},国家助学金,一档,2475,2025-10-20,2025-2026,1,Z1",
                               f"{unknown},国家助学金,一档,2475,2025-10-20,2025-2026,1,Z2"), actor=officer)
    assert [(e.line, e.column) for e in report.errors] == [(2, "身份证号"), (3, "身份证号")]
    outside, missing = (e.reason for e in report.errors)
    assert outside == missing
    assert "示例理工大学" not in outside
    assert count() == 0


# --- files as Excel writes them ------------------------------------------------------------------------------

EXCEL_NUMBER_MESSAGE = "Excel 把身份证号存成了数字，末几位已丢失，请把该列设为文本后重新导出。"


def run_xlsx(*rows, actor=None):
    content = xlsx_bytes([HEADER.split(","), *rows])
    return run_import(DisbursementImporter(actor), io.BytesIO(content), "payments.xlsx")


def test_an_xlsx_typed_in_excel_with_date_and_number_cells_imports(student):
    report = run_xlsx(
        [student.number, "国家助学金", "一档", 2475.0, datetime(2025, 10, 20), "2025-2026", 1, "V1"],
        [student.number, "国家助学金", "一档", 2475, date(2026, 3, 20), "2025-2026", 2.0, 20260320.0])
    assert (report.created, report.invalid, report.errors) == (2, 0, [])
    paid = db.session.scalars(select(Disbursement).order_by(Disbursement.paid_on)).all()
    assert [(d.paid_on, d.amount, d.term, d.voucher) for d in paid] == [
        (date(2025, 10, 20), Decimal("2475.00"), 1, "V1"), (date(2026, 3, 20), Decimal("2475.00"), 2, "20260320")]


def test_an_id_number_excel_stored_as_a_number_is_refused_saying_why(student):
    as_excel_keeps_it = float(student.number[:15] + "000")  # Excel keeps 15 digits
    report = run_xlsx([as_excel_keeps_it, "国家助学金", "一档", 2475.0, datetime(2025, 10, 20), "2025-2026", 1, "V1"])
    assert [(e.line, e.column, e.reason) for e in report.errors] == [(2, "身份证号", EXCEL_NUMBER_MESSAGE)]
    assert count() == 0


def test_the_csv_excel_writes_from_a_number_cell_is_refused_saying_why(student):
    report = run_payments(rows("1.10105E+17,国家助学金,一档,2475,2025-10-20,2025-2026,1,V1"))
    assert [(e.column, e.reason) for e in report.errors] == [("身份证号", EXCEL_NUMBER_MESSAGE)]


@pytest.mark.parametrize("written", ["2025/10/20", "2025/10/20 0:00", "2025年10月20日", "2025.10.20", "2025-10-20"])
def test_dates_as_excel_writes_them_to_a_csv_are_read(student, written):
    report = run_payments(rows(f"{student.number},国家助学金,一档,2475,{written},2025-2026,1,V1"))
    assert (report.created, report.errors) == (1, [])
    assert db.session.scalar(select(Disbursement.paid_on)) == date(2025, 10, 20)
