"""Messages: a mention of the bot makes a task; in the Handoff DM, people delegate and ask `/tasks` things."""

from __future__ import annotations

import logging
import re

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.helptext import DM_HELP, MENTION_HELP
from bot.services import Services
from handlers.commands import MOVES, tasks_answer
from handlers.common import create, date_reading, delegate_text, explain, resolve_mention, unescape
from handlers.payloads import MessagePosted, SlashCommand, current
from models.enums import Priority
from models.errors import DomainError
from models.intake import is_intake
from models.notices import claim_once
from models.parsing import MAX_TITLE_CHARS, parse_delegation, parse_mention
from models.people import zone_of
from models.tasks import MAX_DETAILS_CHARS, NewTask, SourceMessage, add_comment, task_by_thread, task_number

__all__ = ["register", "task_from_message"]

log = logging.getLogger(__name__)

# Words that, alone, are a `/tasks` question in the DM ("open", "today"); with more after them they
# start a title ("Open the post by Friday"), which the `/delegate` grammar reads.
_LIST_WORDS = {"mine", "my", "me", "delegated", "open", "pool", "unclaimed", "overdue", "late", "today", "blocked",
               "recurring", "managers", "hours", "morning", "team"}
_HELP_WORDS = {"help", "?", "hi", "hello", "hey"}


def register(app: App, services: Services) -> None:
    """Attach the mention and message listeners."""

    @app.event("app_mention")
    def mentioned(context: BoltContext, client: WebClient) -> None:
        message = current(context, MessagePosted)
        if message.user_id is None or message.user_id == context.bot_user_id:
            return
        _on_mention(services, client, message, context.bot_user_id or "")

    @app.event("message")
    def message_posted(context: BoltContext) -> None:
        message = current(context, MessagePosted)
        if message.user_id is None or message.bot_id or message.user_id == context.bot_user_id:
            return  # a bot's message, the bot's own included
        if message.subtype not in (None, "file_share", "thread_broadcast"):
            return  # edits, deletions, joins
        if message.channel_type == "im":
            if message.subtype != "thread_broadcast":
                _in_dm(services, message)
            return
        if message.in_thread:
            _comment(services, message)  # a reply in a card's thread is a comment on its task
            return
        if message.subtype == "thread_broadcast" or f"<@{context.bot_user_id}" in message.text:
            return  # a broadcast reply is no request; a mention of the bot is its app_mention's
        if message.subtype == "file_share" and not message.text.strip():
            return  # a file with no words: nothing to make a task of
        with services.db.read() as session:
            intake = is_intake(session, team_id=message.team_id, channel_id=message.channel_id)
        if intake:
            _from_intake(services, message)


def _without_bot(text: str, bot_user_id: str) -> str:
    """The text with the mentions of the bot taken out (`@Handoff @ana send the W-9` → `@ana send the W-9`)."""
    return re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>[,:]?", " ", text).strip() if bot_user_id else text


def _on_mention(services: Services, client: WebClient, message: MessagePosted, bot_user_id: str) -> None:
    """`@Handoff @ana send the W-9 by Friday`: a task, its card in the thread (or the channel) it was asked in."""
    user_id = message.user_id
    assert user_id is not None
    thread = message.thread_ts if message.in_thread else None
    text = _without_bot(message.text, bot_user_id)
    try:
        if not text:
            services.tell(team_id=message.team_id, user_id=user_id, channel_id=message.channel_id,
                          thread_ts=thread, text=MENTION_HELP)
            return
        if thread is not None:
            # In a thread, the thread's parent is what the task is about; the card joins the thread.
            source = SourceMessage(channel_id=message.channel_id, ts=thread,
                                   author_id=_author(client, message.channel_id, thread))
        else:
            source = SourceMessage(channel_id=message.channel_id, ts=message.ts, author_id=user_id)
        answer = delegate_text(
            services, team_id=message.team_id, user_id=user_id, text=text, channel_id=message.channel_id,
            card_channel_id=message.channel_id, card_thread_ts=thread, source=source,
            once=message.event_id or f"mention:{message.channel_id}:{message.ts}",
        )
    except DomainError as error:
        services.tell(team_id=message.team_id, user_id=user_id, channel_id=message.channel_id, thread_ts=thread,
                      text=explain(error))
        return
    if answer is not None:
        services.tell(team_id=message.team_id, user_id=user_id, channel_id=message.channel_id, thread_ts=thread,
                      text=answer)


def _author(client: WebClient, channel_id: str, ts: str) -> str | None:
    """Who wrote a thread's parent message; None when Slack won't say (the card then names no author)."""
    try:
        found = client.conversations_replies(channel=channel_id, ts=ts, limit=1, inclusive=True)
    except (SlackApiError, OSError) as error:
        log.info("could not read the parent of thread %s in %s: %s", ts, channel_id, error)
        return None
    messages = found.get("messages") or []
    parent = messages[0] if messages and isinstance(messages[0], dict) else {}
    author = parent.get("user")
    return author if isinstance(author, str) and not parent.get("bot_id") else None


def _is_tasks_question(words: list[str]) -> bool:
    head = words[0].lower()
    if head == "tasks" or (len(words) == 1 and (head in _LIST_WORDS or head.startswith("#"))):
        return True
    if head in MOVES and len(words) > 1:
        try:
            return task_number(words[1]) is not None
        except DomainError:
            return True  # `done T-0`: a /tasks move naming no task, answered as /tasks answers it
    if len(words) == 1:
        try:
            return task_number(words[0]) is not None or parse_mention(words[0]) is not None
        except DomainError:
            return True
    return False


