"""Read-only questions about tasks, for `/tasks` and the cards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.enums import Priority, TaskStatus
from models.tables import Task, TaskEvent, TaskTag

__all__ = [
    "ACTIVE_STATUSES",
    "AssistantCounts",
    "DigestCounts",
    "RecentHistory",
    "TaskPage",
    "MAX_MINE",
    "active_tasks",
    "longest_unclaimed",
    "my_open_tasks",
    "digest_counts",
    "done_since",
    "history",
    "recent_history",
    "is_overdue",
    "sort_key",
]

ACTIVE_STATUSES = (TaskStatus.OPEN, TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED)
_PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


def is_overdue(task: Task, now: datetime) -> bool:
    """True when an unfinished task is past its due time."""
    return task.due_at is not None and task.due_at <= now and task.status in ACTIVE_STATUSES


def sort_key(task: Task) -> tuple[int, float, int]:
    """Order for lists: priority, then due time (undated last), then age."""
    due = task.due_at.timestamp() if task.due_at else float("inf")
    return (_PRIORITY_RANK.get(task.priority, 2), due, task.number)


@dataclass(frozen=True)
class TaskPage:
    """One page of a list, with the true number of matches."""

    tasks: list[Task]
    total: int
    offset: int


@dataclass(frozen=True)
class RecentHistory:
    """A task's newest events (newest first) and how many older ones there are."""

    events: list[TaskEvent]
    older: int


def active_tasks(
    session: Session,
    *,
    team_id: str,
    assignee_id: str | None = None,
    requester_id: str | None = None,
    status: TaskStatus | None = None,
    tag: str | None = None,
    overdue_at: datetime | None = None,
    due_between: tuple[datetime, datetime] | None = None,
    offset: int = 0,
    limit: int = 25,
) -> TaskPage:
    """Unfinished tasks matching every filter given, most pressing first: one page and the true total."""
    where: list[ColumnElement[bool]] = [col(Task.team_id) == team_id, col(Task.status).in_(ACTIVE_STATUSES)]
    if assignee_id is not None:
        where.append(col(Task.assignee_id) == assignee_id)
    if requester_id is not None:
        where.append(col(Task.requester_id) == requester_id)
    if status is not None:
        where.append(col(Task.status) == status)
    if overdue_at is not None:
        where += [col(Task.due_at).is_not(None), col(Task.due_at) <= overdue_at]
    if due_between is not None:
        # Strictly after the start, so "due today" never repeats what is already overdue at that instant.
        where += [col(Task.due_at) > due_between[0], col(Task.due_at) < due_between[1]]
    if tag is not None:
        tagged = select(TaskTag.task_id).where(TaskTag.team_id == team_id, TaskTag.tag == tag.lower())
        where.append(col(Task.id).in_(tagged))
    total = session.exec(select(func.count()).select_from(Task).where(*where)).one()
    rank = case(*((col(Task.priority) == Priority(p), r) for p, r in _PRIORITY_RANK.items()), else_=2)
    undated = case((col(Task.due_at).is_(None), 1), else_=0)
    query = (
        select(Task).where(*where).order_by(rank, undated, col(Task.due_at), col(Task.number))
        .offset(offset).limit(limit)
    )
    return TaskPage(list(session.exec(query)), int(total), offset)


# A person's own open tasks read for the Home tab at most; beyond, the tab says how many more there are.
MAX_MINE = 300


def my_open_tasks(session: Session, *, team_id: str, user_id: str) -> TaskPage:
    """Up to MAX_MINE of the person's unfinished tasks (soonest due first, undated last), and the true total."""
    where = [col(Task.team_id) == team_id, col(Task.assignee_id) == user_id, col(Task.status).in_(ACTIVE_STATUSES)]
    total = session.exec(select(func.count()).select_from(Task).where(*where)).one()
    undated = case((col(Task.due_at).is_(None), 1), else_=0)
    query = select(Task).where(*where).order_by(undated, col(Task.due_at), col(Task.number)).limit(MAX_MINE)
    return TaskPage(list(session.exec(query)), int(total), 0)


