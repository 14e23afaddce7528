"""The strict stand-in: each rule Slack enforces refuses a bad payload and accepts one at its limit."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox import SlackStandIn
from sandbox.blockkit import LIMITS, SOURCES, mrkdwn_problems
from sandbox.contract import Contract, contract_path

from .conftest import TOKEN

JSONDict = dict[str, Any]


class ManualTimer:
    """The stand-in's steady clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def timer() -> ManualTimer:
    return ManualTimer()


@pytest.fixture
def strict(timer: ManualTimer) -> Iterator[SlackStandIn]:
    """A strict stand-in on a manual clock: U1 and U2 in #general (C1), U3 in no channel."""
    standin = SlackStandIn(token=TOKEN, timer=timer, contract=Contract.load(required=True))
    standin.add_user("U1", "alice")
    standin.add_user("U2", "bob")
    standin.add_user("U3", "carol")
    standin.add_channel("C1", "general", members=["U1", "U2"])
    with standin:
        yield standin


@pytest.fixture
def web(strict: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=strict.api_url, timeout=5)


def error_of(call: Callable[[], Any]) -> tuple[str, list[str]]:
    with pytest.raises(SlackApiError) as excinfo:
        call()
    response = excinfo.value.response
    return str(response["error"]), list((response.get("response_metadata") or {}).get("messages") or [])


def post_json(url: str, payload: Any) -> tuple[int, JSONDict]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# ----------------------------------------------------------------------------- Block Kit builders


def plain(text: str) -> JSONDict:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> JSONDict:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "x", **extra: Any) -> JSONDict:
    return {"type": "section", "text": mrkdwn(text), **extra}


def option(index: int, *, text: str | None = None, value: str | None = None) -> JSONDict:
    return {"text": plain(text or f"Option {index}"), "value": value if value is not None else f"v{index}"}


def options(count: int) -> list[JSONDict]:
    return [option(i) for i in range(count)]


def actions(*elements: JSONDict, **extra: Any) -> JSONDict:
    return {"type": "actions", "elements": list(elements), **extra}


def button(action_id: str = "go", *, text: str = "Go", **extra: Any) -> JSONDict:
    return {"type": "button", "action_id": action_id, "text": plain(text), **extra}


def overflow(count: int) -> JSONDict:
    return {"type": "overflow", "action_id": "more", "options": options(count)}


def accessory(element: JSONDict) -> list[JSONDict]:
    return [section("Pick one", accessory=element)]


def modal(**extra: Any) -> JSONDict:
    view: JSONDict = {"type": "modal", "title": plain("New task"), "blocks": [section()]}
    view.update(extra)
    return view


