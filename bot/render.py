"""Block Kit rendering: cards, thread lines, DMs, lists and help. Pure functions of domain objects."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from models.enums import Priority, TaskStatus
from models.queries import RecentHistory, TaskPage, is_overdue
from models.recurrence import Recurrence
from models.tables import RecurringTask, Task, TaskEvent

__all__ = [
    "Blocks",
    "card",
    "card_fallback",
    "chunked_sections",
    "dm_for_event",
    "escape",
    "grouped_notices",
    "format_when",
    "task_detail",
    "task_list",
    "thread_line",
]

Blocks = list[dict[str, Any]]

# Slack's limits: a section's text holds 3,000 characters and a message 50 blocks.
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
CONTEXT_TEXT_LIMIT = 3000
MESSAGE_BLOCKS = 50
# How much of a task's details its card shows; `/tasks T-42` shows them all.
CARD_DETAILS = 600
# The morning DM lists the most pressing tasks; a longer queue is counted, not cut off silently.
MORNING_ITEMS = 40

_STATUS = {
    TaskStatus.OPEN: "⚪ Unclaimed",
    TaskStatus.ASSIGNED: "🔵 Assigned",
    TaskStatus.IN_PROGRESS: "🟡 In progress",
    TaskStatus.BLOCKED: "⛔ Blocked",
    TaskStatus.DONE: "✅ Done",
    TaskStatus.CANCELLED: "🚫 Cancelled",
}
_PRIORITY = {
    Priority.LOW: "Low",
    Priority.NORMAL: "Normal",
    Priority.HIGH: "🔺 High",
    Priority.URGENT: "🔥 Urgent",
}
# Mentions of people and channels, and links, may pass through; `<!here>`-style broadcasts may not.
_SAFE = re.compile(r"&lt;((?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|https?://[^\s&|]+)(?:\|[^&<>]*)?)&gt;")


def escape(text: str) -> str:
    """Escape user text for mrkdwn: `<!channel>`, `<!here>` and friends become inert text."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SAFE.sub(lambda m: "<" + m.group(1) + ">", escaped)


_ENTITY_OR_TOKEN = re.compile(r"&(?:amp|lt|gt);|<[^<>]*>")


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters with `…`, never inside an entity (`&amp;`) or a `<…>` token."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    for match in _ENTITY_OR_TOKEN.finditer(text, max(0, cut - 600), cut + 600):
        if match.start() < cut < match.end():
            cut = match.start()
            break
    return text[:cut] + "…"


def format_when(moment: datetime) -> str:
    """A date Slack shows in each reader's own zone, with a UTC fallback for old clients."""
    stamp = int(moment.timestamp())
    fallback = moment.strftime("%a %d %b %Y %H:%M UTC")
    return f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _due(task: Task, now: datetime) -> str:
    if task.due_at is None:
        return "No due date"
    text = format_when(task.due_at)
    return f"{text} · ⏰ *overdue*" if is_overdue(task, now) else text