def _in_dm(services: Services, message: MessagePosted) -> None:
    """In the Handoff DM: `/tasks` words are answered there; anything else is delegated with `/delegate`'s grammar."""
    user_id = message.user_id
    assert user_id is not None
    team_id = message.team_id
    words = message.text.split()
    once = message.event_id or f"dm:{message.channel_id}:{message.ts}"
    try:
        if not words or words[0].lower() in _HELP_WORDS:
            if _first(services, team_id, once):
                services.tell(team_id=team_id, user_id=user_id, channel_id=None, text=DM_HELP)
            return
        if _is_tasks_question(words):
            if not _first(services, team_id, once):
                return
            rest = words[1:] if words[0].lower() == "tasks" else words
            command = SlashCommand(command="/tasks", team_id=team_id, user_id=user_id, channel_id=message.channel_id,
                                   text=" ".join(rest), response_url=None, trigger_id=None)
            reply = tasks_answer(services, command, " ".join(rest))
            text, blocks = (reply, None) if isinstance(reply, str) else reply
            services.tell(team_id=team_id, user_id=user_id, channel_id=None, text=text, blocks=blocks)
            return
        # As `/delegate` typed here: the card goes in this DM, a task for nobody to the pool channel if set.
        answer = delegate_text(
            services, team_id=team_id, user_id=user_id, text=message.text, channel_id=message.channel_id, once=once,
        )
    except DomainError as error:
        services.tell(team_id=team_id, user_id=user_id, channel_id=None, text=explain(error))
        return
    if answer is not None:
        services.tell(team_id=team_id, user_id=user_id, channel_id=None, text=answer)


def _first(services: Services, team_id: str, key: str) -> bool:
    """Record that this message was answered; False when it already was (Slack delivering it again)."""
    with services.db.transaction() as session:
        return claim_once(session, team_id=team_id, key=key, now=services.clock())


def _comment(services: Services, message: MessagePosted) -> None:
    """A reply in a card's thread: a comment in the task's history, told to whoever it concerns (once)."""
    user_id, thread = message.user_id, message.thread_ts
    assert user_id is not None and thread is not None
    if not message.text.strip() and not message.has_files:
        return
    now = services.clock()
    with services.db.transaction() as session:
        task = task_by_thread(session, team_id=message.team_id, channel_id=message.channel_id, thread_ts=thread,
                              ts=message.ts)
        if task is None:
            return  # a thread that is no card's
        if not claim_once(session, team_id=message.team_id, key=f"comment:{message.channel_id}:{message.ts}", now=now):
            return
        text = message.text if message.text.strip() else "(shared a file)"
        add_comment(session, task=task, author_id=user_id, text=unescape(text), ts=message.ts, now=now)
    services.delivery.kick()


def _from_intake(services: Services, message: MessagePosted) -> None:
    """A new message in an intake channel: a task with its writer as the requester, read with the grammar."""
    user_id = message.user_id
    assert user_id is not None
    try:
        answer = task_from_message(
            services, team_id=message.team_id, requester_id=user_id, channel_id=message.channel_id, ts=message.ts,
            text=message.text, author_id=user_id, thread_ts=None, assign=True,
            once=f"source:{message.channel_id}:{message.ts}",
        )
    except DomainError as error:
        services.tell(team_id=message.team_id, user_id=user_id, channel_id=message.channel_id, text=explain(error))
        return
    if answer is not None:
        services.tell(team_id=message.team_id, user_id=user_id, channel_id=message.channel_id, text=answer)


def task_from_message(
    services: Services,
    *,
    team_id: str,
    requester_id: str,
    channel_id: str,
    ts: str,
    text: str,
    author_id: str | None,
    thread_ts: str | None,
    assign: bool,
    once: str,
) -> str | None:
    """Make a task of a message someone wrote (an intake channel's, or one given a 🎫), linked to it.

    Its first line is read with the `/delegate` grammar (with `assign`, a leading mention assigns); what
    the grammar can't read stays in the title, and the answer says so: a request is never dropped. The
    card goes to the pool channel for a task with nobody on it (if one is set), else into the message's
    thread. None when `once` was used already.
    """
    first, _, rest = text.strip().partition("\n")
    problem = ""
    try:
        parsed = parse_delegation(first[:2000], now=services.clock(), **date_reading(services, team_id, requester_id))
        title, due_at, priority, tags = unescape(parsed.title), parsed.due_at, parsed.priority, parsed.tags
        assignee = resolve_mention(services, team_id, parsed.assignee) if assign and parsed.assignee else None
    except DomainError as error:
        cut = unescape(first).strip()
        title = cut if len(cut) <= MAX_TITLE_CHARS else cut[: MAX_TITLE_CHARS - 1].rstrip() + "…"
        due_at, priority, tags, assignee = None, Priority.NORMAL, (), None
        problem = f"\n⚠️ I kept the words as the title: {explain(error).removeprefix('⚠️ ')}"
    whole = unescape(text.strip())
    details = whole[:MAX_DETAILS_CHARS] if rest.strip() or len(unescape(first)) > MAX_TITLE_CHARS else None
    pool = services.settings.pool_channel
    to_pool = assignee is None and pool is not None
    request = NewTask(
        team_id=team_id,
        requester_id=requester_id,
        title=title or "(no text)",
        details=details,
        origin_channel_id=channel_id,
        card_channel_id=pool if to_pool and pool else channel_id,
        card_thread_ts=None if to_pool else (thread_ts or ts),
        assignee_id=assignee,
        due_at=due_at,
        priority=priority,
        tags=tags,
        source=SourceMessage(channel_id=channel_id, ts=ts, author_id=author_id, thread_ts=thread_ts),
    )
    zone = zone_of(services.directory.person(team_id, requester_id))
    answer = create(services, request, rule=None, zone=zone, once=once)
    return None if answer is None else answer + problem
