"""person.locale: Slack's locale (`en-GB`, `en-US`), for reading day-first or month-first dates

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 11:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        # Existing people have no locale yet: their zone's region decides until the next refresh.
        batch_op.add_column(
            sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False, server_default='')
        )


def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('locale')
