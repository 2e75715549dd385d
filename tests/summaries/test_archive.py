"""The yearly archive: closing freezes, the database refuses changes, hashes and chains check, corrections show."""

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from caretrack.audit.models import AuditEvent
from caretrack.core.errors import DomainError
from caretrack.core.models import as_stored
from caretrack.extensions import db
from caretrack.ledger import services as ledger
from caretrack.ledger.models import Disbursement
from caretrack.screening.models import TableSubmission
from caretrack.summaries import archive, queries, services
from caretrack.summaries.models import ArchiveClosure, ArchiveSnapshot, GeneratedSummary, SummaryNarrative

AFTER_THE_YEAR = date(2026, 9, 5)


def submit_table(unit, year, term=2, version=1):
    row = TableSubmission(unit_id=unit.id, academic_year_id=year.id, term=term, version=version, form="附件1",
                          snapshot={"家庭困难学生总数": 1, "单位": unit.name},
                          submitted_at=datetime(2026, 6, 10, 2, 0, tzinfo=timezone.utc))
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def closed(ledger):
    submit_table(ledger.city.east_school, ledger.year)
    archive.close_year(None, ledger.year, ledger.city.east, today=AFTER_THE_YEAR)
    return ledger


def chain(ledger):
    return archive.snapshots_of(ledger.year, ledger.city.east_school)


def test_closing_freezes_both_terms_and_the_tables_as_a_chain(closed):
    snapshots = chain(closed)
    assert [(s.kind, s.term) for s in snapshots] == [("summary", 1), ("summary", 2), ("screening_table", 2)]
    assert snapshots[0].previous_hash is None
    assert [s.previous_hash for s in snapshots[1:]] == [s.content_hash for s in snapshots[:-1]]
    assert archive.verify_year(closed.year) == []
    closure = archive.closure_of(closed.year, closed.city.east_school)
    assert (closure.snapshot_count, closure.head_hash) == (3, snapshots[-1].content_hash)


def test_the_hash_is_sha256_of_the_canonical_serialisation(closed):
    import hashlib
    import json

    snapshot = chain(closed)[0]
    content = json.loads(snapshot.content)
    assert content["资助合计"] == "1225.00"
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert snapshot.content == canonical
    assert snapshot.content_hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_the_frozen_summaries_and_their_sources_are_stored_as_ciphertext(closed):
    """A dump of the database shows no summary text: the snapshots, the generated summaries, the narratives."""
    services.save_narrative(None, closed.student, closed.year, 1, "家中父亲重病，情绪低落", today=AFTER_THE_YEAR)
    db.session.flush()
    stored = {table: db.session.execute(select(as_stored(table))).mappings().all()
              for table in (ArchiveSnapshot.__table__, GeneratedSummary.__table__, SummaryNarrative.__table__)}
    column = {"archive_snapshots": "content", "generated_summaries": "content", "summary_narratives": "text"}
    for table, rows in stored.items():
        assert rows, table.name
        blobs = [bytes(row[column[table.name]]) for row in rows]
        for plain in ("资助合计", "1225.00", closed.student.name, "父亲重病"):
            assert not any(plain.encode() in blob for blob in blobs), (table.name, plain)
    assert json.loads(chain(closed)[0].content)["资助合计"] == "1225.00"  # read through the model: the text


def test_closing_twice_changes_nothing(closed):
    before = db.session.scalar(select(func.count()).select_from(ArchiveSnapshot))
    report = archive.close_year(None, closed.year, closed.city.east, today=AFTER_THE_YEAR)
    assert report.closed == []
    assert report.already_closed == 2  # the district and its school
    assert db.session.scalar(select(func.count()).select_from(ArchiveSnapshot)) == before


def test_a_year_in_progress_is_refused_unless_forced_and_the_force_is_audited(ledger):
    with pytest.raises(DomainError, match="尚有学期未结束"):
        archive.close_year(None, ledger.year, ledger.city.east_school, today=date(2026, 5, 1))
    assert db.session.scalar(select(func.count()).select_from(ArchiveClosure)) == 0
    archive.close_year(None, ledger.year, ledger.city.east_school, force=True, today=date(2026, 5, 1))
    forced = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "archive_year_closed_forced"))
    assert "2199010101" in forced.detail
    assert archive.closure_of(ledger.year, ledger.city.east_school).forced


@pytest.mark.parametrize("statement", [
    lambda: update(ArchiveSnapshot).values(content="{}"),
    # the one change the retention rules may make, but on a screening table, or with anything else changed
    lambda: update(ArchiveSnapshot).where(ArchiveSnapshot.kind == "screening_table").values(
        title="", content=archive.PURGED_CONTENT),
    lambda: update(ArchiveSnapshot).values(title="", content=archive.PURGED_CONTENT, content_hash="0" * 64),
    lambda: update(ArchiveSnapshot).values(title="改过", content=archive.PURGED_CONTENT),
    lambda: delete(ArchiveSnapshot),
    lambda: update(ArchiveClosure).values(snapshot_count=0),
    lambda: delete(ArchiveClosure),
])
def test_the_database_refuses_to_change_the_archive(closed, statement):
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(statement())


def test_a_payment_corrected_after_the_close_leaves_the_frozen_export_byte_identical(closed):
    exported = archive.export_unit(closed.year, closed.city.east_school)
    payment = db.session.scalar(select(Disbursement).where(Disbursement.student_id == closed.student.id,
                                                           Disbursement.amount == Decimal("625.00")))
    data = ledger.DisbursementData(student=closed.student, project=payment.project, grade=None,
                                   amount=Decimal("725.00"), paid_on=payment.paid_on,
                                   academic_year=payment.academic_year, term=None, voucher=None)
    ledger.update_disbursement(None, payment, data)
    db.session.flush()
    live = queries.build_summaries([closed.student], closed.year, 1)[0]
    assert live.aid_total == Decimal("1325.00")
    assert archive.export_unit(closed.year, closed.city.east_school) == exported
    snapshots = chain(closed)
    found = archive.corrections(closed.year, closed.city.east_school, snapshots)
    correction = found[snapshots[0].id]
    assert "资助合计" in correction.fields
    assert (correction.frozen["资助合计"], correction.live["资助合计"]) == ("1225.00", "1325.00")
    assert snapshots[1].id not in found  # term 2 did not change
    assert archive.verify_year(closed.year) == []


def _without_delete_protection():
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER archive_snapshots_no_delete"))  # rolled back with the test
    else:
        db.session.execute(text("ALTER TABLE archive_snapshots DISABLE TRIGGER archive_snapshots_append_only"))


def test_a_removed_snapshot_is_named(closed):
    middle = chain(closed)[1]
    _without_delete_protection()
    db.session.execute(delete(ArchiveSnapshot).where(ArchiveSnapshot.id == middle.id))
    problems = archive.verify_year(closed.year)
    assert problems == ["单位 2199010101 第 2 条快照缺失"]


def test_a_removed_last_snapshot_is_noticed(closed):
    last = chain(closed)[-1]
    _without_delete_protection()
    db.session.execute(delete(ArchiveSnapshot).where(ArchiveSnapshot.id == last.id))
    assert archive.verify_year(closed.year) == ["单位 2199010101 第 3 条快照缺失"]
