"""The browser workspace's server: each page action becomes a signed request to the real bot, and the
state it serves is only what the Slack stand-in received, seen through one person's eyes."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from models.enums import TaskStatus
from models.tasks import find_task
from sandbox.web import SandboxWeb, default_start, slack_encode
from sandbox.workspace import TEAM, Workspace, workspace

# Monday 30 November 2026, 09:00 in New York.
START = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
RITA, MIA, ANA, BEN = "URITA", "UMIA", "UANA", "UBEN"
State = dict[str, Any]


class Page:
    """What the page does: JSON over HTTP to the sandbox server."""

    def __init__(self, web: SandboxWeb, ws: Workspace) -> None:
        self.web = web
        self.ws = ws
        self.port = int(web.url.rsplit(":", 1)[1].strip("/"))

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            raw = response.read()
            try:
                return response.status, json.loads(raw)
            except ValueError:
                return response.status, raw.decode()
        finally:
            connection.close()

    def post(self, path: str, user: str, **fields: Any) -> Any:
        status, answer = self.request(
            "POST", path, json.dumps({"user": user, **fields}).encode(), {"Content-Type": "application/json"}
        )
        assert status == 200, answer
        return answer

    def state(self, user: str, since: int | None = None) -> State:
        status, answer = self.request("GET", f"/api/state?user={user}" + (f"&since={since}" if since else ""))
        assert status == 200, answer
        return dict(answer)

    def wait(self, user: str, predicate: Callable[[State], bool], timeout: float = 10.0) -> State:
        """Long-poll as the page does until `predicate` holds for `user`'s view."""
        deadline = time.monotonic() + timeout
        state = self.state(user)
        while not predicate(state):
            assert time.monotonic() < deadline, f"gave up waiting; last state: {json.dumps(state)[:2000]}"
            state = self.state(user, since=state["version"])
        return state


@pytest.fixture
def page() -> Iterator[Page]:
    with workspace(START, live=True) as ws:
        web = SandboxWeb(ws).start()
        try:
            yield Page(web, ws)
        finally:
            web.stop()


def card(state: State) -> dict[str, Any] | None:
    """The first task card in #va-pool, as the person sees it."""
    for message in state["messages"]["CPOOL"]:
        if message.get("blocks") and message["text"].startswith("T-1"):
            return dict(message)
    return None


def card_text(state: State) -> str:
    found = card(state)
    return json.dumps(found["blocks"], ensure_ascii=False) if found else ""


def test_delegate_claim_by_reaction_and_done(page: Page) -> None:
    assert page.post("/api/send", RITA, channel="CGENERAL", text="/delegate Reconcile October invoices by Friday 5pm")[
        "ok"
    ]
    rita = page.wait(RITA, lambda s: any("Created" in e["text"] for e in s["ephemerals"]))
    assert [e["channel"] for e in rita["ephemerals"]] == ["CGENERAL"]
    ana = page.wait(ANA, lambda s: card(s) is not None)
    assert ana["ephemerals"] == []  # Rita's confirmations are hers alone
    assert "Unclaimed" in card_text(ana)
    ts = card(ana)["ts"]  # type: ignore[index]

    assert page.post("/api/react", ANA, channel="CPOOL", ts=ts, name="raised_hand")["ok"]
    ana = page.wait(ANA, lambda s: "Assigned" in card_text(s))
    assert "<@UANA>" in card_text(ana)
    assert card(ana)["reactions"] == [{"name": "raised_hand", "users": [ANA], "count": 1}]  # type: ignore[index]

    assert page.post("/api/action", ANA, channel="CPOOL", ts=ts, action_id="task_done")["ok"]
    page.wait(ANA, lambda s: "✅ Done" in card_text(s))
    with page.ws.handoff.services.db.read() as session:
        task = find_task(session, team_id=TEAM, number=1)
        assert task.status is TaskStatus.DONE and task.assignee_id == ANA
    rita = page.wait(RITA, lambda s: any("finished" in m["text"] for m in s["messages"]["DURITA"]))
    assert "DUANA" not in rita["messages"]  # nobody sees another person's DMs


