"""Slash commands: `/delegate` creates tasks, `/tasks` finds and moves them."""

from __future__ import annotations

import logging
from datetime import time, timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import render
from bot.helptext import DELEGATE_HELP, TASKS_HELP
from bot.modals import edit_modal
from bot.render_roles import roles_summary
from bot.render_team import team_summary
from bot.services import Services
from handlers.common import date_reading, delegate_text, done_words, explain, resolve_mention, step, unescape
from handlers.payloads import SlashCommand, current, parse_number
from handlers.shortcuts import open_creation
from models.availability import parse_away, set_away, set_back
from models.enums import TaskStatus
from models.errors import BadInput, DomainError
from models.intake import set_intake
from models.localtime import local_instant
from models.notify import mute_task, quiet_of, set_notify, set_quiet
from models.parsing import day_first_for, parse_mention, parse_when
from models.people import zone_of
from models.permissions import Deed, require_on_task
from models.queries import active_tasks, recent_history
from models.roles import grant_manager, revoke_manager, role_history, roles_of
from models.roster import (
    add_member,
    change_skills,
    parse_member_terms,
    parse_skill_changes,
    remove_member,
    roster,
    set_capacity,
)
from models.schedule import (
    list_recurring,
    parse_clock,
    set_digest,
    set_hours,
    set_morning_queue,
    set_recurring_status,
    snooze_until,
    stop_digest,
)
from models.tasks import find_task, set_source_replies, source_replies_on, task_number
from models.worktime import format_work_hours, parse_work_hours, to_dict

__all__ = ["register"]

log = logging.getLogger(__name__)

LIST_PAGE = 25
MOVES = {"claim", "release", "start", "block", "unblock", "done", "reopen", "cancel", "assign", "due", "snooze"}


def register(app: App, services: Services) -> None:
    """Attach `/delegate` and `/tasks`."""

    @app.command("/delegate")
    def delegate(ack: Ack, context: BoltContext, client: WebClient) -> None:
        command = current(context, SlashCommand)
        text = command.text.strip()
        if not text:
            # `/delegate` alone opens the creation modal (answered with nothing: the modal is the answer).
            ack()
            open_creation(services, client, team_id=command.team_id, user_id=command.user_id,
                          trigger_id=command.trigger_id, channel_id=command.channel_id)
            return
        if text.lower() in {"help", "?"}:
            ack(response_type="ephemeral", text=DELEGATE_HELP)
            return
        try:
            ack(response_type="ephemeral", text=_delegate(services, command, text))
        except DomainError as error:
            ack(response_type="ephemeral", text=explain(error))

    @app.command("/tasks")
    def tasks_command(ack: Ack, context: BoltContext, client: WebClient) -> None:
        command = current(context, SlashCommand)
        text = command.text.strip()
        words = text.split()
        if words and words[0].lower() == "edit":
            ack()  # the form is the answer
            _open_edit(services, client, command, words[1:])
            return
        try:
            reply = _tasks(services, command, text)
        except DomainError as error:
            ack(response_type="ephemeral", text=explain(error))
            return
        if isinstance(reply, str):
            ack(response_type="ephemeral", text=reply)
        else:
            ack(response_type="ephemeral", text=reply[0], blocks=reply[1])


def _open_edit(services: Services, client: WebClient, command: SlashCommand, args: list[str]) -> None:
    """`/tasks edit T-42`: the edit form, for the requester or a manager."""
    try:
        number = task_number(args[0]) if len(args) == 1 else None
        if number is None:
            raise BadInput("Which task? Say `/tasks edit T-42`.", "")
        if not command.trigger_id:
            raise BadInput("Slack did not let me open a form for that.", "Try again.")
        actor = services.actor(command.user_id, command.team_id)
        with services.db.read() as session:
            task = find_task(session, team_id=command.team_id, number=number)
        require_on_task(Deed.EDIT, actor, task)
        zone = zone_of(services.directory.person(command.team_id, command.user_id))
        client.views_open(trigger_id=command.trigger_id, view=edit_modal(task, zone, channel_id=command.channel_id))
    except DomainError as error:
        services.tell(team_id=command.team_id, user_id=command.user_id, channel_id=command.channel_id,
                      response_url=command.response_url, text=explain(error))


