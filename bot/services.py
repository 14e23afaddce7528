"""What every handler needs, built once by the app factory."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.delivery import Delivery
from bot.directory import Directory
from bot.settings import Settings
from models import outbox
from models.db import Database
from models.people import Actor, get_person
from scheduler.config import JobConfig

__all__ = ["Services"]


@dataclass
class Services:
    """Settings, store, clock, people directory and the Slack delivery worker."""

    settings: Settings
    db: Database
    clock: Callable[[], datetime]
    directory: Directory
    delivery: Delivery
    config: JobConfig

    def actor(self, user_id: str, team_id: str | None = None) -> Actor:
        """The acting person; a manager when listed in the settings or recorded (e.g. by setting up a digest)."""
        if user_id in self.settings.managers:
            return Actor(user_id=user_id, is_manager=True)
        if team_id is None:
            return Actor(user_id=user_id)
        with self.db.read() as session:
            person = get_person(session, team_id=team_id, user_id=user_id)
            return Actor(user_id=user_id, is_manager=bool(person and person.is_manager))

    def tell(
        self,
        *,
        team_id: str,
        user_id: str,
        channel_id: str | None,
        text: str,
        response_url: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        """Queue an ephemeral message for one person (falls back to a DM where that can't be shown)."""
        with self.db.transaction() as session:
            outbox.enqueue(
                session,
                team_id=team_id,
                key=f"ephemeral:{uuid.uuid4().hex}",
                kind="ephemeral" if channel_id or response_url else "notice",
                payload={
                    "channel": channel_id,
                    "user": user_id,
                    "text": text,
                    "blocks": blocks,
                    "response_url": response_url,
                },
                now=self.clock(),
            )
        self.delivery.kick()