def _who(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "_Unclaimed_"


def card_fallback(task: Task) -> str:
    """The notification text of a card (shown in notifications and old clients)."""
    return f"{task.ref}: {escape(task.title)} ({_STATUS[task.status]})"


def _link(task: Task) -> str:
    return f"<{task.card_url}|{task.ref}>" if task.card_url else task.ref


def source_note(task: Task) -> str | None:
    """The card's line about the message the task was made from: a link, and its author when someone else."""
    if task.source_channel_id is None:
        return None
    message = f"<{task.source_url}|a message>" if task.source_url else "a message"
    where = f" in <#{task.source_channel_id}>" if task.source_channel_id.startswith(("C", "G")) else ""
    author = task.source_author_id
    if author and author != task.requester_id:
        return f"💬 From {message} by <@{author}>{where}"
    return f"💬 From {message}{where}"


def source_line(task: Task, event: TaskEvent) -> str:
    """The one short line in the source message's thread when its task is made, or done."""
    if event.kind == "done":
        return f"✅ {_link(task)} is done, by <@{event.actor_id}>."
    who = f"for <@{task.assignee_id}>" if task.assignee_id else "in the pool for someone to claim"
    return f"📌 <@{event.actor_id}> made this into {_link(task)} {who}: {escape(clip(task.title, 200))}"


def card(task: Task, now: datetime, *, details: int = CARD_DETAILS) -> Blocks:
    """The task card: title, people, due, priority, tags, status and the buttons for the next steps.

    `details` is how many characters of the task's details it shows.
    """
    title = f"*{task.ref}* · {escape(task.title)}"
    if task.status in (TaskStatus.DONE, TaskStatus.CANCELLED):
        title = f"~{title}~" if task.status is TaskStatus.CANCELLED else title
    fields = [
        f"*Status*\n{_STATUS[task.status]}",
        f"*Assignee*\n{_who(task.assignee_id)}",
        f"*Requester*\n<@{task.requester_id}>",
        f"*Due*\n{_due(task, now)}",
        f"*Priority*\n{_PRIORITY[task.priority]}",
    ]
    if task.tags:
        fields.append("*Tags*\n" + " ".join(f"`#{escape(t)}`" for t in task.tags))
    blocks: Blocks = [
        {"type": "section", "block_id": "title", "text": {"type": "mrkdwn", "text": clip(title, SECTION_LIMIT)}},
        {
            "type": "section",
            "block_id": "fields",
            "fields": [{"type": "mrkdwn", "text": clip(f, FIELD_LIMIT)} for f in fields],
        },
    ]
    if task.details:
        shown = clip(escape(task.details), details)
        blocks.insert(1, {"type": "section", "block_id": "details", "text": {"type": "mrkdwn", "text": shown}})
    notes = []
    if (source := source_note(task)) is not None:
        notes.append(source)
    if task.status is TaskStatus.BLOCKED and task.blocked_reason:
        notes.append(f"⛔ Blocked: {escape(task.blocked_reason)}")
    if task.status is TaskStatus.DONE and task.done_note:
        notes.append(f"📝 {escape(task.done_note)}")
    if task.status is TaskStatus.OPEN:
        notes.append("React with ✋ or click *Claim* to take it.")
    if task.snoozed_until is not None and task.snoozed_until > now and task.status in (
        TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED
    ):
        notes.append(f"💤 Reminders snoozed until {format_when(task.snoozed_until)}")
    if notes:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(n, CONTEXT_TEXT_LIMIT)} for n in notes]}
        )
    blocks.append({"type": "actions", "block_id": "task_actions", "elements": _buttons(task)})
    return blocks


def _button(text: str, action_id: str, task: Task, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": str(task.number),
    }
    if style:
        button["style"] = style
    return button


# Slack allows 2 to 5 options in an overflow menu. What people use most is a button; the rest goes in
# the ⋯ menu, never more than five. "Release to pool" lives in the reassign modal (leave it empty).
MENU_LIMIT = 5


def _buttons(task: Task) -> Blocks:
    s = task.status
    buttons: Blocks = []
    menu: list[tuple[str, str]] = []
    if s is TaskStatus.OPEN:
        buttons.append(_button("✋ Claim", "task_claim", task, "primary"))
        menu = [("Assign to…", "reassign"), ("Change due date…", "due"), ("Edit…", "edit"), ("Cancel task…", "cancel")]
    elif s in (TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS):
        if s is TaskStatus.ASSIGNED:
            buttons.append(_button("▶️ Start", "task_start", task, "primary"))
        buttons += [
            _button("✅ Done", "task_done", task, None if s is TaskStatus.ASSIGNED else "primary"),
            _button("⛔ Block…", "task_block", task),
        ]
        menu = [
            ("Done with a note…", "done_note"), ("Snooze reminders…", "snooze"),
            ("Reassign or release…", "reassign"), ("Change due date…", "due"), ("Cancel task…", "cancel"),
        ]
    elif s is TaskStatus.BLOCKED:
        buttons += [_button("🔓 Unblock", "task_unblock", task, "primary"), _button("✅ Done", "task_done", task)]
        menu = [
            ("Done with a note…", "done_note"), ("Reassign or release…", "reassign"),
            ("Change due date…", "due"), ("Cancel task…", "cancel"),
        ]
    else:
        buttons.append(_button("🔁 Reopen", "task_reopen", task))
    buttons.append(_button("🔎 Details", "task_details", task))
    assert len(menu) <= MENU_LIMIT, "Slack refuses an overflow menu of more than five options"
    if menu:
        buttons.append(
            {
                "type": "overflow",
                "action_id": "task_menu",
                "options": [
                    {"text": {"type": "plain_text", "text": label}, "value": f"{verb}:{task.number}"}
                    for label, verb in menu
                ],
            }
        )
    return buttons


