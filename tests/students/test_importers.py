"""The roster import: the sample files, idempotency, every fault of the bad file, whole-file refusals."""

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core import crypto
from caretrack.core.access import Role
from caretrack.core.idnumber import check_digit
from caretrack.core.imports import run_import
from caretrack.extensions import db
from caretrack.org.importers import UnitImporter
from caretrack.org.services import ensure_academic_year
from caretrack.students.importers import StudentImporter
from caretrack.students.models import Identification, IdentificationCategory, Student
from tests.factories import FULL_WIDTH, make_id_number, make_student, make_user, xlsx_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = ("单位代码,学院（系）,班级,学号,姓名,性别,身份证号,学段,入学年份,是否寄宿,户口类型,家庭经济困难类型,困难等级,"
          "是否建档立卡家庭,是否烈士子女,是否遭遇自然灾害或突发事件,认定学年,监护人姓名,监护人电话")


def run_file(path: Path, actor=None, **options):
    with path.open("rb") as stream:
        return run_import(StudentImporter(actor), stream, path.name, **options)


def run_bytes(content: bytes, name: str = "roster.csv", actor=None, **options):
    return run_import(StudentImporter(actor), io.BytesIO(content), name, **options)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def units(app):
    with (SAMPLES / "units-sample.csv").open("rb") as stream:
        report = run_import(UnitImporter(None), stream, "units-sample.csv")
    assert report.created == 11


def test_the_sample_roster_imports_to_exactly_its_rows(units):
    report = run_file(SAMPLES / "students-sample.csv")
    assert (report.created, report.updated, report.unchanged, report.invalid) == (124, 0, 0, 0)
    assert count(Student) == 124
    assert count(Identification) == 27  # the rows with a category
    per_school = dict(db.session.execute(select(Student.school_id, func.count()).group_by(Student.school_id)).all())
    assert sorted(per_school.values()) == [12, 12, 12, 12, 12, 14, 18, 32]


def test_categories_and_flags_of_a_row_are_kept(units):
    run_file(SAMPLES / "students-sample.csv")
    # 韩凯佳, line 38 of the sample: 建档立卡, 一般困难, 2025-2026
    student = db.session.scalar(select(Student).where(Student.name == "韩凯佳"))
    (identification,) = student.identifications
    assert identification.academic_year.label == "2025-2026"
    assert [c.value for c in identification.categories] == ["registered"]
    assert (identification.level, identification.is_registered_poverty) == ("general", True)
    assert student.guardians[0].phone == "13253264589"


def test_reimporting_the_same_file_changes_nothing(units):
    run_file(SAMPLES / "students-sample.csv")
    before = count(IdentificationCategory)
    report = run_file(SAMPLES / "students-sample.csv")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 124)
    assert count(IdentificationCategory) == before


def test_the_gb18030_roster_imports_identically(units):
    run_file(SAMPLES / "students-sample-gb18030.csv")
    by_utf8 = run_file(SAMPLES / "students-sample.csv")
    assert (by_utf8.created, by_utf8.updated, by_utf8.unchanged) == (0, 0, 124)


def test_a_changed_row_updates_the_student(units):
    run_file(SAMPLES / "students-sample.csv")
    text = (SAMPLES / "students-sample.csv").read_text(encoding="utf-8-sig").replace("余娜强", "余娜", 1)
    report = run_bytes(text.encode())
    assert (report.created, report.updated, report.unchanged) == (0, 1, 123)
    assert db.session.scalar(select(func.count()).where(Student.name == "余娜")) == 1


def test_a_dry_run_reports_changes_and_writes_nothing(units):
    report = run_file(SAMPLES / "students-sample.csv", dry_run=True)
    assert report.created == 124
    assert report.changes[0].startswith("新增：示例理工大学")
    assert count(Student) == 0


EXPECTED_BAD = [
    (2, "身份证号", "校验位不正确"),
    (3, "身份证号", "出生日期不是有效日期"),
    (4, "身份证号", "应为 18 位，当前为 17 位"),
    (5, "学号", "学号与第 6 行重复"),
    (6, "学号", "学号与第 5 行重复"),
    (7, "家庭经济困难类型", "“特困户”不是有效的困难类型"),
    (8, "单位代码", "单位代码“0000000000”不存在"),
    (9, "姓名", "姓名不能为空"),
]


def test_every_fault_of_the_bad_file_is_reported_and_nothing_is_written(units):
    report = run_file(SAMPLES / "students-bad.csv")
    assert report.refused
    assert report.invalid == 8
    found = [(e.line, e.column, e.reason) for e in report.errors]
    for line, column, reason in EXPECTED_BAD:
        assert any(f == (line, column, f[2]) and reason in f[2] for f in found), (line, column, reason, found)
    assert count(Student) == 0


