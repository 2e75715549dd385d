"""the archive lets the retention rules purge a student's summary snapshot (its hash stays, the chain verifies)

The append-only trigger of archive_snapshots now allows exactly one UPDATE: a summary snapshot's title emptied
and its content replaced by '{"purged":true}', every other column as it was. Everything else is still refused.

Revision ID: c3a9e6d2f4b1
Revises: a17d5e0c9b21
Create Date: 2026-12-01 16:40:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3a9e6d2f4b1'
down_revision = 'a17d5e0c9b21'
branch_labels = None
depends_on = None

PURGED = '{"purged":true}'  # caretrack.summaries.archive.PURGED_CONTENT

SQLITE_PURGE_ONLY = f"""CREATE TRIGGER archive_snapshots_no_update BEFORE UPDATE ON archive_snapshots
    WHEN NOT (OLD.kind = 'summary' AND NEW.content = '{PURGED}' AND NEW.title = ''
              AND NEW.id = OLD.id AND NEW.academic_year_id = OLD.academic_year_id AND NEW.unit_id = OLD.unit_id
              AND NEW.sequence = OLD.sequence AND NEW.kind = OLD.kind AND NEW.student_id IS OLD.student_id
              AND NEW.term IS OLD.term AND NEW.content_hash = OLD.content_hash
              AND NEW.previous_hash IS OLD.previous_hash AND NEW.created_at = OLD.created_at)
    BEGIN SELECT RAISE(ABORT, 'archive_snapshots is append-only'); END"""
SQLITE_APPEND_ONLY = """CREATE TRIGGER archive_snapshots_no_update BEFORE UPDATE ON archive_snapshots
    BEGIN SELECT RAISE(ABORT, 'archive_snapshots is append-only'); END"""

POSTGRES_PURGE_ONLY = f"""CREATE OR REPLACE FUNCTION archive_snapshots_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.kind = 'summary' AND NEW.content = '{PURGED}' AND NEW.title = ''
           AND (NEW.id, NEW.academic_year_id, NEW.unit_id, NEW.sequence, NEW.kind, NEW.content_hash, NEW.created_at)
             = (OLD.id, OLD.academic_year_id, OLD.unit_id, OLD.sequence, OLD.kind, OLD.content_hash, OLD.created_at)
           AND NEW.student_id IS NOT DISTINCT FROM OLD.student_id AND NEW.term IS NOT DISTINCT FROM OLD.term
           AND NEW.previous_hash IS NOT DISTINCT FROM OLD.previous_hash THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'archive_snapshots is append-only';
    END; $$ LANGUAGE plpgsql"""
POSTGRES_APPEND_ONLY = """CREATE OR REPLACE FUNCTION archive_snapshots_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'archive_snapshots is append-only'; END; $$ LANGUAGE plpgsql"""


def _replace(sqlite_trigger: str, postgres_function: str) -> None:
    # Sent as they are: op.execute would read the ':true' of the JSON as a bind parameter.
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS archive_snapshots_no_update")
        bind.exec_driver_sql(sqlite_trigger)
    elif bind.dialect.name == "postgresql":
        bind.exec_driver_sql(postgres_function)


def upgrade():
    _replace(SQLITE_PURGE_ONLY, POSTGRES_PURGE_ONLY)


def downgrade():
    _replace(SQLITE_APPEND_ONLY, POSTGRES_APPEND_ONLY)