def _detail(event: TaskEvent, key: str) -> str:
    """`: <escaped detail>` when the event carries one."""
    value = event.detail.get(key)
    return f": {escape(str(value))}" if value else ""


def _new_due(event: TaskEvent) -> str:
    to = event.detail.get("to")
    return format_when(datetime.fromisoformat(to)) if to else "none"


def _changed(event: TaskEvent) -> str:
    """`title and due date`: what an edit changed, in words."""
    names = [str(n) for n in event.detail.get("changed") or []]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names) or "task"


def thread_line(event: TaskEvent) -> str:
    """One line of history for the card's thread."""
    who = f"<@{event.actor_id}>"
    match event.kind:
        case "created":
            return f"🆕 {who} created this"
        case "claimed":
            return f"✋ {who} claimed this"
        case "released":
            return f"↩️ {who} released this back to the pool"
        case "started":
            return f"▶️ {who} started this"
        case "blocked":
            return f"⛔ {who} blocked this{_detail(event, 'reason')}"
        case "unblocked":
            return f"🔓 {who} unblocked this"
        case "done":
            return f"✅ {who} marked this done{_detail(event, 'note')}"
        case "reopened":
            return f"🔁 {who} reopened this"
        case "cancelled":
            return f"🚫 {who} cancelled this{_detail(event, 'reason')}"
        case "reassigned":
            d = event.detail
            return f"👉 {who} reassigned this from {_who(d.get('from'))} to {_who(d.get('to'))}"
        case "due_changed":
            return f"📅 {who} changed the due date to {_new_due(event)}"
        case "snoozed":
            return f"💤 {who} snoozed reminders until {format_when(datetime.fromisoformat(event.detail['until']))}"
        case "overdue":
            return "⏰ This is now overdue."
        case "edited":
            return f"✏️ {who} changed the {_changed(event)}"
        case "comment":
            return f"💬 {who}: {escape(clip(str(event.detail.get('text') or ''), 500))}"
        case "nudged":
            helpers = " ".join(f"<@{u}>" for u in event.detail.get("assistants") or [])
            ask = f"{helpers}, can one of you take it? " if helpers else ""
            return f"👋 Still unclaimed. {ask}React ✋ to claim."
    return f"{who}: {event.kind}"


def comments_dm(task: Task, comments: Sequence[TaskEvent]) -> tuple[str, Blocks]:
    """One DM for the comments left in a task's thread over a few minutes."""
    n = len(comments)
    head = f"💬 {n} new comment{'s' if n != 1 else ''} on {_link(task)} *{escape(task.title)}*"
    quoted = [f"> <@{c.actor_id}>: {escape(clip(str(c.detail.get('text') or ''), 300))}" for c in comments[-10:]]
    if n > 10:
        quoted.insert(0, f"_…and {n - 10} earlier; the card's thread has them all._")
    text = "\n".join([head, *quoted])
    return head, [_section(text)]


