"""The bot's Web API client keeps its connections open, and never mistakes one call's answer for another's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack_http import KeepAliveWebClient
from sandbox import SlackStandIn
from sandbox.contract import Contract

TOKEN = "xoxb-keepalive"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    standin = SlackStandIn(token=TOKEN, contract=Contract.load(required=True))
    standin.add_user("U1", "alice")
    standin.add_channel("C1", "general", members=["U1"])
    with standin:
        yield standin


def _client(slack: SlackStandIn, timeout: float = 5) -> KeepAliveWebClient:
    return KeepAliveWebClient(token=TOKEN, base_url=slack.api_url, timeout=timeout, retry_handlers=[])  # type: ignore[arg-type]


def test_calls_share_one_connection(slack: SlackStandIn) -> None:
    client = _client(slack)
    for n in range(20):
        assert client.chat_postMessage(channel="C1", text=f"line {n}")["ok"]
    assert slack.connections_opened == 1
    assert [m["text"] for m in slack.messages("C1")] == [f"line {n}" for n in range(20)]


def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error(slack: SlackStandIn) -> None:
    client = _client(slack)
    client.chat_postMessage(channel="C1", text="before")
    assert slack.close_idle_connections() == 1
    client.chat_postMessage(channel="C1", text="after")
    assert slack.connections_opened == 2
    assert [m["text"] for m in slack.messages("C1")] == ["before", "after"]


def test_after_a_timeout_the_late_answer_is_never_read_as_the_next_calls(slack: SlackStandIn) -> None:
    client = _client(slack, timeout=0.3)
    slack.hang_seconds = 1.0
    slack.fail_next("chat.postMessage", "timeout_after_success")
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="late")
    answer = client.chat_postMessage(channel="C1", text="next")
    assert answer["message"]["text"] == "next"
    assert slack.connections_opened == 2


def test_http_errors_reach_the_caller_as_slack_sdk_raises_them(slack: SlackStandIn) -> None:
    client = _client(slack)
    slack.fail_next("chat.postMessage", "ratelimited", retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C1", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    slack.fail_next("chat.postMessage", "server_error")
    with pytest.raises(SlackApiError) as failed:
        client.chat_postMessage(channel="C1", text="x")
    assert failed.value.response.status_code == 500
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="CNOPE", text="x")
    assert refused.value.response["error"] == "channel_not_found"
    # The connection survived all three.
    assert client.chat_postMessage(channel="C1", text="fine")["ok"]
    assert slack.connections_opened == 1


def test_a_stopped_slack_is_a_network_error_not_an_answer(slack: SlackStandIn) -> None:
    client = _client(slack)
    client.auth_test()
    slack.stop()
    with pytest.raises(OSError):
        client.auth_test()
