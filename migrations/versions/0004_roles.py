"""roles: managers granted per workspace, their history, and Slack's admin flag on people

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:40:00

People recorded as managers before roles existed (anyone who set up a digest) stay managers, each
with a history line saying so, so an admin can see them in `/tasks managers` and remove any.
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CARRIED_OVER_BY = "migration-0004"


def upgrade() -> None:
    grants = op.create_table('rolegrant',
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('granted_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('granted_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'user_id')
    )
    events = op.create_table('roleevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('roleevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roleevent_team_id'), ['team_id'], unique=False)

    now = datetime.now(UTC)
    recorded = op.get_bind().execute(
        sa.text("SELECT team_id, user_id FROM person WHERE is_manager = :yes"), {"yes": True}
    ).all()
    if recorded:
        op.bulk_insert(grants, [
            {"team_id": t, "user_id": u, "role": "manager", "granted_by": CARRIED_OVER_BY, "granted_at": now}
            for t, u in recorded
        ])
        op.bulk_insert(events, [
            {"team_id": t, "user_id": u, "role": "manager", "kind": "granted", "actor_id": CARRIED_OVER_BY,
             "at": now}
            for t, u in recorded
        ])

    with op.batch_alter_table('person', schema=None) as batch_op:
        # Everyone starts as not a Slack admin; the next look-up from Slack (within 12 hours) sets it.
        batch_op.add_column(sa.Column('slack_admin', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.drop_column('is_manager')


def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_manager', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.drop_column('slack_admin')
    op.execute(
        "UPDATE person SET is_manager = true WHERE EXISTS (SELECT 1 FROM rolegrant g "
        "WHERE g.team_id = person.team_id AND g.user_id = person.user_id)"
    )
    with op.batch_alter_table('roleevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roleevent_team_id'))
    op.drop_table('roleevent')
    op.drop_table('rolegrant')
