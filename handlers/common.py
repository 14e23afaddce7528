"""Small helpers shared by the listeners: error wording and mention resolution."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from bot import render
from bot.services import Services
from models import schedule, tasks
from models.enums import TaskStatus
from models.errors import BadInput, DomainError, UnknownUser
from models.lifecycle import state_words
from models.notices import claim_once
from models.parsing import MAX_TITLE_CHARS, Mention, parse_delegation
from models.people import day_first, zone_of
from models.recurrence import Recurrence, split_recurrence
from models.sql import insert_ignore
from models.tables import ProcessedEvent, Task

__all__ = [
    "MAX_COMMAND_CHARS", "STEPS", "DateReading", "create", "date_reading", "delegate_text", "done_words", "explain",
    "plain", "resolve_mention", "step", "unescape",
]


class DateReading(TypedDict):
    """How a person's typed dates are read (the keyword arguments of `parse_when` and friends)."""

    tz: ZoneInfo
    day_first: bool
    day_end: time
    work_days: frozenset[int]


def date_reading(services: Services, team_id: str, user_id: str) -> DateReading:
    """Read dates as this person writes them: their zone, date order, end of day and working week."""
    person = services.directory.person(team_id, user_id)
    week = services.config.week(person)
    return DateReading(tz=zone_of(person), day_first=day_first(person), day_end=week.end, work_days=week.days)


