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
from models.people import Actor

__all__ = ["Services"]


@dataclass
class Services:
    """Settings, store, clock, people directory and the Slack delivery worker."""

    settings: Settings
    db: Database
    clock: Callable[[], datetime]
    directory: Directory
    delivery: Delivery

    def actor(self, user_id: str) -> Actor:
        """The acting person, with their manager flag from the settings."""
        return Actor(user_id=user_id, is_manager=user_id in self.settings.managers)

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
