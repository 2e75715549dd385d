"""The retention rules reach every domain that keeps something about a student, the frozen archive included;
one student's export holds what each of them keeps.
"""

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from caretrack.activities.models import Exemplar, ExemplarTalk
from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.followups.models import FollowUp
from caretrack.ledger import retention, tasks
from caretrack.screening.models import ScreeningCase, ScreeningRule
from caretrack.students.models import StudentStatus
from caretrack.summaries import archive, services
from caretrack.summaries.models import ArchiveSnapshot, GeneratedSummary, SummaryNarrative
from tests.factories import make_user

NOW = datetime.now(timezone.utc)
AFTER_THE_YEAR = date(2026, 9, 5)
STORY = "父亲病逝后照顾妹妹"


def _story_everywhere(ledger):
    """The student's family story written into a follow-up, a narrative, an exemplar, a screening case."""
    student, school = ledger.student, ledger.city.east_school
    author = make_user(None, school)
    db.session.add(FollowUp(student_id=student.id, school_id=school.id, kind="home_visit", assignee_id=author.id,
                            due_on=date(2026, 3, 1), note=STORY))
    services.save_narrative(None, student, ledger.year, 1, f"评语：{STORY}")
    exemplar = Exemplar(student_id=student.id, school_id=school.id, story=STORY, status="approved",
                        consent_on=date(2026, 3, 1), is_published=True)
    exemplar.talks.append(ExemplarTalk(held_on=date(2026, 4, 1), audience="初一年级", note=STORY))
    db.session.add(exemplar)
    rule = ScreeningRule(name="孤儿须获助学金", categories=["orphan"], flags=[], valid_from=2024)
    db.session.add(rule)
    db.session.flush()
    db.session.add(ScreeningCase(student_id=student.id, school_id=school.id, academic_year_id=ledger.year.id,
                                 term=1, rule_id=rule.id, kind="missing", reason=STORY))
    db.session.flush()
    return student


@pytest.fixture
def purged_later(app, ledger, monkeypatch):
    student = _story_everywhere(ledger)
    archive.close_year(None, ledger.year, ledger.city.east, today=AFTER_THE_YEAR)
    monkeypatch.setitem(app.config, "RETENTION_YEARS", 1)
    student.status, student.status_changed_on = StudentStatus.GRADUATED, NOW.date() - timedelta(days=400)
    db.session.flush()
    return student


def test_the_export_holds_what_every_domain_keeps(ledger):
    student = _story_everywhere(ledger)
    exported = retention.export_student(student)
    assert STORY in [f["说明"] for f in exported["跟进"]]
    assert [n["评语"] for n in exported["学期评语"]] == [f"评语：{STORY}"]
    assert [e["优秀典型"] for e in exported["活动与优秀典型"] if "优秀典型" in e] == [STORY]
    assert [c["原因"] for c in exported["排查情况"]] == [STORY]
    json.dumps(exported, ensure_ascii=False)  # the CLI prints it as JSON


def test_a_purge_erases_the_story_from_every_domain_and_the_archive_still_verifies(app, ledger, purged_later):
    student = purged_later
    frozen = db.session.scalars(select(ArchiveSnapshot).where(ArchiveSnapshot.student_id == student.id)).all()
    hashes = [s.content_hash for s in frozen]
    assert frozen
    assert any(STORY in s.content for s in frozen)
    with app.test_request_context():
        assert tasks.apply_retention(NOW)[0] == 1
    db.session.expire_all()
    notes = [f.note for f in db.session.scalars(select(FollowUp).where(FollowUp.student_id == student.id))]
    assert len(notes) == 5
    assert set(notes) == {None}
    assert [n.text for n in db.session.scalars(select(SummaryNarrative).where(
        SummaryNarrative.student_id == student.id))] == [""]
    assert db.session.scalars(select(GeneratedSummary).where(GeneratedSummary.student_id == student.id)).all() == []
    exemplar = db.session.scalar(select(Exemplar).where(Exemplar.student_id == student.id))
    assert (exemplar.story, exemplar.is_published, [t.note for t in exemplar.talks]) == ("", False, [None])
    assert [c.reason for c in db.session.scalars(select(ScreeningCase).where(
        ScreeningCase.student_id == student.id))] == [None]
    frozen = db.session.scalars(select(ArchiveSnapshot).where(ArchiveSnapshot.student_id == student.id)
                                .order_by(ArchiveSnapshot.sequence)).all()
    assert [(s.title, s.content) for s in frozen] == [("", archive.PURGED_CONTENT)] * len(frozen)
    assert [s.content_hash for s in frozen] == hashes  # the chain keeps its links
    assert archive.verify_year(ledger.year) == []
    purge = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retention_purged"))
    assert {"followup_notes", "summaries", "exemplar_story", "screening_reasons"} <= set(purge.fields)


def test_the_archive_page_says_a_snapshot_was_purged(app, ledger, purged_later, login):
    with app.test_request_context():
        tasks.apply_retention(NOW)
    officer = make_user(Role.SCHOOL_OFFICER, ledger.city.east_school)
    page = login(officer).get(f"/summaries/archive/{ledger.year.start_year}/units/{ledger.city.east_school.id}")
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert "已按保存期限清除" in shown
    assert STORY not in shown
