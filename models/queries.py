"""Read-only questions about tasks, for `/tasks` and the cards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from models.enums import TaskStatus
from models.tables import Task, TaskEvent

__all__ = [
    "ACTIVE_STATUSES",
    "active_tasks",
    "history",
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


def active_tasks(
    session: Session,
    *,
    team_id: str,
    assignee_id: str | None = None,
    requester_id: str | None = None,
    status: TaskStatus | None = None,
    tag: str | None = None,
    overdue_at: datetime | None = None,
    limit: int = 50,
) -> list[Task]:
    """Unfinished tasks matching every filter given, most pressing first."""
    query = select(Task).where(Task.team_id == team_id, col(Task.status).in_(ACTIVE_STATUSES))
    if assignee_id is not None:
        query = query.where(Task.assignee_id == assignee_id)
    if requester_id is not None:
        query = query.where(Task.requester_id == requester_id)
    if status is not None:
        query = query.where(Task.status == status)
    if overdue_at is not None:
        query = query.where(col(Task.due_at).is_not(None), col(Task.due_at) <= overdue_at)
    tasks: Sequence[Task] = session.exec(query).all()
    if tag is not None:
        # Tags live in a JSON list; filtering here keeps the query portable across SQLite and PostgreSQL.
        tasks = [t for t in tasks if tag.lower() in t.tags]
    return sorted(tasks, key=sort_key)[:limit]


def history(session: Session, *, task_id: int) -> list[TaskEvent]:
    """A task's events, oldest first."""
    return list(
        session.exec(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(col(TaskEvent.id)))
    )
