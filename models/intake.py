"""Intake channels: every new top-level message in one becomes a task."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from models.people import Actor
from models.permissions import Deed, require
from models.tables import IntakeChannel

__all__ = ["is_intake", "set_intake"]


def set_intake(session: Session, *, team_id: str, channel_id: str, actor: Actor, on: bool, now: datetime) -> bool:
    """Make `channel_id` an intake channel, or stop it being one (managers and admins); False if unchanged."""
    require(Deed.SET_INTAKE, actor, subject="intake channels")
    found = session.get(IntakeChannel, (team_id, channel_id))
    if on == (found is not None):
        return False
    if on:
        session.add(IntakeChannel(team_id=team_id, channel_id=channel_id, set_by=actor.user_id, created_at=now))
    else:
        session.delete(found)
    return True


def is_intake(session: Session, *, team_id: str, channel_id: str) -> bool:
    """Whether new messages in `channel_id` become tasks."""
    return session.exec(
        select(IntakeChannel.channel_id).where(IntakeChannel.team_id == team_id, IntakeChannel.channel_id == channel_id)
    ).first() is not None
