"""What one person sees in the stand-in (the browser workspace's data), and how their actions land."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest
from slack_sdk import WebClient

from sandbox import SlackStandIn

from .conftest import TOKEN

MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Block task"},
    "submit": {"type": "plain_text", "text": "Block"},
    "blocks": [{"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Why?"},
                "element": {"type": "plain_text_input", "action_id": "value"}}],
}


def test_a_snapshot_holds_only_what_that_person_can_see(slack: SlackStandIn, web: WebClient) -> None:
    posted = web.chat_postMessage(channel="C1", text="card", metadata={"event_type": "t", "event_payload": {}})
    web.chat_postMessage(channel="C1", text="reply", thread_ts=posted["ts"])
    web.chat_postEphemeral(channel="C1", user="U1", text="for alice")
    web.chat_postEphemeral(channel="C1", user="U2", text="for bob")
    web.chat_postMessage(channel="U2", text="dm for bob")

    alice = slack.snapshot("U1")
    assert [c["id"] for c in alice["conversations"]] == ["C1", "C2", "G1", "DU1"]
    assert [m["text"] for m in alice["messages"]["C1"]] == ["card", "reply"]
    assert "metadata" not in alice["messages"]["C1"][0]  # people never see message metadata
    assert [e["text"] for e in alice["ephemerals"]] == ["for alice"]
    assert "DU2" not in alice["messages"]
    bob = slack.snapshot("U2")
    assert "G1" not in [c["id"] for c in bob["conversations"]]  # a private channel he is not in
    assert [m["text"] for m in bob["messages"]["DU2"]] == ["dm for bob"]
    with pytest.raises(KeyError):
        slack.snapshot("UNOBODY")


def test_a_modal_shows_on_the_screen_of_whoever_triggered_it(slack: SlackStandIn, web: WebClient) -> None:
    opened = web.views_open(trigger_id=slack.mint_trigger("U2"), view=MODAL)["view"]
    assert slack.view_owner(opened["id"]) == "U2"
    assert [v["id"] for v in slack.snapshot("U2")["modals"]] == [opened["id"]]
    assert slack.snapshot("U1")["modals"] == []
    pushed = web.views_push(trigger_id=slack.mint_trigger("U2"), view=MODAL)["view"]
    assert slack.view_owner(pushed["id"]) == "U2"

    slack.apply_view_response(pushed["id"], {"response_action": "errors", "errors": {"reason": "Say why"}})
    assert slack.snapshot("U2")["modals"][-1]["errors"] == {"reason": "Say why"}
    slack.apply_view_response(pushed["id"], None)  # accepted: it closes
    assert [v["id"] for v in slack.snapshot("U2")["modals"]] == [opened["id"]]


def test_a_command_ack_shows_as_slack_shows_it(slack: SlackStandIn) -> None:
    slack.command_response("C1", "U1", {"text": "only alice sees this"})
    slack.command_response("C1", "U1", {"response_type": "in_channel", "text": "everyone sees this"})
    slack.command_response("C1", "U1", "")  # an empty ack shows nothing
    slack.command_response("C1", "U1", "plain words")
    assert [e["text"] for e in slack.ephemerals("U1")] == ["only alice sees this", "plain words"]
    assert [m["text"] for m in slack.messages("C1")] == ["everyone sees this"]


def test_an_ephemeral_can_be_dismissed_or_replaced_by_its_buttons(slack: SlackStandIn, web: WebClient) -> None:
    web.chat_postEphemeral(channel="C1", user="U1", text="pick one")
    ephemeral = slack.ephemerals("U1")[0]
    url = slack.new_response_url(channel="C1", user_id="U1", message_ts=ephemeral["ts"])
    request = urllib.request.Request(url, data=json.dumps({"replace_original": True, "text": "picked"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    assert slack.ephemeral("U1", "C1", ephemeral["ts"])["text"] == "picked"
    assert slack.dismiss_ephemeral("U2", "C1", ephemeral["ts"]) is False  # not bob's to dismiss
    assert slack.dismiss_ephemeral("U1", "C1", ephemeral["ts"]) is True
    assert slack.ephemerals("U1") == []


def test_versions_wake_a_waiting_reader_and_ts_follow_a_given_clock(web: WebClient, slack: SlackStandIn) -> None:
    seen = slack.version
    woke: list[int] = []
    reader = threading.Thread(target=lambda: woke.append(slack.wait_for_version(seen, timeout=5)))
    reader.start()
    web.chat_postMessage(channel="C1", text="hello")
    reader.join(timeout=5)
    assert woke and woke[0] > seen
    assert slack.wait_for_version(slack.version, timeout=0.01) == slack.version  # nothing new: times out

    moments = iter([1_800_000_000.5, 1_800_000_000.5, 1_700_000_000.0])
    with SlackStandIn(token=TOKEN, clock=lambda: next(moments)) as timed:
        timed.add_channel("C1", "general")
        client = WebClient(token=TOKEN, base_url=timed.api_url)
        stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(3)]
    # Slack's time, unique and increasing even when the clock repeats itself or steps back.
    assert stamps == ["1800000000.500000", "1800000000.500001", "1800000000.500002"]
