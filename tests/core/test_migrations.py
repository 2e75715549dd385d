"""Migrations build the schema from nothing, step back and forward again, and match the models."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from caretrack.extensions import db
from tests.conftest import fresh_postgres_database, make_app


@pytest.fixture
def empty_app(tmp_path, monkeypatch):
    """An app on a database of its own, with no tables at all."""
    test_url = os.environ.get("CARETRACK_TEST_DATABASE_URL")
    url = fresh_postgres_database(test_url, "migrations") if test_url else f"sqlite:///{tmp_path / 'm.sqlite3'}"
    monkeypatch.setenv("CARETRACK_INSTANCE_PATH", str(tmp_path / "instance"))  # make_app sets it; undo afterwards
    application = make_app(url, tmp_path / "instance")
    with application.app_context():
        yield application
        db.engine.dispose()
    if test_url:
        drop_database(url)


def drop_database(url: str) -> None:
    base = make_url(url)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{base.database}" WITH (FORCE)'))
    admin.dispose()


def tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def _triggers() -> set[str]:
    """Each trigger, and on PostgreSQL each function's source: a step may change only what the database enforces."""
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "sqlite":
            return set(connection.execute(text("SELECT name || ':' || sql FROM sqlite_master WHERE type = 'trigger'"))
                       .scalars())
        triggers = connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars()
        functions = connection.execute(text(
            "SELECT p.proname || ':' || md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public'")).scalars()
        return {*triggers, *functions}


def schema() -> dict[str, set[str]]:
    """Each table with its columns and their types, its indexes, and the triggers: whatever a step may change."""
    inspector = inspect(db.engine)
    found = {name: {f"{column['name']}:{column['type']}" for column in inspector.get_columns(name)}
             | {f"index:{index['name']}:{','.join(index['column_names'])}" for index in inspector.get_indexes(name)}
             for name in tables()}
    return found | {"(triggers)": _triggers()}


@pytest.mark.no_transaction
def test_the_student_list_index_comes_and_goes_with_its_step(empty_app):
    def student_indexes() -> dict[str, list[str]]:
        return {index["name"]: index["column_names"] for index in inspect(db.engine).get_indexes("students")}

    upgrade(revision="c3d9a41f5e27")
    indexes = student_indexes()
    assert indexes["ix_students_school_class_no"] == ["school_id", "class_id", "student_no"]
    assert "ix_students_school_class" not in indexes  # the new index covers it
    downgrade(revision="-1")
    indexes = student_indexes()
    assert indexes["ix_students_school_class"] == ["school_id", "class_id"]
    assert "ix_students_school_class_no" not in indexes


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def scripts(app) -> ScriptDirectory:
    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


@pytest.mark.no_transaction
def test_upgrade_from_empty_then_one_step_down_and_up_again(empty_app):
    assert tables() == set()
    upgrade()
    head = scripts(empty_app).get_revision(scripts(empty_app).get_current_head())
    assert current_revision() == head.revision
    at_head = tables()
    assert {"units", "users", "role_assignments", "audit_events", "terms", "leases"} <= at_head
    assert at_head == set(db.metadata.tables)
    schema_at_head = schema()
    downgrade(revision="-1")
    assert current_revision() == head.down_revision
    assert schema() != schema_at_head  # the last step undone: tables, columns, types, indexes or triggers
    upgrade()
    assert current_revision() == head.revision
    assert schema() == schema_at_head


@pytest.mark.no_transaction
def test_every_migration_downgrades_to_an_empty_database(empty_app):
    upgrade()
    downgrade(revision="base")
    assert current_revision() is None
    assert tables() == set()


@pytest.mark.no_transaction
def test_the_audit_trigger_survives_a_downgrade_and_upgrade(empty_app):
    upgrade()
    downgrade(revision="base")
    upgrade()
    with db.engine.begin() as connection:
        connection.execute(text("INSERT INTO audit_events (at, action) VALUES (CURRENT_TIMESTAMP, 'login')"))
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events"))


@pytest.mark.no_transaction
def test_the_models_match_the_migrations(empty_app):
    upgrade()
    options = empty_app.extensions["migrate"].configure_args
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": options.get("compare_type", True)})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "the models differ from the migrations; add a migration (flask db migrate)"


def _raw(table: str, column: str, row_id: int):
    """A column's value as the database stores it."""
    with db.engine.connect() as connection:
        return connection.scalar(text(f"SELECT {column} FROM {table} WHERE id = :id"), {"id": row_id})


