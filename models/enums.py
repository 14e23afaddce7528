"""Enumerations shared by the tables, the state machine and the parser."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Priority", "TaskStatus"]


class TaskStatus(StrEnum):
    """Where a task stands in its lifecycle."""

    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    """How urgent a task is; `normal` unless the requester says otherwise."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"