def unescape(text: str) -> str:
    """Undo Slack's escaping of `&`, `<`, `>` in typed text (we store what people typed, escape on output)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def explain(error: DomainError) -> str:
    """A friendly ephemeral text for a domain error: what was wrong, then how to do it right."""
    return _well_formed(f"⚠️ {error.message}" + (f"\n{error.hint}" if error.hint else ""))


# Our own messages put a person, a channel, a date or a link in <…>; any other bracket, and a bare `&`,
# came from typed text an error quotes, and is escaped so it shows as typed (`<!channel>` stays text).
_OURS_OR_STRAY = re.compile(
    r"(<(?:@[UW][A-Z0-9]+|#[CGD][A-Z0-9]+|!date\^[^<>]+|(?:https?://|mailto:)[^<>]+)>)|&(?!amp;|lt;|gt;)|<|>"
)
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _well_formed(text: str) -> str:
    """`text` as well-formed mrkdwn: our own tokens kept, everything else escaped."""
    return _OURS_OR_STRAY.sub(lambda m: m.group(1) or _ENTITIES[m.group(0)], text)


_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<(?:https?://|mailto:)[^|>]*\|([^>]*)>")


def plain(services: Services, team_id: str, text: str) -> str:
    """mrkdwn turned into plain text for places Slack shows literally (modal errors): names, not `<@U…>`."""

    def name(match: re.Match[str]) -> str:
        try:
            person = services.directory.person(team_id, match.group(1))
        except DomainError:
            return "someone"
        return person.real_name or f"@{person.name}"

    text = _MENTION.sub(name, text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(2)}" if m.group(2) else "that channel", text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = text.replace("*", "").replace("`", "")
    return unescape(text.removeprefix("⚠️ "))


def resolve_mention(services: Services, team_id: str, mention: Mention) -> str:
    """The user id a mention names, checked to be a live human in this workspace."""
    if mention.user_id:
        person = services.directory.person(team_id, mention.user_id)
    else:
        assert mention.name is not None
        person = services.directory.by_name(team_id, mention.name)
    if person.is_bot:
        raise UnknownUser(f"<@{person.user_id}> is a bot and can't take tasks.", "Mention a person instead.")
    if person.deleted:
        raise UnknownUser(f"@{person.name} has left this workspace.", "Mention someone who is still here.")
    return person.user_id


# One entry per verb: every button, reaction, command and modal goes through these same operations.
STEPS: dict[str, Callable[..., Task]] = {
    "claim": tasks.claim_task,
    "release": tasks.release_task,
    "start": tasks.start_task,
    "block": tasks.block_task,
    "unblock": tasks.unblock_task,
    "done": tasks.complete_task,
    "reopen": tasks.reopen_task,
    "cancel": tasks.cancel_task,
    "assign": tasks.reassign_task,
    "due": tasks.change_due,
    "edit": tasks.edit_task,
    "snooze": schedule.snooze_task,
}

DONE_WORDS = {
    "claim": "✋ {ref} is yours.",
    "release": "↩️ {ref} is back in the pool.",
    "start": "▶️ {ref} is in progress.",
    "block": "⛔ {ref} is marked blocked; the requester has been told.",
    "unblock": "🔓 {ref} is unblocked.",
    "done": "✅ {ref} is done. Nice work!",
    "reopen": "🔁 {ref} is open again.",
    "cancel": "🚫 {ref} is cancelled.",
    "assign": "👉 {ref} now belongs to <@{assignee}>.",
    "due": "📅 {ref}'s due date is updated.",
    "edit": "✏️ {ref} is updated.",
    "snooze": "💤 Reminders for {ref} are snoozed; the due date stays as it is.",
}


def step(
    services: Services,
    verb: str,
    *,
    team_id: str,
    number: int,
    user_id: str,
    event_id: str | None = None,
    **kwargs: Any,
) -> Task | None:
    """Run one task operation in its own transaction; None when `event_id` was already handled."""
    now = services.clock()
    actor = services.actor(user_id, team_id)
    operation = STEPS[verb]
    refused: DomainError | None = None
    with services.db.transaction() as session:
        if event_id is None:
            task = operation(session=session, team_id=team_id, number=number, actor=actor, now=now, **kwargs)
        else:
            if not insert_ignore(session, ProcessedEvent, {"team_id": team_id, "event_id": event_id, "at": now}):
                return None
            try:
                # A refusal undoes the step but keeps the event's record: Slack's retry is then dropped,
                # instead of refusing (and telling the person) a second time.
                with session.begin_nested():
                    task = operation(session=session, team_id=team_id, number=number, actor=actor, now=now,
                                     **kwargs)
            except DomainError as error:
                refused = error
    if refused is not None:
        raise refused
    services.delivery.kick()
    return task


# Slack sends at most 4,000 characters of command text; anything longer is refused before it is parsed.
MAX_COMMAND_CHARS = 4000


def delegate_text(
    services: Services,
    *,
    team_id: str,
    user_id: str,
    text: str,
    channel_id: str,
    card_channel_id: str | None = None,
    card_thread_ts: str | None = None,
    source: tasks.SourceMessage | None = None,
    once: str | None = None,
) -> str | None:
    """Make what a `/delegate`-grammar text asks for (also a mention's or a DM's) and say what was made.

    The card goes to `card_channel_id` if given, else where it was asked (`channel_id`), or the pool
    channel for a task with nobody named. None when `once` was already used.
    """
    if len(unescape(text)) > MAX_COMMAND_CHARS:
        # The limit that matters to the person is the description's, not the command's.
        raise BadInput(
            f"That is {len(unescape(text)):,} characters; a task's description can be at most {MAX_TITLE_CHARS}.",
            "Keep the title short and put the details in the card's thread.",
        )
    zone = zone_of(services.directory.person(team_id, user_id))
    text, rule = split_recurrence(text)
    parsed = parse_delegation(text, now=services.clock(), **date_reading(services, team_id, user_id))
    assignee = resolve_mention(services, team_id, parsed.assignee) if parsed.assignee else None
    pool = services.settings.pool_channel
    request = tasks.NewTask(
        team_id=team_id,
        requester_id=user_id,
        title=unescape(parsed.title),
        origin_channel_id=channel_id,
        card_channel_id=card_channel_id or (pool if assignee is None and pool else channel_id),
        card_thread_ts=card_thread_ts,
        assignee_id=assignee,
        due_at=parsed.due_at,
        priority=parsed.priority,
        tags=parsed.tags,
        source=source,
    )
    return create(services, request, rule=rule, zone=zone, once=once)


def create(
    services: Services, request: tasks.NewTask, *, rule: Recurrence | None, zone: ZoneInfo, once: str | None = None,
) -> str | None:
    """Make the task (or the recurring task, with `rule`) and say, in the requester's words, what was made.

    With `once` (e.g. a modal's view id), a second request with the same key makes nothing: None.
    """
    now = services.clock()
    if rule is not None and request.due_at is not None:
        raise BadInput(
            "A recurring task takes its due time from its schedule, so leave out the due date.",
            "e.g. `/delegate @ana Send the payroll report every Monday 9am`",
        )
    who = f"<@{request.assignee_id}>" if request.assignee_id else "the pool"
    with services.db.transaction() as session:
        if once is not None and not claim_once(session, team_id=request.team_id, key=once, now=now):
            return None
        if rule is not None:
            recurring = schedule.create_recurring(session=session, request=request, rule=rule, tz=zone, now=now)
        else:
            task = tasks.create_task(session=session, request=request, now=now)
    if rule is not None:
        return (
            f"🔁 R-{recurring.id} set up: *{render.escape(request.title)}* for {who}, "
            f"{render.escape(Recurrence.from_dict(recurring.rule).describe())}. "
            f"The first one is due {render.format_when(recurring.next_at)}; each appears a day ahead. "
            "`/tasks recurring` lists them."
        )
    services.delivery.kick()
    return render.confirmation(task, zone)


def done_words(verb: str, task: Task) -> str:
    """The short confirmation shown to the person who did `verb`."""
    if verb == "claim" and task.status is not TaskStatus.ASSIGNED:
        # A repeated claim of a task that is theirs and under way: say where it stands.
        return f"✋ {task.ref} is already yours; it is {state_words(task.status)}."
    return DONE_WORDS[verb].format(ref=task.ref, assignee=task.assignee_id)
