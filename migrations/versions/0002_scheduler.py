"""scheduler: snooze, recurring tasks, digests, working hours

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 11:05:17.340197
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digestrun',
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('local_date', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'channel_id', 'local_date')
    )
    op.create_table('digestsubscription',
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('tz', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('hours', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'channel_id')
    )
    op.create_table('recurringtask',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('requester_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('assignee_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('priority', sa.Enum('low', 'normal', 'high', 'urgent', name='priority', native_enum=False, length=16), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('origin_channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('card_channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('tz', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('next_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recurringtask', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recurringtask_team_id'), ['team_id'], unique=False)

    with op.batch_alter_table('person', schema=None) as batch_op:
        # Existing people get the defaults: workspace hours, no morning queue, not a manager.
        batch_op.add_column(sa.Column('hours', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('morning_queue', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('is_manager', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snoozed_until', models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('recurring_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_task_recurring_id'), ['recurring_id'], unique=False)
        batch_op.create_foreign_key('fk_task_recurring_id', 'recurringtask', ['recurring_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_constraint('fk_task_recurring_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_task_recurring_id'))
        batch_op.drop_column('recurring_id')
        batch_op.drop_column('snoozed_until')

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('is_manager')
        batch_op.drop_column('morning_queue')
        batch_op.drop_column('hours')

    with op.batch_alter_table('recurringtask', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recurringtask_team_id'))

    op.drop_table('recurringtask')
    op.drop_table('digestsubscription')
    op.drop_table('digestrun')
