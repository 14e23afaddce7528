"""sweep: each task's next-notice instant, DMs owed by a pass, and indexes for the hot queries and retention

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:30:00

Unfinished tasks start with their next notice at the migration's instant, so the first sweep looks at
each once and moves it on to its exact next notice.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = [
    ('task', 'ix_task_next_notice', ['next_notice_at']),
    ('task', 'ix_task_team_assignee_status', ['team_id', 'assignee_id', 'status']),
    ('task', 'ix_task_status_due', ['status', 'due_at']),
    ('task', 'ix_task_team_status_completed', ['team_id', 'status', 'completed_at']),
    ('recurringtask', 'ix_recurringtask_status_next', ['status', 'next_at']),
    ('taskevent', 'ix_taskevent_task_kind', ['task_id', 'kind']),
    ('outbox', 'ix_outbox_sent', ['status', 'sent_at']),
    ('processedevent', 'ix_processedevent_at', ['at']),
    ('digestrun', 'ix_digestrun_at', ['at']),
]
# Replaced by the indexes above that start with the same columns.
_SUPERSEDED = [
    ('task', 'ix_task_team_status', ['team_id', 'status']),
    ('taskevent', 'ix_taskevent_task_id', ['task_id']),
]


def upgrade() -> None:
    op.create_table('noticequeue',
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['taskevent.id'], ),
    sa.PrimaryKeyConstraint('team_id', 'user_id', 'event_id')
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_notice_at', models.types.UTCDateTime(timezone=True), nullable=True))
    # Every unfinished task is looked at by the first sweep after the upgrade, whatever the clock says then
    # (its creation is before any "now"); that sweep moves each on to its own next instant.
    op.execute("UPDATE task SET next_notice_at = created_at WHERE status NOT IN ('done', 'cancelled')")
    for table, name, columns in _INDEXES:
        op.create_index(name, table, columns, unique=False)
    for table, name, _columns in _SUPERSEDED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, columns in _SUPERSEDED:
        op.create_index(name, table, columns, unique=False)
    for table, name, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_column('next_notice_at')
    op.drop_table('noticequeue')