def longest_unclaimed(session: Session, *, team_id: str, limit: int = 5) -> TaskPage:
    """The pool's tasks that have waited longest, and how many are waiting."""
    where = [col(Task.team_id) == team_id, col(Task.status) == TaskStatus.OPEN]
    total = session.exec(select(func.count()).select_from(Task).where(*where)).one()
    query = select(Task).where(*where).order_by(col(Task.created_at), col(Task.number)).limit(limit)
    return TaskPage(list(session.exec(query)), int(total), 0)


def history(session: Session, *, task_id: int) -> list[TaskEvent]:
    """A task's events, oldest first."""
    return list(
        session.exec(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(col(TaskEvent.id)))
    )


def recent_history(session: Session, *, task_id: int, limit: int = 20) -> RecentHistory:
    """A task's newest `limit` events, newest first, and the count of those older."""
    events = list(
        session.exec(
            select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(col(TaskEvent.id).desc()).limit(limit)
        )
    )
    total = session.exec(select(func.count()).select_from(TaskEvent).where(TaskEvent.task_id == task_id)).one()
    return RecentHistory(events, int(total) - len(events))


@dataclass(frozen=True)
class AssistantCounts:
    """One person's numbers in a digest."""

    user_id: str
    open: int
    overdue: int
    due_today: int
    blocked: int
    done: int


@dataclass(frozen=True)
class DigestCounts:
    """A workspace's numbers for a digest, and each assistant's (everyone who holds or held a task)."""

    open: int
    overdue: int
    due_today: int
    blocked: int
    unclaimed: int
    done: int
    done_on_time: int
    assistants: list[AssistantCounts]


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def digest_counts(
    session: Session, *, team_id: str, now: datetime, day_end: datetime, since: datetime
) -> DigestCounts:
    """Counts for a digest in two statements, whatever the number of tasks: SQL aggregates, no rows loaded.

    Overdue is due at or before `now`, due today after `now` and before `day_end`, done is completed after
    `since`; overdue, due today and blocked overlap as their `/tasks` lists do.
    """
    due = col(Task.due_at)
    active = col(Task.status).in_(ACTIVE_STATUSES)
    overdue = and_(active, due <= now)
    today = and_(active, due > now, due < day_end)
    blocked = col(Task.status) == TaskStatus.BLOCKED
    done = and_(col(Task.status) == TaskStatus.DONE, col(Task.completed_at) > since)
    on_time = and_(done, or_(due.is_(None), col(Task.completed_at) <= due))
    team = col(Task.team_id) == team_id
    conn = session.connection()
    headline = [active, overdue, today, blocked, col(Task.status) == TaskStatus.OPEN, done, on_time]
    totals = conn.execute(sa_select(*map(_count, headline)).where(team, or_(active, done))).one()
    # Every task ever assigned counts someone as an assistant, so a person with nothing open shows at zero.
    assignee = col(Task.assignee_id)
    per_person = [active, overdue, today, blocked, done]
    rows = conn.execute(
        sa_select(assignee, *map(_count, per_person)).where(team, assignee.is_not(None)).group_by(assignee)
    ).all()
    people = [AssistantCounts(str(row[0]), *(int(n) for n in row[1:])) for row in rows]
    n = [int(x) for x in totals]
    return DigestCounts(n[0], n[1], n[2], n[3], n[4], n[5], n[6], assistants=people)


def done_since(session: Session, *, team_id: str, since: datetime, limit: int) -> list[Task]:
    """The `limit` tasks completed most recently after `since`, newest first."""
    return list(
        session.exec(
            select(Task)
            .where(Task.team_id == team_id, Task.status == TaskStatus.DONE, col(Task.completed_at) > since)
            .order_by(col(Task.completed_at).desc(), col(Task.number).desc())
            .limit(limit)
        )
    )
