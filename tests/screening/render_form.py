"""Write a sample 附件1 and 附件2 (and optionally PDF/PNG previews) to look at the Excel form by eye.

    .venv/bin/python -m tests.screening.render_form /tmp/forms          # xlsx only
    .venv/bin/python -m tests.screening.render_form /tmp/forms --png    # + LibreOffice PDF + pdftoppm PNG

Not collected by pytest (no test_ prefix); the sample tables are shared with tests/screening/test_xlsx.py.
"""

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

from caretrack.screening.tables import (
    COUNT_FIELDS,
    FORM_DISTRICT,
    FORM_SCHOOL,
    CaseRow,
    ReceivedAid,
    ScreeningTable,
    summarise_reasons,
)


def school_table(cases: int = 3) -> ScreeningTable:
    """A 附件1 with three cases (the second has two received projects), not fully covered."""
    sample = [
        CaseRow(number=1, unit_code="10001", student_no="2023010101", name="张小明", id_number="110101********1234",
                place="机械工程学院", class_name="机械2301", kind="应助未助", required="国家助学金（一档）",
                categories="建档立卡学生",
                registered=True, has_some_aid=False, reason="", remedy="本学期内补发国家助学金一档，2025年12月31日前"),
        CaseRow(number=2, unit_code="10001", student_no="2022020215", name="李芳", id_number="110105200301015678",
                place="外国语学院", class_name="英语2202", kind="未按最高档", required="国家助学金（一档）",
                categories="农村低保家庭学生、残疾",
                registered=False, has_some_aid=True,
                received=(ReceivedAid(date(2025, 10, 20), "国家助学金（二档）"),
                          ReceivedAid(date(2025, 9, 1), "绿色通道")),
                reason="认定等级调整后未重新评定档次", remedy="补发一档与二档差额，2025年12月15日前"),
        CaseRow(number=3, unit_code="10001", student_no="2024030307", name="欧阳晓燕", id_number="110108********567X",
                place="计算机科学与技术学院", class_name="计科2403", kind="其他应资助未资助", required="任一资助",
                categories="学校认定的其他家庭经济困难学生", registered=False, has_some_aid=False,
                reason="新生入学后才提交认定材料", remedy="下学期初纳入资助，2026年3月31日前"),
    ]
    counts = dict(zip(COUNT_FIELDS, [1260, 410, 36, 298, 12, 9, 495], strict=True))
    return ScreeningTable(
        form=FORM_SCHOOL, unit_code="10001", unit_name="某某市第一理工大学", academic_year="2025-2026", term=1,
        counts=counts, should_cover=765, covered=763,
        reasons_and_measures=summarise_reasons([(c.kind, c.reason, bool(c.remedy)) for c in sample[:2]]),
        cases=sample[:cases], run_at="2025-12-01T01:30:00+00:00",
    )


def district_table() -> ScreeningTable:
    """A 附件2 with no case, fully covered."""
    counts = dict(zip(COUNT_FIELDS, [842, 120, 31, 205, 8, 14, 464], strict=True))
    return ScreeningTable(
        form=FORM_DISTRICT, unit_code="D01", unit_name="某某区教育局", academic_year="2025-2026", term=2,
        counts=counts, should_cover=378, covered=378, reasons_and_measures="", cases=[],
        run_at="2026-06-01T00:00:00+00:00",
    )


def large_table(cases: int = 60) -> ScreeningTable:
    """A 附件1 of a large university: many open cases, the reasons summarised in one cell."""
    table = school_table()
    table.cases = [table.cases[i % 3]._replace(number=i + 1) for i in range(cases)]
    table.covered = table.should_cover - cases
    table.reasons_and_measures = summarise_reasons([(c.kind, c.reason, bool(c.remedy)) for c in table.cases])
    return table


def write_samples(folder: Path) -> list[Path]:
    from caretrack.screening.xlsx import form_workbook

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in (("附件1_sample.xlsx", school_table()), ("附件2_sample.xlsx", district_table()),
                        ("附件1_large.xlsx", large_table())):
        path = folder / name
        path.write_bytes(form_workbook(table).getvalue())
        paths.append(path)
    return paths


def render_png(paths: list[Path], folder: Path) -> None:
    """LibreOffice -> PDF -> PNG (80 dpi), next to the xlsx files."""
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if not office or not shutil.which("pdftoppm"):
        print("libreoffice or pdftoppm missing: apt-get install -y libreoffice-calc poppler-utils")
        return
    for path in paths:
        subprocess.run([office, "--headless", "--convert-to", "pdf", "--outdir", str(folder), str(path)], check=True,
                       capture_output=True)
        pdf = path.with_suffix(".pdf")
        subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf), str(pdf.with_suffix(""))], check=True)
        print(pdf, *sorted(folder.glob(f"{pdf.stem}*.png")))


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/caretrack-forms")
    written = write_samples(target)
    print(*written, sep="\n")
    if "--png" in sys.argv:
        render_png(written, target)
