"""What reaches the bot from outside: forged, stale, unsigned and malformed requests, and hostile text.

Every request goes over real HTTP to the served app. Unverified requests must get a bare 401 and cause
nothing; signed but malformed ones a 400 (or a 200 for shapes we do not use), never a 5xx or a traceback,
and nothing changes.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlmodel import func, select

from bot.gate import SocketModeGate
from models.tables import Outbox, RecurringTask, Task, TaskEvent
from sandbox import SlackClientSim
from tests.scenarios.conftest import ANA, GENERAL, RITA, SECRET, TEAM, Bot

FORM = "application/x-www-form-urlencoded"
BROADCASTS = ("<!channel", "<!here", "<!everyone", "<!subteam")


@dataclass
class Attacker:
    """A loopback HTTP server standing for a URL of an attacker's choice, and every request it got."""

    url: str
    hits: list[str]


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    hits: list[str] = []

    class Record(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Attacker(f"http://127.0.0.1:{server.server_address[1]}/steal", hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def state(bot: Bot) -> tuple[Any, ...]:
    """Everything a request could change: tasks, their history, recurring rules and the outbox."""
    with bot.handoff.services.db.read() as session:
        tasks = tuple(
            (t.number, t.status, t.title, t.assignee_id, t.due_at, t.version)
            for t in session.exec(select(Task).order_by(Task.number)).all()
        )
        events = session.exec(select(func.count()).select_from(TaskEvent)).one()
        outbox = session.exec(select(func.count()).select_from(Outbox)).one()
        recurring = tuple((r.id, r.status) for r in session.exec(select(RecurringTask)).all())
    return tasks, events, outbox, recurring


def _slow_loopback(record: logging.LogRecord) -> bool:
    # slack_sdk logs a Web API call that timed out at ERROR; the outbox retries it (tested elsewhere).
    # On a loaded 2-core machine the stand-in can miss the tests' Slack timeout; that is not what these test.
    return record.name == "slack_sdk.web.base_client" and "timed out" in record.getMessage()


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    bad = [
        r for r in caplog.records
        if (r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()) and not _slow_loopback(r)
    ]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


def sent_to_slack(bot: Bot) -> str:
    """Everything the stand-in received from the bot, as one string (for looking for broadcasts)."""
    return json.dumps([c.params for c in bot.slack.calls], ensure_ascii=False)


def signed(bot: Bot, body: bytes, content_type: str = FORM) -> Any:
    return bot.client.send(body, content_type)


def interactive(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def headers_for(body: bytes, timestamp: str, secret: str = SECRET, content_type: str = FORM) -> dict[str, str]:
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


# --- requests Slack did not sign -------------------------------------------------------------------


def test_a_forged_click_with_a_bad_timestamp_reaches_nobody(
    bot: Bot, attacker: Attacker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot.delegate(f"<@{ANA}> Pay the invoices")
    bot.deliver()
    before, calls = state(bot), len(bot.slack.calls)
    url = attacker.url
    click = interactive({
        "type": "block_actions", "user": {"id": "UVICTIM", "team_id": TEAM}, "team": {"id": TEAM},
        "channel": {"id": GENERAL}, "response_url": url, "trigger_id": "1.2.3",
        "actions": [{"action_id": "task_done", "value": "1"}],
    })
    now = str(int(time.time()))
    for timestamp in ("abc", "³", "1e9", "-1", " " + now, now + ".5", "", "9" * 40):
        response = bot.client.raw(click, headers_for(click, timestamp))
        assert response.status == 401, (timestamp, response.body)
        assert response.body == ""
    # Well-formed but wrong: stale, from the future, wrong secret, no signature, a signature for other bytes.
    # Slack's window is 5 minutes; 30 s beyond it, so that a slow moment of the run (the check reads the
    # clock a little later than this line) can't bring "the future" back inside it.
    stale, future = str(int(time.time()) - 330), str(int(time.time()) + 330)
    for headers in (
        headers_for(click, stale), headers_for(click, future), headers_for(click, now, secret="guess"),
        {"Content-Type": FORM, "X-Slack-Request-Timestamp": now},
        {"Content-Type": FORM, "X-Slack-Signature": headers_for(click, now)["X-Slack-Signature"]},
        {"Content-Type": FORM},
        headers_for(click + b"&x=1", now),
    ):
        assert bot.client.raw(click, headers).status == 401
    bot.deliver()
    assert state(bot) == before
    assert len(bot.slack.calls) == calls
    assert attacker.hits == []
    no_tracebacks(caplog)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf-8 \xc3",
        b"{not json",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"payload=" + b"%5B" * 50_000,
        b"",
    ],
    ids=["not-utf8", "not-json", "deep-list", "deep-object", "deep-form", "empty"],
)
def test_unsigned_garbage_gets_a_bare_401(bot: Bot, body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    before = state(bot)
    for content_type in (FORM, "application/json"):
        response = bot.client.raw(body, {"Content-Type": content_type})
        assert response.status == 401
    assert state(bot) == before
    no_tracebacks(caplog)


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"\xff\xfe not utf-8 \xc3", FORM),
        (b"{not json", "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "application/json"),
        (b"payload=" + b"%5B" * 50_000 + b"%5D" * 50_000, FORM),
        (b"payload=%7Bnot+json", FORM),
        (b'["a", "list"]', "application/json"),
        (b'"a string"', "application/json"),
        (b"payload=" + b"1" * 5000, FORM),
    ],
    ids=["not-utf8", "not-json", "deep-list", "deep-object", "deep-form", "form-not-json", "list", "string", "bigint"],
)
def test_signed_garbage_gets_400(bot: Bot, body: bytes, content_type: str, caplog: pytest.LogCaptureFixture) -> None:
    before = state(bot)
    response = signed(bot, body, content_type)
    assert response.status == 400, response.body
    assert "Traceback" not in response.body
    assert state(bot) == before
    no_tracebacks(caplog)


def test_a_body_over_a_megabyte_is_refused_unread(bot: Bot) -> None:
    assert signed(bot, b"text=" + b"x" * (1024 * 1024 + 1)).status == 413


# --- signed but malformed --------------------------------------------------------------------------


def _command(**fields: Any) -> bytes:
    base = {
        "team_id": TEAM, "channel_id": GENERAL, "user_id": RITA, "command": "/tasks", "text": "",
        "response_url": "http://127.0.0.1:9/r",
    }
    base.update(fields)
    return urlencode({k: v for k, v in base.items() if v is not None}).encode()


def _click(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "block_actions", "user": {"id": RITA, "team_id": TEAM}, "team": {"id": TEAM},
        "channel": {"id": GENERAL}, "trigger_id": "1.2.3", "actions": [{"action_id": "task_done", "value": "1"}],
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def _shortcut(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "shortcut", "callback_id": "delegate_message", "trigger_id": "1.2.abc",
                            "user": {"id": RITA, "team_id": TEAM}, "team": {"id": TEAM}}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def _submit(metadata: Any = '{"number": 1, "channel": "CGENERAL"}', **fields: Any) -> dict[str, Any]:
    view = {
        "id": "V1", "type": "modal", "callback_id": "task_block_modal", "private_metadata": metadata,
        "state": {"values": {"reason": {"value": {"type": "plain_text_input", "value": "waiting"}}}},
    }
    base: dict[str, Any] = {"type": "view_submission", "user": {"id": RITA, "team_id": TEAM}, "team": {"id": TEAM},
                            "view": view}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def _reaction(**event: Any) -> dict[str, Any]:
    base = {"type": "reaction_added", "user": ANA, "reaction": "raised_hand",
            "item": {"type": "message", "channel": GENERAL, "ts": "1.2"}}
    base.update(event)
    return {"type": "event_callback", "team_id": TEAM, "event_id": "Ev1", "event": {
        k: v for k, v in base.items() if v is not None}}


# (name, form or JSON body, expected status)
MALFORMED: list[tuple[str, bytes, int]] = [
    ("command without team_id", _command(team_id=None, command="/delegate", text="<@UANA> x"), 400),
    ("command without user_id", _command(user_id=None, command="/delegate", text="x"), 400),
    ("command without channel_id", _command(channel_id=None), 400),
    ("command with an odd team_id", _command(team_id="T1; DROP TABLE task"), 400),
    ("command with a NUL in its text", _command(text="a\x00b"), 400),
    ("command with a bad response_url", _command(response_url="file:///etc/passwd"), 400),
    ("command we do not have", _command(command="/other"), 200),
    ("click without user", interactive(_click(user=None)), 400),
    ("click with user as a string", interactive(_click(user=RITA)), 400),
    ("click with team as a string", interactive(_click(team="T0001")), 400),
    ("click with channel as a list", interactive(_click(channel=[GENERAL])), 400),
    ("click without team anywhere", interactive(_click(team=None, user={"id": RITA})), 400),
    ("click with empty actions", interactive(_click(actions=[])), 400),
    ("click with actions an object", interactive(_click(actions={"action_id": "task_done"})), 400),
    ("click with an action that is a string", interactive(_click(actions=["task_done"])), 400),
    ("click without action_id", interactive(_click(actions=[{"value": "1"}])), 400),
    ("click with a number value", interactive(_click(actions=[{"action_id": "task_done", "value": 1}])), 400),
    ("click with selected_option a string",
     interactive(_click(actions=[{"action_id": "task_menu", "selected_option": "block:1"}])), 400),
    ("button value ³", interactive(_click(actions=[{"action_id": "task_done", "value": "³"}])), 200),
    ("button value ٣", interactive(_click(actions=[{"action_id": "task_done", "value": "٣"}])), 200),
    ("button value huge", interactive(_click(actions=[{"action_id": "task_done", "value": "9" * 30}])), 200),
    ("menu value huge",
     interactive(_click(actions=[{"action_id": "task_menu", "selected_option": {"value": "block:" + "9" * 30}}])),
     200),
    ("menu without a trigger",
     interactive(_click(trigger_id=None, actions=[{"action_id": "task_menu", "selected_option": {"value": "due:1"}}])),
     200),
    ("submission metadata not JSON", interactive(_submit("not json")), 400),
    ("submission metadata 1; --", interactive(_submit('{"number": "1; --"}')), 400),
    ("submission metadata bare 1; --", interactive(_submit("1; --")), 400),
    ("submission metadata huge", interactive(_submit('{"number": 99999999999999999999}')), 400),
    ("submission metadata negative", interactive(_submit('{"number": -1}')), 400),
    ("submission metadata true", interactive(_submit('{"number": true}')), 400),
    ("submission metadata float", interactive(_submit('{"number": 1.5}')), 400),
    ("submission metadata a list", interactive(_submit("[1]")), 400),
    ("submission metadata a number", interactive(_submit(7)), 400),
    ("submission metadata empty", interactive(_submit("")), 400),
    ("submission metadata bad channel", interactive(_submit('{"number": 1, "channel": {"id": 1}}')), 400),
    ("submission without view", interactive(_submit(view=None)), 400),
    ("submission with view a string", interactive(_submit(view="V1")), 400),
    ("submission with state values a list",
     interactive(_submit(view={"type": "modal", "callback_id": "task_block_modal", "private_metadata": '{"number": 1}',
                               "state": {"values": [1]}})), 400),
    ("submission with an input that is a string",
     interactive(_submit(view={"type": "modal", "callback_id": "task_block_modal", "private_metadata": '{"number": 1}',
                               "state": {"values": {"reason": {"value": "waiting"}}}})), 400),
    ("submission without user", interactive(_submit(user=None)), 400),
    ("view_closed without user", interactive({"type": "view_closed", "view": {"type": "modal", "callback_id": "x"}}),
     400),
    ("submission view without type",
     interactive(_submit(view={"callback_id": "task_block_modal", "private_metadata": '{"number": 1}'})), 400),
    ("submission view without callback_id", interactive(_submit(view={"type": "modal"})), 400),
    ("reassign without a person",
     interactive(_submit(view={"type": "modal", "callback_id": "task_reassign_modal",
                               "private_metadata": '{"number": 1}',
                               "state": {"values": {"assignee": {"value": {"selected_user": None}}}}})), 200),
    ("reaction without user", json.dumps(_reaction(user=None)).encode(), 400),
    ("reaction with item a string", json.dumps(_reaction(item="1.2")).encode(), 400),
    ("reaction with reaction a number", json.dumps(_reaction(reaction=5)).encode(), 400),
    ("reaction without team_id",
     json.dumps({**_reaction(), "team_id": None}).encode(), 400),
    ("member_joined without channel",
     json.dumps({"type": "event_callback", "team_id": TEAM,
                 "event": {"type": "member_joined_channel", "user": "UBOT"}}).encode(), 400),
    ("event_callback without event", json.dumps({"type": "event_callback", "team_id": TEAM}).encode(), 200),
    ("event_callback with event a string",
     json.dumps({"type": "event_callback", "team_id": TEAM, "event": "reaction_added"}).encode(), 200),
    ("unknown payload type", json.dumps({"type": "something_new", "team_id": TEAM}).encode(), 200),
    ("untyped JSON object", b"{}", 200),
    ("unknown interactive type", interactive({"type": "dialog_submission", "user": "x"}), 200),
    ("another app's shortcut", interactive(_shortcut(callback_id="x")), 200),
    ("shortcut without a user", interactive(_shortcut(user=None)), 400),
    ("shortcut without a trigger", interactive(_shortcut(trigger_id=None)), 400),
    ("message shortcut without a message", interactive(_shortcut(type="message_action", channel={"id": GENERAL})),
     400),
    ("message shortcut with a bad ts",
     interactive(_shortcut(type="message_action", channel={"id": GENERAL}, message={"ts": "yesterday"})), 400),
    ("creation modal with metadata naming no channel",
     interactive(_submit(view={"type": "modal", "callback_id": "new_task_modal",
                               "private_metadata": '{"channel": "#general"}'})), 400),
    ("creation modal with a source without ts",
     interactive(_submit(view={"type": "modal", "callback_id": "new_task_modal",
                               "private_metadata": '{"source": {"channel": "CGENERAL"}}'})), 400),
    ("url_verification", json.dumps({"type": "url_verification", "challenge": "abc"}).encode(), 200),
    ("url_verification with a non-string challenge",
     json.dumps({"type": "url_verification", "challenge": {"a": 1}}).encode(), 400),
    ("ssl_check", b"ssl_check=1&token=x", 200),
]


@pytest.mark.parametrize("body, expected", [(b, s) for _, b, s in MALFORMED], ids=[n for n, _, _ in MALFORMED])
def test_signed_malformed_payloads_are_refused_and_change_nothing(
    bot: Bot, body: bytes, expected: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot.delegate(f"<@{ANA}> Pay the invoices")
    bot.deliver()
    before, calls = state(bot), len(bot.slack.calls)
    content_type = "application/json" if body.startswith(b"{") else FORM
    response = signed(bot, body, content_type)
    assert response.status == expected, response.body
    assert "Traceback" not in response.body
    bot.deliver()
    # A refused button may tell the clicker why (an ephemeral); no task, event or rule changes.
    after = state(bot)
    assert after[0] == before[0] and after[1] == before[1] and after[3] == before[3]
    # Looking people up (to name who may do it in a refusal) is a read; nothing else reaches Slack.
    allowed = {"chat.postEphemeral", "chat.postMessage", "users.info", "users.list"}
    assert all(call.method in allowed for call in bot.slack.calls[calls:]), [c.method for c in bot.slack.calls[calls:]]
    no_tracebacks(caplog)


def test_url_verification_answers_its_challenge(bot: Bot) -> None:
    response = bot.client.url_verification("the-challenge")
    assert response.status == 200
    assert response.json() == {"challenge": "the-challenge"}


def test_a_command_whose_text_says_payload_is_still_a_command(bot: Bot) -> None:
    # Bolt's own body parser reads any form containing "payload" as an interaction and loses the command.
    answer = bot.delegate(f"<@{ANA}> Send the payload report")
    assert "T-1" in answer["text"]
    assert bot.task(1).title == "Send the payload report"


def test_recurring_ids_past_the_integer_range_get_a_friendly_answer(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    for ref in ("R-99999999999999999999", "R-2147483648", "R-³", "R-0", "R--1"):
        answer = bot.tasks(f"recurring pause {ref}")
        assert answer["text"].startswith("⚠️ Say `/tasks recurring pause R-3`"), answer
    assert bot.tasks("recurring pause R-2147483647")["text"].startswith("⚠️")  # in range, just not there
    no_tracebacks(caplog)


def test_errors_that_echo_typed_text_send_no_live_broadcast(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    bot.delegate(f"<@{ANA}> Pay the invoices")
    # A title may hold a broadcast as typed; it is stored so, and shown as text on the card.
    bot.delegate(f"<@{ANA}> Tell <!channel> and <!subteam^S1|@finance> about it")
    answers = [
        bot.tasks("due T-1 <!here> tomorrowish"),
        bot.tasks("hours <!channel> 9-5"),
        bot.tasks("hours 9-5 <!subteam^S1>"),
        bot.tasks("digest here at <!everyone>"),
        bot.tasks("snooze T-1 <!channel>"),
    ]
    for answer in answers:
        assert answer["text"].startswith("⚠️"), answer
        assert not any(b in answer["text"] for b in BROADCASTS), answer["text"]
        assert "&lt;!" in answer["text"], answer["text"]  # shown as text, as typed
    bot.deliver()
    assert not any(b in sent_to_slack(bot) for b in BROADCASTS)
    no_tracebacks(caplog)


def test_title_length_counts_characters_as_typed(bot: Bot) -> None:
    typed = ("R&D & Q&A <ok> " * 20)[:250].strip()
    assert len(typed) <= 250 < len(typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    sent = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    answer = bot.delegate(f"<@{ANA}> {sent}")
    assert "T-1" in answer["text"], answer
    assert bot.task(1).title == typed


def test_a_5000_character_title_is_told_the_real_limit(bot: Bot) -> None:
    answer = bot.delegate(f"<@{ANA}> " + "x" * 5000)
    assert "at most 250" in answer["text"], answer
    assert "4000" not in answer["text"] and "4,000" not in answer["text"]
    answer = bot.delegate(f"<@{ANA}> " + "x" * 300)
    assert "the limit is 250" in answer["text"], answer


def test_forged_request_not_answered_beyond_401_even_with_a_valid_shape(bot: Bot) -> None:
    forged = SlackClientSim(bot.url, "not-the-secret", team_id=TEAM, standin=bot.slack)
    response = forged.command(RITA, "/tasks", "help", channel_id=GENERAL)
    assert (response.status, response.body) == (401, "")


# --- Socket Mode: no signature, same shape check -------------------------------------------------


def test_socket_mode_envelopes_that_are_malformed_are_acknowledged_without_a_traceback(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot.delegate(f"<@{ANA}> Pay the invoices")
    bot.deliver()
    before = state(bot)
    handler = SocketModeGate(bot.handoff.app, bot.slack.app_token)
    handler.connect()
    try:
        assert bot.slack.socket_connected(5.0)
        # Frames that are not envelopes at all (the stand-in's socket is written to directly).
        with bot.slack._lock:
            live = bot.slack._live_socket()
        assert live is not None
        for frame in ("{not json", "[1, 2]", '"text"', "", "{}", '{"type": "events_api", "envelope_id": "e0"}',
                      '{"a":' * 5000 + "1" + "}" * 5000):
            live.conn.send_text(frame)
        # Envelopes whose payload is not a Slack body, or a malformed one.
        envelopes: list[tuple[Any, Any]] = [
            ("interactive", "a string"), ("interactive", [1, 2]), ("interactive", None), ("events_api", 7),
            ("interactive", _click(user=None)), ("interactive", _click(actions=[])),
            ("interactive", _submit('{"number": 99999999999999999999}')),
            ("events_api", _reaction(user=None)), ("events_api", {"type": "event_callback", "team_id": TEAM}),
            ("slash_commands", {"command": "/delegate", "text": "x", "user_id": RITA, "channel_id": GENERAL}),
            ("interactive", _click(actions=[{"action_id": "task_done", "value": "³"}])),
        ]
        ids = [bot.slack.socket_send(kind, payload) for kind, payload in envelopes]  # type: ignore[arg-type]
        for envelope_id in ids:
            assert bot.slack.socket_ack(envelope_id, timeout=5.0) is not None, envelope_id
        # And the connection still works for a real command.
        ack = bot.slack.socket_ack(bot.slack.socket_command(RITA, "/tasks", "help", channel_id=GENERAL))
        assert ack is not None and "/tasks" in json.dumps(ack["payload"])
    finally:
        bot.slack.socket_disconnect(reason=None)
        handler.close()
    bot.deliver()
    after = state(bot)
    assert after[0] == before[0] and after[1] == before[1]
    no_tracebacks(caplog)


HUGE = "9" * 25


@pytest.mark.parametrize(
    "command, text",
    [
        ("/delegate", f"<@{ANA}> Pay in {HUGE} days"),
        ("/delegate", f"<@{ANA}> Pay by {HUGE}/12"),
        ("/delegate", f"<@{ANA}> Pay by 2026-{HUGE}-01"),
        ("/delegate", f"<@{ANA}> Pay by tomorrow at {HUGE}"),
        ("/delegate", f"<@{ANA}> Pay every {HUGE} days"),
        ("/delegate", f"<@{ANA}> Pay every month on the {HUGE}th"),
        ("/tasks", f"due T-1 in {HUGE} hours"),
        ("/tasks", f"snooze T-1 {HUGE}h"),
        ("/tasks", f"hours {HUGE}-5"),
        ("/tasks", f"hours Mon-Fri 9:{HUGE}-17"),
        ("/tasks", f"digest here at {HUGE}:00"),
        ("/tasks", f"T-{HUGE}"),
        ("/tasks", f"done T-{HUGE}"),
        ("/tasks", f"open page {HUGE}"),
        ("/tasks", f"recurring stop R{HUGE}"),
    ],
)
def test_numbers_too_big_for_any_column_get_a_friendly_answer(
    bot: Bot, command: str, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    bot.delegate(f"<@{ANA}> Pay the invoices")
    bot.deliver()
    before = state(bot)
    response = bot.client.command(RITA, command, text, channel_id=GENERAL)
    assert response.status == 200, response.body
    answer = response.json()["text"]
    if command == "/tasks":
        assert answer.startswith("⚠️"), answer
        assert state(bot)[0] == before[0]
    else:
        # How /delegate reads such a phrase (a question, or words of the title) is the date reader's call.
        assert answer.startswith(("⚠️", "✅", "❓")), answer
    no_tracebacks(caplog)
