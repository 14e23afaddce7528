"""The Slack stand-in, exercised through the real slack_sdk WebClient the bot uses."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox import SlackStandIn

from .conftest import TOKEN

TS = re.compile(r"^\d{10}\.\d{6}$")
SECTION = {"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "*Task* 12"}}


def error_of(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


def post_json(url: str, payload: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def impatient_client(slack: SlackStandIn) -> WebClient:
    """A client that gives up after 0.3 s (slack_sdk annotates timeout as int; urllib takes floats)."""
    return WebClient(token=TOKEN, base_url=slack.api_url, timeout=0.3)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- basics


def test_urls_and_auth_test(slack: SlackStandIn, web: WebClient) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", slack.base_url)
    assert slack.api_url == slack.base_url + "/api/"
    reply = web.auth_test()
    assert reply["user_id"] == "UBOT"
    assert reply["bot_id"] == "B0001"
    assert reply["team_id"] == "T0001"
    assert reply["url"].startswith("https://")
    assert reply["user"] == "handoff"


def test_wrong_or_missing_token_is_refused(slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=slack.api_url).chat_postMessage(channel="C1", text="x")
    assert error_of(wrong) == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=slack.api_url).api_call("auth.test")
    assert error_of(missing) == "not_authed"
    assert slack.messages("C1") == []
    assert [(c.method, c.ok, c.error) for c in slack.calls] == [
        ("chat.postMessage", False, "invalid_auth"),
        ("auth.test", False, "not_authed"),
    ]


def test_token_as_form_field_and_json_strings_in_form_bodies(slack: SlackStandIn) -> None:
    client = WebClient(base_url=slack.api_url)
    reply = client.api_call(
        "chat.postMessage",
        params={
            "token": TOKEN,
            "channel": "C1",
            "text": "form",
            "blocks": json.dumps([SECTION]),
            "metadata": json.dumps({"event_type": "task", "event_payload": {"id": 12}}),
        },
    )
    assert reply["message"]["blocks"] == [SECTION]
    stored = slack.message("C1", reply["ts"])
    assert stored["metadata"] == {"event_type": "task", "event_payload": {"id": 12}}
    call = slack.calls_to("chat.postMessage")[0]
    assert "token" not in call.params
    assert call.params["blocks"] == [SECTION]


def test_unknown_method(web: WebClient, slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        web.api_call("chat.fly")
    assert error_of(excinfo) == "unknown_method"
    assert slack.calls[-1].method == "chat.fly"
    assert slack.calls[-1].ok is False


def test_stop_is_idempotent_and_urls_need_a_running_server() -> None:
    standin = SlackStandIn().start()
    standin.stop()
    standin.stop()
    with pytest.raises(RuntimeError):
        _ = standin.api_url


# ----------------------------------------------------------------------------- messages


def test_post_message_shape_and_increasing_ts(slack: SlackStandIn, web: WebClient) -> None:
    first = web.chat_postMessage(channel="C1", text="one", blocks=[SECTION], unfurl_links=False)
    second = web.chat_postMessage(channel="#general", text="two")
    assert first["channel"] == "C1"
    assert second["channel"] == "C1"
    assert TS.match(first["ts"])
    assert TS.match(second["ts"])
    assert float(second["ts"]) > float(first["ts"])
    message = first["message"]
    assert message["user"] == "UBOT"
    assert message["bot_id"] == "B0001"
    assert message["text"] == "one"
    assert message["blocks"] == [SECTION]
    assert message["ts"] == first["ts"]
    assert [m["text"] for m in slack.messages("C1")] == ["one", "two"]
    assert slack.message("C1", first["ts"])["blocks"] == [SECTION]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_rejections(slack: SlackStandIn, web: WebClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": "C2", "text": "x"}, "not_in_channel"),
        ({"channel": "G1", "text": "x"}, "channel_not_found"),  # private and not a member: invisible
        ({"channel": "CNOPE", "text": "x"}, "channel_not_found"),
        ({"channel": "C1"}, "no_text"),
        ({"channel": "C1", "blocks": [SECTION, SECTION]}, "invalid_blocks"),  # duplicate block_id
        ({"channel": "C1", "text": "x", "metadata": {"event_type": "t"}}, "invalid_metadata_format"),
        ({"channel": "UGONE", "text": "x"}, "user_disabled"),
    ]
    for kwargs, expected in cases:
        with pytest.raises(SlackApiError) as excinfo:
            web.chat_postMessage(**kwargs)
        assert error_of(excinfo) == expected, kwargs
    assert slack.messages("C1") == []
    assert slack.messages("C2") == []


def test_invalid_blocks_explain_why(web: WebClient) -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    with pytest.raises(SlackApiError) as excinfo:
        web.chat_postMessage(channel="C1", text="x", blocks=[header])
    assert error_of(excinfo) == "invalid_blocks"
    assert "/blocks/0/text/text" in excinfo.value.response["response_metadata"]["messages"][0]


def test_post_to_user_id_opens_a_stable_dm(slack: SlackStandIn, web: WebClient) -> None:
    reply = web.chat_postMessage(channel="U1", text="psst")
    dm = reply["channel"]
    assert dm.startswith("D")
    opened = web.conversations_open(users="U1")
    assert opened["channel"]["id"] == dm
    assert web.chat_postMessage(channel=dm, text="again")["channel"] == dm
    assert [m["text"] for m in slack.dms("U1")] == ["psst", "again"]
    assert slack.messages("U1") == slack.messages(dm)
    assert slack.dm_id("U1") == dm
    assert slack.dm_id("U2") != dm
    info = web.conversations_info(channel=dm)["channel"]
    assert info["is_im"] is True
    assert info["user"] == "U1"


def test_conversations_open_errors(web: WebClient) -> None:
    with pytest.raises(SlackApiError) as unknown:
        web.conversations_open(users="UNOBODY")
    assert error_of(unknown) == "user_not_found"
    with pytest.raises(SlackApiError) as deleted:
        web.conversations_open(users="UGONE")
    assert error_of(deleted) == "user_disabled"


def test_threads_reply_counts_history_and_replies(slack: SlackStandIn, web: WebClient) -> None:
    parent = web.chat_postMessage(channel="C1", text="parent")["ts"]
    first = web.chat_postMessage(channel="C1", text="r1", thread_ts=parent)
    web.chat_postMessage(channel="C1", text="r2", thread_ts=parent, reply_broadcast=True)
    assert first["message"]["thread_ts"] == parent

    stored = slack.message("C1", parent)
    assert stored["reply_count"] == 2
    assert stored["thread_ts"] == parent
    assert stored["reply_users"] == ["UBOT"]

    assert [m["text"] for m in slack.messages("C1", thread_ts=parent)] == ["r1", "r2"]
    assert [m["text"] for m in slack.messages("C1")] == ["parent", "r2"]  # broadcasts show in the channel
    assert [m["text"] for m in slack.messages("C1", include_replies=True)] == ["parent", "r1", "r2"]

    history = web.conversations_history(channel="C1")["messages"]
    assert [m["text"] for m in history] == ["r2", "parent"]
    replies = web.conversations_replies(channel="C1", ts=first["ts"])["messages"]
    assert [m["text"] for m in replies] == ["parent", "r1", "r2"]
    with pytest.raises(SlackApiError) as excinfo:
        web.conversations_replies(channel="C1", ts="1.000001")
    assert error_of(excinfo) == "thread_not_found"


def test_history_is_newest_first_paginated_and_windowed(slack: SlackStandIn, web: WebClient) -> None:
    posted = [web.chat_postMessage(channel="C1", text=f"m{i}")["ts"] for i in range(5)]
    page = web.conversations_history(channel="C1", limit=2)
    assert [m["text"] for m in page["messages"]] == ["m4", "m3"]
    assert page["has_more"] is True
    texts = [m["text"] for m in page["messages"]]
    cursor = page["response_metadata"]["next_cursor"]
    while cursor:
        page = web.conversations_history(channel="C1", limit=2, cursor=cursor)
        texts += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
    assert texts == ["m4", "m3", "m2", "m1", "m0"]
    assert page["has_more"] is False

    window = web.conversations_history(channel="C1", oldest=posted[1], latest=posted[3])["messages"]
    assert [m["text"] for m in window] == ["m2"]
    inclusive = web.conversations_history(channel="C1", oldest=posted[1], latest=posted[3], inclusive=True)
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]
    with pytest.raises(SlackApiError) as excinfo:
        web.conversations_history(channel="C1", cursor="bm9wZQ==")
    assert error_of(excinfo) == "invalid_cursor"
    with pytest.raises(SlackApiError) as not_member:
        web.conversations_history(channel="C2")
    assert error_of(not_member) == "not_in_channel"


def test_history_includes_metadata_only_when_asked(web: WebClient) -> None:
    metadata = {"event_type": "handoff_task", "event_payload": {"task_id": 7}}
    web.chat_postMessage(channel="C1", text="task", metadata=metadata)
    plain = web.conversations_history(channel="C1")["messages"][0]
    assert "metadata" not in plain
    full = web.conversations_history(channel="C1", include_all_metadata=True)["messages"][0]
    assert full["metadata"] == metadata
    replies = web.conversations_replies(channel="C1", ts=full["ts"], include_all_metadata=True)
    assert replies["messages"][0]["metadata"] == metadata


def test_update_replaces_content_and_records_edits(slack: SlackStandIn, web: WebClient) -> None:
    ts = web.chat_postMessage(channel="C1", text="before", blocks=[SECTION])["ts"]
    reply = web.chat_update(channel="C1", ts=ts, text="after")
    assert reply["ts"] == ts
    assert reply["text"] == "after"
    stored = slack.message("C1", ts)
    assert stored["text"] == "after"
    assert stored["blocks"] == [SECTION]  # omitted blocks are kept, as Slack does
    assert stored["edited"]["user"] == "UBOT"
    new_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "done"}}]
    web.chat_update(channel="C1", ts=ts, text="final", blocks=new_blocks)
    assert slack.message("C1", ts)["blocks"] == new_blocks
    edits = slack.edits
    assert [(e["before"]["text"], e["after"]["text"]) for e in edits] == [
        ("before", "after"),
        ("after", "final"),
    ]
    assert len(slack.messages("C1")) == 1


def test_update_errors(slack: SlackStandIn, web: WebClient) -> None:
    with pytest.raises(SlackApiError) as missing:
        web.chat_update(channel="C1", ts="1700000099.000100", text="x")
    assert error_of(missing) == "message_not_found"
    human = slack.add_message("C1", "U1", "mine")
    with pytest.raises(SlackApiError) as not_ours:
        web.chat_update(channel="C1", ts=human["ts"], text="x")
    assert error_of(not_ours) == "cant_update_message"
    assert slack.message("C1", human["ts"])["text"] == "mine"
    assert slack.edits == []


def test_ephemeral_messages(slack: SlackStandIn, web: WebClient) -> None:
    reply = web.chat_postEphemeral(channel="C1", user="U1", text="only you", blocks=[SECTION])
    assert TS.match(reply["message_ts"])
    web.chat_postEphemeral(channel="C1", user="U2", text="only bob")
    assert [e["text"] for e in slack.ephemerals("U1")] == ["only you"]
    assert slack.ephemerals("U1")[0]["blocks"] == [SECTION]
    assert [e["user"] for e in slack.ephemerals(channel="C1")] == ["U1", "U2"]
    assert slack.ephemerals("U1", channel="C2") == []
    assert slack.messages("C1") == []  # never part of the channel history

    for channel, user, expected in [("C1", "U3", "user_not_in_channel"), ("C2", "U1", "not_in_channel")]:
        with pytest.raises(SlackApiError) as excinfo:
            web.chat_postEphemeral(channel=channel, user=user, text="x")
        assert error_of(excinfo) == expected
    assert len(slack.ephemerals()) == 2


def test_permalinks(web: WebClient) -> None:
    ts = web.chat_postMessage(channel="C1", text="x")["ts"]
    link = web.chat_getPermalink(channel="C1", message_ts=ts)
    assert link["channel"] == "C1"
    assert link["permalink"] == f"https://sandbox.slack.test/archives/C1/p{ts.replace('.', '')}"
    reply_ts = web.chat_postMessage(channel="C1", text="r", thread_ts=ts)["ts"]
    reply_link = web.chat_getPermalink(channel="C1", message_ts=reply_ts)["permalink"]
    assert reply_link.endswith(f"?thread_ts={ts}&cid=C1")
    with pytest.raises(SlackApiError) as excinfo:
        web.chat_getPermalink(channel="C1", message_ts="1700000999.000100")
    assert error_of(excinfo) == "message_not_found"


def test_reactions(slack: SlackStandIn, web: WebClient) -> None:
    ts = web.chat_postMessage(channel="C1", text="x")["ts"]
    web.reactions_add(channel="C1", timestamp=ts, name="eyes")
    slack.add_reaction("C1", ts, "eyes", "U1")
    assert slack.message("C1", ts)["reactions"] == [{"name": "eyes", "users": ["UBOT", "U1"], "count": 2}]
    with pytest.raises(SlackApiError) as again:
        web.reactions_add(channel="C1", timestamp=ts, name="eyes")
    assert error_of(again) == "already_reacted"
    web.reactions_remove(channel="C1", timestamp=ts, name="eyes")
    assert slack.message("C1", ts)["reactions"] == [{"name": "eyes", "users": ["U1"], "count": 1}]
    with pytest.raises(SlackApiError) as gone:
        web.reactions_remove(channel="C1", timestamp=ts, name="eyes")
    assert error_of(gone) == "no_reaction"
    with pytest.raises(SlackApiError) as missing:
        web.reactions_add(channel="C1", timestamp="1.000001", name="eyes")
    assert error_of(missing) == "message_not_found"


# ----------------------------------------------------------------------------- users and channels


def test_users_info(web: WebClient) -> None:
    user = web.users_info(user="U3")["user"]
    assert user["id"] == "U3"
    assert user["name"] == "carol"
    assert user["real_name"] == "carol"
    assert user["profile"]["display_name"] == "carol"
    assert user["tz"] == "Asia/Kolkata"
    assert user["tz_offset"] == 19800
    assert user["tz_label"] == "India Standard Time"
    assert user["is_bot"] is False
    assert user["deleted"] is False

    bob = web.users_info(user="U2")["user"]
    london_offset = datetime.now(ZoneInfo("Europe/London")).utcoffset()
    assert london_offset is not None
    assert bob["tz_offset"] == int(london_offset.total_seconds())
    assert bob["profile"]["real_name"] == "Bob Baker"
    assert web.users_info(user="UGONE")["user"]["deleted"] is True
    with pytest.raises(SlackApiError) as excinfo:
        web.users_info(user="UNOBODY")
    assert error_of(excinfo) == "user_not_found"


def test_users_info_and_list_give_the_locale_only_when_asked(slack: SlackStandIn, web: WebClient) -> None:
    slack.add_user("UGB", "gwen", tz="Europe/London", locale="en-GB")
    assert "locale" not in web.users_info(user="UGB")["user"]
    assert web.users_info(user="UGB", include_locale=True)["user"]["locale"] == "en-GB"
    assert web.users_info(user="U3", include_locale=True)["user"]["locale"] == "en-US"  # Slack's default
    assert all("locale" not in m for m in web.users_list()["members"])
    listed = {m["id"]: m["locale"] for m in web.users_list(include_locale=True)["members"]}
    assert listed["UGB"] == "en-GB"


def test_users_list_paginates_with_cursors(slack: SlackStandIn, web: WebClient) -> None:
    for i in range(4):
        slack.add_user(f"UX{i}", f"extra{i}")
    expected = ["UBOT", "U1", "U2", "U3", "UGONE", "UX0", "UX1", "UX2", "UX3"]
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        page = web.users_list(limit=2, cursor=cursor)
        pages += 1
        assert len(page["members"]) <= 2
        seen += [m["id"] for m in page["members"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert seen == expected
    assert pages == 5
    assert [m["id"] for m in web.users_list()["members"]] == expected
    assert next(m for m in web.users_list()["members"] if m["id"] == "UBOT")["is_bot"] is True


def test_conversations_info_and_members(web: WebClient) -> None:
    info = web.conversations_info(channel="C1", include_num_members=True)["channel"]
    assert info["name"] == "general"
    assert info["is_member"] is True
    assert info["num_members"] == 3
    assert web.conversations_info(channel="C2")["channel"]["is_member"] is False
    assert web.conversations_members(channel="C1")["members"] == ["U1", "U2", "UBOT"]
    assert web.conversations_members(channel="C2")["members"] == ["U1"]
    with pytest.raises(SlackApiError) as excinfo:
        web.conversations_info(channel="G1")
    assert error_of(excinfo) == "channel_not_found"


def test_join_lets_the_bot_post(slack: SlackStandIn, web: WebClient) -> None:
    web.conversations_join(channel="C2")
    assert web.chat_postMessage(channel="C2", text="hello")["channel"] == "C2"
    assert [m["text"] for m in slack.messages("C2")] == ["hello"]


# ----------------------------------------------------------------------------- views

MODAL = {
    "type": "modal",
    "callback_id": "new_task",
    "private_metadata": "C1",
    "title": {"type": "plain_text", "text": "New task"},
    "submit": {"type": "plain_text", "text": "Create"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "title_input"},
        }
    ],
}


def test_views_open_update_push(slack: SlackStandIn, web: WebClient) -> None:
    view = web.views_open(trigger_id=slack.mint_trigger("U1"), view=MODAL)["view"]
    assert view["id"].startswith("V")
    assert view["callback_id"] == "new_task"
    assert view["root_view_id"] == view["id"]
    assert [v["id"] for v in slack.open_views] == [view["id"]]

    changed = dict(MODAL, title={"type": "plain_text", "text": "Edit task"})
    updated = web.views_update(view_id=view["id"], view=changed, hash=view["hash"])["view"]
    assert updated["id"] == view["id"]
    assert updated["title"]["text"] == "Edit task"
    assert updated["hash"] != view["hash"]
    assert slack.open_views[0]["title"]["text"] == "Edit task"
    with pytest.raises(SlackApiError) as stale:
        web.views_update(view_id=view["id"], view=MODAL, hash=view["hash"])
    assert error_of(stale) == "hash_conflict"
    with pytest.raises(SlackApiError) as unknown:
        web.views_update(view_id="VNOPE", view=MODAL)
    assert error_of(unknown) == "not_found"

    pushed = web.views_push(trigger_id=slack.mint_trigger("U1"), view=MODAL)["view"]
    assert pushed["previous_view_id"] == view["id"]
    assert pushed["root_view_id"] == view["id"]
    assert len(slack.open_views) == 2
    assert set(slack.views) == {view["id"], pushed["id"]}


def test_views_are_validated(slack: SlackStandIn, web: WebClient) -> None:
    too_long = dict(MODAL, title={"type": "plain_text", "text": "A title that is far too long"})
    no_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    for view in (too_long, no_submit, {"type": "home", "blocks": []}):
        with pytest.raises(SlackApiError) as excinfo:
            web.views_open(trigger_id=slack.mint_trigger("U1"), view=view)
        assert error_of(excinfo) == "invalid_arguments"
        assert excinfo.value.response["response_metadata"]["messages"]
    with pytest.raises(SlackApiError) as no_trigger:
        web.views_open(trigger_id="", view=MODAL)
    assert error_of(no_trigger) == "invalid_trigger_id"
    assert slack.open_views == []


def test_views_publish_home(slack: SlackStandIn, web: WebClient) -> None:
    home = {"type": "home", "blocks": [SECTION]}
    first = web.views_publish(user_id="U1", view=home)["view"]
    divider = {"type": "divider"}
    second = web.views_publish(user_id="U1", view={"type": "home", "blocks": [divider]})["view"]
    assert first["id"].startswith("V")
    assert second["id"] == first["id"]
    assert slack.home_views["U1"]["blocks"] == [divider]
    assert "U2" not in slack.home_views
    with pytest.raises(SlackApiError) as excinfo:
        web.views_publish(user_id="UNOBODY", view=home)
    assert error_of(excinfo) == "user_not_found"


# ----------------------------------------------------------------------------- failure injection


def test_ratelimited_is_a_429_with_retry_after(slack: SlackStandIn, web: WebClient) -> None:
    slack.fail_next("chat.postMessage", "ratelimited", retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        web.chat_postMessage(channel="C1", text="x")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "7"
    assert error_of(excinfo) == "ratelimited"
    assert slack.messages("C1") == []
    web.chat_postMessage(channel="C1", text="second try")  # one failure consumed, then normal again
    assert [m["text"] for m in slack.messages("C1")] == ["second try"]
    calls = slack.calls_to("chat.postMessage")
    assert [(c.ok, c.error, c.injected) for c in calls] == [
        (False, "ratelimited", "ratelimited"),
        (True, None, None),
    ]


def test_failures_are_per_method_and_counted(slack: SlackStandIn, web: WebClient) -> None:
    slack.fail_next("chat.postMessage", "server_error", times=2)
    ts = slack.add_message("C1", "U1", "human")["ts"]
    web.reactions_add(channel="C1", timestamp=ts, name="eyes")  # other methods are unaffected
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            web.chat_postMessage(channel="C1", text="x")
        assert excinfo.value.response.status_code == 500
    web.chat_postMessage(channel="C1", text="ok now")
    slack.fail_next("chat.postMessage", "service_unavailable")
    with pytest.raises(SlackApiError) as unavailable:
        web.chat_postMessage(channel="C1", text="x")
    assert unavailable.value.response.status_code == 503
    assert [m["text"] for m in slack.messages("C1")] == ["human", "ok now"]


def test_error_strings_fail_without_acting(slack: SlackStandIn, web: WebClient) -> None:
    slack.fail_next("chat.postMessage", "invalid_blocks")
    slack.fail_next("chat.postMessage", "not_in_channel")
    for expected in ("invalid_blocks", "not_in_channel"):
        with pytest.raises(SlackApiError) as excinfo:
            web.chat_postMessage(channel="C1", text="x")
        assert excinfo.value.response.status_code == 200
        assert error_of(excinfo) == expected
    assert slack.messages("C1") == []
    slack.fail_next("views.open", "expired_trigger_id")
    with pytest.raises(SlackApiError) as view_error:
        web.views_open(trigger_id="t", view=MODAL)
    assert error_of(view_error) == "expired_trigger_id"
    assert slack.open_views == []
    slack.clear_failures()
    web.chat_postMessage(channel="C1", text="fine")


def test_timeout_holds_the_request_and_does_nothing(slack: SlackStandIn) -> None:
    slack.hang_seconds = 1.0
    slack.fail_next("chat.postMessage", "timeout")
    impatient = impatient_client(slack)
    with pytest.raises(TimeoutError):  # had the server answered first, this would be a 504 SlackApiError
        impatient.chat_postMessage(channel="C1", text="lost")
    assert slack.messages("C1") == []
    assert slack.calls_to("chat.postMessage")[0].injected == "timeout"


def test_timeout_after_success_stores_the_message(slack: SlackStandIn) -> None:
    slack.hang_seconds = 1.0
    slack.fail_next("chat.postMessage", "timeout_after_success")
    impatient = impatient_client(slack)
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C1", text="posted anyway")
    assert [m["text"] for m in slack.messages("C1")] == ["posted anyway"]
    call = slack.calls_to("chat.postMessage")[0]
    assert (call.ok, call.injected) == (True, "timeout_after_success")


def test_stop_releases_held_requests() -> None:
    standin = SlackStandIn(token=TOKEN).start()
    standin.add_channel("C1", "general")
    standin.hang_seconds = 60.0
    standin.fail_next("chat.postMessage", "timeout")
    outcome: list[object] = []

    def call() -> None:
        try:
            WebClient(token=TOKEN, base_url=standin.api_url, timeout=30).chat_postMessage(
                channel="C1", text="x"
            )
        except Exception as exc:  # the held request must end somehow; which way is what we record
            outcome.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    standin.wait_for_call("chat.postMessage", timeout=5)
    started = time.monotonic()
    standin.stop()
    worker.join(timeout=5)
    assert time.monotonic() - started < 5
    assert not worker.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], SlackApiError)
    assert outcome[0].response.status_code == 504


def test_fail_next_rejects_nonsense_counts(slack: SlackStandIn) -> None:
    with pytest.raises(ValueError):
        slack.fail_next("chat.postMessage", "ratelimited", times=0)


# ----------------------------------------------------------------------------- response URLs and helpers


def test_response_url_posts_are_recorded(slack: SlackStandIn) -> None:
    url = slack.new_response_url()
    assert url.startswith(slack.base_url + "/response/")
    status, body = post_json(url, {"text": "Working on it", "response_type": "ephemeral"})
    assert (status, body) == (200, {"ok": True})
    response_id = url.rsplit("/", 1)[1]
    assert slack.responses == [(response_id, {"text": "Working on it", "response_type": "ephemeral"})]
    assert slack.calls_to("response_url")[0].params["text"] == "Working on it"

    assert post_json(url, {"response_type": "ephemeral"}) == (400, {"ok": False, "error": "no_text"})
    assert post_json(slack.base_url + "/response/RNOPE", {"text": "x"})[0] == 404
    for _ in range(4):
        assert post_json(url, {"text": "again"})[0] == 200
    assert post_json(url, {"text": "sixth"}) == (404, {"ok": False, "error": "used_url"})
    assert len(slack.responses) == 5


def test_response_url_with_context_acts_like_slack(slack: SlackStandIn, web: WebClient) -> None:
    ts = web.chat_postMessage(channel="C1", text="Task 12", blocks=[SECTION])["ts"]
    url = slack.new_response_url(channel="C1", user_id="U1", message_ts=ts)
    post_json(url, {"text": "Only you see this"})
    assert [e["text"] for e in slack.ephemerals("U1", channel="C1")] == ["Only you see this"]
    post_json(url, {"text": "Task 12 (done)", "replace_original": True})
    assert slack.message("C1", ts)["text"] == "Task 12 (done)"
    assert slack.edits[-1]["before"]["text"] == "Task 12"
    post_json(url, {"text": "Everyone sees this", "response_type": "in_channel"})
    assert [m["text"] for m in slack.messages("C1")] == ["Task 12 (done)", "Everyone sees this"]
    post_json(url, {"delete_original": True})
    assert [m["text"] for m in slack.messages("C1")] == ["Everyone sees this"]


def test_response_url_failures_can_be_injected(slack: SlackStandIn) -> None:
    url = slack.new_response_url()
    slack.fail_next("response_url", "server_error")
    assert post_json(url, {"text": "x"})[0] == 500
    assert slack.responses == []
    assert post_json(url, {"text": "x"})[0] == 200


def test_reset_calls_and_wait_for(slack: SlackStandIn, web: WebClient) -> None:
    web.auth_test()
    assert len(slack.calls) == 1
    slack.reset_calls()
    assert slack.calls == []
    assert slack.wait_for(lambda s: len(s.calls) >= 1, timeout=0.05) is False
    web.auth_test()
    assert [c.method for c in slack.wait_for_call("auth.test")] == ["auth.test"]
    with pytest.raises(TimeoutError):
        slack.wait_for_call("chat.postMessage", timeout=0.05)


def test_returned_state_is_a_copy(slack: SlackStandIn, web: WebClient) -> None:
    ts = web.chat_postMessage(channel="C1", text="original")["ts"]
    slack.messages("C1")[0]["text"] = "tampered"
    slack.message("C1", ts)["text"] = "tampered"
    assert slack.message("C1", ts)["text"] == "original"
    with pytest.raises(KeyError):
        slack.message("C1", "1.000001")


def test_inspection_helpers_reject_unknown_channels(slack: SlackStandIn) -> None:
    assert slack.messages("U2") == []  # a person with no DM yet: legitimately empty
    assert slack.dms("U2") == []
    with pytest.raises(KeyError):
        slack.messages("C_TYPO")
    with pytest.raises(KeyError):
        slack.ephemerals(channel="C_TYPO")
