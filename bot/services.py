"""What every handler needs, built once by the app factory."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.delivery import Delivery
from bot.directory import Directory
from bot.settings import Settings
from models import outbox
from models.db import Database
from models.errors import DomainError
from models.people import Actor, get_person
from models.roles import actor_in, roles_of, seed_managers
from scheduler.config import JobConfig

__all__ = ["Services"]

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Settings, store, clock, people directory and the Slack delivery worker."""

    settings: Settings
    db: Database
    clock: Callable[[], datetime]
    directory: Directory
    delivery: Delivery
    config: JobConfig
    # Workspaces whose HANDOFF_MANAGERS this process has seeded already.
    _seeded: set[str] = field(default_factory=set)

    def actor(self, user_id: str, team_id: str) -> Actor:
        """The acting person with their role in the workspace (and who holds the others)."""
        self.seed_roles(team_id)
        try:
            # Looking the person up refreshes, now and then, whether Slack calls them an owner or admin.
            self.directory.person(team_id, user_id)
        except (DomainError, SlackApiError, OSError):
            log.info("could not look up %s; acting with the role last recorded", user_id)
        with self.db.read() as session:
            return actor_in(roles_of(session, team_id=team_id, extra_admins=self.settings.admins), user_id)

    def seed_roles(self, team_id: str) -> None:
        """Once per workspace and process: seed HANDOFF_MANAGERS as managers (an admin may remove them).

        Slack's owners and admins are learnt by the worker's reading of the member list, off the request path.
        """
        if team_id in self._seeded:
            return
        if self.settings.managers:
            with self.db.transaction() as session:
                seed_managers(session, team_id=team_id, user_ids=self.settings.managers, now=self.clock())
        self._seeded.add(team_id)

    def choices_changed(self, team_id: str, user_id: str) -> None:
        """After a person changed their own settings: drop the cached copy, and redraw their Home tab,
        which shows them, if they have opened it."""
        self.directory.forget(team_id, user_id)
        with self.db.transaction() as session:
            person = get_person(session, team_id=team_id, user_id=user_id)
            if person is None or person.home_opened_at is None:
                return
            outbox.enqueue(session, team_id=team_id, key=f"home:{user_id}:{uuid.uuid4().hex}", kind="home.publish",
                           payload={"user": user_id}, now=self.clock())
        self.delivery.kick()

    def tell(
        self,
        *,
        team_id: str,
        user_id: str,
        channel_id: str | None,
        text: str,
        response_url: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> None:
        """Queue an ephemeral message for one person (falls back to a DM where that can't be shown).

        With `thread_ts` it shows in that thread of the channel, where the person is looking.
        """
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
                    **({"thread_ts": thread_ts} if thread_ts else {}),
                },
                now=self.clock(),
            )
        self.delivery.kick()