def dm_carries_card(event: TaskEvent, recipient: str) -> bool:
    """True for the "delegated to you" DM, which carries a copy of the card (kept up to date with it)."""
    return event.kind == "created" or (event.kind == "reassigned" and event.detail.get("to") == recipient)


def dm_for_event(task: Task, event: TaskEvent, recipient: str, now: datetime) -> tuple[str, Blocks]:
    """The DM telling `recipient` about `event` on `task`: fallback text and blocks."""
    who = f"<@{event.actor_id}>"
    about = f"{_link(task)} *{escape(task.title)}*"
    if dm_carries_card(event, recipient):
        due = f", due {format_when(task.due_at)}" if task.due_at else ""
        text = f"📥 {who} delegated {about} to you{due}"
        return text, [_section(text), *card(task, now)[1:]]
    match event.kind:
        case "claimed":
            text = f"✋ {who} claimed your task {about}"
        case "blocked":
            text = f"⛔ {who} is blocked on {about}{_detail(event, 'reason')}"
        case "unblocked":
            text = f"🔓 {who} unblocked {about}"
        case "done":
            note = event.detail.get("note")
            text = f"✅ {who} finished {about}" + (f"\n> {escape(str(note))}" if note else "")
        case "reopened":
            text = f"🔁 {who} reopened {about}"
        case "cancelled":
            text = f"🚫 {who} cancelled {about}{_detail(event, 'reason')}"
        case "reassigned":
            text = f"👉 {who} reassigned {about} to {_who(event.detail.get('to'))}"
        case "due_changed":
            text = f"📅 {who} moved the due date of {about} to {_new_due(event)}"
        case "edited":
            new_due = event.detail.get("due")
            moved = f"; it is now due {format_when(datetime.fromisoformat(str(new_due)))}" if new_due else ""
            text = f"✏️ {who} changed the {_changed(event)} of {about}{moved}"
        case "reminder":
            due = format_when(task.due_at) if task.due_at else "soon"
            text = f"⏳ Reminder: {about} is due {due}."
        case "overdue":
            text = f"⏰ {about} is overdue (it was due {_due_text(task)}). Update it or ask for more time."
        case "escalated":
            text = (
                f"🚨 {about} is still overdue (due {_due_text(task)}); it is with {_who(task.assignee_id)}, "
                f"requested by <@{task.requester_id}>."
            )
        case "unclaimed":
            text = f"🙋 {about} has waited in the pool with nobody claiming it. Assign it from the card's ⋯ menu."
        case _:
            text = f"{who} updated {about}"
    return text, [_section(text)]


def _due_text(task: Task) -> str:
    return format_when(task.due_at) if task.due_at else "with no due date"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def local_when(moment: datetime, zone: tzinfo) -> str:
    """A moment in words in one person's zone, e.g. `Fri 4 Dec at 17:00 EST`, for text that can't use `<!date>`."""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b} at {local:%H:%M} {local:%Z}".strip()


def confirmation(task: Task, zone: tzinfo) -> str:
    """The requester's one confirmation: what was understood, in words, so a misreading shows at once."""
    who = f"for <@{task.assignee_id}>" if task.assignee_id else "in the pool for someone to claim"
    due = f"due *{local_when(task.due_at, zone)}*" if task.due_at else "no due date"
    tags = " · " + " ".join(f"`#{escape(t)}`" for t in task.tags) if task.tags else ""
    where = f"<{task.card_url}|See the card>" if task.card_url else f"Its card is going up in <#{task.card_channel_id}>"
    return (
        f"✅ Created *{_link(task)}* {who}: {escape(task.title)} · {due} · "
        f"priority *{_PRIORITY[task.priority]}*{tags}. {where}."
    )


def task_line(task: Task, now: datetime) -> str:
    """One task in a list."""
    due = f" · due {_due(task, now)}" if task.due_at else ""
    who = f" · {_who(task.assignee_id)}" if task.assignee_id else " · _unclaimed_"
    return f"• *{_link(task)}* {escape(task.title)}{who}{due} · {_STATUS[task.status]}"


