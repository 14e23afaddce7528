"""Socket Mode in the stand-in: a real Bolt app served by slack_sdk's builtin Socket Mode client,
plus a hand-rolled WebSocket client that checks the framing rules slack_sdk never exercises."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from slack_bolt import Ack, App, Respond, Say
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.client import BaseSocketModeClient

from sandbox import SlackStandIn
from sandbox.socket_mode import (
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Frame,
    accept_key,
    encode_frame,
    read_frame,
)

from .conftest import TOKEN

APP_TOKEN = "xapp-test"
WAIT = 5.0


@dataclass
class Bot:
    """A Bolt app whose listeners report what reached them."""

    app: App
    commands: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    events: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)


@dataclass
class Served:
    handler: SocketModeHandler
    # Every message slack_sdk's client parsed off the socket (hello, envelopes, disconnect), in order.
    received: queue.Queue[dict[str, Any]]


def build_bot(slack: SlackStandIn) -> Bot:
    app = App(signing_secret="unused-in-socket-mode", client=WebClient(token=TOKEN, base_url=slack.api_url))
    bot = Bot(app)

    @app.command("/handoff")
    def command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        if command["text"] == "bad blocks":
            # An overflow menu of one option: Slack refuses it.
            menu = {"type": "overflow", "action_id": "m", "options": [
                {"text": {"type": "plain_text", "text": "Only"}, "value": "1"}]}
            ack(text="x", blocks=[{"type": "actions", "elements": [menu]}])
            return
        ack(f"Creating: {command['text']}")
        respond("Created task 12")
        bot.commands.put(command)

    @app.event("app_mention")
    def mentioned(event: dict[str, Any], body: dict[str, Any], say: Say) -> None:
        say(channel=event["channel"], text="On it")
        bot.events.put(body)

    @app.view("new_task")
    def submitted(ack: Ack, view: dict[str, Any]) -> None:
        title = view["state"]["values"]["title"]["title_input"]["value"]
        ack(response_action="errors", errors={"title": f"{title!r} is too short"})

    return bot


@contextmanager
def socket_mode(bot: Bot, slack: SlackStandIn, **options: Any) -> Iterator[Served]:
    handler = SocketModeHandler(bot.app, APP_TOKEN, **options)
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    def record(client: BaseSocketModeClient, message: dict[str, Any], raw: str | None) -> None:
        received.put(message)

    handler.client.message_listeners.append(record)
    handler.connect()
    try:
        yield Served(handler, received)
    finally:
        # slack_sdk's close() waits for its reader's blocked recv (3 s socket timeout) unless the
        # server hangs up first, so hang up first to keep the suite fast.
        slack.socket_disconnect(reason=None)
        handler.close()


@pytest.fixture
def bot(slack: SlackStandIn) -> Bot:
    return build_bot(slack)


@pytest.fixture
def served(bot: Bot, slack: SlackStandIn) -> Iterator[Served]:
    with socket_mode(bot, slack) as served:
        assert slack.socket_connected(WAIT)
        yield served


def next_envelope(served: Served) -> dict[str, Any]:
    """The next message the client got that is not `hello`."""
    while True:
        message = served.received.get(timeout=WAIT)
        if message.get("type") != "hello":
            return message


# ----------------------------------------------------------------------------- apps.connections.open


def test_apps_connections_open_wants_the_app_level_token(slack: SlackStandIn) -> None:
    client = WebClient(base_url=slack.api_url)
    first = client.apps_connections_open(app_token=APP_TOKEN)["url"]
    second = client.apps_connections_open(app_token=APP_TOKEN)["url"]
    port = urlsplit(slack.base_url).port
    assert re.fullmatch(rf"ws://127\.0\.0\.1:{port}/socket/\w+", first)
    assert first != second

    with pytest.raises(SlackApiError) as bot_token:
        client.apps_connections_open(app_token=TOKEN)
    assert bot_token.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as wrong:
        client.apps_connections_open(app_token="xapp-wrong")
    assert wrong.value.response["error"] == "invalid_auth"
    # ...and the app-level token is good for nothing else.
    with pytest.raises(SlackApiError) as elsewhere:
        WebClient(token=APP_TOKEN, base_url=slack.api_url).auth_test()
    assert elsewhere.value.response["error"] == "not_allowed_token_type"
    assert [(c.method, c.error) for c in slack.calls] == [
        ("apps.connections.open", None),
        ("apps.connections.open", None),
        ("apps.connections.open", "not_allowed_token_type"),
        ("apps.connections.open", "invalid_auth"),
        ("auth.test", "not_allowed_token_type"),
    ]


def test_bolt_refuses_to_connect_with_a_bot_token(slack: SlackStandIn, bot: Bot) -> None:
    handler = SocketModeHandler(bot.app, TOKEN)
    try:
        with pytest.raises(SlackApiError) as refused:
            handler.connect()
        assert refused.value.response["error"] == "not_allowed_token_type"
        assert not slack.socket_connected(timeout=0)
    finally:
        handler.close()


# ----------------------------------------------------------------------------- with Bolt


def test_hello_comes_first(slack: SlackStandIn, served: Served) -> None:
    hello = served.received.get(timeout=WAIT)
    assert hello["type"] == "hello"
    assert hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": slack.app_id}
    assert [c.method for c in slack.calls] == ["auth.test", "apps.connections.open"]


def test_slash_command_reaches_listener_and_ack_carries_response(
    slack: SlackStandIn, bot: Bot, served: Served
) -> None:
    envelope_id = slack.socket_command("U1", "/handoff", "fix the build", channel_id="C1")

    ack = slack.socket_ack(envelope_id, WAIT)
    assert ack == {"envelope_id": envelope_id, "payload": {"text": "Creating: fix the build"}}
    command = bot.commands.get(timeout=WAIT)
    assert command["command"] == "/handoff"
    assert command["text"] == "fix the build"
    assert (command["user_id"], command["user_name"]) == ("U1", "alice")
    assert (command["channel_id"], command["channel_name"]) == ("C1", "general")
    assert command["response_url"].startswith(slack.base_url + "/response/")
    # respond() went through the stand-in's response_url and became an ephemeral message.
    assert [e["text"] for e in slack.ephemerals("U1", channel="C1")] == ["Created task 12"]
    assert slack.violations == []


def test_a_socket_mode_ack_is_checked_as_slack_reads_it(slack: SlackStandIn, bot: Bot, served: Served) -> None:
    envelope_id = slack.socket_command("U1", "/handoff", "bad blocks", channel_id="C1")
    assert slack.socket_ack(envelope_id, WAIT) is not None
    assert [(v.method, v.error) for v in slack.violations] == [("ack:command", "invalid_blocks")]

    envelope = next_envelope(served)
    assert envelope["envelope_id"] == envelope_id
    assert envelope["type"] == "slash_commands"
    assert envelope["accepts_response_payload"] is True


def test_event_reaches_listener(slack: SlackStandIn, bot: Bot, served: Served) -> None:
    event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> status?", "channel": "C1", "ts": "1.000001"}
    envelope_id = slack.socket_event(event, event_id="Ev0001")

    # Bolt acks events before running the listener, with no payload.
    assert slack.socket_ack(envelope_id, WAIT) == {"envelope_id": envelope_id}
    body = bot.events.get(timeout=WAIT)
    assert body["event_id"] == "Ev0001"
    assert body["type"] == "event_callback"
    assert body["event"]["text"] == "<@UBOT> status?"
    slack.wait_for_call("chat.postMessage")
    assert [m["text"] for m in slack.messages("C1")] == ["On it"]

    envelope = next_envelope(served)
    assert (envelope["type"], envelope["retry_attempt"], envelope["retry_reason"]) == ("events_api", 0, "")
    assert envelope["accepts_response_payload"] is False


def test_view_submission_ack_carries_response_action(slack: SlackStandIn, served: Served) -> None:
    payload = {
        "type": "view_submission",
        "team": {"id": slack.team_id, "domain": slack.team_domain},
        "user": {"id": "U1", "username": "alice", "name": "alice", "team_id": slack.team_id},
        "api_app_id": slack.app_id,
        "trigger_id": "1.2.abc",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "new_task",
            "state": {"values": {"title": {"title_input": {"type": "plain_text_input", "value": "x"}}}},
        },
    }
    envelope_id = slack.socket_interactive(payload)

    ack = slack.socket_ack(envelope_id, WAIT)
    assert ack is not None
    assert ack["payload"] == {"response_action": "errors", "errors": {"title": "'x' is too short"}}
    envelope = next_envelope(served)
    assert (envelope["type"], envelope["accepts_response_payload"]) == ("interactive", True)


def test_disconnect_message_makes_the_app_reconnect(slack: SlackStandIn, bot: Bot, served: Served) -> None:
    slack.socket_disconnect()

    # slack_sdk acts on the disconnect message itself (listeners never see it) by opening a second
    # connection, which Slack greets while the first is still open.
    hellos = sorted(
        (served.received.get(timeout=WAIT) for _ in range(2)), key=lambda h: int(h["num_connections"])
    )  # listeners run on a thread pool, so arrival order is not guaranteed
    assert [(h["type"], h["num_connections"]) for h in hellos] == [("hello", 1), ("hello", 2)]
    # socket_disconnect returns once the old socket is gone; the replacement is already up.
    assert slack.socket_connected(timeout=0)
    assert slack.socket_connections == 1
    assert len(slack.calls_to("apps.connections.open")) == 2
    envelope_id = slack.socket_command("U1", "/handoff", "after reconnect", channel_id="C1")
    assert slack.socket_ack(envelope_id, WAIT) == {
        "envelope_id": envelope_id,
        "payload": {"text": "Creating: after reconnect"},
    }
    assert bot.commands.get(timeout=WAIT)["text"] == "after reconnect"


def test_bare_close_frame_reconnects_on_the_clients_next_check(slack: SlackStandIn, bot: Bot) -> None:
    # Without a disconnect message slack_sdk only notices on its ping_interval tick; keep it short.
    with socket_mode(bot, slack, ping_interval=0.2):
        assert slack.socket_connected(WAIT)
        slack.socket_disconnect(reason=None)
        assert slack.socket_connected(WAIT)
        assert len(slack.calls_to("apps.connections.open")) == 2
        envelope_id = slack.socket_command("U2", "/handoff", "still here", channel_id="C1")
        ack = slack.socket_ack(envelope_id, WAIT)
        assert ack is not None and ack["payload"] == {"text": "Creating: still here"}


def test_stop_with_a_connected_app_does_not_hang() -> None:
    standin = SlackStandIn(token=TOKEN).start()
    handler = SocketModeHandler(build_bot(standin).app, APP_TOKEN, auto_reconnect_enabled=False)
    try:
        handler.connect()
        assert standin.socket_connected(WAIT)
        started = time.monotonic()
        standin.stop()
        assert time.monotonic() - started < 2
        assert standin.socket_connections == 0
    finally:
        handler.close()
        standin.stop()


# ----------------------------------------------------------------------------- raw WebSocket


class RawClient:
    """A minimal, deliberately strict WebSocket client for protocol edge cases."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        self.key = base64.b64encode(os.urandom(16)).decode()
        wanted = {
            "Host": f"{parts.hostname}:{parts.port}",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": self.key,
            "Sec-WebSocket-Version": "13",
            **(headers or {}),
        }
        self.sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=WAIT)
        request = f"GET {parts.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in wanted.items() if v)
        self.sock.sendall((request + "\r\n").encode())
        self.stream = self.sock.makefile("rb")
        status_line = self.stream.readline().decode()
        self.status = int(status_line.split()[1])
        self.headers: dict[str, str] = {}
        while (line := self.stream.readline().decode().strip()) != "":
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def send(self, opcode: int, payload: bytes = b"", *, fin: bool = True, masked: bool = True) -> None:
        self.sock.sendall(encode_frame(opcode, payload, fin=fin, mask=os.urandom(4) if masked else None))

    def recv(self) -> Frame | None:
        return read_frame(self.stream.read)

    def recv_json(self) -> dict[str, Any]:
        frame = self.recv()
        assert frame is not None and frame.opcode == OP_TEXT and frame.fin and not frame.masked
        message: dict[str, Any] = json.loads(frame.payload)
        return message

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


