"""SlackClientSim: requests shaped and signed as Slack sends them, checked by a recording HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.webhook import WebhookClient

from sandbox import SlackClientSim, SlackStandIn

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_764_000_000.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}

    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.form()["payload"])
        return result

    def json(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result


@dataclass
class FakeBot:
    """A tiny HTTP server standing in for the bot: records requests, answers with `reply`."""

    url: str
    received: list[Received] = field(default_factory=list)
    reply: tuple[int, str] = (200, "")


@pytest.fixture
def bot() -> Iterator[FakeBot]:
    recorder: FakeBot

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            recorder.received.append(Received(self.path, dict(self.headers.items()), body))
            status, text = recorder.reply
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if text else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    recorder = FakeBot(f"http://127.0.0.1:{server.server_address[1]}/slack/events")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield recorder
    server.shutdown()
    server.server_close()


def verifier(now: float = NOW) -> SignatureVerifier:
    class FixedClock(Clock):
        def now(self) -> float:
            return now

    return SignatureVerifier(SECRET, clock=FixedClock())


@pytest.fixture
def sim(bot: FakeBot, slack: SlackStandIn) -> SlackClientSim:
    return SlackClientSim(bot.url, SECRET, standin=slack, clock=lambda: NOW)


# ----------------------------------------------------------------------------- signing


def test_requests_are_signed_as_slack_does(bot: FakeBot, sim: SlackClientSim) -> None:
    sim.command("U1", "/handoff", "list")
    request = bot.received[0]
    assert request.path == "/slack/events"
    assert request.headers["X-Slack-Request-Timestamp"] == str(int(NOW))
    assert request.headers["X-Slack-Signature"].startswith("v0=")
    assert verifier().is_valid_request(request.body, request.headers)
    assert not SignatureVerifier("another-secret", clock=verifier().clock).is_valid_request(
        request.body, request.headers
    )
    tampered = request.body.replace(b"list", b"lost")
    assert not verifier().is_valid_request(tampered, request.headers)


def test_sign_matches_the_reference_verifier(sim: SlackClientSim) -> None:
    body = b'{"type":"event_callback"}'
    expected = verifier().generate_signature(timestamp="1764000000", body=body)
    assert sim.sign(body, 1_764_000_000) == expected


def test_stale_clock_yields_a_stale_signature(bot: FakeBot) -> None:
    stale = SlackClientSim(bot.url, SECRET, clock=lambda: NOW - 600)
    stale.event({"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1"})
    request = bot.received[0]
    assert request.headers["X-Slack-Request-Timestamp"] == str(int(NOW - 600))
    assert not verifier().is_valid_request(request.body, request.headers)  # five-minute window
    assert verifier(NOW - 600).is_valid_request(request.body, request.headers)  # but correctly signed


def test_raw_sends_exactly_what_it_is_given(bot: FakeBot, sim: SlackClientSim) -> None:
    bot.reply = (401, "")
    response = sim.raw(
        b"token=x", {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Signature": "v0=bad"}
    )
    assert response.status == 401
    assert response.json() is None
    request = bot.received[0]
    assert request.body == b"token=x"
    assert request.headers["X-Slack-Signature"] == "v0=bad"
    assert "X-Slack-Request-Timestamp" not in request.headers


def test_responses_carry_status_headers_and_json(bot: FakeBot, sim: SlackClientSim) -> None:
    bot.reply = (200, '{"response_type": "ephemeral", "text": "ok"}')
    response = sim.command("U1", "/handoff", "")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"response_type": "ephemeral", "text": "ok"}


# ----------------------------------------------------------------------------- payload shapes


def test_slash_command_form(bot: FakeBot, slack: SlackStandIn, sim: SlackClientSim) -> None:
    sim.command("U1", "/handoff", "assign @bob fix the build", channel_id="C1")
    request = bot.received[0]
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = request.form()
    assert form["command"] == "/handoff"
    assert form["text"] == "assign @bob fix the build"
    assert form["user_id"] == "U1"
    assert form["user_name"] == "alice"
    assert form["channel_id"] == "C1"
    assert form["channel_name"] == "general"
    assert form["team_id"] == "T0001"
    assert form["team_domain"] == "sandbox"
    assert form["api_app_id"] == "A0001"
    assert form["trigger_id"]
    assert form["response_url"].startswith(slack.base_url + "/response/")
    assert set(form) >= {"token", "team_id", "channel_id", "user_id", "command", "text", "response_url"}

    # The response URL is live: a reply through it lands as an ephemeral for the invoking user.
    assert WebhookClient(form["response_url"]).send(text="On it").status_code == 200
    assert [e["text"] for e in slack.ephemerals("U1", channel="C1")] == ["On it"]


def test_slash_command_without_standin_uses_dummies(bot: FakeBot) -> None:
    sim = SlackClientSim(bot.url, SECRET)
    sim.command("U9", "/handoff", "help", trigger_id="trig-1")
    form = bot.received[0].form()
    assert form["channel_id"] == "C_GENERAL"
    assert form["channel_name"] == "general"
    assert form["user_name"] == "u9"
    assert form["trigger_id"] == "trig-1"
    assert form["response_url"].startswith("https://")


def test_event_envelope_and_retry_headers(bot: FakeBot, sim: SlackClientSim) -> None:
    sim.event({"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "channel": "C1"}, event_id="Ev123")
    sim.event(
        {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "channel": "C1"},
        event_id="Ev123",
        retry_num=1,
    )
    first, retry = bot.received
    assert first.headers["Content-Type"] == "application/json"
    envelope = first.json()
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"] == "Ev123"
    assert envelope["team_id"] == "T0001"
    assert envelope["api_app_id"] == "A0001"
    assert envelope["event_time"] == int(NOW)
    assert envelope["authorizations"][0] == {
        "enterprise_id": None,
        "team_id": "T0001",
        "user_id": "UBOT",
        "is_bot": True,
        "is_enterprise_install": False,
    }
    assert envelope["event"]["type"] == "app_mention"
    assert envelope["event"]["event_ts"]
    assert "X-Slack-Retry-Num" not in first.headers
    assert retry.headers["X-Slack-Retry-Num"] == "1"
    assert retry.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert verifier().is_valid_request(retry.body, retry.headers)


def test_generated_event_ids_are_unique(bot: FakeBot, sim: SlackClientSim) -> None:
    for _ in range(3):
        sim.event({"type": "app_home_opened", "user": "U1"})
    ids = [r.json()["event_id"] for r in bot.received]
    assert len(set(ids)) == 3
    assert all(i.startswith("Ev") for i in ids)


def test_reaction_events_update_the_standin(bot: FakeBot, slack: SlackStandIn, sim: SlackClientSim) -> None:
    web = WebClient(token=slack.token, base_url=slack.api_url)
    ts = web.chat_postMessage(channel="C1", text="Task 12")["ts"]
    sim.reaction_added("U2", "white_check_mark", "C1", ts)
    event = bot.received[0].json()["event"]
    assert event == {
        "event_ts": event["event_ts"],
        "type": "reaction_added",
        "user": "U2",
        "reaction": "white_check_mark",
        "item_user": "UBOT",
        "item": {"type": "message", "channel": "C1", "ts": ts},
    }
    assert slack.message("C1", ts)["reactions"] == [{"name": "white_check_mark", "users": ["U2"], "count": 1}]
    sim.reaction_removed("U2", "white_check_mark", "C1", ts)
    assert bot.received[1].json()["event"]["type"] == "reaction_removed"
    assert "reactions" not in slack.message("C1", ts)


def test_message_event_is_stored_first(bot: FakeBot, slack: SlackStandIn, sim: SlackClientSim) -> None:
    sim.message_event("U1", "hello bot", slack.dm_id("U1"))
    event = bot.received[0].json()["event"]
    assert event["channel_type"] == "im"
    assert slack.message(event["channel"], event["ts"])["text"] == "hello bot"


def test_block_action_on_a_stored_message(bot: FakeBot, slack: SlackStandIn, sim: SlackClientSim) -> None:
    web = WebClient(token=slack.token, base_url=slack.api_url)
    blocks = [
        {
            "type": "actions",
            "block_id": "task_12",
            "elements": [
                {
                    "type": "button",
                    "action_id": "task_start",
                    "value": "12",
                    "text": {"type": "plain_text", "text": "Start"},
                },
                {
                    "type": "overflow",
                    "action_id": "task_more",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Snooze"}, "value": "snooze:12"},
                        {"text": {"type": "plain_text", "text": "Cancel"}, "value": "cancel:12"},
                    ],
                },
            ],
        }
    ]
    ts = web.chat_postMessage(channel="C1", text="Task 12", blocks=blocks)["ts"]
    sim.block_action(
        "U2", {"action_id": "task_start", "value": "12", "type": "button"}, channel_id="C1", message_ts=ts
    )
    payload = bot.received[0].payload()
    assert payload["type"] == "block_actions"
    assert payload["user"] == {"id": "U2", "username": "bob", "name": "bob", "team_id": "T0001"}
    assert payload["team"] == {"id": "T0001", "domain": "sandbox"}
    assert payload["channel"] == {"id": "C1", "name": "general"}
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": "C1",
        "is_ephemeral": False,
    }
    assert payload["message"]["blocks"] == blocks
    assert payload["trigger_id"]
    assert payload["response_url"].startswith(slack.base_url + "/response/")
    action = payload["actions"][0]
    assert action["action_id"] == "task_start"
    assert action["block_id"] == "task_12"  # filled in from the message, as Slack does
    assert action["value"] == "12"
    assert action["text"]["text"] == "Start"
    assert action["action_ts"]
    assert verifier().is_valid_request(bot.received[0].body, bot.received[0].headers)

    sim.click_button("U2", "C1", ts, "task_start")
    assert bot.received[1].payload()["actions"][0]["value"] == "12"
    sim.choose_option("U2", "C1", ts, "task_more", "snooze:12")
    overflow = bot.received[2].payload()["actions"][0]
    assert overflow["type"] == "overflow"
    assert overflow["selected_option"]["value"] == "snooze:12"
    with pytest.raises(LookupError):
        sim.click_button("U2", "C1", ts, "task_delete")
    with pytest.raises(LookupError):
        sim.choose_option("U2", "C1", ts, "task_more", "delete:12")
    assert len(bot.received) == 3


def test_block_action_without_standin_uses_a_minimal_message(bot: FakeBot) -> None:
    sim = SlackClientSim(bot.url, SECRET)
    sim.block_action("U1", {"action_id": "a", "value": "v"}, channel_id="C1", message_ts="1700000000.000100")
    payload = bot.received[0].payload()
    assert payload["message"] == {"type": "message", "ts": "1700000000.000100", "text": ""}
    assert payload["actions"][0]["type"] == "button"


def test_view_submission_and_response_actions(bot: FakeBot, slack: SlackStandIn, sim: SlackClientSim) -> None:
    web = WebClient(token=slack.token, base_url=slack.api_url)
    modal = {
        "type": "modal",
        "callback_id": "new_task",
        "private_metadata": '{"channel": "C1"}',
        "title": {"type": "plain_text", "text": "New task"},
        "submit": {"type": "plain_text", "text": "Create"},
        "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "What needs doing?"}}],
    }
    view = web.views_open(trigger_id=slack.mint_trigger("U2"), view=modal)["view"]
    values = {
        "title": {"title_input": "Fix the build"},
        "owner": {"owner_select": {"type": "users_select", "selected_user": "U2"}},
    }

    bot.reply = (200, json.dumps({"response_action": "errors", "errors": {"title": "Too vague"}}))
    sim.view_submission("U1", view["id"], values)
    payload = bot.received[0].payload()
    assert payload["type"] == "view_submission"
    assert payload["view"]["callback_id"] == "new_task"
    assert payload["view"]["private_metadata"] == '{"channel": "C1"}'
    assert payload["view"]["state"]["values"] == {
        "title": {"title_input": {"type": "plain_text_input", "value": "Fix the build"}},
        "owner": {"owner_select": {"type": "users_select", "selected_user": "U2"}},
    }
    assert [v["id"] for v in slack.open_views] == [view["id"]]  # errors keep the modal open

    bot.reply = (200, "")
    sim.view_submission("U1", view, values)
    assert slack.open_views == []  # an empty ack closes it


def test_view_closed_and_shortcuts(bot: FakeBot, slack: SlackStandIn, sim: SlackClientSim) -> None:
    sim.view_closed("U1", {"id": "V1", "type": "modal", "callback_id": "new_task"})
    closed = bot.received[0].payload()
    assert closed["type"] == "view_closed"
    assert closed["is_cleared"] is False

    sim.shortcut("U1", "new_task")
    global_shortcut = bot.received[1].payload()
    assert global_shortcut["type"] == "shortcut"
    assert global_shortcut["callback_id"] == "new_task"
    assert global_shortcut["trigger_id"]
    assert "message" not in global_shortcut

    message = slack.add_message("C1", "U2", "please fix the build")
    sim.shortcut("U1", "make_task", message=message, channel_id="C1")
    message_shortcut = bot.received[2].payload()
    assert message_shortcut["type"] == "message_action"
    assert message_shortcut["message"]["text"] == "please fix the build"
    assert message_shortcut["message_ts"] == message["ts"]
    assert message_shortcut["channel"] == {"id": "C1", "name": "general"}
    assert message_shortcut["response_url"].startswith(slack.base_url)
    with pytest.raises(ValueError):
        sim.shortcut("U1", "make_task", message=message)
