"""Typed domain errors: each becomes a friendly ephemeral message with a hint."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "BadDueDate",
    "BadInput",
    "Conflict",
    "DomainError",
    "InvalidTransition",
    "NotAllowed",
    "TaskNotFound",
    "UnknownUser",
    "Who",
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


@dataclass(frozen=True)
class Who:
    """One kind of person who may do something: `its requester`, `a manager or an admin`, and who they are."""

    label: str
    user_ids: tuple[str, ...] = ()

    def words(self, name: Callable[[str], str]) -> str:
        """E.g. `its requester (<@URITA>)`, with each person written by `name`."""
        if not self.user_ids:
            return self.label
        return f"{self.label} ({', '.join(name(u) for u in self.user_ids)})"


def _mention(user_id: str) -> str:
    return f"<@{user_id}>"


class NotAllowed(DomainError):
    """The person may not do this; `who` says who may, so the refusal can name them."""

    def __init__(self, message: str, hint: str = "", *, who: Sequence[Who] = ()) -> None:
        self.who = tuple(who)
        super().__init__(message, hint or self.who_may(_mention))

    def who_may(self, name: Callable[[str], str]) -> str:
        """`Only … can.` naming people with `name`: a mention for mrkdwn, a display name for plain text."""
        parts = [w.words(name) for w in self.who]
        if not parts:
            return ""
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
        return f"Only {listed} can do that."


class InvalidTransition(DomainError):
    """The task's state does not allow this step."""


class Conflict(DomainError):
    """Somebody else got there first (for example, a claim that lost the race)."""