@pytest.fixture
def raw(slack: SlackStandIn) -> Iterator[RawClient]:
    url = WebClient(base_url=slack.api_url).apps_connections_open(app_token=APP_TOKEN)["url"]
    client = RawClient(url)
    assert client.status == 101
    assert client.recv_json()["type"] == "hello"
    assert slack.socket_connected(WAIT)
    yield client
    client.close()


def close_code(frame: Frame | None) -> int:
    assert frame is not None and frame.opcode == OP_CLOSE
    code: int = struct.unpack("!H", frame.payload[:2])[0]
    return code


def test_accept_key_matches_rfc_6455_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_handshake_answers_with_the_accept_header(slack: SlackStandIn, raw: RawClient) -> None:
    assert raw.headers["upgrade"].lower() == "websocket"
    assert raw.headers["connection"].lower() == "upgrade"
    assert raw.headers["sec-websocket-accept"] == accept_key(raw.key)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-WebSocket-Key": ""}, 400),
        ({"Sec-WebSocket-Key": "too-short"}, 400),
        ({"Sec-WebSocket-Version": "8"}, 426),
        ({"Upgrade": ""}, 426),
        ({"Connection": "keep-alive"}, 400),
    ],
)
def test_bad_handshakes_are_refused(slack: SlackStandIn, headers: dict[str, str], status: int) -> None:
    url = WebClient(base_url=slack.api_url).apps_connections_open(app_token=APP_TOKEN)["url"]
    client = RawClient(url, headers)
    try:
        assert client.status == status
    finally:
        client.close()
    assert not slack.socket_connected(timeout=0)


