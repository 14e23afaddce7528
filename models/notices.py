"""Notices the scheduler sends about a task (reminders, overdue, escalations, nudges), each at most once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.enums import TaskStatus
from models.lifecycle import FINISHED
from models.outbox import enqueue
from models.sql import insert_ignore
from models.tables import ProcessedEvent, Task, TaskEvent

__all__ = ["SCHEDULER", "claim_once", "notice_floor", "notify_task"]

# The actor recorded for what the scheduler does on its own.
SCHEDULER = "handoff"


def notice_floor(status: TaskStatus, due_at: datetime | None, now: datetime) -> datetime | None:
    """A task's next-notice instant after it was created or changed at `now`: the sweep looks again at once.

    None when no notice can be owed: finished, or assigned with no due date.
    """
    if status in FINISHED or (status is not TaskStatus.OPEN and due_at is None):
        return None
    return now


def claim_once(session: Session, *, team_id: str, key: str, now: datetime) -> bool:
    """Record that `key` is done; False when it already was (by this or another process), so skip it."""
    return insert_ignore(session, ProcessedEvent, {"team_id": team_id, "event_id": key[:64], "at": now})


def notify_task(
    session: Session,
    *,
    task: Task,
    kind: str,
    key: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
    dm_to: Iterable[str | None] = (),
    thread: bool = False,
    refresh_card: bool = False,
) -> bool:
    """Once per `key`: record a `kind` event on `task` and queue its DMs, thread line and card refresh.

    Returns False (and writes nothing) when the notice was already sent.
    """
    if not claim_once(session, team_id=task.team_id, key=key, now=now):
        return False
    assert task.id is not None
    event = TaskEvent(
        team_id=task.team_id, task_id=task.id, actor_id=SCHEDULER, kind=kind, detail=detail or {}, at=now
    )
    session.add(event)
    session.flush()
    if thread:
        enqueue(
            session, team_id=task.team_id, key=f"thread:{event.id}", kind="thread.note", task_id=task.id,
            payload={"channel": task.card_channel_id, "event_id": event.id}, now=now,
        )
    if refresh_card:
        enqueue(
            session, team_id=task.team_id, key=f"card.refresh:{event.id}", kind="card.update", task_id=task.id,
            payload={"channel": task.card_channel_id}, now=now,
        )
    seen: set[str] = set()
    for user_id in dm_to:
        if user_id and user_id not in seen:
            seen.add(user_id)
            enqueue(
                session, team_id=task.team_id, key=f"dm:{event.id}:{user_id}", kind="dm", task_id=task.id,
                payload={"user": user_id, "event_id": event.id}, now=now,
            )
    return True
