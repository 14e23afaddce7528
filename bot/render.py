"""Block Kit rendering: cards, thread lines, DMs, lists and help. Pure functions of domain objects."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from models.enums import Priority, TaskStatus
from models.queries import is_overdue
from models.tables import Task, TaskEvent

__all__ = [
    "Blocks",
    "card",
    "card_fallback",
    "dm_for_event",
    "escape",
    "format_when",
    "task_detail",
    "task_list",
    "thread_line",
]

Blocks = list[dict[str, Any]]

# Slack's limits: a section's text holds 3,000 characters and a message 50 blocks.
SECTION_LIMIT = 3000
MESSAGE_BLOCKS = 50

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


def card(task: Task, now: datetime) -> Blocks:
    """The task card: title, people, due, priority, tags, status and the buttons for the next steps."""
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
        {"type": "section", "block_id": "title", "text": {"type": "mrkdwn", "text": title[:SECTION_LIMIT]}},
        {
            "type": "section",
            "block_id": "fields",
            "fields": [{"type": "mrkdwn", "text": f} for f in fields],
        },
    ]
    notes = []
    if task.status is TaskStatus.BLOCKED and task.blocked_reason:
        notes.append(f"⛔ Blocked: {escape(task.blocked_reason)}")
    if task.status is TaskStatus.DONE and task.done_note:
        notes.append(f"📝 {escape(task.done_note)}")
    if task.status is TaskStatus.OPEN:
        notes.append("React with ✋ or click *Claim* to take it.")
    if notes:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": n[:SECTION_LIMIT]} for n in notes]}
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


def _buttons(task: Task) -> Blocks:
    s = task.status
    buttons: Blocks = []
    menu: list[tuple[str, str]] = []
    if s is TaskStatus.OPEN:
        buttons.append(_button("✋ Claim", "task_claim", task, "primary"))
        menu = [("Assign to…", "reassign"), ("Change due date…", "due"), ("Cancel task…", "cancel")]
    elif s is TaskStatus.ASSIGNED:
        buttons += [_button("▶️ Start", "task_start", task, "primary"), _button("✅ Done", "task_done", task)]
        menu = [
            ("Done with a note…", "done_note"), ("Block…", "block"), ("Release to pool", "release"),
            ("Reassign…", "reassign"), ("Change due date…", "due"), ("Cancel task…", "cancel"),
        ]
    elif s is TaskStatus.IN_PROGRESS:
        buttons.append(_button("✅ Done", "task_done", task, "primary"))
        menu = [
            ("Done with a note…", "done_note"), ("Block…", "block"), ("Reassign…", "reassign"),
            ("Change due date…", "due"), ("Cancel task…", "cancel"),
        ]
    elif s is TaskStatus.BLOCKED:
        buttons += [_button("🔓 Unblock", "task_unblock", task, "primary"), _button("✅ Done", "task_done", task)]
        menu = [
            ("Done with a note…", "done_note"), ("Reassign…", "reassign"), ("Change due date…", "due"),
            ("Cancel task…", "cancel"),
        ]
    else:
        buttons.append(_button("🔁 Reopen", "task_reopen", task))
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
    return f"{who}: {event.kind}"


def dm_for_event(task: Task, event: TaskEvent, recipient: str, now: datetime) -> tuple[str, Blocks]:
    """The DM telling `recipient` about `event` on `task`: fallback text and blocks."""
    who = f"<@{event.actor_id}>"
    about = f"{_link(task)} *{escape(task.title)}*"
    if event.kind == "created" or (event.kind == "reassigned" and event.detail.get("to") == recipient):
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
        case _:
            text = f"{who} updated {about}"
    return text, [_section(text)]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def confirmation(task: Task) -> str:
    """The requester's confirmation, linking to the card."""
    who = f"for <@{task.assignee_id}>" if task.assignee_id else "in the pool for someone to claim"
    due = f", due {format_when(task.due_at)}" if task.due_at else ""
    where = f"<{task.card_url}|See the card>" if task.card_url else f"The card is in <#{task.card_channel_id}>"
    return f"✅ Created {_link(task)} {who}{due}. {where}."


def task_line(task: Task, now: datetime) -> str:
    """One task in a list."""
    due = f" · due {_due(task, now)}" if task.due_at else ""
    who = f" · {_who(task.assignee_id)}" if task.assignee_id else " · _unclaimed_"
    return f"• *{_link(task)}* {escape(task.title)}{who}{due} · {_STATUS[task.status]}"


def task_list(heading: str, tasks: Sequence[Task], now: datetime, *, empty: str) -> tuple[str, Blocks]:
    """An ephemeral list of tasks under `heading`, split so no block passes Slack's limits."""
    if not tasks:
        return empty, [_section(f"*{heading}*\n{empty}")]
    blocks: Blocks = [_section(f"*{heading}* ({len(tasks)})")]
    chunk = ""
    for task in tasks:
        line = task_line(task, now)
        if len(chunk) + len(line) + 1 > SECTION_LIMIT:
            blocks.append(_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(_section(chunk))
    if len(blocks) > MESSAGE_BLOCKS:
        blocks = blocks[: MESSAGE_BLOCKS - 1] + [_section("…and more; narrow the list with a filter.")]
    return f"{heading} ({len(tasks)})", blocks


def task_detail(task: Task, events: Sequence[TaskEvent], now: datetime) -> tuple[str, Blocks]:
    """One task with its history, for `/tasks T-42`."""
    history = "\n".join(f"{format_when(e.at)} {thread_line(e)}" for e in events[-30:])
    blocks = card(task, now)[:-1]  # no buttons in an ephemeral view
    blocks.append(_section(f"*History*\n{history}" if history else "*History*\nNothing yet."))
    return card_fallback(task), blocks
