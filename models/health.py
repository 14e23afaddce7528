"""What the health check and the metrics report from the store: the outbox's state and the last digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case
from sqlmodel import Session, col, func, select

from models.tables import OUTBOX_DEAD, OUTBOX_PENDING, OUTBOX_SENT, DigestRun, Outbox

__all__ = ["OutboxState", "last_digest_at", "outbox_state"]

RETRYING = "retrying"


@dataclass
class OutboxState:
    """Messages by outcome (`sent`, `dead`, `pending` for a first try, `retrying` after a failed one)."""

    by_outcome: dict[str, int] = field(default_factory=dict)
    oldest_pending: datetime | None = None

    @property
    def backlog(self) -> int:
        """Messages not yet delivered."""
        return self.by_outcome[OUTBOX_PENDING] + self.by_outcome[RETRYING]


def outbox_state(session: Session) -> OutboxState:
    """Count the outbox by outcome and find its oldest undelivered message, in one statement."""
    retrying = case((col(Outbox.attempts) > 0, RETRYING), else_=OUTBOX_PENDING)
    outcome = case((col(Outbox.status) == OUTBOX_PENDING, retrying), else_=col(Outbox.status))
    rows = session.exec(select(outcome, func.count(), func.min(Outbox.created_at)).group_by(outcome)).all()
    state = OutboxState(by_outcome=dict.fromkeys((OUTBOX_SENT, RETRYING, OUTBOX_DEAD, OUTBOX_PENDING), 0))
    for name, count, first in rows:
        state.by_outcome[name] = count
        if name in {OUTBOX_PENDING, RETRYING} and (state.oldest_pending is None or first < state.oldest_pending):
            state.oldest_pending = first
    return state


def last_digest_at(session: Session) -> datetime | None:
    """When the last digest was posted (or started), in any workspace."""
    return session.exec(select(func.max(DigestRun.at))).one()
