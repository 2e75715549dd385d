"""The PDF reads as a Chinese school document: the text extracts, the student's name and the term's total are there."""

import shutil
import subprocess
from datetime import date

import pytest

from caretrack.summaries import pdf, queries, services


def pdf_text(tmp_path, content: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "summary.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout


def test_the_pdf_holds_the_name_the_total_and_no_confidential_text(ledger, tmp_path):
    services.save_narrative(ledger.teacher, ledger.student, ledger.year, 1, "该生学习刻苦，<script>x</script>",
                            today=date(2026, 2, 10))
    summary = queries.build_summaries([ledger.student], ledger.year, 1)[0]
    content = pdf.render([summary], date(2026, 2, 10))
    assert content.startswith(b"%PDF-")
    text = pdf_text(tmp_path, content)
    assert "李明" in text
    assert "1225.00" in text
    assert "学期资助育人小结" in text
    assert "2025-2026学年第一学期" in text
    assert "心理关爱 1 次" in text
    assert "焦虑" not in text  # the psychological care record is counted, never quoted
    assert "该生学习刻苦" in text


def test_the_font_is_embedded(ledger):
    summary = queries.build_summaries([ledger.student], ledger.year, 1)[0]
    content = pdf.render([summary], date(2026, 2, 10))
    assert b"/FontFile3" in content or b"/FontFile2" in content
    assert b"NotoSerif" in content
