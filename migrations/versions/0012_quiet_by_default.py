"""quiet hours by default: person.quiet is NULL until a person chooses, meaning the workspace's default (on)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:00:00

A person's DMs about their tasks wait for their working hours unless they say `/tasks quiet off`, or the
team sets HANDOFF_QUIET_HOURS=off. 0011 stored off for everyone, and nobody's stored "off" can be told
from that default, so every stored value becomes "not chosen" (the README says so).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.alter_column('quiet', existing_type=sa.Boolean(), nullable=True, server_default=None)
    op.execute('UPDATE person SET quiet = NULL')


def downgrade() -> None:
    op.execute(sa.text('UPDATE person SET quiet = :off WHERE quiet IS NULL').bindparams(off=False))
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.alter_column('quiet', existing_type=sa.Boolean(), nullable=False, server_default=sa.false())
