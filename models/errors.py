"""Typed domain errors: each becomes a friendly ephemeral message with a hint."""

from __future__ import annotations

__all__ = [
    "BadDueDate",
    "BadInput",
    "Conflict",
    "DomainError",
    "InvalidTransition",
    "NotAllowed",
    "TaskNotFound",
    "UnknownUser",
]


class DomainError(Exception):
    """A user-facing error: `message` says what went wrong, `hint` how to do it right."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadInput(DomainError):
    """The text could not be understood (empty, too long, malformed)."""


class BadDueDate(DomainError):
    """A due date that cannot be read or lies in the past."""


class UnknownUser(DomainError):
    """A mention that names nobody in the workspace."""


class TaskNotFound(DomainError):
    """No task with that reference in this workspace."""


class NotAllowed(DomainError):
    """The person may not do this to this task."""


class InvalidTransition(DomainError):
    """The task's state does not allow this step."""


class Conflict(DomainError):
    """Somebody else got there first (for example, a claim that lost the race)."""
