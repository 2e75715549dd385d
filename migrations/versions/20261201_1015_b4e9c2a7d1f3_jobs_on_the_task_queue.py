"""jobs on the task queue: import_jobs become rows of the generic jobs table

Revision ID: b4e9c2a7d1f3
Revises: ce8bef9c43d8
Create Date: 2026-12-01 10:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4e9c2a7d1f3'
down_revision = 'ce8bef9c43d8'
branch_labels = None
depends_on = None

IMPORT_COLUMNS = ('id', 'kind', 'user_id', 'filename', 'token', 'skip_invalid', 'dry_run', 'status', 'phase',
                  'processed', 'total', 'report', 'created_at', 'finished_at')
TYPES = {'report': sa.JSON(), 'params': sa.JSON(), 'result': sa.JSON(), 'created_at': sa.DateTime(timezone=True),
         'finished_at': sa.DateTime(timezone=True), 'skip_invalid': sa.Boolean(), 'dry_run': sa.Boolean()}


def _columns(names):
    # Typed where it matters, so JSON reads back as data and timestamps as datetimes on SQLite too.
    return (sa.column(name, TYPES.get(name)) for name in names)


def _jobs_table():
    return op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('phase', sa.String(length=20), nullable=True),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_jobs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )


def _import_jobs_table():
    return op.create_table('import_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('token', sa.String(length=40), nullable=False),
    sa.Column('skip_invalid', sa.Boolean(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('phase', sa.String(length=10), nullable=True),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_jobs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs')),
    sa.UniqueConstraint('token', name=op.f('uq_import_jobs_token'))
    )


def _reset_id_sequence(table: str) -> None:
    # Rows were copied with their ids (the pages' URLs): PostgreSQL's sequence must start after them.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) "
                   f"FROM {table}")


def upgrade():
    jobs = _jobs_table()
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_user_id'), ['user_id'], unique=False)
    old = sa.table('import_jobs', *_columns(IMPORT_COLUMNS))
    rows = op.get_bind().execute(sa.select(old)).mappings().all()
    # A job the old threads left "running" died with its web worker; it is shown as failed and can be rerun.
    op.bulk_insert(jobs, [{
        'id': row['id'], 'kind': f"import.{row['kind']}", 'user_id': row['user_id'],
        'params': {'filename': row['filename'], 'token': row['token'], 'skip_invalid': bool(row['skip_invalid']),
                   'dry_run': bool(row['dry_run'])},
        'status': row['status'], 'phase': row['phase'], 'rows_done': row['processed'], 'total': row['total'],
        'result': row['report'], 'attempt': 1, 'created_at': row['created_at'], 'started_at': row['created_at'],
        'finished_at': row['finished_at'], 'heartbeat_at': None,
    } for row in rows])
    _reset_id_sequence('jobs')
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_jobs_user_id'))
    op.drop_table('import_jobs')


def downgrade():
    old = _import_jobs_table()
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_jobs_user_id'), ['user_id'], unique=False)
    jobs = sa.table('jobs', *_columns((
        'id', 'kind', 'user_id', 'params', 'status', 'phase', 'rows_done', 'total', 'result', 'created_at',
        'finished_at')))
    rows = op.get_bind().execute(sa.select(jobs).where(jobs.c.kind.like('import.%'))).mappings().all()
    op.bulk_insert(old, [{
        'id': row['id'], 'kind': row['kind'].removeprefix('import.'), 'user_id': row['user_id'],
        'filename': row['params']['filename'], 'token': row['params']['token'],
        'skip_invalid': row['params']['skip_invalid'], 'dry_run': row['params']['dry_run'],
        'status': row['status'], 'phase': (row['phase'] or '')[:10] or None, 'processed': row['rows_done'],
        'total': row['total'], 'report': row['result'], 'created_at': row['created_at'],
        'finished_at': row['finished_at'],
    } for row in rows])
    _reset_id_sequence('import_jobs')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_user_id'))
    op.drop_table('jobs')
