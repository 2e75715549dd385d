"""Encrypted text columns refuse SQL comparisons (they could never match) and keep their NULL checks."""

from datetime import date

import pytest
from sqlalchemy import literal, select, update

from caretrack.core.models import EncryptedComparisonError, as_stored, encrypted_columns
from caretrack.extensions import db
from caretrack.followups.models import FollowUp
from caretrack.ledger.models import RecordKind, SupportRecord
from caretrack.students.models import Identification, Student
from caretrack.summaries.models import ArchiveSnapshot, GeneratedSummary, SummaryNarrative
from tests.factories import care, make_student

ENCRYPTED = [SupportRecord.summary, SupportRecord.outcome, SupportRecord.next_step, SupportRecord.delete_reason,
             FollowUp.note, FollowUp.cancel_reason, Identification.note, Student.status_note, SummaryNarrative.text,
             GeneratedSummary.content, ArchiveSnapshot.content]

REFUSED = {
    "==": lambda column: column == "谈话记录",
    "!=": lambda column: column != "谈话记录",
    "reversed ==": lambda column: "谈话记录" == column,
    "like": lambda column: column.like("%谈话%"),
    "ilike": lambda column: column.ilike("%谈话%"),
    "in_": lambda column: column.in_(["谈话记录"]),
    "not_in": lambda column: column.not_in(["谈话记录"]),
    "contains": lambda column: column.contains("谈话"),
    "startswith": lambda column: column.startswith("谈话"),
    "endswith": lambda column: column.endswith("记录"),
    "==''": lambda column: column == "",
    "== literal": lambda column: column == literal("谈话记录"),
    "order_by desc": lambda column: column.desc(),
    "concatenation": lambda column: "前缀" + column,
}


def test_every_encrypted_column_is_one_of_those_guarded_here():
    """A new EncryptedText column is guarded by its type; this list only says which ones the tests cover."""
    assert {(column.class_.__tablename__, column.key) for column in ENCRYPTED} == {
        (table.name, column.key) for table, columns in encrypted_columns(db.metadata).items() for column in columns}


@pytest.mark.parametrize("column", ENCRYPTED, ids=lambda column: column.key)
@pytest.mark.parametrize("expression", REFUSED.values(), ids=REFUSED.keys())
def test_sql_comparisons_on_an_encrypted_column_raise(column, expression):
    with pytest.raises(TypeError, match="encrypted at rest .* compare the text after decryption"):
        expression(column)


def test_the_error_names_the_column_and_the_operator():
    with pytest.raises(EncryptedComparisonError) as raised:
        select(SupportRecord).where(SupportRecord.summary.like("%谈话%"))
    assert str(raised.value).startswith("support_records.summary is encrypted at rest")
    assert "like_op" in str(raised.value)
    with pytest.raises(EncryptedComparisonError, match="followups.note is encrypted"):
        select(FollowUp).where(FollowUp.note.in_(["联系心理老师"]))


def test_null_checks_select_order_by_other_columns_and_assignment_still_work(city):
    student = make_student(city.class_a)
    with_outcome = care(student, RecordKind.TALK, summary="第一次谈话", outcome="约定每周谈一次",
                        happened_on=date(2025, 10, 1))
    without = care(student, RecordKind.TALK, summary="第二次谈话", happened_on=date(2025, 10, 2))
    db.session.flush()
    mine = SupportRecord.student_id == student.id

    def ids(*criteria):
        return db.session.scalars(select(SupportRecord.id).where(mine, *criteria).order_by(SupportRecord.id)).all()

    assert ids(SupportRecord.outcome.is_(None)) == [without.id]
    assert ids(SupportRecord.outcome.is_not(None)) == [with_outcome.id]
    assert ids(SupportRecord.outcome == None) == [without.id]  # noqa: E711 (SQLAlchemy writes IS NULL)
    assert ids(SupportRecord.outcome != None) == [with_outcome.id]  # noqa: E711
    assert db.session.scalars(select(SupportRecord.summary).where(mine).order_by(
        SupportRecord.happened_on.desc())).all() == ["第二次谈话", "第一次谈话"]

    db.session.execute(update(SupportRecord).where(SupportRecord.id == without.id).values(outcome="已转介"))
    with_outcome.summary = "改过的谈话"
    db.session.flush()
    db.session.expire_all()
    assert [(r.summary, r.outcome) for r in db.session.scalars(select(SupportRecord).where(mine).order_by(
        SupportRecord.happened_on))] == [("改过的谈话", "约定每周谈一次"), ("第二次谈话", "已转介")]
    stored = as_stored(SupportRecord.__table__)  # the ciphertext as stored is a plain binary column, unguarded
    assert db.session.scalar(select(stored.c.summary).where(stored.c.id == without.id,
                                                            stored.c.summary != b"")) != "第二次谈话".encode()