def test_skip_invalid_imports_nothing_from_a_file_where_every_row_is_bad(units):
    report = run_file(SAMPLES / "students-bad.csv", skip_invalid=True)
    assert not report.refused
    assert (report.created, report.invalid) == (0, 8)


def test_skip_invalid_imports_the_good_rows(units):
    good = (SAMPLES / "students-sample.csv").read_text(encoding="utf-8-sig").splitlines()[1:3]
    bad = (SAMPLES / "students-bad.csv").read_text(encoding="utf-8-sig").splitlines()[1:2]
    report = run_bytes("\n".join([HEADER, *good, *bad]).encode(), skip_invalid=True)
    assert (report.created, report.invalid) == (2, 1)
    assert count(Student) == 2


def test_a_missing_required_column_is_refused_before_rows_are_read(units):
    report = run_bytes("单位代码,班级,学号,姓名,学段\n4199010001,a,1,张三,高等教育\n".encode())
    assert report.refused
    assert report.refused_reason == "缺少必填列：身份证号。"
    assert report.errors == []


def test_an_empty_file_is_refused(units):
    assert run_bytes(b"").refused_reason == "文件是空的。"


def test_a_binary_file_renamed_csv_is_refused(units):
    report = run_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert report.refused
    assert "CSV" in report.refused_reason


def test_a_non_excel_file_named_xlsx_is_refused(units):
    assert "不是 Excel" in run_bytes(HEADER.encode(), name="roster.xlsx").refused_reason



def test_the_sample_as_xlsx_imports_identically(units):
    report = run_file(SAMPLES / "students-sample.xlsx")
    assert (report.created, report.invalid) == (124, 0)
    again = run_file(SAMPLES / "students-sample.csv")
    assert again.unchanged == 124


def test_an_xlsx_with_merged_header_cells_is_refused(units):
    header = HEADER.split(",")
    header[1] = None
    content = xlsx_bytes([header, ["4199010001"] * len(header)], merge="A1:B1")
    report = run_bytes(content, name="roster.xlsx")
    assert report.refused
    assert "合并" in report.refused_reason


def test_the_same_id_number_in_two_schools_is_refused_naming_both_rows(units):
    row_a = "4199010001,机械工程学院,机械2401,A001,张三,男,11010519491231002X,高等教育,2024,是,城镇,,,否,否,否,,,"
    row_b = "2199010101,,初一(1)班,B001,张三,男,11010519491231002X,义务教育,2024,否,城镇,,,否,否,否,,,"
    report = run_bytes("\n".join([HEADER, row_a, row_b]).encode())
    assert report.refused
    messages = {(e.line, e.reason) for e in report.errors}
    assert (2, "身份证号与第 3 行重复（分别在示例理工大学和东城区第一中学）。") in messages
    assert (3, "身份证号与第 2 行重复（分别在示例理工大学和东城区第一中学）。") in messages


def east_row(number: str, student_no: str = "B001", name: str = "韦娜") -> str:
    """A roster row of the test city's 东城区第一中学, 初一(1)班."""
    return f"2199010101,,初一(1)班,{student_no},{name},,{number},义务教育,2024,否,城镇,,,否,否,否,,,"


def test_a_student_already_in_another_school_is_refused_without_naming_it(city):
    west = make_student(city.west_class, student_no="W-0042")
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    report = run_bytes("\n".join([HEADER, east_row(crypto.decrypt(west.id_cipher))]).encode(), actor=officer)
    assert report.refused
    (error,) = report.errors
    assert (error.column, error.reason) == ("身份证号", "该身份证号已在其他学校登记，不能重复登记。"
                                                       "如学生转学或信息有误，请联系区或市学生资助管理中心核实。")
    assert count(Student) == 1


def test_a_full_width_or_invisibly_spaced_number_is_the_registered_child(city):
    ann = make_student(city.class_a, student_no="B001", name="韦娜")
    number = crypto.decrypt(ann.id_cipher)
    spellings = [number.translate(FULL_WIDTH), "\u200b" + number[:6] + "\u200b" + number[6:], number.lower()]
    content = "\n".join([HEADER, *(east_row(spelled) for spelled in spellings[:1])]).encode()
    report = run_bytes(content)
    assert (report.created, report.invalid) == (0, 0)
    for spelled in spellings[1:]:
        assert run_bytes("\n".join([HEADER, east_row(spelled)]).encode()).created == 0
    assert count(Student) == 1


