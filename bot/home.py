"""The Home tab: my tasks by when they are due, what I delegated, the team (for managers), my settings.

`home_view` builds the whole view for one person as their tasks stand now; `views.publish` shows it
(bot/delivery.py, queued by handlers/home.py and by every change to a task they are part of).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot import render
from models.enums import TaskStatus
from models.localtime import local_instant
from models.people import zone_of
from models.queries import (
    AssistantCounts,
    DigestCounts,
    TaskPage,
    active_tasks,
    digest_counts,
    longest_unclaimed,
    my_open_tasks,
)
from models.roster import away_among, with_roster
from models.tables import Person, Task
from models.worktime import WorkWeek, format_work_hours

if TYPE_CHECKING:
    from bot.services import Services

__all__ = ["HOME_BLOCKS", "PAGES", "HomeData", "home_view", "read_home", "view_for"]

View = dict[str, Any]

HOME_BLOCKS = 100  # Slack's limit for a Home tab
# Rows per page of each list, so that the whole tab stays within HOME_BLOCKS.
PAGES = {"mine": 12, "delegated": 8, "team": 12}
_GROUPS = (
    ("overdue", "⏰ Overdue"), ("today", "📅 Due today"), ("upcoming", "🗓️ Coming up"), ("undated", "No due date"),
)


@dataclass(frozen=True)
class HomeData:
    """What one person's Home tab shows, read in one go."""

    user_id: str
    now: datetime
    zone: ZoneInfo
    week: WorkWeek
    mine: TaskPage
    delegated: TaskPage
    pages: dict[str, int]
    morning_queue: bool
    is_manager: bool
    notify: str = "all"
    quiet: bool = True
    team: DigestCounts | None = None
    # For managers: the team's rows (the roster's assistants with nothing open too), and who is away.
    people: list[AssistantCounts] = field(default_factory=list)
    away: dict[str, str] = field(default_factory=dict)
    pool: TaskPage | None = None
    managers_note: str = ""
    groups: dict[str, list[Task]] = field(default_factory=dict)


def read_home(services: Services, team_id: str, user_id: str) -> HomeData:
    """The person's Home tab data as stored now (their pages as they last left them)."""
    person = services.directory.person(team_id, user_id)
    zone = zone_of(person)
    week = services.config.week(person)
    now = services.clock()
    actor = services.actor(user_id, team_id)
    today = now.astimezone(zone).date()
    midnight = local_instant(today + timedelta(days=1), time(0, 0), zone)
    with services.db.read() as session:
        # Read here, not from the directory's cached copy: a page turned a moment ago must show.
        stored = session.exec(
            select(Person.home_pages, Person.morning_queue, Person.notify, Person.quiet)
            .where(Person.team_id == team_id, Person.user_id == user_id)
        ).first()
        saved, morning, notify, quiet = stored if stored is not None else ({}, False, "all", None)
        pages = {k: max(1, v) for k, v in (saved or {}).items() if k in PAGES and isinstance(v, int)}
        mine = my_open_tasks(session, team_id=team_id, user_id=user_id)
        size = PAGES["delegated"]
        page = pages.get("delegated", 1)
        delegated = active_tasks(session, team_id=team_id, requester_id=user_id, offset=(page - 1) * size, limit=size)
        team = pool = None
        people: list[AssistantCounts] = []
        away: dict[str, str] = {}
        if actor.is_manager:
            monday = local_instant(today - timedelta(days=today.weekday()), time(0, 0), zone)
            team = digest_counts(session, team_id=team_id, now=now, day_end=midnight, since=monday)
            pool = longest_unclaimed(session, team_id=team_id)
            people = with_roster(session, team_id, team.assistants)
            away = away_among(session, team_id, [p.user_id for p in people], now)
    groups: dict[str, list[Task]] = {key: [] for key, _ in _GROUPS}
    for task in mine.tasks:
        if task.due_at is None:
            groups["undated"].append(task)
        elif task.due_at <= now:
            groups["overdue"].append(task)
        elif task.due_at < midnight:
            groups["today"].append(task)
        else:
            groups["upcoming"].append(task)
    return HomeData(
        user_id=user_id, now=now, zone=zone, week=week, mine=mine, delegated=delegated, pages=pages,
        morning_queue=bool(morning), notify=str(notify),
        quiet=services.settings.quiet_hours if quiet is None else bool(quiet), is_manager=actor.is_manager,
        team=team, pool=pool, groups=groups, people=people, away=away,
    )


