"""Cards are valid Block Kit in every state, as slack_sdk's models and Slack's limits define it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from slack_sdk.models.blocks import Block

from bot.render import (
    MENU_LIMIT,
    MESSAGE_BLOCKS,
    MORNING_ITEMS,
    card,
    clip,
    digest_headline,
    digest_section,
    morning_queue,
)
from models.enums import TaskStatus
from models.tables import Task
from sandbox.blockkit import message_refusal
from scheduler.digest import DIGEST_LIST, DIGEST_PEOPLE

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _task(status: TaskStatus) -> Task:
    return Task(
        team_id="T0001", number=42, title="Send <acct 4402> & R&D pack", requester_id="URITA",
        assignee_id=None if status is TaskStatus.OPEN else "UANA", status=status,
        origin_channel_id="CGENERAL", card_channel_id="CGENERAL", created_at=NOW, updated_at=NOW,
    )


@pytest.mark.parametrize("status", list(TaskStatus))
def test_the_card_menu_has_two_to_five_options_in_every_state(status: TaskStatus) -> None:
    blocks = card(_task(status), NOW)
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    elements = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    menus = [e for e in elements if e["type"] == "overflow"]
    for menu in menus:
        assert 2 <= len(menu["options"]) <= MENU_LIMIT
    assert len({e["action_id"] for e in elements}) == len(elements)
    if status in (TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS):
        # Every step an assigned task can take is one click or one menu entry away.
        offered = {e["action_id"] for e in elements} | {o["value"].split(":")[0] for m in menus for o in m["options"]}
        assert {"task_done", "task_block", "done_note", "snooze", "reassign", "due", "cancel"} <= offered


@pytest.mark.parametrize("limit", [1, 2, 5, 10, 11, 12, 20, 37])
def test_clip_never_cuts_inside_an_entity_or_a_link(limit: int) -> None:
    text = "R&amp;D <https://example.com/a|the link> &lt;acct&gt; <@UANA> " * 3
    clipped = clip(text, limit)
    assert len(clipped) <= limit
    body = clipped.removesuffix("…")
    assert body == text[: len(body)]
    assert not re.search(r"&(?!(?:amp|lt|gt);)", body)
    assert body.count("<") == body.count(">")


def _item(n: int) -> dict[str, object]:
    return {"ref": f"T-{n}", "title": "R&D <pack> " * 20, "assignee": "UANA", "due": NOW.isoformat(),
            "url": f"https://example.slack.com/archives/C1/p{n}"}


@pytest.mark.parametrize("count", [1, 39, 40, 41, 1000])
def test_digest_parts_and_the_morning_queue_stay_valid_at_any_size(count: int) -> None:
    text, blocks = morning_queue({"user": "UANA", "date": "2026-12-01", "items": [_item(n) for n in range(count)]})
    assert len(blocks) <= MESSAGE_BLOCKS and str(count) in text
    shown = sum(t["text"].count("• *") for b in blocks if b["type"] == "section" for t in [b["text"]])
    assert shown == min(count, MORNING_ITEMS)
    if count > MORNING_ITEMS:
        assert f"…and {count - MORNING_ITEMS} more" in blocks[-1]["elements"][0]["text"]
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    people = [{"user_id": f"U{n:010d}", "open": 10_000, "overdue": 10_000, "due_today": 10_000, "blocked": 10_000,
               "done": 10_000} for n in range(min(count, DIGEST_PEOPLE))]
    sections = [
        {"kind": "list", "group": "overdue", "items": [_item(n) for n in range(min(count, DIGEST_LIST))],
         "total": count, "more": "/tasks overdue"},
        {"kind": "people", "rows": people, "part": 1, "parts": 2},
    ]
    for section in sections:
        text, blocks = digest_section(section)
        assert message_refusal(text, blocks) is None, section["kind"]


def test_a_digest_queued_by_the_previous_version_is_still_delivered() -> None:
    text, blocks = digest_headline({"date": "2026-12-01", "headline": {
        "open": 3, "due_today": 1, "overdue": 0, "unclaimed": 1, "done": 1, "on_time_rate": 100}})
    assert message_refusal(text, blocks) is None
    for section in [{"kind": "assistant", "user": "UANA", "groups": {"in_progress": [_item(1)], "overdue": []}},
                    {"kind": "pool", "groups": {"unclaimed": [_item(2)]}, "part": 1, "parts": 2}]:
        text, blocks = digest_section(section)
        assert message_refusal(text, blocks) is None and "T-" in blocks[1]["text"]["text"]
