"""Importing budgets: the sample file, bad rows, the importer's scope, re-imports, the web pages and the CLI."""

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.imports import run_import
from caretrack.duties.importers import BudgetImporter
from caretrack.duties.models import Budget
from caretrack.duties.services import DutyAction
from caretrack.extensions import db
from caretrack.org.importers import UnitImporter
from tests.factories import seed_catalog

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = "单位代码,资助项目,学段,学年,预算金额"


def run_budgets(content: bytes | str, actor=None, name: str = "budgets.csv", **options):
    if isinstance(content, str):
        content = content.encode("utf-8")
    return run_import(BudgetImporter(actor), io.BytesIO(content), name, **options)


def budgets() -> dict[tuple[str, str, str], Decimal]:
    """(unit code, project name, its stage) -> amount, of every budget kept."""
    return {(b.unit.code, b.project.name, b.project.stage): b.amount for b in db.session.scalars(select(Budget))}


def count() -> int:
    return db.session.scalar(select(func.count(Budget.id)))


@pytest.fixture
def catalog(year):
    seed_catalog()


def test_the_sample_imports_to_exactly_its_rows_and_again_changes_nothing(app, year, catalog):
    with (SAMPLES / "units-sample.csv").open("rb") as stream:
        assert not run_import(UnitImporter(None), stream, "units-sample.csv").refused
    sample = (SAMPLES / "budgets-sample.csv").read_bytes()
    report = run_budgets(sample, name="budgets-sample.csv")
    assert (report.created, report.invalid, report.refused) == (8, 0, False)
    kept = budgets()
    assert kept[("990101", "国家助学金", "senior_high")] == Decimal("150000.00")  # its 学段 named
    assert kept[("2199010101", "国家助学金", "senior_high")] == Decimal("60000.00")  # the school's own stages
    assert kept[("4199010001", "国家助学金", "higher")] == Decimal("1200000.00")
    again = run_budgets(sample, name="budgets-sample.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 8)
    assert count() == 8


def test_a_re_import_updates_the_amount_and_adds_no_budget(city, year, catalog, people):
    run_budgets(f"{HEADER}\n2199010101,国家助学金,,2025-2026,60000\n", people["east"])
    report = run_budgets(f"{HEADER}\n2199010101,国家助学金,普通高中,2025-2026,\"65,000.50\"\n", people["east"])
    assert (report.created, report.updated) == (0, 1)
    assert budgets() == {("2199010101", "国家助学金", "senior_high"): Decimal("65000.50")}
    audited = db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == DutyAction.BUDGET_SAVED)
                                 .order_by(AuditEvent.id)).all()
    assert audited == ["import 国家助学金 2025-2026 60000.00", "import 国家助学金 2025-2026 65000.50"]
    assert db.session.scalar(select(AuditEvent.user_id).where(AuditEvent.action == DutyAction.BUDGET_SAVED)
                             .limit(1)) == people["east"].id


def test_the_form_and_the_import_keep_one_budget(city, year, catalog, people, client_for):
    from caretrack.org.models import Stage
    from tests.factories import project

    aid = project("国家助学金", Stage.SENIOR_HIGH)
    client_for(people["school"]).post(f"/duties/units/{city.east_school.id}/budgets?year=2025",
                                      data={"project_id": aid.id, "amount": "100.00"})
    report = run_budgets(f"{HEADER}\n2199010101,国家助学金,,2025-2026,200\n", people["school"])
    assert (report.created, report.updated) == (0, 1)
    assert count() == 1