# (rule, blocks Slack accepts at the limit, blocks one past it that Slack refuses)
MESSAGE_RULES: list[tuple[str, list[JSONDict], list[JSONDict]]] = [
    ("section text ≤ 3000", [section("x" * 3000)], [section("x" * 3001)]),
    ("section text ≥ 1", [section("x")], [section("")]),
    ("section fields ≤ 10", [{"type": "section", "fields": [mrkdwn("f")] * 10}],
     [{"type": "section", "fields": [mrkdwn("f")] * 11}]),
    ("section field ≤ 2000", [{"type": "section", "fields": [mrkdwn("f" * 2000)]}],
     [{"type": "section", "fields": [mrkdwn("f" * 2001)]}]),
    ("section needs text or fields", [section()], [{"type": "section"}]),
    ("message ≤ 50 blocks", [section()] * 50, [section()] * 51),
    ("overflow ≥ 2 options", [actions(overflow(2))], [actions(overflow(1))]),
    ("overflow ≤ 5 options", [actions(overflow(5))], [actions(overflow(6))]),
    ("button text ≤ 75", [actions(button(text="b" * 75))], [actions(button(text="b" * 76))]),
    ("button value ≤ 2000", [actions(button(value="v" * 2000))], [actions(button(value="v" * 2001))]),
    ("button url ≤ 3000", [actions(button(url="https://e.test/" + "u" * 2985))],
     [actions(button(url="https://e.test/" + "u" * 2986))]),
    ("button style", [actions(button(style="danger"))], [actions(button(style="loud"))]),
    ("action_id ≤ 255", [actions(button("a" * 255))], [actions(button("a" * 256))]),
    ("action_id unique in a block", [actions(button("a")), actions(button("a"))],
     [actions(button("a"), button("a"))]),
    ("block_id ≤ 255", [section(block_id="b" * 255)], [section(block_id="b" * 256)]),
    ("block_id unique in a message", [section(block_id="one"), section(block_id="two")],
     [section(block_id="one"), section(block_id="one")]),
    ("header text ≤ 150", [{"type": "header", "text": plain("h" * 150)}],
     [{"type": "header", "text": plain("h" * 151)}]),
    ("header is plain_text", [{"type": "header", "text": plain("h")}], [{"type": "header", "text": mrkdwn("h")}]),
    ("context ≤ 10 elements", [{"type": "context", "elements": [mrkdwn("c")] * 10}],
     [{"type": "context", "elements": [mrkdwn("c")] * 11}]),
    ("actions ≤ 25 elements", [actions(*[button(f"b{i}") for i in range(25)])],
     [actions(*[button(f"b{i}") for i in range(26)])]),
    ("option text ≤ 75", accessory({"type": "static_select", "action_id": "s", "options": [option(0, text="o" * 75)]}),
     accessory({"type": "static_select", "action_id": "s", "options": [option(0, text="o" * 76)]})),
    ("option value ≤ 150",
     accessory({"type": "static_select", "action_id": "s", "options": [option(0, value="v" * 150)]}),
     accessory({"type": "static_select", "action_id": "s", "options": [option(0, value="v" * 151)]})),
    ("static_select ≤ 100 options", accessory({"type": "static_select", "action_id": "s", "options": options(100)}),
     accessory({"type": "static_select", "action_id": "s", "options": options(101)})),
    ("select placeholder ≤ 150",
     accessory({"type": "users_select", "action_id": "u", "placeholder": plain("p" * 150)}),
     accessory({"type": "users_select", "action_id": "u", "placeholder": plain("p" * 151)})),
    ("checkboxes ≤ 10 options", accessory({"type": "checkboxes", "action_id": "c", "options": options(10)}),
     accessory({"type": "checkboxes", "action_id": "c", "options": options(11)})),
    ("radio buttons ≤ 10 options", accessory({"type": "radio_buttons", "action_id": "r", "options": options(10)}),
     accessory({"type": "radio_buttons", "action_id": "r", "options": options(11)})),
    ("confirm title ≤ 100",
     [actions(button(confirm={"title": plain("t" * 100), "text": mrkdwn("Sure?"),
                              "confirm": plain("Yes"), "deny": plain("No")}))],
     [actions(button(confirm={"title": plain("t" * 101), "text": mrkdwn("Sure?"),
                              "confirm": plain("Yes"), "deny": plain("No")}))]),
    ("mrkdwn: & is an entity", [section("R&amp;D &lt;x&gt;")], [section("R&D")]),
    ("mrkdwn: < closes", [section("<@U1> <#C1> <!here> <https://e.test|a link>")], [section("a < b")]),
    ("mrkdwn: <…> is a link or mention", [section("<!date^1700000000^{date_short}|Nov 14>")],
     [section("Send <acct 4402> pack")]),
    ("known block type", [{"type": "divider"}], [{"type": "bogus"}]),
]


@pytest.mark.parametrize(("rule", "good", "bad"), MESSAGE_RULES, ids=[r[0] for r in MESSAGE_RULES])
def test_message_blocks_at_and_past_each_limit(
    web: WebClient, rule: str, good: list[JSONDict], bad: list[JSONDict]
) -> None:
    assert web.chat_postMessage(channel="C1", text="fallback", blocks=good)["ok"]
    error, messages = error_of(lambda: web.chat_postMessage(channel="C1", text="fallback", blocks=bad))
    assert error == "invalid_blocks", rule
    assert messages and all("[json-pointer:/blocks" in m for m in messages), messages