def test_a_school_officer_cannot_import_into_another_school(units):
    from caretrack.org.models import Unit

    school = db.session.scalar(select(Unit).where(Unit.code == "2199010101"))
    officer = make_user(Role.SCHOOL_OFFICER, school)
    report = run_file(SAMPLES / "students-sample.csv", actor=officer)
    assert report.refused
    assert report.invalid == 110  # every row but the school's own 14
    assert "不在您的管理范围内" in report.errors[0].reason
    assert count(Student) == 0


def test_a_stage_the_school_does_not_teach_is_refused(units):
    row = "2199010102,,1班,C001,李四,男,11010519491231002X,普通高中,2024,否,城镇,,,否,否,否,,,"
    report = run_bytes("\n".join([HEADER, row]).encode())
    assert report.errors[0].column == "学段"
    assert "不是东城区实验小学的学段" in report.errors[0].reason


def test_identified_rows_need_a_level_and_a_year(units):
    row = "2199010102,,1班,C001,李四,男,11010519491231002X,义务教育,2024,否,城镇,孤儿,,否,否,否,,,"
    report = run_bytes("\n".join([HEADER, row]).encode())
    assert [(e.column, e.reason[:13]) for e in report.errors] == [("困难等级", "已认定的学生须填写困难等级")]


def test_an_xlsx_roster_typed_in_excel_reads_number_cells_and_says_when_an_id_number_lost_digits(city):
    header = HEADER.split(",")
    number = make_id_number()

    def row(id_cell, student_no):
        values = dict.fromkeys(header, None)
        values.update({"单位代码": 2199010101.0, "班级": "初一(1)班", "学号": student_no, "姓名": "韦娜",
                       "身份证号": id_cell, "学段": "义务教育", "入学年份": 2024.0, "监护人电话": 13800138000.0})
        return list(values.values())

    content = xlsx_bytes([header, row(number, 20250001.0), row(float(number[:15] + "000"), 20250002.0)])
    report = run_bytes(content, name="roster.xlsx", skip_invalid=True)
    assert (report.created, report.invalid) == (1, 1)
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (3, "身份证号", "Excel 把身份证号存成了数字，末几位已丢失，请把该列设为文本后重新导出。")]
    student = db.session.scalar(select(Student))
    assert (student.student_no, student.enrolment_year, student.guardians[0].phone) == ("20250001", 2024,
                                                                                      "13800138000")


def _roster(rows: int, tag: str, region: str) -> bytes:
    """`rows` new university students: classes of 45 in two new colleges, a guardian each, every fifth identified."""
    lines = [HEADER]
    for n in range(rows):
        first17 = f"{region}{date(2005, 1, 1) + timedelta(days=n // 500):%Y%m%d}{n % 500:03d}"
        identified = "建档立卡,困难,是,否,否,2025-2026" if n % 5 == 0 else ",,,否,否,"
        lines.append(f"4199010001,{tag}学院{n % 2},{tag}{n // 45}班,{tag}{n:06d},学生{tag}{n},,"
                     f"{first17}{check_digit(first17)},高等教育,2024,是,城镇,{identified},家长{n},{13800000000 + n}")
    return "\n".join(lines).encode()


def test_the_statements_of_an_import_do_not_grow_with_its_rows_classes_or_colleges(units, count_queries):
    """100 or 1,000 rows (3 or 23 new classes) in one batch: the same statements, for the import and the re-import."""
    ensure_academic_year(2025)
    files = {100: _roster(100, "甲", "110105"), 1000: _roster(1000, "乙", "110106")}
    statements = {}
    for step in ("import", "re-import"):
        for rows, content in files.items():
            with count_queries() as counter:
                report = run_bytes(content)
            assert not report.refused, report.errors[:3]
            assert (report.created, report.unchanged) == ((rows, 0) if step == "import" else (0, rows))
            statements[step, rows] = counter.count
    assert statements["import", 100] == statements["import", 1000]
    assert statements["re-import", 100] == statements["re-import", 1000]
    assert (count(Student), count(Identification)) == (1100, 220)
    # every class and college the import made is audited, one event each
    created = dict(db.session.execute(select(AuditEvent.action, func.count()).where(
        AuditEvent.action.in_(["class_created", "college_created"])).group_by(AuditEvent.action)).all())
    assert created == {"class_created": 3 + 23, "college_created": 4}


def test_an_imported_id_number_is_stored_as_the_form_stores_it(units):
    """Encrypted (opened by the key), its blind index the one search and de-duplication compute, masked."""
    run_file(SAMPLES / "students-sample.csv")
    student = db.session.scalar(select(Student).where(Student.name == "余娜强"))
    assert crypto.decrypt(student.id_cipher) == "110105200510150017"
    assert student.id_index == crypto.blind_index("110105200510150017")
    assert student.id_masked == "110105********0017"
    assert crypto.blind_indexer()("110105200510150017") == crypto.blind_index("110105200510150017")
