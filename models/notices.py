"""Notices the scheduler sends about tasks (reminders, overdue, escalations, nudges), each at most once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, text, update
from sqlalchemy import select as columns_of
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from models.enums import TaskStatus
from models.lifecycle import FINISHED
from models.outbox import Pending, enqueue_all
from models.sql import among, bulk_insert, insert_ignore
from models.tables import NoticeQueue, ProcessedEvent, Task, TaskEvent, TaskNotice

__all__ = [
    "SCHEDULER",
    "Notice",
    "claim_once",
    "look_again_for",
    "notice_floor",
    "record_notices",
    "owed_dms",
    "place_next_notice",
    "send_owed_dms",
    "shown_of",
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


def place_next_notice(session: Session, *, task: Task, now: datetime) -> None:
    """Store when the sweep next looks at `task`, just created or changed at `now` (`notice_floor`), with
    its version: a sweep that planned from an older one then leaves the task alone."""
    at = notice_floor(task.status, task.due_at, now)
    dialect = session.get_bind().dialect.name
    if at is None:
        session.connection().execute(_forget_notice(), {"task_id": task.id})
        return
    values = {"task_id": task.id, "team_id": task.team_id, "at": at, "version": task.version}
    session.connection().execute(_place_notice(dialect), values)


@cache
def _place_notice(dialect: str) -> Any:
    # Built once: this runs on every change to a task.
    table = TaskNotice.__table__  # type: ignore[attr-defined]
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.task_id], set_={"at": stmt.excluded.at, "version": stmt.excluded.version})


@cache
def _forget_notice() -> Any:
    table = TaskNotice.__table__  # type: ignore[attr-defined]
    return delete(table).where(table.c.task_id == bindparam("task_id"))


def look_again_for(session: Session, *, team_id: str, user_ids: Sequence[str]) -> None:
    """Working weeks or zones of `user_ids` changed: the sweep looks again at once at the tasks it times
    for them (as assignee or requester)."""
    if not user_ids:
        return
    notice = TaskNotice.__table__  # type: ignore[attr-defined]
    task = Task.__table__  # type: ignore[attr-defined]
    theirs = columns_of(task.c.id).where(
        task.c.team_id == team_id, or_(task.c.assignee_id.in_(user_ids), task.c.requester_id.in_(user_ids)))
    session.connection().execute(
        update(notice)
        .where(notice.c.team_id == team_id, notice.c.task_id.in_(theirs))
        # Any instant already past will do; the task's last change is one.
        .values(at=columns_of(task.c.updated_at).where(task.c.id == notice.c.task_id).scalar_subquery())
    )


def claim_once(session: Session, *, team_id: str, key: str, now: datetime) -> bool:
    """Record that `key` is done; False when it already was (by this or another process), so skip it."""
    return insert_ignore(session, ProcessedEvent, {"team_id": team_id, "event_id": key[:KEY_CHARS], "at": now})


def unclaimed_keys(session: Session, *, team_id: str, keys: Sequence[str]) -> set[str]:
    """Those of `keys` nobody has claimed yet: before any work is done for them.

    A notice's key is its event's `once_key`; keys claimed before that (revision 0009) are in
    `processedevent`, so both are read.
    """
    if not keys:
        return set()
    wanted = sorted({k[:KEY_CHARS] for k in keys})
    # One statement for both, each read through its unique index.
    is_wanted, wanted_param = among(session, "keys", wanted)
    claimed = set(session.connection().execute(text(
        f"SELECT once_key FROM taskevent WHERE team_id = :team AND once_key {is_wanted} "
        f"UNION ALL SELECT event_id FROM processedevent WHERE team_id = :team AND event_id {is_wanted}"
    ).bindparams(wanted_param), {"team": team_id}).scalars())
    return {k for k in keys if k[:KEY_CHARS] not in claimed}


def record_notices(
    session: Session, *, team_id: str, notices: Sequence[Notice], now: datetime, listed: Counter[tuple[str, str]],
) -> list[Notice]:
    """Once per key: record each notice's event, queue its thread line (which refreshes the card after it,
    when the notice asks for both) or card refresh, and owe its DMs.

    The DMs wait in `NoticeQueue` until `send_owed_dms`, so that one person's notices from a whole
    pass, over all its batches, become one DM: a row per person and batch, with counts of every kind and
    what the DM shows of the first GROUPED_ITEMS of each over the pass (`listed` counts those, per person
    and kind, across the pass's batches). Returns the notices recorded (those claimed before are left out).
    """
    # Each notice's event carries its once-key: one that exists (a concurrent run's, or sent before) is
    # skipped. Sorted by key, so two runs inserting overlapping keys on PostgreSQL take them in one order.
    rows = [{"task_id": n.task_id, "kind": n.kind, "detail": n.detail, "once_key": n.key[:KEY_CHARS]}
            for n in sorted(notices, key=lambda n: n.key)]
    # A task has at most one notice of each kind in a pass, so (task, kind) names each new event.
    ids = {(task_id, kind): event_id for event_id, task_id, kind in bulk_insert(
        session, TaskEvent, rows, same={"team_id": team_id, "actor_id": SCHEDULER, "at": now},
        ignore_conflicts=True, returning=("id", "task_id", "kind"),
    )}
    fresh = [n for n in notices if (n.task_id, n.kind) in ids]
    if not fresh:
        return []
    items: list[Pending] = []
    owed: dict[str, dict[str, Any]] = {}
    for notice in sorted(fresh, key=lambda n: ids[n.task_id, n.kind]):
        event_id = ids[notice.task_id, notice.kind]
        channel = {"channel": notice.channel}
        if notice.thread:
            # A line that refreshes the card once posted: one row for both, not two (an overdue task each).
            note = {**channel, "event_id": event_id, **({"refresh_card": True} if notice.refresh_card else {})}
            items.append(Pending(f"thread:{event_id}", "thread.note", note, notice.task_id))
        elif notice.refresh_card:
            items.append(Pending(f"card.refresh:{event_id}", "card.update", channel, notice.task_id))
        for user_id in dict.fromkeys(notice.dm_to):
            if not user_id:
                continue
            row = owed.setdefault(user_id, {"user_id": user_id, "counts": {}, "items": []})
            row["counts"][notice.kind] = row["counts"].get(notice.kind, 0) + 1
            listed[user_id, notice.kind] += 1
            if listed[user_id, notice.kind] <= GROUPED_ITEMS:
                # Which task, not a copy of what the DM shows of it: that is read when the DM is sent
                # (`shown_of`), for the items it lists only, so a pass does not carry megabytes of copies.
                row["items"].append({"kind": notice.kind, "event_id": event_id, "task_id": notice.task_id})
    enqueue_all(session, team_id=team_id, now=now, items=items)
    bulk_insert(session, NoticeQueue, list(owed.values()), same={"team_id": team_id})
    return fresh


def send_owed_dms(session: Session, *, team_id: str, user_ids: Sequence[str], now: datetime) -> int:
    """Queue the DM owed to each of `user_ids`: a single notice is the usual DM about its task, several
    become one `notices` DM that lists them (at most GROUPED_ITEMS of each kind, with the counts).
    Returns how many DMs were queued.

    The owed rows are taken off the queue by this call alone (DELETE … RETURNING), so two concurrent
    runs never queue the same notice twice; what a crashed run left owed goes with the next run. Two
    statements for all of them, however many people.
    """
    if not user_ids:
        return 0
    taken: dict[str, list[tuple[int, dict[str, int], list[dict[str, Any]]]]] = {}
    # Core: the ORM's bulk DELETE would also look for the rows among loaded objects.
    for user_id, row_id, counts, shown in session.connection().execute(
        delete(NoticeQueue)
        .where(col(NoticeQueue.team_id) == team_id, col(NoticeQueue.user_id).in_(sorted(set(user_ids))))
        .returning(col(NoticeQueue.user_id), col(NoticeQueue.id), col(NoticeQueue.counts), col(NoticeQueue.items))
    ):
        taken.setdefault(user_id, []).append((row_id, counts, shown))
    items: list[Pending] = []
    for user_id in sorted(taken):
        counted: Counter[str] = Counter()
        listed: list[dict[str, Any]] = []
        # In the order they were queued: the first GROUPED_ITEMS of each kind are the ones shown.
        for _row_id, counts, shown in sorted(taken[user_id], key=lambda row: row[0]):
            counted.update(counts)
            listed += shown
        listed = _first_of_each_kind(sorted(listed, key=lambda item: item["event_id"]))
        if not listed:
            continue
        first = listed[0]
        if counted.total() == 1:
            payload = {"user": user_id, "event_id": first["event_id"]}
            items.append(Pending(f"dm:{first['event_id']}:{user_id}", "dm", payload, first["task_id"]))
        else:
            payload = {"user": user_id, "items": listed, "counts": dict(counted)}
            items.append(Pending(f"notices:{first['event_id']}:{user_id}", "notices", payload))
    enqueue_all(session, team_id=team_id, now=now, items=items)
    return len(items)


def _first_of_each_kind(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first GROUPED_ITEMS items of each kind, in their order (rows of a resumed pass may add more)."""
    seen: Counter[str] = Counter()
    kept = []
    for item in items:
        seen[item["kind"]] += 1
        if seen[item["kind"]] <= GROUPED_ITEMS:
            kept.append(item)
    return kept


def owed_dms(session: Session) -> dict[str, list[tuple[str, int]]]:
    """Who is owed a DM, by workspace, with the weight of what is queued for them: their rows plus the items
    those rows list, which is what taking them off and rendering their DM costs (between passes normally
    nobody is owed: a run that stopped left them)."""
    owed: dict[str, list[tuple[str, int]]] = {}
    # json_array_length: the same function, with the same meaning, on SQLite and PostgreSQL.
    weight = func.count() + func.coalesce(func.sum(func.json_array_length(col(NoticeQueue.items))), 0)
    for team_id, user_id, queued in session.execute(
        columns_of(col(NoticeQueue.team_id), col(NoticeQueue.user_id), weight)
        .group_by(col(NoticeQueue.team_id), col(NoticeQueue.user_id))
        .order_by(col(NoticeQueue.team_id), col(NoticeQueue.user_id))
    ):
        owed.setdefault(team_id, []).append((user_id, int(queued)))
    return owed


def shown_of(
    number: int, title: str, url: str | None, due: datetime | None, assignee: str | None, requester: str
) -> dict[str, Any]:
    """What a grouped DM shows of a task: read from the task when the DM is sent."""
    return {
        "ref": f"T-{number}", "title": title, "url": url, "due": due.isoformat() if due else None,
        "assignee": assignee, "requester": requester,
    }