@pytest.mark.no_transaction
def test_care_texts_already_written_come_out_encrypted_and_a_downgrade_gives_them_back(empty_app):
    from caretrack.core import crypto
    from caretrack.followups.models import FollowUp
    from caretrack.ledger import services as ledger
    from caretrack.ledger.models import RecordKind, SupportRecord, Tier
    from tests.factories import build_city, care, make_student, make_user

    upgrade()
    city = build_city()
    student = make_student(city.class_a)
    support = care(student, RecordKind.PSYCH_CARE, summary="zqSUMMARY 情绪低落", outcome="zqOUTCOME 好转",
                   next_step="zqNEXT 复诊", tier=Tier.RESTRICTED)
    plain = care(student, RecordKind.TALK, summary="谈话")
    db.session.execute(update(SupportRecord).where(SupportRecord.id == plain.id).values(summary=""))  # purged
    ledger.remove_entry(None, support, "zqREASON 家长要求")
    followup = FollowUp(student_id=student.id, school_id=student.school_id, kind="talk", assignee_id=make_user().id,
                        due_on=support.happened_on, note="zqNOTE 约谈", cancel_reason="zqCANCEL 转学")
    db.session.add(followup)
    db.session.commit()
    ids = {"support_records": support.id, "followups": followup.id, "purged": plain.id}
    texts = {("support_records", "summary"): "zqSUMMARY 情绪低落", ("support_records", "outcome"): "zqOUTCOME 好转",
             ("support_records", "next_step"): "zqNEXT 复诊", ("support_records", "delete_reason"): "zqREASON 家长要求",
             ("followups", "note"): "zqNOTE 约谈", ("followups", "cancel_reason"): "zqCANCEL 转学"}
    db.session.remove()

    step = scripts(empty_app).get_revision("c7e2a9d4b813")
    downgrade(revision=step.down_revision)  # the texts as the schema before the encryption step kept them: plain
    for (table, column), value in texts.items():
        assert _raw(table, column, ids[table]) == value, column
    assert _raw("support_records", "summary", ids["purged"]) == ""

    upgrade(revision=step.revision)  # and now encrypted, each bound to its own column
    for (table, column), value in texts.items():
        stored = bytes(_raw(table, column, ids[table]))
        assert value.encode() not in stored
        assert crypto.decrypt(stored, f"{table}.{column}".encode()) == value
    assert bytes(_raw("support_records", "summary", ids["purged"])) == b""
    record, note = db.session.get(SupportRecord, ids["support_records"]), db.session.get(FollowUp, ids["followups"])
    assert (record.summary, record.outcome, record.next_step, record.delete_reason) == (
        "zqSUMMARY 情绪低落", "zqOUTCOME 好转", "zqNEXT 复诊", "zqREASON 家长要求")
    assert (note.note, note.cancel_reason) == ("zqNOTE 约谈", "zqCANCEL 转学")
    assert db.session.get(SupportRecord, ids["purged"]).summary == ""
    db.session.remove()