def test_unknown_ticket_is_refused(slack: SlackStandIn) -> None:
    client = RawClient(slack.base_url.replace("http", "ws", 1) + "/socket/forged")
    try:
        assert client.status == 404
    finally:
        client.close()


def test_send_without_connection_raises(slack: SlackStandIn) -> None:
    with pytest.raises(RuntimeError):
        slack.socket_send("events_api", {})
    with pytest.raises(ValueError):
        slack.socket_send("hello", {})  # type: ignore[arg-type]


def test_fragmented_ack_with_a_ping_in_between(slack: SlackStandIn, raw: RawClient) -> None:
    envelope_id = slack.socket_send("slash_commands", {"text": "x"}, accepts_response_payload=True)
    envelope = raw.recv_json()
    assert envelope == {
        "envelope_id": envelope_id,
        "payload": {"text": "x"},
        "type": "slash_commands",
        "accepts_response_payload": True,
    }
    ack = json.dumps({"envelope_id": envelope_id, "payload": {"text": "déjà vu"}}).encode()
    raw.send(OP_TEXT, ack[:10], fin=False)
    raw.send(OP_PING, b"still there?")  # control frames may sit between fragments
    raw.send(OP_CONTINUATION, ack[10:20], fin=False)
    pong = raw.recv()
    assert pong is not None and (pong.opcode, pong.payload) == (OP_PONG, b"still there?")
    assert slack.socket_ack(envelope_id, timeout=0) is None  # not complete yet
    raw.send(OP_CONTINUATION, ack[20:])
    assert slack.socket_ack(envelope_id, WAIT) == {"envelope_id": envelope_id, "payload": {"text": "déjà vu"}}


