"""tasktag: each task's tags as rows, so `/tasks #tag` filters, sorts and pages in SQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:15:00

Existing tasks' tags are copied from `task.tags` (a JSON list), in batches.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    tags = op.create_table('tasktag',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('tag', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ),
    sa.PrimaryKeyConstraint('task_id', 'tag')
    )
    with op.batch_alter_table('tasktag', schema=None) as batch_op:
        batch_op.create_index('ix_tasktag_team_tag', ['team_id', 'tag'], unique=False)

    # The JSON type decodes the list the same way on SQLite and PostgreSQL.
    task = sa.table('task', sa.column('id', sa.Integer()), sa.column('team_id', sa.String()),
                    sa.column('tags', sa.JSON()))
    rows = op.get_bind().execute(sa.select(task.c.id, task.c.team_id, task.c.tags).order_by(task.c.id))
    batch: list[dict[str, object]] = []
    for task_id, team_id, listed in rows:
        batch += [{"task_id": task_id, "team_id": team_id, "tag": tag} for tag in dict.fromkeys(listed or [])]
        if len(batch) >= BATCH:
            op.bulk_insert(tags, batch)
            batch = []
    if batch:
        op.bulk_insert(tags, batch)


def downgrade() -> None:
    with op.batch_alter_table('tasktag', schema=None) as batch_op:
        batch_op.drop_index('ix_tasktag_team_tag')
    op.drop_table('tasktag')
