"""Real request bodies from Slack's bolt-python test suite, adapted to our workspace, signed to the bot.

`../shared/contract_data/bolt_payloads.json` (beside the repository; see its README) holds slash commands,
block actions, view submissions and closings, shortcuts, options requests, url_verification, ssl_check and
events, including Enterprise Grid and shared-channel variants. Each must get Slack's expected answer
(200; the challenge for url_verification) and never a traceback.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.scenarios.conftest import ANA, BEN, GENERAL, RITA, TEAM, Bot

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "contract_data" / "bolt_payloads.json"


def _load() -> dict[str, Any]:
    # Missing reference data is a failure, never a skip: the test would otherwise pass by proving nothing.
    assert CONTRACT.is_file(), f"{CONTRACT} is missing: CI puts shared/ beside the clone"
    payloads: dict[str, Any] = json.loads(CONTRACT.read_text())["payloads"]
    return payloads


PAYLOADS = _load() if CONTRACT.is_file() else {}


def test_the_reference_payloads_are_there() -> None:
    assert len(_load()) >= 20


def _ours(bot: Bot) -> dict[str, str]:
    """bolt-python's ids and URLs → the ones the app under test expects."""
    return {
        "T111": TEAM, "T_SOURCE": TEAM, "T_INSTALLED": TEAM,
        "W111": RITA, "W222": ANA, "U222": ANA, "W23456789": BEN,
        "C111": GENERAL, "D111": bot.slack.dm_id(RITA), "A111": bot.slack.app_id,
    }


def _adapt(value: Any, ids: dict[str, str], response_url: str) -> Any:
    if isinstance(value, dict):
        return {k: _adapt(v, ids, response_url) for k, v in value.items()}
    if isinstance(value, list):
        return [_adapt(v, ids, response_url) for v in value]
    if isinstance(value, str):
        if value.startswith("https://hooks.slack.com/"):
            return response_url  # never let a test reach the real Slack
        return ids.get(value, value)
    return value


def _send(bot: Bot, name: str, change: dict[str, Any] | None = None) -> Any:
    raw = PAYLOADS[name]["body"]
    ids = _ours(bot)
    response_url = bot.slack.new_response_url(channel=GENERAL, user_id=RITA)
    if isinstance(raw, str):  # a form: slash command or ssl_check
        fields = {k: _adapt(v, ids, response_url) for k, v in parse_qsl(raw, keep_blank_values=True)}
        fields.update(change or {})
        return bot.client.send(urlencode(fields).encode(), "application/x-www-form-urlencoded")
    body = _adapt(raw, ids, response_url)
    for path, value in (change or {}).items():
        target = body
        *parents, key = path.split(".")
        for parent in parents:
            target = target[int(parent)] if isinstance(target, list) else target[parent]
        target[key] = value
    if body.get("type") in {"event_callback", "url_verification"}:
        return bot.client.send(json.dumps(body).encode(), "application/json")
    return bot.client.send(urlencode({"payload": json.dumps(body)}).encode(), "application/x-www-form-urlencoded")


def _assert_clean(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


@pytest.mark.parametrize("name", sorted(PAYLOADS) or ["missing"])
def test_every_reference_payload_gets_slacks_expected_answer(
    bot: Bot, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    assert name in _load()
    response = _send(bot, name)
    assert response.status == 200, (name, response.status, response.body)
    if name == "url_verification":
        assert response.json() == {"challenge": PAYLOADS[name]["body"]["challenge"]}
    bot.deliver()
    _assert_clean(caplog)


def test_reference_payloads_pointed_at_our_own_surfaces_work(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    """The same bodies aimed at Handoff's command, button, modal and reaction drive the real task."""
    caplog.set_level(logging.WARNING)
    bot.delegate("Pay the invoices")  # T-1, in the pool
    bot.deliver()
    task = bot.task(1)

    help_text = _send(bot, "slash_command", {"command": "/tasks", "text": "help"})
    assert help_text.status == 200 and "/tasks" in help_text.json()["text"]

    claim = _send(bot, "block_actions", {"actions.0.action_id": "task_claim", "actions.0.value": "1",
                                         "channel.id": task.card_channel_id})
    assert claim.status == 200
    assert bot.task(1).assignee_id == RITA

    block = _send(bot, "view_submission", {
        "view.callback_id": "task_block_modal",
        "view.private_metadata": json.dumps({"number": 1, "channel": task.card_channel_id}),
        "view.state.values": {"reason": {"value": {"type": "plain_text_input", "value": "waiting on the bank"}}},
    })
    assert block.status == 200, block.body
    assert bot.task(1).status == "blocked"

    closed = _send(bot, "view_closed", {"view.callback_id": "task_block_modal"})
    assert closed.status == 200

    # The shortcuts: Slack's own bodies with Handoff's callback ids open the creation modal.
    for name, callback in (("global_shortcut", "new_task"), ("message_shortcut", "delegate_message")):
        trigger = bot.slack.mint_trigger(RITA)
        opened = _send(bot, name, {"callback_id": callback, "trigger_id": trigger, "user.id": RITA})
        assert opened.status == 200, opened.body
    assert [v["callback_id"] for v in bot.slack.open_views] == ["new_task_modal", "new_task_modal"]
    # ...and a mention of the bot makes a task.
    mention = _send(bot, "app_mention", {"event.text": f"<@{bot.slack.bot_user_id}> Pay the rent by Friday",
                                         "event_id": "Ev0OURS"})
    assert mention.status == 200
    assert bot.task(2).title == "Pay the rent"
    bot.deliver()
    _assert_clean(caplog)