def test_a_modal_opens_for_its_person_and_shows_the_bots_errors(page: Page) -> None:
    page.post("/api/send", RITA, channel="CGENERAL", text="/delegate @ana Send the payroll report by Friday 5pm")
    rita = page.wait(RITA, lambda s: any(m["text"].startswith("T-1") for m in s["messages"]["CGENERAL"]))
    ts = next(m["ts"] for m in rita["messages"]["CGENERAL"] if m["text"].startswith("T-1"))

    assert page.post("/api/action", RITA, channel="CGENERAL", ts=ts, action_id="task_menu", value="due:1")["ok"]
    rita = page.wait(RITA, lambda s: bool(s["modals"]))
    assert page.state(ANA)["modals"] == []  # the modal is on Rita's screen only
    view = rita["modals"][-1]
    assert view["title"]["text"] == "Change due date"
    assert page.post("/api/view/submit", ANA, view_id=view["id"], values={})["error"] == (
        "That window belongs to someone else."
    )

    typed = {"due": {"value": {"type": "plain_text_input", "value": "when pigs fly"}}}
    assert page.post("/api/view/submit", RITA, view_id=view["id"], values=typed)["ok"]
    rita = page.wait(RITA, lambda s: bool(s["modals"] and s["modals"][-1]["errors"]))
    assert "when pigs fly" in rita["modals"][-1]["errors"]["due"]

    typed = {"due": {"value": {"type": "plain_text_input", "value": "Thursday 3pm"}}}
    assert page.post("/api/view/submit", RITA, view_id=view["id"], values=typed)["ok"]
    page.wait(RITA, lambda s: not s["modals"])
    with page.ws.handoff.services.db.read() as session:
        due = find_task(session, team_id=TEAM, number=1).due_at
    assert due is not None and due.isoformat() == "2026-12-03T20:00:00+00:00"  # 15:00 in New York

    # Ana, the assignee, may not move the date: the bot says why before she fills anything in.
    page.post("/api/action", ANA, channel="CGENERAL", ts=ts, action_id="task_menu", value="due:1")
    ana = page.wait(ANA, lambda s: any("You can't change the due date" in e["text"] for e in s["ephemerals"]))
    assert "Only its requester (<@URITA>) or a manager or an admin" in ana["ephemerals"][-1]["text"]
    assert page.state(ANA)["modals"] == []


def test_fast_forward_to_the_managers_morning_brings_the_digest_thread(page: Page) -> None:
    page.post("/api/send", RITA, channel="CGENERAL", text="/delegate Sort the shared inbox by tomorrow 5pm")
    page.post("/api/send", MIA, channel="CDIGEST", text="/tasks digest here at 9:00")
    page.wait(MIA, lambda s: any("digest" in e["text"].lower() for e in s["ephemerals"]))
    # Mia set it up at 08:00 her time: the first digest is at 09:00 Chicago, today.
    moved = page.post("/api/clock", MIA, step="morning")
    # (The sandbox clock runs on at real speed after the jump, hence "about".)
    assert moved["now"] == pytest.approx(datetime(2026, 11, 30, 15, 0, tzinfo=UTC).timestamp(), abs=5)
    mia = page.wait(MIA, lambda s: any(m.get("reply_count") for m in s["messages"]["CDIGEST"]))
    parent = next(m for m in mia["messages"]["CDIGEST"] if m.get("reply_count"))
    assert parent["text"].startswith("📋 Daily digest for 2026-11-30")
    replies = [m for m in mia["messages"]["CDIGEST"] if m.get("thread_ts") == parent["ts"] and m is not parent]
    assert any("Unclaimed" in m["text"] for m in replies)
    # Messages carry the sandbox's time, as Slack's carry real time.
    assert float(parent["ts"]) == pytest.approx(moved["now"], abs=1)

    before = page.state(MIA)["now"]
    after = page.post("/api/clock", MIA, step="1h")["now"]
    assert after - before == pytest.approx(3600, abs=5)


def test_thread_replies_reactions_and_dismissing(page: Page) -> None:
    page.post("/api/send", RITA, channel="CGENERAL", text="/delegate Chase the Q3 receipts")
    ana = page.wait(ANA, lambda s: card(s) is not None)
    ts = card(ana)["ts"]  # type: ignore[index]
    assert page.post("/api/send", ANA, channel="CPOOL", text="Which client? <b>", thread_ts=ts)["ok"]
    rita = page.wait(RITA, lambda s: (card(s) or {}).get("reply_count") == 1)
    reply = next(m for m in rita["messages"]["CPOOL"] if m.get("thread_ts") == ts and m["ts"] != ts)
    assert reply["user"] == ANA and reply["text"] == "Which client? &lt;b&gt;"  # encoded as Slack encodes it

    page.post("/api/react", BEN, channel="CPOOL", ts=ts, name="eyes")
    page.wait(RITA, lambda s: bool((card(s) or {}).get("reactions")))
    page.post("/api/react", BEN, channel="CPOOL", ts=ts, name="eyes", remove=True)
    page.wait(RITA, lambda s: not (card(s) or {}).get("reactions"))

    rita = page.state(RITA)
    first = rita["ephemerals"][0]
    assert page.post("/api/dismiss", RITA, channel=first["channel"], ts=first["ts"])["ok"]
    assert first["ts"] not in [e["ts"] for e in page.state(RITA)["ephemerals"]]
    assert page.post("/api/dismiss", RITA, channel=first["channel"], ts=first["ts"])["ok"] is False


