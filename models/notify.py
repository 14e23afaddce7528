"""Who hears what, and when: each person's choice of DMs, their quiet hours, a requester's mute of one task.

The choices are read when a DM is about to go out (bot/delivery.py), so a change applies to what is
already queued, in every process.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlmodel import Session, select

from models.errors import BadInput
from models.people import Actor
from models.permissions import Deed, require_on_task
from models.tables import Person, Task
from models.tasks import find_task

__all__ = [
    "NOTIFY_MODES",
    "Rules",
    "comment_wanted",
    "dm_wanted",
    "mute_task",
    "muted_for",
    "notice_wanted",
    "quiet_holds",
    "quiet_of",
    "set_notify",
    "set_quiet",
]

# "all": every DM; "needed": what needs them; "summary": none but the morning DM of their day.
NOTIFY_MODES: Final = ("all", "needed", "summary")
# The event DMs that need their recipient: work given to them, what it asks or its due date changed, a
# block to clear.
_NEEDED_EVENTS: Final = {"created", "due_changed", "edited", "blocked"}
# The notices the sweep times by the recipient's own working week (they go to the assignee): quiet hours
# don't hold them, or one owed outside those hours, because the task is due then, would come too late.
_TIMED_FOR_THEM: Final = {"reminder", "overdue"}


@dataclass(frozen=True)
class Rules:
    """One person's choices, as they stand: which DMs, and until when DMs wait (None: they go now)."""

    mode: str = "all"
    quiet_until: datetime | None = None


def muted_for(task: Task, recipient: str) -> bool:
    """Whether `recipient` muted `task` as its requester (an assignee always hears of their own work)."""
    return task.requester_muted and recipient == task.requester_id and recipient != task.assignee_id


def dm_wanted(rules: Rules, event_kind: str, detail: dict[str, Any], *, recipient: str, task: Task) -> bool:
    """Whether `recipient` gets the DM about an event on `task`."""
    if muted_for(task, recipient):
        return False
    if rules.mode == "summary":
        return False
    if rules.mode == "needed":
        given = event_kind == "reassigned" and detail.get("to") == recipient
        return given or event_kind in _NEEDED_EVENTS
    return True


def comment_wanted(rules: Rules, texts: list[str], *, recipient: str, task: Task) -> bool:
    """Whether `recipient` hears of these comments (with "needed", only of those that mention them)."""
    if muted_for(task, recipient):
        return False
    if rules.mode == "summary":
        return False
    return rules.mode == "all" or any(f"<@{recipient}>" in text for text in texts)


def quiet_of(person: Person, default: bool) -> bool:
    """Whether a person's DMs wait for their working hours: their choice, else the workspace's default."""
    return default if person.quiet is None else person.quiet


def quiet_holds(kinds: Iterable[str]) -> bool:
    """Whether quiet hours hold a DM about events of these kinds: all but the assignee's reminders and
    overdue notices (an escalation is timed by the assignee's hours, not its recipient's, so it waits)."""
    return not set(kinds) <= _TIMED_FOR_THEM


def notice_wanted(rules: Rules) -> bool:
    """Whether reminders, overdue notices and escalations reach them (they need them, unless summary only)."""
    return rules.mode != "summary"


def _person(session: Session, team_id: str, user_id: str) -> Person:
    person = session.exec(select(Person).where(Person.team_id == team_id, Person.user_id == user_id)).first()
    if person is None:
        raise BadInput("I don't know you yet; try again in a moment.", "")
    return person


def set_notify(session: Session, *, team_id: str, user_id: str, mode: str) -> Person:
    """Choose which DMs a person gets."""
    if mode not in NOTIFY_MODES:
        raise BadInput(f"`{mode[:20]}` is not a choice.", "Say `/tasks notify all`, `needed` or `summary`.")
    person = _person(session, team_id, user_id)
    person.notify = mode
    session.add(person)
    return person


def set_quiet(session: Session, *, team_id: str, user_id: str, on: bool) -> Person:
    """Whether a person's DMs wait for their working hours."""
    person = _person(session, team_id, user_id)
    person.quiet = on
    session.add(person)
    return person


def mute_task(session: Session, *, team_id: str, number: int, actor: Actor, muted: bool) -> Task:
    """The requester stops (or starts again) hearing of one task."""
    task = find_task(session, team_id=team_id, number=number, lock=True)
    require_on_task(Deed.MUTE, actor, task)
    task.requester_muted = muted
    session.add(task)
    return task
