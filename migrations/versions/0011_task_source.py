"""tasks made from messages: details (of recurring tasks too), the source message (place, author, link), a card's thread; workspace.source_replies; intakechannel; person.home_*, notify, quiet; task.requester_muted

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:00:00

A task made from a Slack message (the "Delegate this message" shortcut, a mention, a reaction, an intake
channel) keeps where that message is, who wrote it and its link, shown on the card. The index finds the
tasks made from one message (a second 🎫 on it makes none). `workspace.source_replies` says whether the
source message's thread hears when its task is made and done. A card posted as a reply in a thread
(a mention there) keeps that thread, where its history lines go. An intake channel's every new message
becomes a task. A person's Home tab is kept fresh once they have opened it. People choose which DMs they get and
whether DMs wait for their working hours; a requester can mute one task.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite adds these in place, where a batch copy of `task` would be refused (0010).
    op.add_column('task', sa.Column('details', _TEXT(length=3000), nullable=True))
    op.add_column('task', sa.Column('source_channel_id', _TEXT(length=32), nullable=True))
    op.add_column('task', sa.Column('source_ts', _TEXT(length=32), nullable=True))
    op.add_column('task', sa.Column('source_thread_ts', _TEXT(length=32), nullable=True))
    op.add_column('task', sa.Column('source_author_id', _TEXT(length=32), nullable=True))
    op.add_column('task', sa.Column('source_url', _TEXT(length=500), nullable=True))
    op.add_column('task', sa.Column('card_thread_ts', _TEXT(length=32), nullable=True))
    op.create_index('ix_task_card_thread', 'task', ['card_channel_id', 'card_thread_ts', 'card_ts'], unique=False,
                    sqlite_where=sa.text('card_thread_ts IS NOT NULL'),
                    postgresql_where=sa.text('card_thread_ts IS NOT NULL'))
    op.create_index('ix_task_source', 'task', ['source_channel_id', 'source_ts'], unique=False)
    op.add_column('workspace', sa.Column('source_replies', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('recurringtask', sa.Column('details', _TEXT(length=3000), nullable=True))
    op.add_column('person', sa.Column('home_opened_at', models.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column('person', sa.Column('home_pages', sa.JSON(), server_default='{}', nullable=False))
    op.add_column('person', sa.Column('notify', _TEXT(length=16), server_default='all', nullable=False))
    op.add_column('person', sa.Column('quiet', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('task', sa.Column('requester_muted', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('intakechannel',
    sa.Column('team_id', _TEXT(length=32), nullable=False),
    sa.Column('channel_id', _TEXT(length=32), nullable=False),
    sa.Column('set_by', _TEXT(length=32), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'channel_id')
    )


def downgrade() -> None:
    op.drop_table('intakechannel')
    op.drop_index('ix_task_source', table_name='task')
    op.drop_index('ix_task_card_thread', table_name='task')
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table, name in (('task', 'requester_muted'), ('person', 'quiet'), ('person', 'notify'), ('person', 'home_pages'), ('person', 'home_opened_at'), ('recurringtask', 'details'), ('workspace', 'source_replies'), ('task', 'card_thread_ts'), ('task', 'source_url'), ('task', 'source_author_id'),
                        ('task', 'source_thread_ts'), ('task', 'source_ts'), ('task', 'source_channel_id'),
                        ('task', 'details')):
        if sqlite:
            op.execute(f'ALTER TABLE {table} DROP COLUMN {name}')  # in place, as 0010 does
        else:
            op.drop_column(table, name)