def _delegate(services: Services, command: SlashCommand, text: str) -> str:
    answer = delegate_text(
        services, team_id=command.team_id, user_id=command.user_id, text=text, channel_id=command.channel_id,
    )
    assert answer is not None
    return answer


def tasks_answer(services: Services, command: SlashCommand, text: str) -> str | tuple[str, render.Blocks]:
    """What `/tasks <text>` answers (also the Handoff DM's answer to the same words)."""
    return _tasks(services, command, text)


def _tasks(services: Services, command: SlashCommand, text: str) -> str | tuple[str, render.Blocks]:
    team_id, user_id = command.team_id, command.user_id
    words = text.split()
    page = 1
    if len(words) >= 2 and words[-2].lower() == "page":
        page = _page_number(words[-1])
        words = words[:-2]
    head = words[0].lower() if words else "mine"
    now = services.clock()
    if head in {"help", "?"}:
        return TASKS_HELP
    if head in MOVES:
        return _move(services, command, head, words[1:])
    if head in _SETTINGS:
        return _SETTINGS[head](services, command, words[1:])
    ref = task_number(words[0]) if words else None
    if ref is not None and len(words) == 1:
        with services.db.read() as session:
            task = find_task(session, team_id=team_id, number=ref)
            recent = recent_history(session, task_id=task.id or 0)
        return render.task_detail(task, recent, now)
    filters: dict[str, Any]
    if head in {"mine", "my", "me"}:
        heading, filters, empty = "Your open tasks", {"assignee_id": user_id}, "Nothing on your plate. 🎉"
    elif head == "delegated":
        heading, filters, empty = "Tasks you delegated", {"requester_id": user_id}, "You have no open requests."
    elif head in {"open", "pool", "unclaimed"}:
        heading, filters, empty = "Waiting in the pool", {"status": TaskStatus.OPEN}, "The pool is empty."
    elif head in {"overdue", "late"}:
        heading, filters, empty = "Overdue", {"overdue_at": now}, "Nothing is overdue. 🎉"
    elif head == "today":
        zone = zone_of(services.directory.person(team_id, user_id))
        midnight = local_instant(now.astimezone(zone).date() + timedelta(days=1), time(0, 0), zone)
        heading, filters, empty = "Due today", {"due_between": (now, midnight)}, "Nothing else is due today."
    elif head == "blocked":
        heading, filters, empty = "Blocked", {"status": TaskStatus.BLOCKED}, "Nothing is blocked."
    elif head.startswith("#") and len(head) > 1:
        tag = head[1:]
        shown = render.escape(tag)
        heading, filters, empty = f"Open tasks tagged #{shown}", {"tag": tag}, f"No open tasks tagged #{shown}."
    elif (mention := parse_mention(words[0])) is not None:
        who = resolve_mention(services, team_id, mention)
        heading, filters, empty = f"Open tasks of <@{who}>", {"assignee_id": who}, "Nothing open."
    else:
        raise BadInput(f"I don't know `/tasks {render.escape(text)}`.", "Try `/tasks help` for what I understand.")
    with services.db.read() as session:
        found = active_tasks(session, team_id=team_id, offset=(page - 1) * LIST_PAGE, limit=LIST_PAGE, **filters)
    more = "/tasks " + " ".join(words) if words else "/tasks"
    return render.task_list(heading, found, now, empty=empty, more=render.escape(unescape(more)))


def _page_number(word: str) -> int:
    if not (word.isascii() and word.isdigit()) or not 1 <= int(word) <= 10_000:
        raise BadInput(f"`{render.escape(unescape(word))}` is not a page number.", "e.g. `/tasks open page 2`")
    return int(word)


