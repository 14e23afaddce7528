"""Who may do what: the one table of deeds and the parties allowed each, and the refusal that names them.

Every surface (slash command, card button, overflow menu, modal, reaction, job) reaches these rules
through the domain operations, so a refusal reads the same wherever the action came from.
"""

from __future__ import annotations

from enum import StrEnum

from models.errors import NotAllowed, Who
from models.people import Actor
from models.tables import Task

__all__ = [
    "NAME_AT_MOST",
    "PERMISSIONS",
    "Deed",
    "Party",
    "allowed",
    "require",
    "require_any_on_task",
    "require_on_task",
]

# A refusal names the managers and admins when there are at most this many; beyond, it names the role.
NAME_AT_MOST = 3


class Party(StrEnum):
    """Someone a rule lets act: related to the thing acted on, or by their standing in the workspace."""

    ANYONE = "anyone"
    ASSIGNEE = "assignee"
    REQUESTER = "requester"
    MANAGER = "manager"  # a manager or an admin
    ADMIN = "admin"


class Deed(StrEnum):
    """Something a person can do that someone may be refused."""

    # On a task (the state machine in `lifecycle` says from which states).
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
    EDIT = "edit"
    SNOOZE = "snooze"
    # On a recurring task: pause, resume or stop it.
    CHANGE_RECURRING = "change_recurring"
    # Settings that reach other people.
    SET_DIGEST = "set_digest"
    STOP_DIGEST = "stop_digest"
    ADD_MANAGER = "add_manager"
    REMOVE_MANAGER = "remove_manager"
    SET_SOURCE_REPLIES = "set_source_replies"
    SET_INTAKE = "set_intake"
    # Who is on the team's roster, with which skills, office and capacity.
    MANAGE_TEAM = "manage_team"
    # Marking someone else away or back (anyone may for themselves).
    SET_AWAY = "set_away"
    # The requester muting what they hear of their own task.
    MUTE = "mute"
    # Personal: anyone, for themselves or for what they delegate. Listed so the table is complete.
    DELEGATE = "delegate"
    CREATE_RECURRING = "create_recurring"
    SET_OWN_HOURS = "set_own_hours"
    SET_OWN_MORNING_QUEUE = "set_own_morning_queue"
    LIST = "list"


_A, _AS, _R, _M, _AD = Party.ANYONE, Party.ASSIGNEE, Party.REQUESTER, Party.MANAGER, Party.ADMIN
_MOVERS = frozenset({_AS, _R, _M})
_OWNERS = frozenset({_R, _M})

PERMISSIONS: dict[Deed, frozenset[Party]] = {
    Deed.CLAIM: frozenset({_A}),
    Deed.RELEASE: frozenset({_AS}),
    Deed.START: _MOVERS,
    Deed.BLOCK: _MOVERS,
    Deed.UNBLOCK: _MOVERS,
    Deed.DONE: _MOVERS,
    Deed.REOPEN: _MOVERS,
    Deed.CANCEL: _OWNERS,
    Deed.REASSIGN: _OWNERS,
    Deed.CHANGE_DUE: _OWNERS,
    Deed.EDIT: _OWNERS,
    Deed.SNOOZE: frozenset({_AS, _M}),
    Deed.CHANGE_RECURRING: _OWNERS,
    Deed.SET_DIGEST: frozenset({_M}),
    Deed.STOP_DIGEST: frozenset({_M}),
    Deed.ADD_MANAGER: frozenset({_AD}),
    Deed.REMOVE_MANAGER: frozenset({_AD}),
    Deed.SET_SOURCE_REPLIES: frozenset({_M}),
    Deed.SET_INTAKE: frozenset({_M}),
    Deed.MANAGE_TEAM: frozenset({_M}),
    Deed.SET_AWAY: frozenset({_M}),
    Deed.MUTE: frozenset({_R}),
    Deed.DELEGATE: frozenset({_A}),
    Deed.CREATE_RECURRING: frozenset({_A}),
    Deed.SET_OWN_HOURS: frozenset({_A}),
    Deed.SET_OWN_MORNING_QUEUE: frozenset({_A}),
    Deed.LIST: frozenset({_A}),
}

_VERBS = {
    Deed.CLAIM: "claim", Deed.RELEASE: "release", Deed.START: "start", Deed.BLOCK: "block",
    Deed.UNBLOCK: "unblock", Deed.DONE: "finish", Deed.REOPEN: "reopen", Deed.CANCEL: "cancel",
    Deed.REASSIGN: "reassign", Deed.CHANGE_DUE: "change the due date of", Deed.EDIT: "edit", Deed.SNOOZE: "snooze",
    Deed.CHANGE_RECURRING: "change", Deed.SET_DIGEST: "set up", Deed.STOP_DIGEST: "turn off",
    Deed.ADD_MANAGER: "add", Deed.REMOVE_MANAGER: "remove", Deed.SET_SOURCE_REPLIES: "change",
    Deed.SET_INTAKE: "change", Deed.MANAGE_TEAM: "change", Deed.SET_AWAY: "mark",
    Deed.MUTE: "mute",
}


def allowed(deed: Deed, actor: Actor, *, requester: str | None = None, assignee: str | None = None) -> bool:
    """Whether `actor` may do `deed` to something with this requester and assignee."""
    parties = PERMISSIONS[deed]
    return (
        _A in parties
        or (_AS in parties and assignee is not None and actor.user_id == assignee)
        or (_R in parties and requester is not None and actor.user_id == requester)
        or (_M in parties and actor.is_manager)
        or (_AD in parties and actor.is_admin)
    )


def require(
    deed: Deed, actor: Actor, *, subject: str, requester: str | None = None, assignee: str | None = None
) -> None:
    """Raise NotAllowed, naming who may, unless `actor` may do `deed` to `subject` (e.g. `T-42`)."""
    if not allowed(deed, actor, requester=requester, assignee=assignee):
        raise _refusal((deed,), actor, subject=subject, requester=requester, assignee=assignee)


def _refusal(
    deeds: tuple[Deed, ...], actor: Actor, *, subject: str, requester: str | None, assignee: str | None
) -> NotAllowed:
    parties = frozenset().union(*(PERMISSIONS[d] for d in deeds))
    who: list[Who] = []
    if _AS in parties:
        who.append(Who("its assignee", (assignee,) if assignee else ()))
    if _R in parties and requester:
        who.append(Who("its requester", (requester,)))
    if _M in parties:
        # Admins first: they are the ones who can also make someone a manager.
        holders = tuple(dict.fromkeys((*actor.admins, *actor.managers)))
        who.append(Who("a manager or an admin", holders if len(holders) <= NAME_AT_MOST else ()))
    elif _AD in parties:
        who.append(Who("an admin", actor.admins if len(actor.admins) <= NAME_AT_MOST else ()))
    verbs = " or ".join(_VERBS[d] for d in deeds)
    return NotAllowed(f"You can't {verbs} {subject}.", who=who)


def require_on_task(deed: Deed, actor: Actor, task: Task) -> None:
    """Raise NotAllowed, naming who may, unless `actor` may do `deed` to `task`."""
    require(deed, actor, subject=task.ref, requester=task.requester_id, assignee=task.assignee_id)


def require_any_on_task(deeds: tuple[Deed, ...], actor: Actor, task: Task) -> None:
    """Raise NotAllowed, naming who may do any of them, unless `actor` may do one of `deeds` to `task`."""
    if not any(allowed(d, actor, requester=task.requester_id, assignee=task.assignee_id) for d in deeds):
        raise _refusal(deeds, actor, subject=task.ref, requester=task.requester_id, assignee=task.assignee_id)