VIEW_RULES: list[tuple[str, JSONDict, JSONDict]] = [
    ("modal title ≤ 24", modal(title=plain("t" * 24)), modal(title=plain("t" * 25))),
    ("modal submit ≤ 24", modal(submit=plain("s" * 24)), modal(submit=plain("s" * 25))),
    ("modal close ≤ 24", modal(close=plain("c" * 24)), modal(close=plain("c" * 25))),
    ("private_metadata ≤ 3000", modal(private_metadata="m" * 3000), modal(private_metadata="m" * 3001)),
    ("callback_id ≤ 255", modal(callback_id="c" * 255), modal(callback_id="c" * 256)),
    ("modal ≤ 100 blocks", modal(blocks=[section()] * 100), modal(blocks=[section()] * 101)),
    ("modal ≥ 1 block (slack_sdk View)", modal(), modal(blocks=[])),
    ("input needs submit", modal(submit=plain("Save"), blocks=[
        {"type": "input", "label": plain("Title"), "element": {"type": "plain_text_input", "action_id": "t"}}]),
     modal(blocks=[
         {"type": "input", "label": plain("Title"), "element": {"type": "plain_text_input", "action_id": "t"}}])),
    ("input label ≤ 2000", modal(submit=plain("Save"), blocks=[
        {"type": "input", "label": plain("l" * 2000), "element": {"type": "plain_text_input", "action_id": "t"}}]),
     modal(submit=plain("Save"), blocks=[
         {"type": "input", "label": plain("l" * 2001), "element": {"type": "plain_text_input", "action_id": "t"}}])),
    ("input placeholder ≤ 150", modal(submit=plain("Save"), blocks=[
        {"type": "input", "label": plain("T"),
         "element": {"type": "plain_text_input", "action_id": "t", "placeholder": plain("p" * 150)}}]),
     modal(submit=plain("Save"), blocks=[
         {"type": "input", "label": plain("T"),
          "element": {"type": "plain_text_input", "action_id": "t", "placeholder": plain("p" * 151)}}])),
    ("block_id unique in a view", modal(blocks=[section(block_id="a"), section(block_id="b")]),
     modal(blocks=[section(block_id="a"), section(block_id="a")])),
]


@pytest.mark.parametrize(("rule", "good", "bad"), VIEW_RULES, ids=[r[0] for r in VIEW_RULES])
def test_modal_views_at_and_past_each_limit(
    strict: SlackStandIn, web: WebClient, rule: str, good: JSONDict, bad: JSONDict
) -> None:
    assert web.views_open(trigger_id=strict.mint_trigger("U1"), view=good)["ok"]
    error, messages = error_of(lambda: web.views_open(trigger_id=strict.mint_trigger("U1"), view=bad))
    assert error == "invalid_arguments", rule
    assert messages and all("[json-pointer:/view" in m for m in messages), messages


def test_home_tab_holds_100_blocks_not_101(web: WebClient) -> None:
    assert web.views_publish(user_id="U1", view={"type": "home", "blocks": [section()] * 100})["ok"]
    error, _ = error_of(lambda: web.views_publish(user_id="U1", view={"type": "home", "blocks": [section()] * 101}))
    assert error == "invalid_arguments"


def test_message_text_limit_and_mrkdwn(web: WebClient) -> None:
    assert web.chat_postMessage(channel="C1", text="t" * 40_000)["ok"]
    assert error_of(lambda: web.chat_postMessage(channel="C1", text="t" * 40_001))[0] == "msg_too_long"
    error, messages = error_of(lambda: web.chat_postMessage(channel="C1", text="Send <acct 4402> & R&D pack"))
    assert error == "invalid_arguments"
    assert len(messages) == 3 and all("/text" in m for m in messages)
    assert web.chat_postMessage(channel="C1", text="Send &lt;acct 4402&gt; &amp; R&amp;D pack")["ok"]


BAD_BLOCKS = [actions(overflow(6))]


def test_every_surface_that_carries_blocks_refuses_bad_ones(strict: SlackStandIn, web: WebClient) -> None:
    """chat.postMessage/update/postEphemeral, response_url, views.*, and the ack bodies Slack reads."""
    ts = web.chat_postMessage(channel="C1", text="ok", blocks=[section()])["ts"]
    bad_modal = modal(blocks=BAD_BLOCKS)
    opened = web.views_open(trigger_id=strict.mint_trigger("U1"), view=modal())["view"]
    refusals = {
        "chat.update": lambda: web.chat_update(channel="C1", ts=ts, text="x", blocks=BAD_BLOCKS),
        "chat.postEphemeral": lambda: web.chat_postEphemeral(channel="C1", user="U1", text="x", blocks=BAD_BLOCKS),
        "views.update": lambda: web.views_update(view_id=opened["id"], view=bad_modal),
        "views.push": lambda: web.views_push(trigger_id=strict.mint_trigger("U1"), view=bad_modal),
        "views.publish": lambda: web.views_publish(user_id="U1", view={"type": "home", "blocks": BAD_BLOCKS}),
    }
    for method, call in refusals.items():
        assert error_of(call)[0] in ("invalid_blocks", "invalid_arguments"), method
    url = strict.new_response_url(channel="C1", user_id="U1")
    status, body = post_json(url, {"text": "x", "blocks": BAD_BLOCKS})
    assert (status, body["error"]) == (400, "invalid_blocks")
    assert post_json(url, {"text": "t" * 40_001})[1]["error"] == "msg_too_long"
    assert strict.check_ack("command", {"text": "x", "blocks": BAD_BLOCKS}) == "invalid_blocks"
    assert strict.check_ack("command", "R&D") == "invalid_arguments"  # malformed mrkdwn in the text
    assert strict.check_ack("command", "t" * 40_001) == "msg_too_long"
    assert strict.check_ack("view_submission", {"response_action": "update", "view": bad_modal}) == "invalid_arguments"
    # Acks Slack would show are checked; an empty one, errors, or a good view are fine.
    assert strict.check_ack("command", "") is None
    assert strict.check_ack("view_submission", {"response_action": "errors", "errors": {"b": "Say why"}}) is None
    assert strict.check_ack("view_submission", {"response_action": "update", "view": modal()}) is None
    strict.command_response("C1", "U1", {"text": "x", "blocks": BAD_BLOCKS})
    assert strict.ephemerals("U1") == []  # refused, not shown
    assert strict.message("C1", ts)["blocks"] == [section()]
    assert {v.method for v in strict.violations} == {*refusals, "response_url", "ack:command", "ack:view_submission"}


