"""Cards are valid Block Kit in every state, as slack_sdk's models and Slack's limits define it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_sdk.models.blocks import Block

from bot.render import MENU_LIMIT, card
from models.enums import TaskStatus
from models.tables import Task

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
