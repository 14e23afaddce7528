"""the sweep writes less: next-notice instants in a narrow table (tasknotice), ix_outbox_sent partial

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:40:00

The sweep moves every task it looks at on to its next notice; as a column of the task, each move rewrote
a wide row (on PostgreSQL, a new entry in every one of the task's indexes). Only tasks that may still be
owed a notice have a row. The index retention reads the sent outbox rows by leaves out the pending rows
that every change and sweep inserts.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tasknotice',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ),
    sa.PrimaryKeyConstraint('task_id')
    )
    op.execute("INSERT INTO tasknotice (task_id, team_id, at, version) "
               "SELECT id, team_id, next_notice_at, version FROM task WHERE next_notice_at IS NOT NULL")
    op.create_index('ix_tasknotice_at', 'tasknotice', ['at'], unique=False)
    op.drop_index('ix_task_next_notice', table_name='task')
    if op.get_bind().dialect.name == 'sqlite':
        # In place (SQLite 3.35+): a batch copy of the table would drop it, which the rows that refer to
        # its tasks (now tasknotice's too) forbid.
        op.execute('ALTER TABLE task DROP COLUMN next_notice_at')
    else:
        op.drop_column('task', 'next_notice_at')
    op.drop_index('ix_outbox_sent', table_name='outbox')
    op.create_index('ix_outbox_sent', 'outbox', ['status', 'sent_at'], unique=False,
                    sqlite_where=sa.text('sent_at IS NOT NULL'), postgresql_where=sa.text('sent_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_outbox_sent', table_name='outbox')
    op.create_index('ix_outbox_sent', 'outbox', ['status', 'sent_at'], unique=False)
    op.add_column('task', sa.Column('next_notice_at', models.types.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE task SET next_notice_at = "
               "(SELECT at FROM tasknotice WHERE tasknotice.task_id = task.id)")
    op.create_index('ix_task_next_notice', 'task', ['next_notice_at'], unique=False)
    op.drop_index('ix_tasknotice_at', table_name='tasknotice')
    op.drop_table('tasknotice')