def _header(text: str) -> View:
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _context(text: str) -> View:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": render.clip(text, render.CONTEXT_TEXT_LIMIT)}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> View:
    button: View = {"type": "button", "text": {"type": "plain_text", "text": text, "emoji": True},
                    "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def _section(text: str, accessory: View | None = None) -> View:
    block: View = {"type": "section", "text": {"type": "mrkdwn", "text": render.clip(text, render.SECTION_LIMIT)}}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _next_action(task: Task) -> View | None:
    """The one button a task needs next, from the assignee's side."""
    number = str(task.number)
    if task.status is TaskStatus.ASSIGNED:
        return _button("▶️ Start", "task_start", number, "primary")
    if task.status is TaskStatus.IN_PROGRESS:
        return _button("✅ Done", "task_done", number, "primary")
    if task.status is TaskStatus.BLOCKED:
        return _button("🔓 Unblock", "task_unblock", number)
    return None


def _pager(name: str, page: int, total: int, size: int) -> list[View]:
    """Previous / next buttons when the list runs over one page."""
    pages = max(1, -(-total // size))
    if pages == 1:
        return []
    buttons = []
    if page > 1:
        buttons.append(_button("◀ Previous", "home_page_back", f"{name}:{page - 1}"))
    if page < pages:
        buttons.append(_button("Next ▶", "home_page_next", f"{name}:{page + 1}"))
    return [
        {"type": "actions", "block_id": f"page_{name}", "elements": buttons},
        _context(f"Page {page} of {pages} · {total} in all"),
    ]


def _mine(data: HomeData) -> list[View]:
    size = PAGES["mine"]
    ordered = [(key, t) for key, _ in _GROUPS for t in data.groups.get(key, [])]
    pages = max(1, -(-len(ordered) // size))
    page = min(data.pages.get("mine", 1), pages)
    shown = ordered[(page - 1) * size: page * size]
    blocks = [_header("My tasks")]
    if not ordered:
        return [*blocks, _section("Nothing on your plate. 🎉 Tasks given to you, or that you claim, show here.")]
    titles = dict(_GROUPS)
    current = None
    for key, task in shown:
        if key != current:
            count = len(data.groups[key])
            blocks.append(_context(f"*{titles[key]}* ({count})"))
            current = key
        blocks.append(_section(render.task_line(task, data.now), _next_action(task)))
    blocks += _pager("mine", page, len(ordered), size)
    if data.mine.total > len(data.mine.tasks):
        blocks.append(_context(f"…and {data.mine.total - len(data.mine.tasks)} more: `/tasks` lists them all."))
    return blocks


def _delegated(data: HomeData) -> list[View]:
    blocks = [_header("Delegated by me")]
    page = data.delegated
    if not page.tasks:
        return [*blocks, _section("Nothing you asked for is open. Use *New task* above, or `/delegate`.")]
    blocks += [
        _section(render.task_line(task, data.now), _button("🔎 Details", "task_details", str(task.number)))
        for task in page.tasks
    ]
    return blocks + _pager("delegated", data.pages.get("delegated", 1), page.total, PAGES["delegated"])


def _team(data: HomeData) -> list[View]:
    counts, pool = data.team, data.pool
    if counts is None or pool is None:
        return []
    blocks = [_header("The team this week")]
    people = sorted(data.people, key=lambda a: (-a.overdue, -a.open, a.user_id))
    size = PAGES["team"]
    pages = max(1, -(-len(people) // size))
    page = min(data.pages.get("team", 1), pages)
    for person in people[(page - 1) * size: page * size]:
        late = f" · ⏰ *{person.overdue} overdue*" if person.overdue else ""
        away = ""
        if person.user_id in data.away:
            until = data.away[person.user_id]
            away = " · 🏝️ away" + (f" until {render.format_when(datetime.fromisoformat(until))}" if until else "")
        blocks.append(_section(
            f"<@{person.user_id}> · {person.open} open{late} · {person.done} done this week{away}"))
    if not people:
        blocks.append(_section("Nobody has held a task yet."))
    blocks += _pager("team", page, len(people), size)
    waiting = f"*In the pool:* {pool.total} waiting" if pool.total else "*In the pool:* nothing waiting 🎉"
    blocks.append(_section(waiting))
    for task in pool.tasks:
        since = render.format_when(task.created_at)
        blocks.append(_section(
            f"• *{render.escape(task.ref)}* {render.escape(task.title)} · waiting since {since}",
            _button("Assign…", "task_menu", f"reassign:{task.number}"),
        ))
    return blocks


def _settings(data: HomeData) -> list[View]:
    hours = f"🕘 *Working hours:* {format_work_hours(data.week)} ({data.zone.key})"
    morning = "☀️ *Morning queue:* " + (
        "on: each working morning I DM you what's yours that day." if data.morning_queue else "off."
    )
    return [
        _header("My settings"),
        _section(hours, _button("Change…", "home_hours", "hours")),
        _section(morning, _button("Turn off" if data.morning_queue else "Turn on", "home_morning",
                                  "off" if data.morning_queue else "on")),
        _section("🔔 *DMs I get*", {
            "type": "static_select", "action_id": "home_notify",
            "options": [_option(label, value) for value, label in _NOTIFY_LABELS.items()],
            "initial_option": _option(_NOTIFY_LABELS.get(data.notify, _NOTIFY_LABELS["all"]), data.notify),
        }),
        _section("🌙 *Quiet hours:* " + (
            "on: DMs about your tasks outside your working hours wait for your next working day." if data.quiet
            else "off: DMs come at any hour (Slack's own notification schedule still applies)."
        ), _button("Turn off" if data.quiet else "Turn on", "home_quiet", "off" if data.quiet else "on")),
        _context("Reminders and your morning queue follow your working hours."),
    ]


_NOTIFY_LABELS = {"all": "Everything", "needed": "Only what needs me", "summary": "A daily summary only"}


def _option(label: str, value: str) -> View:
    return {"text": {"type": "plain_text", "text": label}, "value": value}


def home_view(data: HomeData) -> View:
    """The Home tab for `data.user_id`, always within Slack's 100 blocks."""
    divider: View = {"type": "divider"}
    blocks: list[View] = [
        _section("*Handoff* · delegate, claim and finish tasks without leaving Slack."),
        {"type": "actions", "block_id": "home_top", "elements": [
            _button("➕ New task", "home_new_task", "new", "primary"), _button("🔄 Refresh", "home_refresh", "refresh"),
        ]},
        divider, *_mine(data), divider, *_delegated(data),
    ]
    team = _team(data)
    if team:
        blocks += [divider, *team]
    blocks += [divider, *_settings(data)]
    if len(blocks) > HOME_BLOCKS:  # the pages above keep to it; this only guards a future section
        blocks = [*blocks[: HOME_BLOCKS - 1], _context("…more than fits here: `/tasks` lists everything.")]
    return {"type": "home", "callback_id": "handoff_home", "blocks": blocks}


def view_for(services: Services, team_id: str, user_id: str) -> View:
    """The Home tab for one person as it stands now."""
    return home_view(read_home(services, team_id, user_id))

