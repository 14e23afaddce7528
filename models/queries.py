"""Read-only questions about tasks, for `/tasks` and the cards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func
from sqlmodel import Session, col, select

from models.enums import Priority, TaskStatus
from models.tables import Task, TaskEvent

__all__ = [
    "ACTIVE_STATUSES",
    "RecentHistory",
    "TaskPage",
    "active_tasks",
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
    if tag is not None:
        # Tags live in a JSON list; filtering here keeps the query portable across SQLite and PostgreSQL.
        tagged = sorted((t for t in session.exec(select(Task).where(*where)) if tag.lower() in t.tags), key=sort_key)
        return TaskPage(tagged[offset : offset + limit], len(tagged), offset)
    total = session.exec(select(func.count()).select_from(Task).where(*where)).one()
    rank = case(*((col(Task.priority) == Priority(p), r) for p, r in _PRIORITY_RANK.items()), else_=2)
    undated = case((col(Task.due_at).is_(None), 1), else_=0)
    query = (
        select(Task).where(*where).order_by(rank, undated, col(Task.due_at), col(Task.number))
        .offset(offset).limit(limit)
    )
    return TaskPage(list(session.exec(query)), int(total), offset)


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
