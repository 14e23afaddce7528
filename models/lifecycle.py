"""The task state machine: the one table every entry point (button, reaction, command, job) uses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.enums import TaskStatus
from models.errors import Conflict, InvalidTransition

__all__ = [
    "FINISHED",
    "TRANSITIONS",
    "Action",
    "Rule",
    "check_claim",
    "check_transition",
    "next_status",
    "state_words",
]

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
FINISHED = frozenset({S.DONE, S.CANCELLED})

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


def state_words(status: TaskStatus) -> str:
    """How a sentence says a task is in `status` ("in progress", "already done", …)."""
    return _STATE_WORDS[status]


def check_claim(
    status: TaskStatus,
    ref: str,
    *,
    assignee_id: str | None,
    requester_id: str,
    actor_id: str,
    may_reopen: bool,
) -> bool:
    """Whether a claim takes the task (True) or repeats one that is already the claimer's (False).

    A finished task raises InvalidTransition, even for its own assignee, and offers a reopen to those
    who may reopen it; a task that is someone else's raises Conflict naming them.
    """
    if status is S.OPEN:
        return True
    if status in FINISHED:
        if may_reopen:
            hint = f"If there is more to do, reopen it: `/tasks reopen {ref}`."
        else:
            hint = f"If there is more to do, ask its requester (<@{requester_id}>) to reopen it."
        raise InvalidTransition(f"{ref} is {_STATE_WORDS[status]}, so there is nothing to claim.", hint)
    if assignee_id == actor_id:
        return False
    if assignee_id:
        raise Conflict(
            f"{ref} already belongs to <@{assignee_id}> ({_STATE_WORDS[status]}).", "Pick another from `/tasks open`."
        )
    check_transition(Action.CLAIM, status, ref)  # an active task with nobody on it: refused by the table
    return True


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