def _move(services: Services, command: SlashCommand, verb: str, args: list[str]) -> str:
    team_id, user_id = command.team_id, command.user_id
    number = task_number(args[0]) if args else None
    if number is None:
        raise BadInput(f"Which task? Say `/tasks {verb} T-42`.", "`/tasks` lists your tasks with their numbers.")
    rest = unescape(" ".join(args[1:]).strip())
    kwargs: dict[str, Any] = {}
    if verb == "block":
        kwargs["reason"] = rest
    elif verb == "done":
        kwargs["note"] = rest or None
    elif verb == "cancel":
        kwargs["reason"] = rest or None
    elif verb == "assign":
        mention = parse_mention(args[1]) if len(args) > 1 else None
        if mention is None:
            raise BadInput("Whom to? Say `/tasks assign T-42 @ben`.", "")
        kwargs["assignee_id"] = resolve_mention(services, team_id, mention)
    elif verb == "snooze":
        kwargs["until"] = snooze_until(rest, now=services.clock(), **date_reading(services, team_id, user_id))
    elif verb == "due":
        if not rest:
            raise BadInput("When? Say `/tasks due T-42 Friday 5pm`, or `none` to clear it.", "")
        if rest.lower() in {"none", "clear", "-"}:
            kwargs["due_at"] = None
        else:
            kwargs["due_at"] = parse_when(rest, now=services.clock(), **date_reading(services, team_id, user_id))
    elif rest:
        raise BadInput(f"`/tasks {verb}` takes only the task, e.g. `/tasks {verb} T-{number}`.", "")
    task = step(services, verb, team_id=team_id, number=number, user_id=user_id, **kwargs)
    assert task is not None
    return done_words(verb, task)


def _recurring(services: Services, command: SlashCommand, args: list[str]) -> str | tuple[str, render.Blocks]:
    team_id, user_id = command.team_id, command.user_id
    if not args:
        with services.db.read() as session:
            found = list_recurring(session, team_id=team_id)
        return render.recurring_list(found)
    action = args[0].lower()
    statuses = {"pause": "paused", "resume": "active", "stop": "stopped"}
    ref = parse_number(args[1].upper().removeprefix("R-").removeprefix("R")) if len(args) > 1 else None
    if action not in statuses or ref is None:
        raise BadInput(
            "Say `/tasks recurring pause R-3`, `resume R-3` or `stop R-3`.", "`/tasks recurring` lists them."
        )
    actor = services.actor(user_id, team_id)  # before the transaction: it may look the person up
    with services.db.transaction() as session:
        recurring = set_recurring_status(
            session=session, team_id=team_id, recurring_id=ref, actor=actor,
            status=statuses[action], now=services.clock(),
        )
    words = {"paused": "⏸️ R-{n} is paused.", "active": "▶️ R-{n} is running again.", "stopped": "⏹️ R-{n} is stopped."}
    return words[recurring.status].format(n=recurring.id)


def _digest(services: Services, command: SlashCommand, args: list[str]) -> str:
    team_id, user_id, channel = command.team_id, command.user_id, command.channel_id
    actor = services.actor(user_id, team_id)
    if args and args[0].lower() == "off":
        with services.db.transaction() as session:
            stopped = stop_digest(session=session, team_id=team_id, channel_id=channel, actor=actor)
        return "🔕 The daily digest here is off." if stopped else "There was no digest set up here."
    if not args or args[0].lower() != "here":
        raise BadInput("Say `/tasks digest here at 9:00`, or `/tasks digest off`.", "")
    at_text = args[2] if len(args) > 2 and args[1].lower() == "at" else (args[1] if len(args) > 1 else "9:00")
    at = parse_clock(at_text)
    person = services.directory.person(team_id, user_id)
    with services.db.transaction() as session:
        set_digest(
            session=session, team_id=team_id, channel_id=channel, actor=actor, at=at, tz=person.tz,
            hours=person.hours, now=services.clock(),
        )
    return f"📋 The daily digest will be posted here at {at.strftime('%H:%M')} ({person.tz}) on working days."


