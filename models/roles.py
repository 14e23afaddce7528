"""Roles per workspace: who is an admin or a manager, granting and removing managers, and the history.

Admins are the workspace's Slack owners and admins (cached on `Person.slack_admin`) plus the operator's
`HANDOFF_ADMINS`. Managers are granted in Handoff by an admin; `HANDOFF_MANAGERS` seeds them once per
workspace, so an admin can still remove a seeded manager and the removal sticks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.enums import WorkspaceRole
from models.errors import BadInput
from models.outbox import enqueue
from models.people import Actor
from models.permissions import Deed, require
from models.sql import insert_ignore
from models.tables import Person, RoleEvent, RoleGrant

__all__ = [
    "SEEDED_BY",
    "Roles",
    "actor_in",
    "grant_manager",
    "revoke_manager",
    "role_history",
    "roles_of",
    "seed_managers",
]

# The actor recorded on role events that came from the settings rather than from a person.
SEEDED_BY = "HANDOFF_MANAGERS"
_MANAGER = WorkspaceRole.MANAGER.value


@dataclass(frozen=True)
class Roles:
    """A workspace's admins and managers, each sorted by user id."""

    admins: tuple[str, ...]
    managers: tuple[str, ...]

    def role_of(self, user_id: str) -> WorkspaceRole:
        """The person's standing: admin beats manager."""
        if user_id in self.admins:
            return WorkspaceRole.ADMIN
        if user_id in self.managers:
            return WorkspaceRole.MANAGER
        return WorkspaceRole.MEMBER


def roles_of(session: Session, *, team_id: str, extra_admins: Iterable[str] = ()) -> Roles:
    """The workspace's admins (Slack owners and admins, plus `extra_admins`) and managers."""
    slack_admins = session.exec(
        select(Person.user_id).where(
            Person.team_id == team_id, col(Person.slack_admin).is_(True), col(Person.deleted).is_(False)
        )
    ).all()
    managers = session.exec(
        select(RoleGrant.user_id).where(RoleGrant.team_id == team_id, RoleGrant.role == _MANAGER)
    ).all()
    return Roles(admins=tuple(sorted({*slack_admins, *extra_admins})), managers=tuple(sorted(managers)))


def actor_in(roles: Roles, user_id: str) -> Actor:
    """The acting person with their standing, and who else holds powers they may lack."""
    return Actor(user_id=user_id, role=roles.role_of(user_id), managers=roles.managers, admins=roles.admins)


def seed_managers(session: Session, *, team_id: str, user_ids: Iterable[str], now: datetime) -> list[str]:
    """Make each of `user_ids` a manager unless their manager role was ever granted or removed; returns who was."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return []
    known = set(
        session.exec(
            select(RoleEvent.user_id).where(
                RoleEvent.team_id == team_id, RoleEvent.role == _MANAGER, col(RoleEvent.user_id).in_(wanted)
            )
        ).all()
    )
    seeded = []
    for user_id in wanted:
        if user_id in known:
            continue
        # Two first requests at once may both get here; the grant's primary key lets one through.
        if insert_ignore(session, RoleGrant, {"team_id": team_id, "user_id": user_id, "role": _MANAGER,
                                              "granted_by": SEEDED_BY, "granted_at": now}):
            _event(session, team_id, user_id, "granted", SEEDED_BY, now)
            seeded.append(user_id)
    return seeded


def grant_manager(session: Session, *, team_id: str, actor: Actor, user_id: str, now: datetime) -> RoleGrant:
    """Make `user_id` a manager (admins only); recorded in the role history."""
    require(Deed.ADD_MANAGER, actor, subject="a manager")
    grant = RoleGrant(team_id=team_id, user_id=user_id, role=_MANAGER, granted_by=actor.user_id, granted_at=now)
    # Two admins adding the same person at once: the primary key lets one in, the other is told.
    if not insert_ignore(session, RoleGrant, grant.model_dump()):
        raise BadInput(f"<@{user_id}> is a manager already.", "`/tasks managers` lists who is.")
    event = _event(session, team_id, user_id, "granted", actor.user_id, now)
    text = (f"👔 <@{actor.user_id}> made you a Handoff manager: you can set up digests, cancel, reassign and "
            "re-date anyone's task, and you hear escalations. `/tasks managers` shows who else is one.")
    enqueue(session, team_id=team_id, key=f"role:{event.id}", kind="notice", payload={"user": user_id, "text": text},
            now=now)
    return grant


def revoke_manager(session: Session, *, team_id: str, actor: Actor, user_id: str, now: datetime) -> None:
    """Take the manager role from `user_id` (admins only); recorded in the role history."""
    require(Deed.REMOVE_MANAGER, actor, subject="a manager")
    grant = session.get(RoleGrant, (team_id, user_id), with_for_update=True)
    if grant is None:
        hint = "An admin's powers come from Slack or HANDOFF_ADMINS." if user_id in actor.admins else ""
        raise BadInput(f"<@{user_id}> is not a manager.", hint or "`/tasks managers` lists who is.")
    session.delete(grant)
    _event(session, team_id, user_id, "revoked", actor.user_id, now)


def role_history(session: Session, *, team_id: str, limit: int = 10) -> tuple[list[RoleEvent], int]:
    """The newest role changes first (at most `limit`), and how many there are in all."""
    query = select(RoleEvent).where(RoleEvent.team_id == team_id)
    events = list(session.exec(query.order_by(col(RoleEvent.id).desc()).limit(limit)))
    total = len(session.exec(select(RoleEvent.id).where(RoleEvent.team_id == team_id)).all())
    return events, total


def _event(session: Session, team_id: str, user_id: str, kind: str, actor_id: str, now: datetime) -> RoleEvent:
    event = RoleEvent(team_id=team_id, user_id=user_id, role=_MANAGER, kind=kind, actor_id=actor_id, at=now)
    session.add(event)
    session.flush()
    return event