@pytest.mark.no_transaction
def test_the_encryption_step_refuses_a_database_of_another_key(empty_app):
    import importlib.util

    from caretrack.core import keyring

    step = scripts(empty_app).get_revision("c7e2a9d4b813")
    upgrade(revision=step.down_revision)
    keyring.set_setting(keyring.FINGERPRINT, "0" * 32)
    db.session.commit()
    db.session.remove()
    with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits
        upgrade()
    assert current_revision() == step.down_revision
    spec = importlib.util.spec_from_file_location("encryption_step", step.path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with db.engine.connect() as connection, pytest.raises(RuntimeError, match="CARETRACK_DATA_KEY is not the key"):
        module._check_key(connection)


@pytest.mark.no_transaction
def test_identification_and_status_notes_come_out_encrypted_and_a_downgrade_gives_them_back(empty_app):
    from caretrack.core import crypto
    from caretrack.students.models import Identification, Student
    from tests.factories import build_city, identify, make_student

    upgrade()
    city = build_city()
    student = make_student(city.class_a)
    student.status_note = "zqSTATUS 因病休学"
    identification = identify(student, 2025, note="zqIDENT 父亲重病")
    db.session.commit()
    ids = {"students": student.id, "identifications": identification.id}
    texts = {("students", "status_note"): "zqSTATUS 因病休学", ("identifications", "note"): "zqIDENT 父亲重病"}
    db.session.remove()

    step = scripts(empty_app).get_revision("d4a7c2e9b160")
    downgrade(revision=step.down_revision)
    for (table, column), value in texts.items():
        assert _raw(table, column, ids[table]) == value, column

    upgrade(revision=step.revision)
    for (table, column), value in texts.items():
        stored = bytes(_raw(table, column, ids[table]))
        assert value.encode() not in stored
        assert crypto.decrypt(stored, f"{table}.{column}".encode()) == value
    assert db.session.get(Student, ids["students"]).status_note == "zqSTATUS 因病休学"
    assert db.session.get(Identification, ids["identifications"]).note == "zqIDENT 父亲重病"
    db.session.remove()


@pytest.mark.no_transaction
def test_the_last_contact_index_comes_and_goes_with_its_step(empty_app):
    def record_indexes() -> dict[str, list[str]]:
        return {index["name"]: index["column_names"] for index in inspect(db.engine).get_indexes("support_records")}

    upgrade(revision="d4e8b1c7a925")
    assert record_indexes()["ix_support_records_student_last"] == ["student_id", "happened_on"]
    downgrade(revision="-1")
    assert "ix_support_records_student_last" not in record_indexes()
    assert record_indexes()["ix_support_records_student_date"] == ["student_id", "happened_on"]


@pytest.mark.no_transaction
def test_summaries_and_the_frozen_archive_come_out_encrypted_and_the_purge_still_works(empty_app):
    """Step e5b2c8a41f07: narratives, generated summaries and snapshots encrypted; the archive's guard keeps
    refusing every change but the retention purge, before and after the step.
    """
    from datetime import date

    from caretrack.core import crypto
    from caretrack.org.models import AcademicYear
    from caretrack.org.services import ensure_academic_year
    from caretrack.summaries import archive, personal_data, services
    from caretrack.summaries.models import ArchiveSnapshot, SummaryNarrative
    from tests.factories import build_city, make_student, pay

    upgrade()
    city, year = build_city(), ensure_academic_year(2025)
    kept, purged = make_student(city.class_a, name="zqKEPT"), make_student(city.class_a, name="zqPURGED")
    for student in (kept, purged):
        pay(student, "免学杂费", "600.00", term=1, paid_on=date(2025, 9, 10))
        services.save_narrative(None, student, year, 1, f"zqNARRATIVE {student.name}", today=date(2025, 12, 1))
    archive.close_year(None, year, city.east_school, today=date(2026, 9, 5))
    personal_data._purge(purged.id)
    db.session.commit()
    kept_id, purged_id, year_id = kept.id, purged.id, year.id
    narrative = db.session.scalar(select(SummaryNarrative.id).where(SummaryNarrative.student_id == kept_id))
    snapshots = dict(db.session.execute(select(ArchiveSnapshot.student_id, ArchiveSnapshot.id).where(
        ArchiveSnapshot.kind == "summary", ArchiveSnapshot.term == 1)).all())
    db.session.remove()
    kept, purged = kept_id, purged_id

    step = scripts(empty_app).get_revision("e5b2c8a41f07")
    downgrade(revision=step.down_revision)  # as the schema before the step kept them: plain text
    assert _raw("summary_narratives", "text", narrative) == "zqNARRATIVE zqKEPT"
    assert '"姓名":"zqKEPT"' in _raw("archive_snapshots", "content", snapshots[kept])
    assert _raw("archive_snapshots", "content", snapshots[purged]) == archive.PURGED_CONTENT
    _assert_the_archive_refuses_a_changed_content(snapshots[kept], "{}")

    upgrade(revision=step.revision)
    assert b"zqNARRATIVE" not in bytes(_raw("summary_narratives", "text", narrative))
    stored = bytes(_raw("archive_snapshots", "content", snapshots[kept]))
    assert b"zqKEPT" not in stored
    assert '"姓名":"zqKEPT"' in crypto.decrypt(stored, b"archive_snapshots.content")
    with db.engine.connect() as connection:
        generated = [bytes(blob) for blob in connection.scalars(text("SELECT content FROM generated_summaries"))]
    assert generated
    assert not any(b"zqKEPT" in blob for blob in generated)
    # the hashes still match the decrypted texts; the purged one is skipped
    assert archive.verify_year(db.session.get(AcademicYear, year_id)) == []
    assert db.session.get(ArchiveSnapshot, snapshots[purged]).content == archive.PURGED_CONTENT
    db.session.remove()
    _assert_the_archive_refuses_a_changed_content(snapshots[kept], crypto.encrypt("{}", b"archive_snapshots.content"))
    personal_data._purge(kept)  # the purge's shape is still let through, now by its empty title
    db.session.commit()
    assert db.session.get(ArchiveSnapshot, snapshots[kept]).content == archive.PURGED_CONTENT
    assert archive.verify_year(db.session.get(AcademicYear, year_id)) == []
    db.session.remove()


def _assert_the_archive_refuses_a_changed_content(snapshot_id: int, content) -> None:
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text("UPDATE archive_snapshots SET content = :content WHERE id = :id"),
                           {"id": snapshot_id, "content": content})