def _managers(services: Services, command: SlashCommand, args: list[str]) -> str | tuple[str, render.Blocks]:
    team_id, user_id = command.team_id, command.user_id
    if not args:
        services.seed_roles(team_id)
        with services.db.read() as session:
            roles = roles_of(session, team_id=team_id, extra_admins=services.settings.admins)
            events, total = role_history(session, team_id=team_id)
        return roles_summary(roles, events, total)
    action = args[0].lower()
    mention = parse_mention(args[1]) if len(args) == 2 else None
    if action not in {"add", "remove"} or mention is None:
        raise BadInput("Say `/tasks managers add @mia` or `/tasks managers remove @mia`.",
                       "`/tasks managers` lists who is one.")
    who = resolve_mention(services, team_id, mention)
    actor = services.actor(user_id, team_id)
    with services.db.transaction() as session:
        if action == "add":
            grant_manager(session, team_id=team_id, actor=actor, user_id=who, now=services.clock())
        else:
            revoke_manager(session, team_id=team_id, actor=actor, user_id=who, now=services.clock())
    services.delivery.kick()
    if action == "add":
        return f"👔 <@{who}> is now a manager; I've let them know."
    return f"<@{who}> is no longer a manager."


def _hours(services: Services, command: SlashCommand, args: list[str]) -> str:
    team_id, user_id = command.team_id, command.user_id
    person = services.directory.person(team_id, user_id)
    zone = zone_of(person)
    if not args:
        week = services.config.week(person)
        return f"🕘 Your working hours: {format_work_hours(week)} ({person.tz})."
    week = parse_work_hours(" ".join(args), zone)
    with services.db.transaction() as session:
        set_hours(session=session, team_id=team_id, user_id=user_id, hours=to_dict(week))
    services.choices_changed(team_id, user_id)
    return f"🕘 Got it: you work {format_work_hours(week)} ({person.tz}). Reminders and your morning queue follow that."


def _morning(services: Services, command: SlashCommand, args: list[str]) -> str:
    team_id, user_id = command.team_id, command.user_id
    choice = args[0].lower() if args else ""
    if choice not in {"on", "off"}:
        raise BadInput("Say `/tasks morning on` or `/tasks morning off`.", "")
    services.directory.person(team_id, user_id)  # make sure we know their zone
    with services.db.transaction() as session:
        set_morning_queue(session=session, team_id=team_id, user_id=user_id, on=choice == "on")
    services.choices_changed(team_id, user_id)
    if choice == "on":
        return "☀️ Each working morning I'll DM you what's yours today, most pressing first."
    return "The morning queue is off."


def _source_replies(services: Services, command: SlashCommand, args: list[str]) -> str:
    team_id = command.team_id
    choice = args[0].lower() if args else ""
    if choice not in {"on", "off"}:
        with services.db.read() as session:
            on = source_replies_on(session, team_id)
        state = "on" if on else "off"
        return (
            f"💬 Lines in the threads of messages made into tasks are *{state}*. "
            "A manager can say `/tasks source-replies on` or `/tasks source-replies off`."
        )
    actor = services.actor(command.user_id, team_id)
    with services.db.transaction() as session:
        set_source_replies(session, team_id=team_id, actor=actor, on=choice == "on", now=services.clock())
    if choice == "on":
        return "💬 When a message is made into a task, and when that task is done, I'll say so in its thread."
    return "🔕 I'll no longer reply in the threads of messages made into tasks; their cards still link to them."


_NOTIFY_WORDS = {
    "all": "🔔 You'll get every DM about your tasks.",
    "needed": "🔔 You'll get only what needs you: work given to you, due dates moved, blocks to clear, reminders, "
              "overdue notices and comments that mention you.",
    "summary": "🔕 No more DMs one by one: each working morning, one DM with your day.",
}


