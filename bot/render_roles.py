"""`/tasks managers`: the workspace's admins and managers, what each may do, and the history of changes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.render import format_when
from models.roles import Roles
from models.tables import RoleEvent

__all__ = ["roles_summary"]

Blocks = list[dict[str, Any]]

_USER = re.compile(r"^[UW][A-Z0-9]+$")
WHAT_MANAGERS_DO = (
    "Managers and admins set up and turn off digests, cancel, reassign and re-date anyone's task, snooze it, "
    "and pause or stop anyone's recurring task. Managers hear escalations. Admins also add and remove "
    "managers: `/tasks managers add @name`, `/tasks managers remove @name`."
)


def _people(user_ids: Sequence[str], empty: str) -> str:
    return ", ".join(f"<@{u}>" for u in user_ids) if user_ids else empty


def _by(actor_id: str) -> str:
    # Changes that came from the settings or a migration name their source, not a person.
    return f"<@{actor_id}>" if _USER.match(actor_id) else f"`{actor_id}`"


def _line(event: RoleEvent) -> str:
    change = "made {who} a manager" if event.kind == "granted" else "removed {who} as a manager"
    return f"• {format_when(event.at)} · {_by(event.actor_id)} " + change.format(who=f"<@{event.user_id}>")


def roles_summary(roles: Roles, events: Sequence[RoleEvent], total: int) -> tuple[str, Blocks]:
    """The roles message: who holds which role, what they may do, and the newest role changes."""
    who = (
        f"*Admins* (Slack owners and admins, and `HANDOFF_ADMINS`): {_people(roles.admins, '_none known yet_')}\n"
        f"*Managers*: {_people(roles.managers, '_none yet_')}"
    )
    lines = [_line(e) for e in events] or ["_No changes yet._"]
    if total > len(events):
        lines.append(f"_…and {total - len(events)} older._")
    history = "*Role changes*, newest first\n" + "\n".join(lines)
    blocks: Blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": who}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": WHAT_MANAGERS_DO}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": history}},
    ]
    return f"Admins: {_people(roles.admins, 'none')}. Managers: {_people(roles.managers, 'none')}.", blocks
