"""the team's roster: teammember (skills, office, capacity)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 23:00:00

Each person on a workspace's roster, with the skills and office the assignment rules will match and the
capacity they will respect. Managers are on it through their role, which stays in rolegrant.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('teammember',
    sa.Column('team_id', _TEXT(length=32), nullable=False),
    sa.Column('user_id', _TEXT(length=32), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('office', _TEXT(length=8), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('added_by', _TEXT(length=32), nullable=False),
    sa.Column('added_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'user_id')
    )


def downgrade() -> None:
    op.drop_table('teammember')