def _notify(services: Services, command: SlashCommand, args: list[str]) -> str:
    team_id, user_id = command.team_id, command.user_id
    person = services.directory.person(team_id, user_id)
    if not args:
        quiet = "wait for your working hours" if quiet_of(person, services.settings.quiet_hours) else "come at any hour"
        return (f"🔔 Your DMs: *{person.notify}*; they {quiet}. Say `/tasks notify all`, `needed` or `summary`, "
                "and `/tasks quiet on|off`.")
    with services.db.transaction() as session:
        set_notify(session, team_id=team_id, user_id=user_id, mode=args[0].lower())
    services.choices_changed(team_id, user_id)
    return _NOTIFY_WORDS[args[0].lower()]


def _quiet(services: Services, command: SlashCommand, args: list[str]) -> str:
    team_id, user_id = command.team_id, command.user_id
    choice = args[0].lower() if args else ""
    if choice not in {"on", "off"}:
        raise BadInput("Say `/tasks quiet on` (DMs wait for your working hours) or `/tasks quiet off`.", "")
    services.directory.person(team_id, user_id)
    with services.db.transaction() as session:
        set_quiet(session, team_id=team_id, user_id=user_id, on=choice == "on")
    services.choices_changed(team_id, user_id)
    if choice == "on":
        return "🌙 DMs that come outside your working hours wait for the start of your next working day."
    return "DMs come at any hour now."


def _mute(services: Services, command: SlashCommand, args: list[str], *, muted: bool) -> str:
    verb = "mute" if muted else "unmute"
    number = task_number(args[0]) if args else None
    if number is None or len(args) > 1:
        raise BadInput(f"Which task? Say `/tasks {verb} T-42`.", "")
    actor = services.actor(command.user_id, command.team_id)
    with services.db.transaction() as session:
        task = mute_task(session, team_id=command.team_id, number=number, actor=actor, muted=muted)
    if muted:
        return f"🔕 You'll hear nothing more of {task.ref} (`/tasks unmute {task.ref}` to hear of it again)."
    return f"🔔 You'll hear of {task.ref} again."


def _mute_on(services: Services, command: SlashCommand, args: list[str]) -> str:
    return _mute(services, command, args, muted=True)


def _mute_off(services: Services, command: SlashCommand, args: list[str]) -> str:
    return _mute(services, command, args, muted=False)


def _intake(services: Services, command: SlashCommand, args: list[str]) -> str:
    team_id, channel = command.team_id, command.channel_id
    choice = args[0].lower() if args else ""
    if choice not in {"here", "on", "off"} or len(args) > 1:
        raise BadInput("Say `/tasks intake here` in the channel, or `/tasks intake off` to stop.",
                       "In an intake channel every new message becomes a task.")
    if channel.startswith("D"):
        raise BadInput("An intake channel is a channel people write requests in, not a DM.", "")
    actor = services.actor(command.user_id, team_id)
    on = choice != "off"
    with services.db.transaction() as session:
        changed = set_intake(session, team_id=team_id, channel_id=channel, actor=actor, on=on, now=services.clock())
    if on:
        already = "" if changed else " (it already was)"
        return (
            f"📥 <#{channel}> is an intake channel{already}: every new message here becomes a task, its writer the "
            "requester. `@name` assigns it and `by Friday` sets the due date; without a name it goes to the pool. "
            "Replies, edits and bots' messages don't. Invite me here if I'm not in the channel yet."
        )
    return f"<#{channel}> is no longer an intake channel." if changed else f"<#{channel}> was not an intake channel."


_TEAM_USAGE = (
    "Say `/tasks team` to see it, or `/tasks team add @ana assistant skills:payroll office:back capacity:8`, "
    "`team skills @ana +inbox -payroll`, `team capacity @ana 10`, `team remove @ana`."
)


