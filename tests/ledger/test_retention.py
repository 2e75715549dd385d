"""Retention (PIPL): graduated and departed students' sensitive fields purged after the configured years, the counts
kept, every purge audited; the audit log kept three years; one student's file exported on request.
"""

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

import config
from caretrack.audit.models import AuditEvent
from caretrack.core import crypto
from caretrack.core.models import as_stored
from caretrack.extensions import db
from caretrack.followups.models import FollowUp
from caretrack.ledger import retention, tasks
from caretrack.ledger.models import Disbursement, RecordKind, SupportRecord
from caretrack.students.models import Guardian, Identification, Student, StudentStatus
from tests.factories import care, identify, make_student, make_user, pay

# The database's own clock guards the audit log (a trigger allows deleting only rows older than three years), so
# the dates here are relative to the real now.
NOW = datetime.now(timezone.utc)
TODAY = NOW.date()


def years_ago(years: float) -> date:
    return TODAY - timedelta(days=int(365.25 * years))


def _with_story(school_class, status, changed_on, name):
    student = make_student(school_class, name=name)
    student.status, student.status_changed_on = status, changed_on
    db.session.add(Guardian(student_id=student.id, name="监护人", phone="13800000000", relation="母亲"))
    identify(student, 2025)
    db.session.scalars(select(Identification).where(Identification.student_id == student.id)).one().note = "父亲重病"
    support = care(student, RecordKind.PSYCH_CARE, summary="情绪低落，家庭变故", happened_on=date(2025, 10, 1),
                   outcome="约定每周谈一次", next_step="联系心理老师")
    db.session.add(FollowUp(student_id=student.id, school_id=student.school_id, kind="talk", due_on=date(2025, 10, 8),
                            assignee_id=make_user().id, note="联系心理老师", cancel_reason="学生转学",
                            tier=support.tier, source="next_step", source_record_id=support.id))
    pay(student, "营养改善计划", "400.00", voucher=f"R-{student.id}")
    db.session.flush()
    return student


def _counts():
    return [db.session.scalar(select(func.count()).select_from(model))
            for model in (Student, Identification, Disbursement, SupportRecord)]


@pytest.fixture
def students(app, city, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_YEARS", 5)
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_YEARS", 3)
    old = _with_story(city.class_a, StudentStatus.GRADUATED, years_ago(6), "早毕业")
    left = _with_story(city.class_a, StudentStatus.LEFT, years_ago(5.2), "早离校")
    recent = _with_story(city.class_a, StudentStatus.GRADUATED, years_ago(2), "近毕业")
    active = _with_story(city.class_a, StudentStatus.ACTIVE, None, "在校生")
    return old, left, recent, active


def test_students_gone_longer_than_the_retention_are_purged_and_the_counts_stay(app, students):
    old, left, recent, active = students
    recent_number, counts = crypto.decrypt(recent.id_cipher), _counts()
    with app.test_request_context():
        purged, _expired = tasks.apply_retention(NOW)
    assert purged == 2
    db.session.expire_all()
    for student in (old, left):
        assert student.purged_at is not None
        assert (student.id_cipher, student.id_masked) == (b"", retention.PURGED_MASK)
        assert crypto.decrypt(student.id_cipher) == ""
        assert student.guardians == []
        assert [i.note for i in student.identifications] == [None]
        assert [(r.summary, r.outcome, r.next_step) for r in db.session.scalars(
            select(SupportRecord).where(SupportRecord.student_id == student.id))] == [("", None, None)]
        assert [(f.note, f.cancel_reason) for f in db.session.scalars(
            select(FollowUp).where(FollowUp.student_id == student.id))] == [(None, None)]
        stored = as_stored(SupportRecord.__table__)  # nothing left of the ciphertext either
        assert db.session.execute(select(stored.c.summary, stored.c.outcome).where(
            stored.c.student_id == student.id)).all() == [(b"", None)]
    assert [(r.summary, r.outcome) for r in db.session.scalars(select(SupportRecord).where(
        SupportRecord.student_id == recent.id))] == [("情绪低落，家庭变故", "约定每周谈一次")]
    assert [f.note for f in db.session.scalars(select(FollowUp).where(FollowUp.student_id == recent.id))] == [
        "联系心理老师"]
    assert crypto.decrypt(recent.id_cipher) == recent_number
    assert [g.name for g in recent.guardians] == ["监护人"]
    assert active.purged_at is None
    assert _counts() == counts  # the rows the tables and summaries count are all there
    audited = db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "retention_purged")).all()
    assert sorted(audited) == sorted([old.id, left.id])
    with app.test_request_context():
        assert tasks.apply_retention(NOW)[0] == 0  # nothing twice


def test_the_audit_log_is_kept_three_years_then_expired_and_that_is_audited(app, students):
    db.session.add_all([AuditEvent(action="login", at=NOW - timedelta(days=365 * 3 + 30)),
                        AuditEvent(action="login", at=NOW - timedelta(days=365 * 2))])
    db.session.flush()
    kept_before = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.at >= NOW - timedelta(days=365 * 3)))
    with app.test_request_context():
        _purged, expired = tasks.apply_retention(NOW)
    assert expired >= 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.at < NOW - timedelta(days=365 * 3 + 1))) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.at >= NOW - timedelta(days=365 * 3))) >= kept_before
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "audit_expired")) == 1


def test_an_audit_retention_under_three_years_is_refused(monkeypatch):
    monkeypatch.setenv("CARETRACK_AUDIT_RETENTION_YEARS", "2")
    with pytest.raises(config.ConfigError, match="at least 3"):
        config.load_config()


def test_one_students_file_is_exported_whole_and_the_export_audited(students, runner):
    _old, _left, recent, _active = students
    db.session.commit()
    result = runner.invoke(args=["caretrack", "students", "export-one", recent.student_no])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["姓名"] == "近毕业"
    assert data["身份证号"] == crypto.decrypt(recent.id_cipher)
    assert data["监护人"] == [{"姓名": "监护人", "电话": "13800000000", "关系": "母亲"}]
    assert [r["内容"] for r in data["帮扶记录"]] == ["情绪低落，家庭变故"]
    assert [p["金额"] for p in data["资助发放"]] == ["400.00"]
    assert db.session.scalar(select(func.count()).where(
        AuditEvent.action == "personal_data_exported", AuditEvent.object_id == recent.id)) == 1
    unknown = runner.invoke(args=["caretrack", "students", "export-one", "NO-SUCH"])
    assert unknown.exit_code != 0
    assert "no student" in unknown.output
