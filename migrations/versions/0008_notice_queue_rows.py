"""noticequeue: a row per person and sweep batch (counts and shown items), not a row per person and notice

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:30:00

A pass over thousands of owed tasks wrote (and at its end deleted) a row for every recipient of every
notice; it now writes one per person and batch. DMs a stopped pass left owed are carried over, each
person's notices as one row of the new shape.
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As models.notices.GROUPED_ITEMS: what a grouped DM lists of each kind.
GROUPED_ITEMS = 50


def upgrade() -> None:
    old = sa.table('noticequeue', sa.column('team_id', sa.String()), sa.column('user_id', sa.String()),
                   sa.column('event_id', sa.Integer()))
    event = sa.table('taskevent', sa.column('id', sa.Integer()), sa.column('task_id', sa.Integer()),
                     sa.column('kind', sa.String()))
    task = sa.table('task', sa.column('id', sa.Integer()), sa.column('number', sa.Integer()),
                    sa.column('title', sa.String()), sa.column('card_url', sa.String()),
                    sa.column('due_at', models.types.UTCDateTime()), sa.column('assignee_id', sa.String()),
                    sa.column('requester_id', sa.String()))
    left = op.get_bind().execute(
        sa.select(old.c.team_id, old.c.user_id, event.c.id, event.c.kind, task.c.id, task.c.number, task.c.title,
                  task.c.card_url, task.c.due_at, task.c.assignee_id, task.c.requester_id)
        .join(event, event.c.id == old.c.event_id).join(task, task.c.id == event.c.task_id)
        .order_by(old.c.team_id, old.c.user_id, event.c.id)
    ).all()
    op.drop_table('noticequeue')
    queue = op.create_table('noticequeue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('noticequeue', schema=None) as batch_op:
        batch_op.create_index('ix_noticequeue_team_user', ['team_id', 'user_id'], unique=False)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for team_id, user_id, event_id, kind, task_id, number, title, url, due, assignee, requester in left:
        row = rows.setdefault((team_id, user_id), {"team_id": team_id, "user_id": user_id, "counts": {}, "items": []})
        row["counts"][kind] = row["counts"].get(kind, 0) + 1
        if row["counts"][kind] <= GROUPED_ITEMS:
            row["items"].append({"kind": kind, "event_id": event_id, "task_id": task_id, "ref": f"T-{number}",
                                 "title": title, "url": url, "due": due.isoformat() if due else None, "assignee": assignee,
                                 "requester": requester})
    if rows:
        op.bulk_insert(queue, list(rows.values()))


def downgrade() -> None:
    # What a stopped pass left owed is dropped: the old shape needs one row per notice.
    with op.batch_alter_table('noticequeue', schema=None) as batch_op:
        batch_op.drop_index('ix_noticequeue_team_user')
    op.drop_table('noticequeue')
    op.create_table('noticequeue',
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['taskevent.id'], ),
    sa.PrimaryKeyConstraint('team_id', 'user_id', 'event_id')
    )