def test_large_envelope_uses_extended_length(slack: SlackStandIn, raw: RawClient) -> None:
    text = "x" * 70_000  # beyond 16 bits: the 64-bit length form
    slack.socket_send("events_api", {"text": text})
    assert raw.recv_json()["payload"] == {"text": text}
    raw.send(OP_TEXT, json.dumps({"envelope_id": "big", "payload": {"text": text}}).encode())
    ack = slack.socket_ack("big", WAIT)
    assert ack is not None and ack["payload"]["text"] == text


def test_client_close_is_echoed(slack: SlackStandIn, raw: RawClient) -> None:
    raw.send(OP_CLOSE, struct.pack("!H", 1000) + b"bye")
    assert close_code(raw.recv()) == 1000
    assert raw.recv() is None  # then the server hangs up
    assert slack.wait_for(lambda s: s.socket_connections == 0, WAIT)
    assert not slack.socket_connected(timeout=0)


@pytest.mark.parametrize(
    "frame",
    [
        encode_frame(OP_TEXT, b"{}"),  # unmasked
        encode_frame(OP_CONTINUATION, b"{}", mask=b"abcd"),  # continuation with nothing to continue
        encode_frame(OP_PING, b"p", fin=False, mask=b"abcd"),  # fragmented control frame
        bytes([0xC1]) + encode_frame(OP_TEXT, b"{}", mask=b"abcd")[1:],  # RSV1 without an extension
        encode_frame(0x3, b"", mask=b"abcd"),  # reserved opcode
    ],
)
def test_protocol_errors_close_with_1002(slack: SlackStandIn, raw: RawClient, frame: bytes) -> None:
    raw.sock.sendall(frame)
    assert close_code(raw.recv()) == 1002
    raw.send(OP_CLOSE, struct.pack("!H", 1002))  # the closing handshake, as a client should
    assert raw.recv() is None
    assert slack.wait_for(lambda s: s.socket_connections == 0, WAIT)


def test_invalid_utf8_closes_with_1007(slack: SlackStandIn, raw: RawClient) -> None:
    raw.send(OP_TEXT, b"\xff\xfe")
    assert close_code(raw.recv()) == 1007
    assert raw.recv() is None  # a silent peer is hung up on after a grace period


def test_socket_disconnect_without_a_cooperative_client_still_returns(slack: SlackStandIn, raw: RawClient) -> None:
    # This client ignores the disconnect message and never answers the close frame.
    done = threading.Event()

    def disconnect() -> None:
        slack.socket_disconnect(timeout=0.2)
        done.set()

    threading.Thread(target=disconnect, daemon=True).start()
    assert raw.recv_json()["type"] == "disconnect"
    assert close_code(raw.recv()) == 1000
    assert done.wait(WAIT)
    assert raw.recv() is None  # dropped after the grace period
    assert slack.wait_for(lambda s: s.socket_connections == 0, WAIT)


def test_stop_closes_raw_sockets_with_1001(slack: SlackStandIn, raw: RawClient) -> None:
    slack.stop()
    assert close_code(raw.recv()) == 1001
    assert raw.recv() is None
