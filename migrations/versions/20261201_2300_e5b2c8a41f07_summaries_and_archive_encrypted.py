"""term summaries and the frozen archive encrypted at rest: narratives, generated summaries, snapshots

A term summary quotes the student's file (the care given, the aid paid, the teacher's narrative) and the archive
keeps it for years: as sensitive as the care records, so each column becomes binary, every value encrypted with
the configured key and bound to its column (core.migrating); the downgrade decrypts them back.

The archive's append-only trigger allowed the retention purge by comparing the new content with the purged text;
an encrypted content cannot be compared in SQL, so the purge is now known by its shape alone: a summary
snapshot's title emptied, every column but the content unchanged (the content is checked against its hash by
`archive verify`, which accepts only the purged text without it). The trigger is suspended while the columns
are swapped.

Revision ID: e5b2c8a41f07
Revises: d4e8b1c7a925
Create Date: 2026-12-01 23:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

from caretrack.core.migrating import decrypt_columns, encrypt_columns

# revision identifiers, used by Alembic.
revision = 'e5b2c8a41f07'
down_revision = 'd4e8b1c7a925'
branch_labels = None
depends_on = None

# table: (column, its type before, nullable)
COLUMNS = {
    "summary_narratives": [("text", sa.Text(), False)],
    "generated_summaries": [("content", sa.JSON(), False)],
    "archive_snapshots": [("content", sa.Text(), False)],
}

PURGED = '{"purged":true}'  # caretrack.summaries.archive.PURGED_CONTENT, what migration c3a9e6d2f4b1 compared

# The purge's shape: a summary snapshot's title emptied, every other column but (after this migration) the
# content as it was. `content_clause` is the check of the new content in SQL (none once it is encrypted).
SQLITE_UNCHANGED = """NEW.id = OLD.id AND NEW.academic_year_id = OLD.academic_year_id AND NEW.unit_id = OLD.unit_id
              AND NEW.sequence = OLD.sequence AND NEW.kind = OLD.kind AND NEW.student_id IS OLD.student_id
              AND NEW.term IS OLD.term AND NEW.content_hash = OLD.content_hash
              AND NEW.previous_hash IS OLD.previous_hash AND NEW.created_at = OLD.created_at"""
POSTGRES_UNCHANGED = """(NEW.id, NEW.academic_year_id, NEW.unit_id, NEW.sequence, NEW.kind, NEW.content_hash,
                NEW.created_at) = (OLD.id, OLD.academic_year_id, OLD.unit_id, OLD.sequence, OLD.kind,
                OLD.content_hash, OLD.created_at)
           AND NEW.student_id IS NOT DISTINCT FROM OLD.student_id AND NEW.term IS NOT DISTINCT FROM OLD.term
           AND NEW.previous_hash IS NOT DISTINCT FROM OLD.previous_hash"""


def _sqlite_trigger(content_clause: str) -> str:
    return f"""CREATE TRIGGER archive_snapshots_no_update BEFORE UPDATE ON archive_snapshots
    WHEN NOT (OLD.kind = 'summary' AND NEW.title = '' {content_clause} AND {SQLITE_UNCHANGED})
    BEGIN SELECT RAISE(ABORT, 'archive_snapshots is append-only'); END"""


def _postgres_function(content_clause: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION archive_snapshots_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.kind = 'summary' AND NEW.title = '' {content_clause}
           AND {POSTGRES_UNCHANGED} THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'archive_snapshots is append-only';
    END; $$ LANGUAGE plpgsql"""


def _swapped_without_guard(swap, content_clause: str) -> None:
    """Run `swap` with the archive's UPDATE guard off, then put the guard back checking `content_clause`."""
    # Sent as they are: op.execute would read the ':true' of the JSON as a bind parameter.
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS archive_snapshots_no_update")
        swap()
        bind.exec_driver_sql(_sqlite_trigger(content_clause))
    else:
        bind.exec_driver_sql("ALTER TABLE archive_snapshots DISABLE TRIGGER archive_snapshots_append_only")
        swap()
        bind.exec_driver_sql(_postgres_function(content_clause))
        bind.exec_driver_sql("ALTER TABLE archive_snapshots ENABLE TRIGGER archive_snapshots_append_only")


def upgrade():
    _swapped_without_guard(lambda: encrypt_columns(COLUMNS), "")


def downgrade():
    _swapped_without_guard(lambda: decrypt_columns(COLUMNS), f"AND NEW.content = '{PURGED}'")