def task_list(heading: str, page: TaskPage, now: datetime, *, empty: str, more: str = "") -> tuple[str, Blocks]:
    """One page of an ephemeral task list under `heading`, with the true total and how to see the next page.

    `more` is the command that lists the same tasks (e.g. `/tasks @ana`); ` page N` is added to it.
    """
    if not page.total:
        return empty, [_section(f"*{heading}*\n{empty}")]
    title = f"{heading} ({page.total})"
    blocks: Blocks = [_section(f"*{escape_heading(title)}*"), *chunked_sections(task_line(t, now) for t in page.tasks)]
    last = page.offset + len(page.tasks)
    if page.offset or last < page.total:
        hint = f"Showing {page.offset + 1}–{last} of {page.total}."
        if last < page.total and more:
            hint += f" Type `{more} page {page.offset // max(len(page.tasks), 1) + 2}` for the next ones."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": hint}]})
    return title, blocks[:MESSAGE_BLOCKS]


def escape_heading(text: str) -> str:
    """Headings carry mentions we built ourselves; only stray `&` needs escaping."""
    return re.sub(r"&(?!amp;|lt;|gt;)", "&amp;", text)


def chunked_sections(lines: Iterable[str]) -> Blocks:
    """Sections of at most SECTION_LIMIT characters, each line whole (a longer line is clipped safely)."""
    blocks: Blocks = []
    chunk = ""
    for raw in lines:
        line = clip(raw, SECTION_LIMIT)
        if chunk and len(chunk) + len(line) + 1 > SECTION_LIMIT:
            blocks.append(_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(_section(chunk))
    return blocks


def card_buttons(task: Task) -> Blocks:
    """The card's buttons and ⋯ menu for `task` (the detail modal offers the same)."""
    return _buttons(task)


def task_detail(task: Task, recent: RecentHistory, now: datetime) -> tuple[str, Blocks]:
    """One task with its history, newest first, for `/tasks T-42`; says how many older events are not shown."""
    lines = [f"{format_when(e.at)} {thread_line(e)}" for e in recent.events]
    blocks = card(task, now, details=SECTION_LIMIT)[:-1]  # all the details, no buttons in an ephemeral view
    if not lines:
        blocks.append(_section("*History*\nNothing yet."))
        return card_fallback(task), blocks
    history = chunked_sections(["*History* (newest first)", *lines])
    room = MESSAGE_BLOCKS - len(blocks) - 1
    shown_older = recent.older
    if len(history) > room:
        # Keep whole sections; whatever does not fit is counted with the older events.
        kept = history[:room]
        shown_lines = sum(block["text"]["text"].count("\n") + 1 for block in kept) - 1
        shown_older += len(lines) - shown_lines
        history = kept
    blocks += history
    if shown_older:
        s = "s" if shown_older != 1 else ""
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"…and {shown_older} older event{s}; the card's thread has the whole history."
        )}]})
    return card_fallback(task), blocks


# -- digests and the morning queue ------------------------------------------------------------------

_GROUP_TITLES = {
    "overdue": "⏰ Overdue",
    "due_today": "📅 Due today",
    "blocked": "⛔ Blocked",
    "unclaimed": "⚪ Unclaimed",
    "done": "✅ Done since the last digest",
    "queue": "Your queue",
}


def _snapshot_line(item: dict[str, Any]) -> str:
    ref = f"<{item['url']}|{item['ref']}>" if item.get("url") else item["ref"]
    due = f" · due {format_when(datetime.fromisoformat(item['due']))}" if item.get("due") else ""
    who = f" · <@{item['assignee']}>" if item.get("assignee") else ""
    blocked = " · ⛔ blocked" if item.get("status") == TaskStatus.BLOCKED else ""
    urgent = {Priority.URGENT: "🔥 ", Priority.HIGH: "🔺 "}.get(Priority(item.get("priority", Priority.NORMAL)), "")
    return f"• {urgent}*{ref}* {escape(item['title'])}{who}{due}{blocked}"


