"""Events API: reactions on cards (✋ claim, 👀 start, ✅ done), 🎫 on any message (a task of it), the bot
joining a channel, people changing."""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.services import Services
from handlers.common import explain, step
from handlers.messages import task_from_message
from handlers.payloads import MemberChanged, MemberJoined, Reaction, current
from models import outbox
from models.errors import Conflict, DomainError
from models.tables import Task
from models.tasks import card_on_its_way, task_by_card

__all__ = ["register"]

log = logging.getLogger(__name__)

# Up to 1.5 seconds (well inside Slack's 3) for a brand-new card's place to be recorded.
CARD_LOOKUPS = 15
CARD_LOOKUP_PAUSE = 0.1


def _emoji(name: str) -> str:
    # Skin tones arrive as "raised_hand::skin-tone-3"; they claim all the same.
    return name.split("::", 1)[0]


def register(app: App, services: Services) -> None:
    """Attach the reaction, membership and directory listeners."""
    settings = services.settings

    def card_task(reaction: Reaction, bot_user_id: str | None) -> Any:
        if reaction.item_type != "message":
            return None
        # A reaction on a card that was just posted can overtake the worker recording where the card is:
        # while a card for this channel is on its way, look again for a moment rather than drop the claim.
        # Any other message (a digest line, a DM) is answered at once.
        for attempt in range(CARD_LOOKUPS):
            with services.db.read() as session:
                # Asked before the lookup: a card posted by the time this says "none on its way" is found.
                waiting = reaction.item_user == bot_user_id and card_on_its_way(
                    session, team_id=reaction.team_id, channel_id=reaction.channel_id
                )
                task = task_by_card(session, team_id=reaction.team_id, channel_id=reaction.channel_id, ts=reaction.ts)
            if task is not None or not waiting or attempt == CARD_LOOKUPS - 1:
                return task
            threading.Event().wait(CARD_LOOKUP_PAUSE)
        return None

    @app.event("reaction_added")
    def reaction_added(context: BoltContext, client: WebClient) -> None:
        reaction = current(context, Reaction)
        emoji = _emoji(reaction.reaction)
        if emoji in settings.task_emoji:
            _ticket(services, client, reaction, context.bot_user_id)
            return
        if emoji in settings.claim_emoji:
            verb = "claim"
        elif emoji in settings.start_emoji:
            verb = "start"
        elif emoji in settings.done_emoji:
            verb = "done"
        else:
            return
        task = card_task(reaction, context.bot_user_id)
        if task is None:
            return
        user_id = reaction.user_id
        # 👀 and ✅ are everyday reactions; only the assignee's count as moving the task.
        if verb != "claim" and task.assignee_id != user_id:
            return
        try:
            step(services, verb, team_id=reaction.team_id, number=task.number, user_id=user_id,
                 event_id=reaction.event_id)
        except Conflict as error:
            _tell(services, reaction, explain(error))
        except DomainError as error:
            if verb == "claim":
                _tell(services, reaction, explain(error))
            else:
                log.info("reaction %s on %s ignored: %s", emoji, task.ref, error.message)

    @app.event("reaction_removed")
    def reaction_removed(context: BoltContext) -> None:
        reaction = current(context, Reaction)
        if _emoji(reaction.reaction) not in settings.claim_emoji:
            return
        task = card_task(reaction, context.bot_user_id)
        if task is None or task.assignee_id != reaction.user_id or task.status != "assigned":
            return  # only the claimer, before starting, gives a task back by removing the ✋
        try:
            step(services, "release", team_id=reaction.team_id, number=task.number, user_id=reaction.user_id,
                 event_id=reaction.event_id)
        except DomainError as error:
            log.info("unclaim of %s ignored: %s", task.ref, error.message)

    @app.event("member_joined_channel")
    def member_joined(context: BoltContext) -> None:
        joined = current(context, MemberJoined)
        if joined.user_id != context.bot_user_id:
            return
        with services.db.transaction() as session:
            woken = outbox.wake_channel(
                session, team_id=joined.team_id, channel_id=joined.channel_id, now=services.clock()
            )
        if woken:
            log.info("invited to %s: %d deliveries resumed", joined.channel_id, woken)
            services.delivery.kick()

    def member_changed(context: BoltContext) -> None:
        changed = current(context, MemberChanged)
        services.directory.learn(changed.team_id, changed.user)

    app.event("user_change")(member_changed)
    app.event("team_join")(member_changed)


def _ticket(services: Services, client: WebClient, reaction: Reaction, bot_user_id: str | None) -> None:
    """🎫 on a message: a pool task made of it, once however often and by whomever it is given."""
    if reaction.item_type != "message" or not reaction.ts or reaction.item_user in (None, bot_user_id):
        return  # a file, or the bot's own message (a card, a digest): nothing to make a task of
    with services.db.read() as session:
        made = session.exec(select(Task.number).where(
            Task.team_id == reaction.team_id, Task.source_channel_id == reaction.channel_id,
            Task.source_ts == reaction.ts,
        )).first()
    if made is not None:
        return  # the message is a task already: a second 🎫 is just a reaction
    try:
        message = _message(client, reaction.channel_id, reaction.ts)
        if message is None:
            return  # gone, or where the bot can't read
        thread = message.get("thread_ts")
        answer = task_from_message(
            services, team_id=reaction.team_id, requester_id=reaction.user_id, channel_id=reaction.channel_id,
            ts=reaction.ts, text=str(message.get("text") or ""), author_id=reaction.item_user,
            thread_ts=thread if isinstance(thread, str) and thread != reaction.ts else None, assign=False,
            once=f"source:{reaction.channel_id}:{reaction.ts}",
        )
    except DomainError as error:
        _tell(services, reaction, explain(error))
        return
    if answer is not None:
        _tell(services, reaction, answer)


def _message(client: WebClient, channel_id: str, ts: str) -> dict[str, Any] | None:
    """The message at (channel, ts), a thread's reply or not; None when Slack won't give it."""
    try:
        found = client.conversations_replies(channel=channel_id, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=2)
    except (SlackApiError, OSError) as error:
        log.info("could not read message %s in %s: %s", ts, channel_id, error)
        return None
    for message in found.get("messages") or []:
        if isinstance(message, dict) and message.get("ts") == ts:
            return message
    return None


def _tell(services: Services, reaction: Reaction, text: str) -> None:
    services.tell(
        team_id=reaction.team_id, user_id=reaction.user_id, channel_id=reaction.channel_id or None, text=text
    )
