"""taskevent.once_key: a scheduler notice's event is its own once-key (no processedevent row per notice)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 05:20:00

Keys claimed before this revision stay in `processedevent`, where the sweep still looks for them.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('taskevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('once_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.create_index('uq_taskevent_once', 'taskevent', ['team_id', 'once_key'], unique=True,
                    sqlite_where=sa.text('once_key IS NOT NULL'), postgresql_where=sa.text('once_key IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('uq_taskevent_once', table_name='taskevent')
    with op.batch_alter_table('taskevent', schema=None) as batch_op:
        batch_op.drop_column('once_key')