def test_bad_input_gets_a_clear_answer_and_changes_nothing(page: Page) -> None:
    before = page.ws.slack.snapshot(RITA)["messages"]
    answer = page.post("/api/send", RITA, channel="CGENERAL", text="/remind me later")
    assert answer == {"ok": False, "error": "/remind is not a valid command. In Slack, all messages that start "
                      "with “/” are commands."}
    assert page.post("/api/send", RITA, channel="CGENERAL", text="   ")["error"] == "Type a message first."
    assert page.post("/api/clock", RITA, step="1y")["ok"] is False
    assert page.post("/api/action", RITA, channel="CGENERAL", ts="1.0", action_id="task_done")["ok"] is False
    assert page.post("/api/send", "UNOBODY", channel="CGENERAL", text="hi")["error"] == "Pick who you are first."
    status, answer = page.request("POST", "/api/send", b"[1]", {"Content-Type": "application/json"})
    assert status == 400
    status, _ = page.request("POST", "/api/send", b"user=URITA", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415
    status, _ = page.request("GET", "/api/state?user=URITA", headers={"Host": "evil.example:8765"})
    assert status == 403
    status, answer = page.request("GET", "/api/state?user=UNOBODY")
    assert status == 404
    assert page.ws.slack.snapshot(RITA)["messages"] == before
    assert page.ws.slack.calls_to("chat.postMessage") == []


def test_slack_bodies_of_the_page_and_the_bot_failing_to_answer(page: Page) -> None:
    # A plain address lands on the requester in #general; the page itself loads its script and styles.
    connection = http.client.HTTPConnection("127.0.0.1", page.port, timeout=10)
    connection.request("GET", "/")
    first = connection.getresponse()
    assert (first.status, first.getheader("Location")) == (302, "/?as=URITA&c=CGENERAL")
    connection.close()
    status, html = page.request("GET", "/?as=URITA&c=CGENERAL")
    assert status == 200 and "app.js" in html
    status, script = page.request("GET", "/static/app.js")
    assert status == 200 and "/api/state" in script
    # The bot gone: Slack tells the person the command failed rather than staying silent.
    page.ws.client.bot_url = page.ws.client.bot_url.replace("/slack/events", "/nowhere")
    page.post("/api/send", RITA, channel="CGENERAL", text="/delegate Anything")
    rita = page.wait(RITA, lambda s: bool(s["ephemerals"]))
    assert rita["ephemerals"][0]["text"] == '/delegate failed with the error "http_service_error"'


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (datetime(2026, 11, 30, 15, 30, tzinfo=UTC), datetime(2026, 11, 30, 15, 30, tzinfo=UTC)),  # Mon 10:30 NY
        (datetime(2026, 11, 30, 12, 0, tzinfo=UTC), datetime(2026, 11, 30, 14, 0, tzinfo=UTC)),  # Mon 07:00 NY
        (datetime(2026, 11, 28, 21, 0, tzinfo=UTC), datetime(2026, 11, 30, 14, 0, tzinfo=UTC)),  # Sat 16:00 NY
        (datetime(2026, 12, 4, 23, 0, tzinfo=UTC), datetime(2026, 12, 7, 14, 0, tzinfo=UTC)),  # Fri 18:00 NY
    ],
)
def test_the_clock_starts_in_new_york_working_hours(now: datetime, start: datetime) -> None:
    assert default_start(now) == start


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("@here the invoices are in", "<!here> the invoices are in"),
        ("Heads up @channel, and @everyone!", "Heads up <!channel>, and <!everyone>!"),
        ("@HERE loud", "<!here> loud"),
        ("mail ana@here.example or @heresy", "mail ana@here.example or @heresy"),
        ("R&D <acct 4402> @here", "R&amp;D &lt;acct 4402&gt; <!here>"),
    ],
)
def test_slack_encode_turns_typed_broadcasts_into_special_mentions(typed: str, sent: str) -> None:
    assert slack_encode(typed) == sent


def test_typed_broadcasts_reach_the_bot_as_slack_sends_them(page: Page, monkeypatch: pytest.MonkeyPatch) -> None:
    client = page.ws.client
    commands: list[str] = []
    command = client.command

    def spy(user: str, name: str, text: str = "", **kwargs: Any) -> Any:
        commands.append(text)
        return command(user, name, text, **kwargs)

    monkeypatch.setattr(client, "command", spy)
    page.post("/api/send", RITA, channel="CGENERAL", text="@here the October invoices are in")
    page.post("/api/send", RITA, channel="CGENERAL", text="/delegate Tell @channel the pool is open")
    # The message as Slack stores and shows it, and the command text as the bot received it.
    messages = page.wait(RITA, lambda s: bool(s["messages"].get("CGENERAL")))["messages"]["CGENERAL"]
    assert messages[0]["text"] == "<!here> the October invoices are in"
    assert commands == ["Tell <!channel> the pool is open"]