def _team(services: Services, command: SlashCommand, args: list[str]) -> str | tuple[str, render.Blocks]:
    team_id, user_id = command.team_id, command.user_id
    now = services.clock()
    if not args:
        services.seed_roles(team_id)
        with services.db.read() as session:
            entries = roster(session, team_id=team_id, now=now, week_of=services.config.week)
        return team_summary(entries)
    verb = args[0].lower()
    mention = parse_mention(args[1]) if len(args) > 1 else None
    if verb not in {"add", "remove", "skills", "capacity"} or mention is None:
        raise BadInput("I can't read that.", _TEAM_USAGE)
    rest = args[2:]
    # Read before anything is looked up or written: a typo changes nothing.
    terms = parse_member_terms(rest) if verb == "add" else None
    changes = parse_skill_changes(rest) if verb == "skills" else None
    if verb == "capacity" and len(rest) != 1:
        raise BadInput("How many open tasks at most?", "Say e.g. `/tasks team capacity @ana 10`, or `none`.")
    if verb == "remove" and rest:
        raise BadInput("Say just `/tasks team remove @ana`.", "")
    who = resolve_mention(services, team_id, mention)
    actor = services.actor(user_id, team_id)
    with services.db.transaction() as session:
        if terms is not None:
            member, new = add_member(session, team_id=team_id, actor=actor, user_id=who, terms=terms, now=now)
            done = f"👥 <@{who}> is on the team" if new else f"👥 <@{who}> is updated"
            skills = ", ".join(member.skills) or "no skills yet"
            reply = f"{done}: {skills}."
        elif changes is not None:
            member = change_skills(session, team_id=team_id, actor=actor, user_id=who, add=changes[0], drop=changes[1])
            reply = f"🧰 <@{who}>'s skills: {', '.join(member.skills) or 'none'}."
        elif verb == "capacity":
            member = set_capacity(session, team_id=team_id, actor=actor, user_id=who, word=rest[0])
            limit = f"at most {member.capacity} open tasks" if member.capacity is not None else "no limit"
            reply = f"📦 <@{who}>: {limit}."
        else:
            removed = remove_member(session, team_id=team_id, actor=actor, user_id=who, now=now)
            reply = (f"<@{who}> is off the team; the tasks they have stay theirs." if removed
                     else f"<@{who}> was not on the team.")
    services.delivery.kick()
    return reply


def _away(services: Services, command: SlashCommand, args: list[str]) -> str:
    team_id, user_id = command.team_id, command.user_id
    mention = parse_mention(args[0]) if args else None
    who = resolve_mention(services, team_id, mention) if mention is not None else user_id
    words = args[1:] if mention is not None else args
    person = services.directory.person(team_id, who)
    week = services.config.week(person)
    back, reason = parse_away(words, now=services.clock(), week=week, day_first=day_first_for(person.locale, person.tz))
    actor = services.actor(user_id, team_id)
    with services.db.transaction() as session:
        set_away(session, team_id=team_id, actor=actor, user_id=who, until=back, reason=reason)
    services.choices_changed(team_id, who)
    whose = "You're" if who == user_id else f"<@{who}> is"
    why = f" ({reason})" if reason else ""
    return (f"🏝️ {whose} away{why}, back {render.format_when(back)}. The assignment rules pass over whoever is "
            "away; `/tasks back` ends it sooner.")


def _back(services: Services, command: SlashCommand, args: list[str]) -> str:
    team_id, user_id = command.team_id, command.user_id
    mention = parse_mention(args[0]) if len(args) == 1 else None
    if args and mention is None:
        raise BadInput("Say `/tasks back`, or `/tasks back @ana` (managers).", "")
    who = resolve_mention(services, team_id, mention) if mention is not None else user_id
    services.directory.person(team_id, who)
    actor = services.actor(user_id, team_id)
    with services.db.transaction() as session:
        was = set_back(session, team_id=team_id, actor=actor, user_id=who)
    services.choices_changed(team_id, who)
    whose = "You're" if who == user_id else f"<@{who}> is"
    if not was:
        return f"{whose} not marked away in Handoff. (A Slack status that says out of office ends in Slack.)"
    return f"👋 {whose} back."


_SETTINGS = {
    "recurring": _recurring, "digest": _digest, "hours": _hours, "morning": _morning, "managers": _managers,
    "source-replies": _source_replies, "intake": _intake, "notify": _notify, "quiet": _quiet,
    "mute": _mute_on, "unmute": _mute_off, "team": _team, "away": _away, "back": _back,
}
