"""The outbox: what must be sent to Slack, written in the transaction of the change that causes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from models.sql import insert_ignore, insert_ignore_many
from models.tables import OUTBOX_DEAD, OUTBOX_PENDING, OUTBOX_SENT, Outbox

__all__ = [
    "LEASE",
    "OUTBOX_DEAD",
    "OUTBOX_SENT",
    "Pending",
    "enqueue_all",
    "latest_pending_id",
    "supersede",
    "enqueue",
    "lease_due",
    "mark_dead",
    "mark_retry",
    "mark_sent",
    "pending_count",
    "wake_channel",
]

# How long a worker owns a row it took; longer than any single delivery attempt with its retries.
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Pending:
    """One delivery to queue: its unique key, its kind, what it carries, and its task."""

    key: str
    kind: str
    payload: dict[str, Any]
    task_id: int | None = None


def _row(team_id: str, item: Pending, now: datetime) -> dict[str, Any]:
    return {
        "team_id": team_id,
        "key": item.key,
        "kind": item.kind,
        "task_id": item.task_id,
        "payload": item.payload,
        "status": OUTBOX_PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "uncertain": False,
        "result": {},
    }


def enqueue_all(session: Session, *, team_id: str, now: datetime, items: Sequence[Pending]) -> None:
    """Add several deliveries in one statement; any whose key exists already is skipped."""
    insert_ignore_many(session, Outbox, [_row(team_id, item, now) for item in items])


def enqueue(
    session: Session,
    *,
    team_id: str,
    key: str,
    kind: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    task_id: int | None = None,
) -> bool:
    """Add a delivery unless one with the same key exists (then nothing happens); return True if added."""
    return insert_ignore(session, Outbox, _row(team_id, Pending(key, kind, payload or {}, task_id), now))


def lease_due(session: Session, *, now: datetime, limit: int = 20) -> list[Outbox]:
    """Take up to `limit` due rows (oldest first) under a lease so no other worker sends them meanwhile."""
    query = (
        select(Outbox)
        .where(Outbox.status == OUTBOX_PENDING, col(Outbox.next_attempt_at) <= now)
        .where(or_(col(Outbox.locked_until).is_(None), col(Outbox.locked_until) < now))
        .order_by(col(Outbox.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.exec(query))
    for row in rows:
        row.locked_until = now + LEASE
        session.add(row)
    return rows


def mark_sent(session: Session, row_id: int, *, now: datetime, result: dict[str, Any] | None = None) -> None:
    """Record that Slack confirmed the delivery; it is never sent again."""
    row = session.get(Outbox, row_id)
    if row is None:
        return
    row.status = OUTBOX_SENT
    row.sent_at = now
    row.locked_until = None
    row.result = result or {}
    row.attempts += 1
    session.add(row)


def mark_retry(
    session: Session, row_id: int, *, now: datetime, delay: timedelta, error: str, uncertain: bool = False
) -> None:
    """Schedule another attempt after `delay`; `uncertain` says Slack may have acted on this one."""
    row = session.get(Outbox, row_id)
    if row is None:
        return
    row.attempts += 1
    row.next_attempt_at = now + delay
    row.locked_until = None
    row.last_error = error[:500]
    row.uncertain = row.uncertain or uncertain
    session.add(row)


def mark_dead(session: Session, row_id: int, *, now: datetime, error: str) -> None:
    """Give up on a delivery Slack refuses for good (kept for inspection, never retried)."""
    row = session.get(Outbox, row_id)
    if row is None:
        return
    row.attempts += 1
    row.status = OUTBOX_DEAD
    row.locked_until = None
    row.last_error = error[:500]
    row.sent_at = now
    session.add(row)


def wake_channel(session: Session, *, team_id: str, channel_id: str, now: datetime) -> int:
    """Make deliveries waiting on `channel_id` (e.g. until the bot is invited) due now; return how many."""
    rows = session.exec(
        select(Outbox).where(Outbox.team_id == team_id, Outbox.status == OUTBOX_PENDING)
    ).all()
    woken = 0
    for row in rows:
        if row.payload.get("channel") == channel_id and row.next_attempt_at > now:
            row.next_attempt_at = now
            session.add(row)
            woken += 1
    return woken


def pending_count(session: Session) -> int:
    """How many deliveries are still waiting."""
    return len(session.exec(select(Outbox.id).where(Outbox.status == OUTBOX_PENDING)).all())


def supersede(session: Session, *, task_id: int, kind: str, through_id: int, now: datetime) -> None:
    """Mark pending rows of `kind` for `task_id` up to `through_id` as sent: one delivery covered them all."""
    session.execute(
        update(Outbox)
        .where(
            col(Outbox.task_id) == task_id,
            col(Outbox.kind) == kind,
            col(Outbox.status) == OUTBOX_PENDING,
            col(Outbox.id) <= through_id,
        )
        .values(status=OUTBOX_SENT, sent_at=now, locked_until=None)
    )


def latest_pending_id(session: Session, *, task_id: int, kind: str) -> int | None:
    """The newest pending row of `kind` for `task_id`."""
    ids = session.exec(
        select(Outbox.id).where(
            Outbox.task_id == task_id, Outbox.kind == kind, Outbox.status == OUTBOX_PENDING
        )
    ).all()
    return max((i for i in ids if i is not None), default=None)
