"""Modals for the steps that need a little more input: block, reassign, due date, cancel, done note."""

from __future__ import annotations

import json
from typing import Any

from models.tables import Task

__all__ = ["MODAL_VERBS", "modal_for", "read_metadata"]

View = dict[str, Any]

# The overflow entries that open a modal, and the callback id of each.
MODAL_VERBS = {"block", "reassign", "due", "cancel", "done_note", "snooze"}


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


def read_metadata(view: dict[str, Any]) -> tuple[int, str | None]:
    """The task number and channel a modal was opened for."""
    meta = json.loads(view.get("private_metadata") or "{}")
    return int(meta["number"]), meta.get("channel")