def test_violations_survive_reset_calls_and_can_be_cleared(strict: SlackStandIn, web: WebClient) -> None:
    error_of(lambda: web.chat_postMessage(channel="C1", text="x", blocks=BAD_BLOCKS))
    strict.reset_calls()
    assert [v.error for v in strict.violations] == ["invalid_blocks"]
    strict.clear_violations()
    assert strict.violations == []


def test_mrkdwn_rules_name_each_problem() -> None:
    assert mrkdwn_problems("plain *bold* _it_ > quote") == []
    assert len(mrkdwn_problems("a & b < c")) == 2
    assert mrkdwn_problems("<mailto:a@e.test|mail> <!subteam^S1|@team>") == []


def test_every_limit_names_a_docs_slack_dev_source() -> None:
    for name, (limit, source) in LIMITS.items():
        assert limit > 0, name
        assert SOURCES[source].startswith("https://docs.slack.dev/"), name


# ----------------------------------------------------------------------------- methods and arguments


def test_contract_file_is_present_for_the_tests() -> None:
    assert contract_path().is_file(), "the tests need ../shared/contract_data (or $HANDOFF_CONTRACT_DATA)"
    assert Contract.load(required=True).source == f"{contract_path()} + slack_sdk WebClient signatures"


def test_unknown_methods_and_arguments_are_refused(strict: SlackStandIn, web: WebClient) -> None:
    assert error_of(lambda: web.api_call("chat.fly"))[0] == "unknown_method"
    error, messages = error_of(lambda: web.chat_postMessage(channel="C1", text="x", colour="red"))
    assert error == "invalid_arguments"
    assert messages == ["[ERROR] unknown argument 'colour' for chat.postMessage [json-pointer:/colour]"]
    error, messages = error_of(lambda: web.api_call("chat.update", json={"channel": "C1", "text": "x"}))
    assert (error, messages) == ("invalid_arguments", ["[ERROR] missing required field: ts [json-pointer:/ts]"])
    error, messages = error_of(lambda: web.conversations_history(channel="C1", limit="lots"))  # type: ignore[arg-type]
    assert (error, messages) == ("invalid_arguments", ["[ERROR] must be a integer [json-pointer:/limit]"])
    assert strict.messages("C1") == []


def test_a_json_body_is_read_only_by_methods_that_accept_json(web: WebClient) -> None:
    # conversations.history consumes form data only: Slack does not see arguments sent as JSON.
    assert error_of(lambda: web.api_call("conversations.history", json={"channel": "C1"}))[0] == "channel_not_found"
    assert web.api_call("conversations.history", params={"channel": "C1"})["ok"]
    assert web.api_call("chat.postMessage", json={"channel": "C1", "text": "JSON is fine here"})["ok"]


def test_arguments_added_after_2020_come_from_slack_sdk(web: WebClient) -> None:
    metadata = {"event_type": "t", "event_payload": {"k": 1}}
    ts = web.chat_postMessage(channel="C1", text="x", metadata=metadata)["ts"]
    history = web.conversations_history(channel="C1", include_all_metadata=True)
    assert history["messages"][0]["ts"] == ts
    # Bolt's per-request client adds team_id to every call (org-wide installs).
    assert WebClient(token=TOKEN, base_url=web.base_url, team_id="T0001").auth_test()["ok"]