def test_each_bad_row_is_named_in_chinese_and_nothing_is_written(city, year, catalog, people):
    content = "\n".join([
        HEADER,
        "2199010101,国家助学金,,2025-2026,60000",  # 2: good
        ",国家助学金,,2025-2026,1",  # 3: no unit
        "0000000000,国家助学金,,2025-2026,1",  # 4: no such unit
        "2199010101,国家助学金,,2025年,1",  # 5: a bad year
        "2199010101,国家助学金,,2030-2031,1",  # 6: a year not set up
        "2199010101,特困补助,,2025-2026,1",  # 7: not a project
        "990101,国家助学金,,2025-2026,1",  # 8: three stages, a district has none
        "2199010101,免学杂费,小学,2025-2026,1",  # 9: not a stage
        "2199010101,免学杂费,义务教育,2025-2026,-5",  # 10: negative
        "2199010101,免学杂费,义务教育,2025-2026,12.345",  # 11: three decimals
        "2199010101,免学杂费,义务教育,2025-2026,一万",  # 12: not a number
        "2199010101,免学杂费,义务教育,2025-2026,NaN",  # 13: not a number either
        "2199010101,国家助学金,普通高中,2025-2026,70000",  # 14: line 2 again
        "2199010101,免学杂费,义务教育,2025-2026,99999999999",  # 15: too large
    ]) + "\n"
    report = run_budgets(content, people["east"])
    assert report.refused
    assert report.refused_reason == "文件中有 13 行有误，未导入任何数据。"
    errors = {(e.line, e.column): e.reason for e in report.errors}
    assert errors[(3, "单位代码")] == "单位代码不能为空。"
    assert errors[(4, "单位代码")] == "找不到该单位，或该单位不在您的管理范围内。"
    assert errors[(5, "学年")] == "学年格式应为“2025-2026”。"
    assert errors[(6, "学年")] == "学年 2030-2031 尚未设置，请先运行初始化。"
    assert errors[(7, "资助项目")] == "“特困补助”不是 2025-2026 学年的资助项目（请核对名称和学段）。"
    assert errors[(8, "学段")] == "“国家助学金”在多个学段都有，请填写学段。"
    assert errors[(9, "学段")] == "学段只能是学前教育、义务教育、普通高中、中职或高等教育。"
    assert errors[(10, "预算金额")] == "预算金额不能为负数。"
    assert errors[(11, "预算金额")] == "预算金额最多保留两位小数。"
    assert errors[(12, "预算金额")] == "预算金额应为数字，如 120000.00。"
    assert errors[(13, "预算金额")] == "预算金额应为数字，如 120000.00。"
    assert errors[(14, "资助项目")] == "与第 2 行是同一单位、同一项目、同一学年的预算。"
    assert errors[(15, "预算金额")] == "预算金额过大，请核对。"
    assert count() == 0
    skipped = run_budgets(content, people["east"], skip_invalid=True)
    assert (skipped.created, skipped.invalid) == (1, 13)
    assert count() == 1


def test_a_row_of_a_unit_outside_the_scope_gets_one_error_only(city, year, catalog, people):
    report = run_budgets(f"{HEADER}\n4199010001,国家助学金,,2025-2026,1\n", people["east"])
    assert [(e.column, e.reason) for e in report.errors] == [("单位代码", "找不到该单位，或该单位不在您的管理范围内。")]


def test_a_missing_column_refuses_the_file(city, year, catalog):
    report = run_budgets("单位代码,资助项目,学年\n2199010101,国家助学金,2025-2026\n")
    assert report.file_refused
    assert report.refused_reason == "缺少必填列：预算金额。"


def test_a_unit_imports_its_own_and_its_subtrees_budgets_only(city, year, catalog, people):
    rows = f"{HEADER}\n990101,免费教科书,,2025-2026,10\n2199010101,免费教科书,,2025-2026,20\n" \
           "2199010201,免费教科书,,2025-2026,30\n"
    by_district = run_budgets(rows, people["east"])
    assert [(e.line, e.reason) for e in by_district.errors] == [(4, "找不到该单位，或该单位不在您的管理范围内。")]
    assert count() == 0
    by_school = run_budgets(rows, people["school"], skip_invalid=True)
    assert (by_school.created, by_school.invalid) == (1, 2)  # its own school only, not its district
    assert set(budgets()) == {("2199010101", "免费教科书", "compulsory")}
    by_admin = run_budgets(rows, people["admin"])
    assert (by_admin.created, by_admin.unchanged) == (2, 1)