def _grouped(groups: dict[str, list[dict[str, Any]]]) -> Blocks:
    blocks: Blocks = []
    for name, items in groups.items():
        if items:
            heading = f"*{_GROUP_TITLES.get(name, name)}* ({len(items)})"
            blocks += chunked_sections([heading, *(_snapshot_line(item) for item in items)])
    return blocks


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, CONTEXT_TEXT_LIMIT)}]}


_HEADLINE = (
    ("open", "Open"), ("due_today", "Due today"), ("overdue", "Overdue"), ("blocked", "Blocked"),
    ("unclaimed", "Unclaimed"), ("done", "Done since last digest"),
)


def digest_headline(payload: dict[str, Any]) -> tuple[str, Blocks]:
    """The digest's parent message: the day's numbers."""
    # A digest queued before "blocked" was counted may still be on its way after an upgrade.
    h = {"blocked": "?", **payload["headline"]}
    rate = f"{h['on_time_rate']}% on time" if h.get("on_time_rate") is not None else "nothing finished yet"
    text = (
        f"📋 Daily digest for {payload['date']}: {h['open']} open · {h['due_today']} due today · "
        f"{h['overdue']} overdue · {h['blocked']} blocked · {h['unclaimed']} unclaimed · "
        f"{h['done']} done since the last digest ({rate})"
    )
    fields = [f"*{label}*\n{h[key]}" for key, label in _HEADLINE] + [f"*On-time rate*\n{rate}"]
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"📋 Daily digest · {payload['date']}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        _context("What needs attention, and each person's numbers, are in the thread."),
    ]
    return text, blocks


def _person_line(row: dict[str, Any]) -> str:
    line = (
        f"• <@{row['user_id']}> · {row['open']} open · {row['overdue']} overdue · {row['due_today']} due today · "
        f"{row['blocked']} blocked · {row['done']} done"
    )
    if "away" not in row:
        return line
    until = f" until {format_when(datetime.fromisoformat(row['away']))}" if row["away"] else ""
    # Their tasks stay theirs while they are away: the digest is where a manager sees to reassign them.
    return f"{line} · 🏝️ away{until}"


def digest_section(section: dict[str, Any]) -> tuple[str, Blocks]:
    """One digest reply: a capped list of what needs attention (or was done), or the numbers per person."""
    if "groups" in section:
        # Queued by an earlier version (a section per assistant, the pool, what was done): still delivered.
        title = f"<@{section['user']}>" if section.get("user") else f"*{section['kind'].capitalize()}*"
        return f"Digest: {title}", [_section(title), *_grouped(section["groups"])][:MESSAGE_BLOCKS]
    if section["kind"] == "people":
        part = f" (part {section['part']} of {section['parts']})" if section.get("parts") else ""
        title = f"*👥 Per person*{part}"
        blocks = [_section(title), *chunked_sections(_person_line(row) for row in section["rows"])]
        blocks.append(_context("`/tasks @name` lists anyone's open tasks."))
        return f"Digest: {title}", blocks[:MESSAGE_BLOCKS]
    items, total = section["items"], section["total"]
    title = f"*{_GROUP_TITLES[section['group']]}* ({total})"
    blocks = [_section(title), *chunked_sections(_snapshot_line(item) for item in items)]
    if total > len(items):
        more = f"…and {total - len(items)} more"
        blocks.append(_context(f"{more}: `{section['more']}`" if section["more"] else f"{more}."))
    return f"Digest: {title}", blocks[:MESSAGE_BLOCKS]


def morning_queue(payload: dict[str, Any]) -> tuple[str, Blocks]:
    """The morning DM: what is the person's today, most pressing first."""
    items = payload["items"]
    if not items:
        text = "☀️ Good morning! Nothing is on your plate today."
        return text, [_section(text)]
    text = f"☀️ Good morning! You have {len(items)} open task{'s' if len(items) != 1 else ''}, most pressing first:"
    shown = items[:MORNING_ITEMS]
    blocks = [_section(text), *_grouped({"queue": shown})]
    if len(items) > len(shown):
        more = f"…and {len(items) - len(shown)} more. `/tasks` lists them all, 25 at a time."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return text, blocks


