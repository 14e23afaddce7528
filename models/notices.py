"""Notices the scheduler sends about tasks (reminders, overdue, escalations, nudges), each at most once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlalchemy import select as columns_of
from sqlmodel import Session, col, select

from models.enums import TaskStatus
from models.lifecycle import FINISHED
from models.outbox import Pending, enqueue_all
from models.sql import bulk_insert, insert_ignore
from models.tables import NoticeQueue, ProcessedEvent, Task, TaskEvent

__all__ = [
    "SCHEDULER",
    "Notice",
    "claim_once",
    "look_again_for",
    "notice_floor",
    "record_notices",
    "owed_dms",
    "send_owed_dms",
    "unclaimed_keys",
]

# The actor recorded for what the scheduler does on its own.
SCHEDULER = "handoff"
# processedevent.event_id holds at most this much of a key.
KEY_CHARS = 64
# A grouped DM carries at most this many notices of each kind (and counts them all): it shows fewer still.
GROUPED_ITEMS = 50


@dataclass(frozen=True)
class Notice:
    """One notice owed about a task: its once-key, who hears it by DM, and whether its card's thread does."""

    task_id: int
    channel: str
    kind: str
    key: str
    dm_to: tuple[str | None, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    thread: bool = False
    refresh_card: bool = False


def notice_floor(status: TaskStatus, due_at: datetime | None, now: datetime) -> datetime | None:
    """A task's next-notice instant after it was created or changed at `now`: the sweep looks again at once.

    None when no notice can be owed: finished, or assigned with no due date.
    """
    if status in FINISHED or (status is not TaskStatus.OPEN and due_at is None):
        return None
    return now


def look_again_for(session: Session, *, team_id: str, user_id: str) -> None:
    """Someone's working week or zone changed: the sweep looks again at once at the tasks it times."""
    session.execute(
        update(Task)
        .where(col(Task.team_id) == team_id, col(Task.next_notice_at).is_not(None),
               or_(col(Task.assignee_id) == user_id, col(Task.requester_id) == user_id))
        # Any instant already past will do; a task's last change is one.
        .values(next_notice_at=col(Task.updated_at))
    )


def claim_once(session: Session, *, team_id: str, key: str, now: datetime) -> bool:
    """Record that `key` is done; False when it already was (by this or another process), so skip it."""
    return insert_ignore(session, ProcessedEvent, {"team_id": team_id, "event_id": key[:KEY_CHARS], "at": now})


def unclaimed_keys(session: Session, *, team_id: str, keys: Sequence[str]) -> set[str]:
    """Those of `keys` nobody has claimed yet: one read, before any work is done for them."""
    if not keys:
        return set()
    taken = set(session.exec(
        select(ProcessedEvent.event_id).where(
            ProcessedEvent.team_id == team_id, col(ProcessedEvent.event_id).in_([k[:KEY_CHARS] for k in keys])
        )
    ))
    return {k for k in keys if k[:KEY_CHARS] not in taken}


def _claim_many(session: Session, *, team_id: str, keys: Sequence[str], now: datetime) -> set[str]:
    """Claim `keys` in one statement; returns those this call claimed (a concurrent run may hold others)."""
    if not keys:
        return set()
    # Sorted, so two runs claiming overlapping keys on PostgreSQL take them in the same order.
    rows = [{"event_id": k} for k in sorted({k[:KEY_CHARS] for k in keys})]
    claimed = {event_id for (event_id,) in bulk_insert(
        session, ProcessedEvent, rows, same={"team_id": team_id, "at": now}, ignore_conflicts=True,
        returning=("event_id",),
    )}
    return {k for k in keys if k[:KEY_CHARS] in claimed}


def record_notices(session: Session, *, team_id: str, notices: Sequence[Notice], now: datetime) -> list[Notice]:
    """Once per key: record each notice's event, queue its thread line and card refresh, and owe its DMs.

    The DMs wait in `NoticeQueue` until `send_owed_dms`, so that one person's notices from a whole
    pass, over all its batches, become one DM. Returns the notices recorded (those claimed before are left out).
    """
    claimed = _claim_many(session, team_id=team_id, keys=[n.key for n in notices], now=now)
    fresh = [n for n in notices if n.key in claimed]
    if not fresh:
        return []
    rows = [{"task_id": n.task_id, "kind": n.kind, "detail": n.detail} for n in fresh]
    # A task has at most one notice of each kind in a pass, so (task, kind) names each new event.
    ids = {(task_id, kind): event_id for event_id, task_id, kind in bulk_insert(
        session, TaskEvent, rows, same={"team_id": team_id, "actor_id": SCHEDULER, "at": now},
        returning=("id", "task_id", "kind"),
    )}
    items: list[Pending] = []
    owed: list[dict[str, Any]] = []
    for notice in fresh:
        event_id = ids[notice.task_id, notice.kind]
        channel = {"channel": notice.channel}
        if notice.thread:
            note = {**channel, "event_id": event_id}
            items.append(Pending(f"thread:{event_id}", "thread.note", note, notice.task_id))
        if notice.refresh_card:
            items.append(Pending(f"card.refresh:{event_id}", "card.update", channel, notice.task_id))
        owed += [{"user_id": u, "event_id": event_id} for u in dict.fromkeys(notice.dm_to) if u]
    enqueue_all(session, team_id=team_id, now=now, items=items)
    bulk_insert(session, NoticeQueue, owed, same={"team_id": team_id}, ignore_conflicts=True)
    return fresh


def send_owed_dms(session: Session, *, team_id: str, user_ids: Sequence[str], now: datetime) -> int:
    """Queue the DM owed to each of `user_ids`: a single notice is the usual DM about its task, several
    become one `notices` DM that lists them (at most GROUPED_ITEMS of each kind, with the counts).
    Returns how many DMs were queued.

    The owed notices are taken off the queue by this call alone (DELETE … RETURNING), so two concurrent
    runs never queue the same one twice; what a crashed run left owed goes with the next run. Three
    statements for all of them, however many people.
    """
    if not user_ids:
        return 0
    # A big pass owes a manager thousands: their kinds come back with the rows taken, to count them, and
    # only the notices shown (the first GROUPED_ITEMS of each kind) are read in full.
    kind_of = columns_of(col(TaskEvent.kind)).where(col(TaskEvent.id) == col(NoticeQueue.event_id)).scalar_subquery()
    taken: dict[str, list[tuple[int, str]]] = {}
    # Core statements: the ORM's bulk DELETE would also look for the rows among loaded objects.
    for user_id, event_id, kind in session.connection().execute(
        delete(NoticeQueue)
        .where(col(NoticeQueue.team_id) == team_id, col(NoticeQueue.user_id).in_(sorted(set(user_ids))))
        .returning(col(NoticeQueue.user_id), col(NoticeQueue.event_id), kind_of)
    ):
        taken.setdefault(user_id, []).append((event_id, kind))
    counts: dict[str, Counter[str]] = {}
    shown: dict[str, list[int]] = {}
    for user_id, kinds in taken.items():
        counted, listed = counts.setdefault(user_id, Counter()), shown.setdefault(user_id, [])
        for event_id, kind in sorted(kinds):
            counted[kind] += 1
            if counted[kind] <= GROUPED_ITEMS:
                listed.append(event_id)
    wanted = sorted({event_id for listed in shown.values() for event_id in listed})
    rows: dict[int | None, Any] = {row[0]: row for row in session.connection().execute(
        columns_of(col(TaskEvent.id), col(TaskEvent.kind), col(Task.id), col(Task.number), col(Task.title),
                   col(Task.card_url), col(Task.due_at), col(Task.assignee_id), col(Task.requester_id))
        .join(Task, col(Task.id) == col(TaskEvent.task_id))
        .where(col(TaskEvent.id).in_(wanted))
    )} if wanted else {}
    items: list[Pending] = []
    for user_id in sorted(shown):
        owed = [rows[event_id] for event_id in shown[user_id] if event_id in rows]
        if not owed:
            continue
        first_id, task_id = owed[0][0], owed[0][2]
        if len(taken[user_id]) == 1:
            items.append(Pending(f"dm:{first_id}:{user_id}", "dm", {"user": user_id, "event_id": first_id}, task_id))
        else:
            payload = {"user": user_id, "items": [_item(*row) for row in owed], "counts": counts[user_id]}
            items.append(Pending(f"notices:{first_id}:{user_id}", "notices", payload))
    enqueue_all(session, team_id=team_id, now=now, items=items)
    return len(items)


def owed_dms(session: Session) -> dict[str, list[tuple[str, int]]]:
    """Who is owed a DM, and how many notices, by workspace (between passes normally nobody: a run that
    stopped left them)."""
    owed: dict[str, list[tuple[str, int]]] = {}
    for team_id, user_id, count in session.execute(
        columns_of(col(NoticeQueue.team_id), col(NoticeQueue.user_id), func.count())
        .group_by(col(NoticeQueue.team_id), col(NoticeQueue.user_id))
        .order_by(col(NoticeQueue.team_id), col(NoticeQueue.user_id))
    ):
        owed.setdefault(team_id, []).append((user_id, count))
    return owed


def _item(
    event_id: int, kind: str, _task_id: int, number: int, title: str, url: str | None, due: datetime | None,
    assignee: str | None, requester: str,
) -> dict[str, Any]:
    """What a grouped DM shows of one notice, frozen when it is queued."""
    return {
        "kind": kind, "event_id": event_id, "ref": f"T-{number}", "title": title, "url": url,
        "due": due.isoformat() if due else None, "assignee": assignee, "requester": requester,
    }