def test_an_xlsx_file_imports_too(city, year, catalog, people):
    from tests.factories import xlsx_bytes

    content = xlsx_bytes([HEADER.split(","), ["2199010101", "免学杂费", "义务教育", "2025-2026", "1500.5"]])
    report = run_budgets(content, people["school"], name="预算.xlsx")
    assert (report.created, report.invalid) == (1, 0)
    assert budgets() == {("2199010101", "免学杂费", "compulsory"): Decimal("1500.50")}


def text_of(response) -> str:
    return response.get_data(as_text=True)


def upload(browser, content: bytes):
    return browser.post("/duties/import", data={"file": (io.BytesIO(content), "预算.csv")},
                        content_type="multipart/form-data")


def test_the_web_import_previews_then_writes_on_confirmation(city, year, catalog, people, client_for):
    browser = client_for(people["east"])
    page = text_of(browser.get("/duties/import"))
    assert "导入资助经费预算" in page
    assert "单位代码、资助项目" in page
    response = upload(browser, f"{HEADER}\n2199010101,免费教科书,,2025-2026,1000\n".encode())
    assert response.status_code == 302
    preview = text_of(browser.get(response.location))
    assert "新增：东城区第一中学 · 免费教科书 · 2025-2026 · ¥1,000.00" in preview
    assert count() == 0
    confirm = re.search(r'action="(/duties/import/jobs/\d+/confirm)"', preview).group(1)
    result = text_of(browser.get(browser.post(confirm).location))
    assert "导入完成" in result
    assert count() == 1
    unit_page = text_of(browser.get(f"/duties/units/{city.east_school.id}?year=2025"))
    assert "¥1,000.00" in unit_page


def test_the_web_import_of_another_districts_unit_lists_the_row(city, year, catalog, people, client_for):
    browser = client_for(people["east"])
    preview = text_of(browser.get(upload(browser, f"{HEADER}\n2199010201,免学杂费,,2025-2026,1\n".encode()).location))
    assert "找不到该单位，或该单位不在您的管理范围内。" in preview
    assert "确认导入" not in preview
    assert count() == 0


def test_without_the_role_the_import_is_403(city, year, catalog, people, client_for):
    for who in ("teacher", "inspector"):
        browser = client_for(people[who])
        assert browser.get("/duties/import").status_code == 403
        assert upload(browser, f"{HEADER}\n2199010101,免学杂费,,2025-2026,1\n".encode()).status_code == 403
    assert count() == 0


# The CLI rolls a dry run or a refused file back, and with it this test's uncommitted city: one run per test.

def test_the_cli_imports_budgets(city, year, catalog, runner, tmp_path):
    path = tmp_path / "budgets.csv"
    path.write_text(f"{HEADER}\n4199010001,国家助学金,,2025-2026,1200000\n", encoding="utf-8")
    result = runner.invoke(args=["caretrack", "import", "budgets", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 1, updated 0, unchanged 0, invalid 0" in result.output
    assert budgets() == {("4199010001", "国家助学金", "higher"): Decimal("1200000.00")}


def test_the_cli_dry_run_says_what_it_would_import(city, year, catalog, runner, tmp_path):
    path = tmp_path / "budgets.csv"
    path.write_text(f"{HEADER}\n4199010001,国家助学金,,2025-2026,1200000\n", encoding="utf-8")
    dry = runner.invoke(args=["caretrack", "import", "budgets", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would 新增：示例理工大学 · 国家助学金 · 2025-2026 · ¥1,200,000.00" in dry.output


def test_the_cli_refuses_a_bad_file_with_its_lines(city, year, catalog, runner, tmp_path):
    path = tmp_path / "budgets.csv"
    path.write_text(f"{HEADER}\n4199010001,国家助学金,,2025-2026,abc\n", encoding="utf-8")
    bad = runner.invoke(args=["caretrack", "import", "budgets", str(path)])
    assert bad.exit_code == 1
    assert "line 2, 预算金额: 预算金额应为数字，如 120000.00。" in bad.output
