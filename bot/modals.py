"""Modals: the creation modal, and those for the steps that need a little more input (block, reassign,
due date, cancel, done note, snooze).

A step's modal carries `{"number": …, "channel": …}` in its `private_metadata`; the creation modal
`{"channel": …, "source": {"channel", "ts", "thread_ts", "author"}}`. handlers/payloads.py reads them back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from models.enums import Priority
from models.parsing import MAX_TITLE_CHARS
from models.tables import Task
from models.tasks import MAX_DETAILS_CHARS, MAX_TAGS

__all__ = ["CREATION_FIELDS", "MODAL_VERBS", "Draft", "creation_modal", "detail_modal", "edit_modal", "modal_for"]

View = dict[str, Any]

# The overflow entries that open a modal, and the callback id of each.
MODAL_VERBS = {"block", "reassign", "due", "cancel", "done_note", "snooze", "edit"}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = "") -> View:
    block: View = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": "value"},
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _text(placeholder: str, *, multiline: bool = False, max_length: int = 500) -> dict[str, Any]:
    return {
        "type": "plain_text_input",
        "multiline": multiline,
        "max_length": max_length,
        "placeholder": {"type": "plain_text", "text": placeholder},
    }


def modal_for(verb: str, task: Task, *, channel_id: str | None) -> View:
    """The modal that asks what `verb` needs for `task`."""
    meta = json.dumps({"number": task.number, "channel": channel_id})
    title, submit, blocks = {
        "block": ("Block task", "Block", [
            _input("reason", "What is blocking it?", _text("Waiting for the bank statement")),
        ]),
        "reassign": ("Reassign task", "Save", [
            _reassign_input(task),
        ]),
        "due": ("Change due date", "Save", [
            _input("due", "Due", _text("Friday 5pm, tomorrow, in 3 days, none", max_length=100),
                   hint="Read in your time zone. Type none to clear it."),
        ]),
        "cancel": ("Cancel task", "Cancel task", [
            _input("reason", "Why?", _text("No longer needed"), optional=True),
        ]),
        "snooze": ("Snooze reminders", "Snooze", [
            _input("until", "Snooze for or until", _text("2h, until tomorrow 9am", max_length=100),
                   hint="The due date does not move."),
        ]),
        "done_note": ("Mark done", "Done", [
            _input("note", "Note for the requester", _text("Sent to the client", multiline=True,
                   max_length=1000), optional=True),
        ]),
    }[verb]
    return {
        "type": "modal",
        "callback_id": f"task_{verb}_modal",
        "private_metadata": meta,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{task.ref}* · {_plain(task.title)}"}},
            *blocks,
        ],
    }


def _reassign_input(task: Task) -> View:
    # Slack marks optional inputs itself; an empty choice on an assigned task puts it back in the pool.
    element: dict[str, Any] = {"type": "users_select"}
    if task.assignee_id:
        element["initial_user"] = task.assignee_id
        return _input("assignee", "Give it to", element, optional=True,
                      hint="Clear the choice to put the task back in the pool.")
    return _input("assignee", "Give it to", element)


def _plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")



# The creation modal's inputs, by block id (each input's action id is "value").
CREATION_FIELDS = ("title", "details", "assignee", "channel", "due_date", "due_time", "priority", "tags", "repeat")
_PRIORITY_LABELS = {Priority.LOW: "Low", Priority.NORMAL: "Normal", Priority.HIGH: "High", Priority.URGENT: "🔥 Urgent"}


@dataclass(frozen=True)
class Draft:
    """What the creation modal opens with: where it was opened, the message it starts from, a first reading."""

    channel_id: str | None = None
    source: dict[str, str] | None = None  # channel, ts, thread_ts, author: the message being delegated
    author_id: str | None = None
    title: str = ""
    details: str = ""
    assignee_id: str | None = None
    due_at: datetime | None = None
    priority: Priority = Priority.NORMAL
    tags: tuple[str, ...] = ()
    already: tuple[Task, ...] = field(default=())  # tasks already made from that message


def _task_inputs(draft: Draft, zone: ZoneInfo) -> list[View]:
    """Title, details, due day and time, priority and tags, prefilled from `draft` (dates in `zone`)."""
    title = _text("Reconcile October invoices", max_length=MAX_TITLE_CHARS)
    if draft.title:
        title["initial_value"] = draft.title[:MAX_TITLE_CHARS]
    details = _text("Steps, links, what done looks like", multiline=True, max_length=MAX_DETAILS_CHARS)
    if draft.details:
        details["initial_value"] = draft.details[:MAX_DETAILS_CHARS]
    date_picker: View = {"type": "datepicker", "placeholder": {"type": "plain_text", "text": "No due date"}}
    time_picker: View = {"type": "timepicker", "placeholder": {"type": "plain_text", "text": "End of day"}}
    if draft.due_at is not None:
        local = draft.due_at.astimezone(zone)
        date_picker["initial_date"] = local.date().isoformat()
        time_picker["initial_time"] = local.strftime("%H:%M")
    options = [_option(label, p.value) for p, label in _PRIORITY_LABELS.items()]
    priority: View = {
        "type": "static_select", "options": options,
        "initial_option": _option(_PRIORITY_LABELS[draft.priority], draft.priority.value),
    }
    tags = _text("#payroll #client-acme", max_length=400)
    if draft.tags:
        tags["initial_value"] = " ".join(f"#{t}" for t in draft.tags)
    return [
        _input("title", "Task", title),
        _input("details", "Details", details, optional=True),
        _input("due_date", "Due date", date_picker, optional=True),
        _input("due_time", "Due time", time_picker, optional=True,
               hint=f"In your time zone ({zone.key}). Without a time, the end of your working day."),
        _input("priority", "Priority", priority),
        _input("tags", "Tags", tags, optional=True, hint=f"Up to {MAX_TAGS}, e.g. #payroll #client-acme"),
    ]


def edit_modal(task: Task, zone: ZoneInfo, *, channel_id: str | None) -> View:
    """The form that changes what a task says (its requester or a manager), as the task stands."""
    draft = Draft(title=task.title, details=task.details or "", due_at=task.due_at, priority=task.priority,
                  tags=tuple(task.tags))
    return {
        "type": "modal",
        "callback_id": "task_edit_modal",
        "private_metadata": json.dumps({"number": task.number, "channel": channel_id}),
        "title": {"type": "plain_text", "text": f"Edit {task.ref}"[:24]},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": _task_inputs(draft, zone),
    }


def detail_modal(task: Task, blocks: list[View], buttons: list[View], *, channel_id: str | None) -> View:
    """A task in full: what `/tasks T-42` shows (details, history with comments) and its buttons."""
    actions: list[View] = []
    if buttons:
        actions.append({"type": "actions", "block_id": "task_actions", "elements": buttons})
    return {
        "type": "modal",
        "callback_id": "task_detail_modal",
        "private_metadata": json.dumps({"number": task.number, "channel": channel_id}),
        "title": {"type": "plain_text", "text": task.ref[:24]},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [*actions, *blocks][:100],
    }


def creation_modal(draft: Draft, zone: ZoneInfo) -> View:
    """The "New task" modal, prefilled from `draft`; dates are shown, and read back, in `zone`."""
    meta: dict[str, Any] = {"channel": draft.channel_id}
    if draft.source:
        meta["source"] = draft.source
    blocks: list[View] = []
    if draft.source is not None:
        who = f"<@{draft.author_id}>'s message" if draft.author_id else "a message"
        blocks.append(_context(f"💬 From {who}; the task links back to it."))
    if draft.already:
        refs = ", ".join(f"<{t.card_url}|{t.ref}>" if t.card_url else t.ref for t in draft.already[:5])
        blocks.append(_context(f"ℹ️ This message is already {refs}. Submitting makes another task."))
    assignee: View = {"type": "users_select", "placeholder": {"type": "plain_text", "text": "Anyone (the pool)"}}
    if draft.assignee_id:
        assignee["initial_user"] = draft.assignee_id
    channel: View = {
        "type": "conversations_select",
        "placeholder": {"type": "plain_text", "text": "Where the card goes"},
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if draft.channel_id and draft.channel_id.startswith(("C", "G")):
        channel["initial_conversation"] = draft.channel_id
    else:
        channel["default_to_current_conversation"] = True
    title, details, *when_and_rest = _task_inputs(draft, zone)
    blocks += [
        title, details,
        _input("assignee", "Assign to", assignee, optional=True, hint="Left empty, the task waits in the pool."),
        _input("channel", "Post the card in", channel, optional=True),
        *when_and_rest,
        _input("repeat", "Repeat", _text("every Monday 9am, every month on the 1st", max_length=200), optional=True,
               hint="Left empty, it happens once. A repeating task takes its due time from the schedule."),
    ]
    return {
        "type": "modal",
        "callback_id": "new_task_modal",
        "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": "New task"},
        "submit": {"type": "plain_text", "text": "Create"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _context(text: str) -> View:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _option(label: str, value: str) -> View:
    return {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": value}
