"""Fixtures for the sandbox tests: a seeded, running stand-in and a real slack_sdk client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from sandbox import SlackStandIn
from sandbox.contract import Contract

TOKEN = "xoxb-sandbox-test"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A running stand-in with alice and bob in #general, #random (bot not in it) and a private #secret."""
    standin = SlackStandIn(token=TOKEN, contract=Contract.load(required=True))
    standin.add_user("U1", "alice", real_name="Alice Archer")
    standin.add_user("U2", "bob", real_name="Bob Baker", tz="Europe/London")
    standin.add_user("U3", "carol", tz="Asia/Kolkata")
    standin.add_user("UGONE", "gone", deleted=True)
    standin.add_channel("C1", "general", members=["U1", "U2"])
    standin.add_channel("C2", "random", members=["U1"], bot_is_member=False)
    standin.add_channel("G1", "secret", members=["U1"], bot_is_member=False, is_private=True)
    with standin:
        yield standin


@pytest.fixture
def web(slack: SlackStandIn) -> WebClient:
    """The real slack_sdk client the bot uses, pointed at the stand-in."""
    return WebClient(token=TOKEN, base_url=slack.api_url, timeout=5)