def recurring_list(items: Sequence[RecurringTask]) -> tuple[str, Blocks]:
    """The workspace's recurring tasks, for `/tasks recurring`."""
    if not items:
        text = "No recurring tasks. Add one with `/delegate @ana Send the payroll report every Monday 9am`."
        return text, [_section(text)]
    lines = []
    for item in items:
        rule = Recurrence.from_dict(item.rule).describe()
        who = f"<@{item.assignee_id}>" if item.assignee_id else "the pool"
        paused = " · ⏸️ paused" if item.status == "paused" else f" · next due {format_when(item.next_at)}"
        lines.append(f"• *R-{item.id}* {escape(item.title)} · {who} · {escape(rule)}{paused}")
    text = f"Recurring tasks ({len(items)})"
    body = chunked_sections([f"*{text}*", *lines])
    footer = "Pause, resume or stop one with `/tasks recurring pause R-3` (or `resume`, `stop`)."
    if len(body) > MESSAGE_BLOCKS - 1:
        body = body[: MESSAGE_BLOCKS - 1]
        shown = sum(block["text"]["text"].count("\n") + 1 for block in body) - 1
        footer = f"…and {len(lines) - shown} more not shown. " + footer
    return text, [*body, _section(footer)]


# -- grouped notices ------------------------------------------------------------------------------

# A grouped DM lists this many notices; the rest are counted, each card still has its own thread line.
NOTICE_ITEMS = 40
_NOTICE_GROUPS = {
    "reminder": ("⏳", "{n} of your tasks {are} due soon"),
    "overdue": ("⏰", "{n} of your tasks {are} overdue"),
    "escalated": ("🚨", "{n} task{s} {are} still overdue"),
    "unclaimed": ("🙋", "{n} task{s} {have} waited in the pool with nobody claiming {them}"),
}


def _notice_heading(kind: str, n: int) -> str:
    icon, words = _NOTICE_GROUPS.get(kind, ("🔔", "{n} notice{s}"))
    one = n == 1
    return f"{icon} " + words.format(
        n=n, s="" if one else "s", are="is" if one else "are", have="has" if one else "have",
        them="it" if one else "them",
    )


def _notice_line(item: dict[str, Any]) -> str:
    ref = f"<{item['url']}|{item['ref']}>" if item.get("url") else item["ref"]
    due = f" · due {format_when(datetime.fromisoformat(item['due']))}" if item.get("due") else ""
    who = ""
    if item["kind"] == "escalated":
        who = f" · with {_who(item.get('assignee'))}, requested by <@{item['requester']}>"
    return f"• *{ref}* {escape(item['title'])}{due}{who}"


def grouped_notices(payload: dict[str, Any]) -> tuple[str, Blocks]:
    """One DM for several notices owed to one person in one pass, grouped by kind, each linking to its card."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in payload["items"]:
        groups.setdefault(item["kind"], []).append(item)
    counts = payload.get("counts") or {kind: len(items) for kind, items in groups.items()}
    text = " · ".join(_notice_heading(kind, counts[kind]) for kind in groups)
    lines: list[str] = []
    shown = 0
    for kind, items in groups.items():
        lines.append(f"*{_notice_heading(kind, counts[kind])}:*")
        room = max(NOTICE_ITEMS - shown, 0)
        lines += [_notice_line(item) for item in items[:room]]
        shown += min(len(items), room)
    blocks = chunked_sections(lines)[: MESSAGE_BLOCKS - 1]
    total = sum(counts.values())
    if shown < total:
        more = f"…and {total - shown} more. `/tasks` lists yours; each card's thread has the details."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return clip(text, SECTION_LIMIT), blocks
