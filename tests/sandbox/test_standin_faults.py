"""The stand-in's fault modes (a seeded storm, a slow Slack) and thread lookups by time range."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox import SlackStandIn


def _outcomes(slack: SlackStandIn, web: WebClient, calls: int) -> list[str]:
    seen = []
    for number in range(calls):
        try:
            web.chat_postMessage(channel="C1", text=f"hello {number}")
            seen.append("ok")
        except SlackApiError as exc:
            seen.append(str(exc.response["error"]))
    return seen


def test_a_storm_fails_a_share_of_calls_the_same_way_for_the_same_seed(slack: SlackStandIn, web: WebClient) -> None:
    slack.hang_seconds = 0  # "late" answers come at once here; the call still acts
    slack.storm(0.5, seed=3)
    first = _outcomes(slack, web, 40)
    slack.storm(0.5, seed=3)
    assert _outcomes(slack, web, 40) == first
    assert {"ok", "ratelimited", "server_error"} <= set(first)
    injected = {call.injected for call in slack.calls_to("chat.postMessage")}
    assert "timeout_after_success" in injected
    # A late answer acted: its message is there, as Slack would have it.
    late = [c for c in slack.calls_to("chat.postMessage") if c.injected == "timeout_after_success"]
    texts = {m["text"] for m in slack.messages("C1")}
    assert all(call.params["text"] in texts for call in late)
    slack.storm(0)
    assert _outcomes(slack, web, 10) == ["ok"] * 10


def test_a_storm_can_spare_methods(slack: SlackStandIn, web: WebClient) -> None:
    slack.storm(1.0, methods=["chat.update"])
    assert _outcomes(slack, web, 5) == ["ok"] * 5
    slack.clear_failures()  # also ends the storm


def test_replies_honour_oldest_and_latest(slack: SlackStandIn, web: WebClient) -> None:
    parent = web.chat_postMessage(channel="C1", text="parent")["ts"]
    replies = [web.chat_postMessage(channel="C1", text=f"r{n}", thread_ts=parent)["ts"] for n in range(4)]
    after = web.conversations_replies(channel="C1", ts=parent, oldest=replies[1])
    assert [m["text"] for m in after["messages"]] == ["r2", "r3"]
    between = web.conversations_replies(channel="C1", ts=parent, oldest=replies[0], latest=replies[3], inclusive=True)
    assert [m["text"] for m in between["messages"]] == ["r0", "r1", "r2", "r3"]
