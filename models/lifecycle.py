"""The task state machine: the one table every entry point (button, reaction, command, job) uses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.enums import TaskStatus
from models.errors import InvalidTransition

__all__ = ["TRANSITIONS", "Action", "Rule", "check_transition", "next_status"]

S = TaskStatus


class Action(StrEnum):
    """Something a person (or a job) can do to a task."""

    CLAIM = "claim"
    RELEASE = "release"
    START = "start"
    BLOCK = "block"
    UNBLOCK = "unblock"
    DONE = "done"
    REOPEN = "reopen"
    CANCEL = "cancel"
    REASSIGN = "reassign"
    CHANGE_DUE = "change_due"


@dataclass(frozen=True)
class Rule:
    """Which states an action starts from and where it leads (None: decided by the task).

    Who may take each action is in `models.permissions`.
    """

    sources: frozenset[TaskStatus]
    target: TaskStatus | None
    verb: str


ACTIVE = frozenset({S.ASSIGNED, S.IN_PROGRESS, S.BLOCKED})

TRANSITIONS: dict[Action, Rule] = {
    Action.CLAIM: Rule(frozenset({S.OPEN}), S.ASSIGNED, "claim"),
    Action.RELEASE: Rule(frozenset({S.ASSIGNED}), S.OPEN, "release"),
    Action.START: Rule(frozenset({S.ASSIGNED}), S.IN_PROGRESS, "start"),
    Action.BLOCK: Rule(frozenset({S.ASSIGNED, S.IN_PROGRESS}), S.BLOCKED, "block"),
    # Unblocking returns to the state the task was blocked from.
    Action.UNBLOCK: Rule(frozenset({S.BLOCKED}), None, "unblock"),
    Action.DONE: Rule(ACTIVE, S.DONE, "finish"),
    # Reopening goes to `assigned` when somebody owns the task, else back to the pool.
    Action.REOPEN: Rule(frozenset({S.DONE, S.CANCELLED}), None, "reopen"),
    Action.CANCEL: Rule(frozenset({S.OPEN}) | ACTIVE, S.CANCELLED, "cancel"),
    Action.REASSIGN: Rule(frozenset({S.OPEN}) | ACTIVE, S.ASSIGNED, "reassign"),
    Action.CHANGE_DUE: Rule(frozenset({S.OPEN}) | ACTIVE, None, "change the due date of"),
}

_STATE_WORDS = {
    S.OPEN: "waiting in the pool",
    S.ASSIGNED: "assigned and not started",
    S.IN_PROGRESS: "in progress",
    S.BLOCKED: "blocked",
    S.DONE: "already done",
    S.CANCELLED: "cancelled",
}


def check_transition(action: Action, status: TaskStatus, ref: str) -> Rule:
    """Return the rule for `action`, or raise InvalidTransition when `status` does not allow it."""
    rule = TRANSITIONS[action]
    if status not in rule.sources:
        raise InvalidTransition(
            f"{ref} is {_STATE_WORDS[status]}, so you can't {rule.verb} it.",
            _hint_for(action, status),
        )
    return rule


def next_status(
    action: Action, status: TaskStatus, *, has_assignee: bool, blocked_from: TaskStatus | None
) -> TaskStatus:
    """Return the state `action` leads to from `status` (raises InvalidTransition)."""
    rule = check_transition(action, status, "This task")
    if rule.target is not None:
        return rule.target
    if action is Action.UNBLOCK:
        return blocked_from or S.ASSIGNED
    if action is Action.REOPEN:
        return S.ASSIGNED if has_assignee else S.OPEN
    return status  # CHANGE_DUE keeps the state


def _hint_for(action: Action, status: TaskStatus) -> str:
    if status is S.OPEN:
        return "Claim it first (✋ on the card or the *Claim* button)."
    if status is S.BLOCKED:
        return "Unblock it first."
    if status in (S.DONE, S.CANCELLED) and action is not Action.REOPEN:
        return "Reopen it first if there is more to do."
    return "See `/tasks help` for what each step needs."