def test_without_the_contract_file_slack_sdk_signatures_are_the_reference(tmp_path: Path) -> None:
    fallback = Contract.load(tmp_path / "missing.json")
    assert fallback.source == "slack_sdk WebClient signatures"
    assert fallback.problem("chat.postMessage", {"channel": "C1", "text": "x", "metadata": {}}) is None
    assert fallback.problem("chat.postMessage", {"channel": "C1", "colour": "red"}) is not None
    assert fallback.problem("chat.fly", {}) == ("unknown_method", [])
    with pytest.raises(FileNotFoundError):
        Contract.load(tmp_path / "missing.json", required=True)


# ----------------------------------------------------------------------------- interaction rules


def test_a_trigger_id_works_once_within_three_seconds(strict: SlackStandIn, web: WebClient, timer: ManualTimer) -> None:
    trigger = strict.mint_trigger("U1")
    timer.now += 3.0
    assert web.views_open(trigger_id=trigger, view=modal())["ok"]
    assert error_of(lambda: web.views_open(trigger_id=trigger, view=modal()))[0] == "exchanged_trigger_id"
    late = strict.mint_trigger("U1")
    timer.now += 3.01
    assert error_of(lambda: web.views_open(trigger_id=late, view=modal()))[0] == "expired_trigger_id"
    assert error_of(lambda: web.views_open(trigger_id="123.456.made-up", view=modal()))[0] == "invalid_trigger_id"
    assert len(strict.open_views) == 1


def test_a_response_url_works_five_times_within_thirty_minutes(strict: SlackStandIn, timer: ManualTimer) -> None:
    url = strict.new_response_url(channel="C1", user_id="U1")
    timer.now += 30 * 60
    for number in range(5):
        assert post_json(url, {"text": f"post {number}"})[0] == 200
    assert post_json(url, {"text": "sixth"}) == (404, {"ok": False, "error": "used_url"})
    late = strict.new_response_url(channel="C1", user_id="U1")
    timer.now += 30 * 60 + 1
    assert post_json(late, {"text": "too late"}) == (404, {"ok": False, "error": "expired_url"})


def test_an_ephemeral_needs_a_member_of_the_channel(web: WebClient, strict: SlackStandIn) -> None:
    assert web.chat_postEphemeral(channel="C1", user="U2", text="for bob")["ok"]
    assert error_of(lambda: web.chat_postEphemeral(channel="C1", user="U3", text="x"))[0] == "user_not_in_channel"
    assert [e["user"] for e in strict.ephemerals()] == ["U2"]


# ----------------------------------------------------------------------------- rate limits


def status_of(call: Callable[[], Any]) -> tuple[int, str | None]:
    try:
        call()
    except SlackApiError as exc:
        return exc.response.status_code, exc.response.headers.get("Retry-After")
    return 200, None


def test_rate_limits_are_off_by_default(web: WebClient) -> None:
    for number in range(30):
        web.chat_postMessage(channel="C1", text=f"n{number}")


def test_post_message_one_per_second_per_channel_with_short_bursts(
    strict: SlackStandIn, web: WebClient, timer: ManualTimer
) -> None:
    strict.enable_rate_limits()
    post = lambda: web.chat_postMessage(channel="C1", text="x")  # noqa: E731
    assert [status_of(post) for _ in range(4)] == [(200, None)] * 3 + [(429, "1")]
    assert status_of(lambda: web.chat_postMessage(channel="U2", text="a DM is another channel")) == (200, None)
    timer.now += 1
    assert [status_of(post) for _ in range(2)] == [(200, None), (429, "1")]
    assert strict.calls[-1].error == "ratelimited"
    strict.enable_rate_limits(False)
    assert status_of(post) == (200, None)


def test_other_methods_follow_their_tier(strict: SlackStandIn, web: WebClient, timer: ManualTimer) -> None:
    strict.enable_rate_limits()
    # users.list is Tier 2: 20 a minute, so the 21st waits for the next of them (3 s).
    assert all(status_of(web.users_list) == (200, None) for _ in range(20))
    assert status_of(web.users_list) == (429, "3")
    timer.now += 3
    assert status_of(web.users_list) == (200, None)
    # views.open is Tier 4: 100 a minute.
    for _ in range(100):
        assert status_of(lambda: web.views_open(trigger_id=strict.mint_trigger("U1"), view=modal())) == (200, None)
    assert status_of(lambda: web.views_open(trigger_id=strict.mint_trigger("U1"), view=modal()))[0] == 429
