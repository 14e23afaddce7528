"""Enumerations shared by the tables, the state machine and the parser."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Priority", "TaskStatus", "WorkspaceRole"]


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


class WorkspaceRole(StrEnum):
    """A person's standing in a workspace: admins may do all that managers may, and manage the managers."""

    ADMIN = "admin"
    MANAGER = "manager"
    MEMBER = "member"
