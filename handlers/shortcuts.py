"""The creation modal's doors: the ⚡ "New task" shortcut, ⋯ "Delegate this message", and `/delegate` alone."""

from __future__ import annotations

import logging
from dataclasses import replace

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import col, select

from bot.modals import Draft, creation_modal
from bot.services import Services
from handlers.common import date_reading, explain, plain, resolve_mention
from handlers.payloads import MessageRef, Shortcut, current
from models.errors import BadInput, DomainError
from models.parsing import MAX_TITLE_CHARS, parse_delegation
from models.people import zone_of
from models.tables import Task

__all__ = ["open_creation", "register"]

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    """Attach the global and the message shortcut."""

    @app.shortcut("new_task")
    def new_task(ack: Ack, context: BoltContext, client: WebClient) -> None:
        shortcut = current(context, Shortcut)
        ack()
        open_creation(services, client, team_id=shortcut.team_id, user_id=shortcut.user_id,
                      trigger_id=shortcut.trigger_id, channel_id=None)

    @app.shortcut("delegate_message")
    def delegate_message(ack: Ack, context: BoltContext, client: WebClient) -> None:
        shortcut = current(context, Shortcut)
        ack()
        message = shortcut.message
        if message is None:  # the same callback id sent as a global shortcut: nothing to delegate
            open_creation(services, client, team_id=shortcut.team_id, user_id=shortcut.user_id,
                          trigger_id=shortcut.trigger_id, channel_id=None)
            return
        open_creation(services, client, team_id=shortcut.team_id, user_id=shortcut.user_id,
                      trigger_id=shortcut.trigger_id, channel_id=message.channel_id, message=message)


def open_creation(
    services: Services,
    client: WebClient,
    *,
    team_id: str,
    user_id: str,
    trigger_id: str | None,
    channel_id: str | None,
    message: MessageRef | None = None,
) -> None:
    """Open the creation modal for `user_id`, prefilled from `message` when one is delegated."""
    try:
        if not trigger_id:
            raise BadInput("Slack did not let me open a form for that.", "Try again.")
        person = services.directory.person(team_id, user_id)
        draft = _draft(services, team_id, user_id, channel_id, message)
        view = creation_modal(draft, zone_of(person))
        try:
            client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as error:
            log.warning("views.open for the creation modal failed: %s", error.response.get("error"))
            raise BadInput("Slack did not open the form in time.", "Try again.") from error
    except DomainError as error:
        services.tell(team_id=team_id, user_id=user_id, channel_id=channel_id, text=explain(error))


def _draft(
    services: Services, team_id: str, user_id: str, channel_id: str | None, message: MessageRef | None
) -> Draft:
    """What the modal opens with: for a message, its first line read with the `/delegate` grammar."""
    if message is None:
        return Draft(channel_id=channel_id)
    source = {"channel": message.channel_id, "ts": message.ts, "author": message.author_id or ""}
    if message.thread_ts and message.thread_ts != message.ts:
        source["thread_ts"] = message.thread_ts
    with services.db.read() as session:
        already = tuple(session.exec(
            select(Task).where(
                Task.team_id == team_id, Task.source_channel_id == message.channel_id, Task.source_ts == message.ts
            ).order_by(col(Task.number))
        ))
    author = message.author_id if message.author_id != user_id else None
    text = message.text.strip()
    first, _, rest = text.partition("\n")
    base = Draft(channel_id=message.channel_id, source=source, author_id=author, already=already)
    if not text:
        return base
    details = plain(services, team_id, text) if rest.strip() or len(first) > MAX_TITLE_CHARS else ""
    try:
        parsed = parse_delegation(first[:2000], now=services.clock(), **date_reading(services, team_id, user_id))
    except DomainError:
        # Not in the grammar (a past date, two priorities): the words as they are, for the person to edit.
        return replace(base, title=plain(services, team_id, first)[:MAX_TITLE_CHARS], details=details)
    assignee = None
    if parsed.assignee is not None:
        try:
            assignee = resolve_mention(services, team_id, parsed.assignee)
        except DomainError:
            assignee = None  # a bot or someone who left: the person picks someone
    return replace(
        base, title=plain(services, team_id, parsed.title)[:MAX_TITLE_CHARS], details=details, assignee_id=assignee,
        due_at=parsed.due_at, priority=parsed.priority, tags=parsed.tags,
    )
