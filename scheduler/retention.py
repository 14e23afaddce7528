"""Retention: delivered outbox rows, handled-event keys and old digest runs are pruned in small batches.

A once-key is pruned only when nothing can ask for it again:
- Slack's event ids: Slack retries an event within minutes, never after days.
- `rem:` (due-soon reminder) keys name the due time, and a reminder is owed only before it: a key
  older than the retention age is about a due time long past, which no sweep looks at again.
- `esc:` keys name the local day, `rec:` an occurrence, `morning:` a day: only the current one is asked for.
- `od:` (overdue), `nudge:` and `unesc:` keys last as long as their task's state: overdue with that due
  time, or waiting in the pool. They are kept while it does, and pruned once the task has moved on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, not_, or_, tuple_
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from models.db import Database
from models.enums import TaskStatus
from models.queries import ACTIVE_STATUSES
from models.tables import OUTBOX_DEAD, OUTBOX_SENT, DigestRun, Outbox, ProcessedEvent, Task
from scheduler.config import JobConfig

__all__ = ["RETENTION_BATCH", "Pruned", "prune"]

log = logging.getLogger(__name__)

# Rows per transaction: each delete holds the write lock only briefly.
RETENTION_BATCH = 500
# Keys that stay needed for as long as their task's state lasts (see the module's docstring).
_STATEFUL = ("od:", "nudge:", "unesc:")


@dataclass
class Pruned:
    """How many rows one pass removed."""

    outbox: int = 0
    events: int = 0
    digest_runs: int = 0


def prune(db: Database, now: datetime, config: JobConfig, *, batch: int = RETENTION_BATCH) -> Pruned:
    """Remove what is older than the configured ages, `batch` rows to a transaction."""
    pruned = Pruned()
    outbox_before, events_before = now - config.keep_outbox, now - config.keep_events
    pruned.outbox = _in_batches(db, batch, Outbox, (col(Outbox.id),), and_(
        col(Outbox.status).in_([OUTBOX_SENT, OUTBOX_DEAD]), col(Outbox.sent_at) < outbox_before,
    ))
    stateful = or_(*(col(ProcessedEvent.event_id).startswith(prefix) for prefix in _STATEFUL))
    keys = (col(ProcessedEvent.team_id), col(ProcessedEvent.event_id))
    pruned.events = _in_batches(db, batch, ProcessedEvent, keys, and_(
        col(ProcessedEvent.at) < events_before, not_(stateful)
    ))
    pruned.events += _prune_stateful(db, batch, and_(col(ProcessedEvent.at) < events_before, stateful))
    newer = aliased(DigestRun)
    pruned.digest_runs = _in_batches(
        db, batch, DigestRun, (col(DigestRun.team_id), col(DigestRun.channel_id), col(DigestRun.local_date)),
        and_(
            col(DigestRun.at) < events_before,
            # The newest run of a channel stays: the next digest counts what was done since it.
            exists().where(
                col(newer.team_id) == col(DigestRun.team_id), col(newer.channel_id) == col(DigestRun.channel_id),
                col(newer.at) > col(DigestRun.at),
            ),
        ),
    )
    if pruned.outbox or pruned.events or pruned.digest_runs:
        log.info("retention at %s pruned outbox=%s events=%s digest_runs=%s", now.isoformat(),
                 pruned.outbox, pruned.events, pruned.digest_runs)
    return pruned


def _in_batches(db: Database, batch: int, model: Any, key: tuple[Any, ...], where: Any) -> int:
    total = 0
    while True:
        with db.transaction() as session:
            rows = session.execute(select(*key).where(where).limit(batch)).all()
            if rows:
                session.execute(delete(model).where(tuple_(*key).in_([tuple(r) for r in rows])))
        total += len(rows)
        if len(rows) < batch:
            return total


def _prune_stateful(db: Database, batch: int, where: Any) -> int:
    """Old `od:`/`nudge:`/`unesc:` keys whose task has moved on; those still in force are kept."""
    total, after = 0, ("", "")
    order = (col(ProcessedEvent.team_id), col(ProcessedEvent.event_id))
    while True:
        with db.transaction() as session:
            rows = session.execute(
                select(*order).where(where, tuple_(*order) > after).order_by(*order).limit(batch)
            ).all()
            if not rows:
                return total
            after = tuple(rows[-1])
            parsed = {(team, key): _task_id(key) for team, key in rows}
            tasks = {t.id: t for t in session.exec(select(Task).where(col(Task.id).in_(set(parsed.values()))))}
            gone = [pk for pk, task_id in parsed.items() if not _in_force(pk[1], tasks.get(task_id))]
            if gone:
                session.execute(delete(ProcessedEvent).where(tuple_(*order).in_(gone)))
            total += len(gone)


def _task_id(key: str) -> int:
    try:
        return int(key.split(":")[1])
    except (IndexError, ValueError):
        return 0  # not one of ours: no task, so not in force


def _in_force(key: str, task: Task | None) -> bool:
    """Whether the sweep may still ask for `key`: its task is still in the state the key is about."""
    if task is None:
        return False
    if key.startswith("od:"):
        due = int(task.due_at.timestamp()) if task.due_at else None
        return task.status in ACTIVE_STATUSES and task.status != TaskStatus.OPEN and key == f"od:{task.id}:{due}"
    return task.status == TaskStatus.OPEN
