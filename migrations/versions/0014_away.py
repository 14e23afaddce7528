"""availability: person.away_until, away_reason, away_by; a person's Slack status and its expiry

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:30:00

A person is away while `/tasks away` says so or while their Slack status says they are out of office
(its own expiry ends it); the roster shows it, and the assignment rules will pass them by.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_COLUMNS = (
    ('away_until', models.types.UTCDateTime(timezone=True), None),
    ('away_reason', _TEXT(length=200), ''),
    ('away_by', _TEXT(length=32), ''),
    ('status_text', _TEXT(length=100), ''),
    ('status_emoji', _TEXT(length=100), ''),
    ('status_expires_at', models.types.UTCDateTime(timezone=True), None),
)


def upgrade() -> None:
    for name, kind, default in _COLUMNS:
        if default is None:
            op.add_column('person', sa.Column(name, kind, nullable=True))
        else:
            op.add_column('person', sa.Column(name, kind, server_default=default, nullable=False))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name, _kind, _default in reversed(_COLUMNS):
            op.execute(f'ALTER TABLE person DROP COLUMN {name}')
    else:
        for name, _kind, _default in reversed(_COLUMNS):
            op.drop_column('person', name)
