"""End to end: a real Bolt app, fed by SlackClientSim and talking to SlackStandIn.

This is the combination the bot's own tests use, so it checks that Bolt accepts what the
simulator sends (signatures, payload shapes) and that the stand-in answers what Bolt calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_bolt import Ack, App, BoltRequest, Respond, Say
from slack_sdk import WebClient

from sandbox import SlackClientSim, SlackStandIn

SECRET = "bolt-signing-secret"
MODAL = {
    "type": "modal",
    "callback_id": "new_task",
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
START_BUTTON = {
    "type": "actions",
    "block_id": "task_12",
    "elements": [
        {
            "type": "button",
            "action_id": "task_start",
            "value": "12",
            "text": {"type": "plain_text", "text": "Start"},
        }
    ],
}


def build_app(slack: SlackStandIn) -> App:
    # process_before_response keeps every listener synchronous, so tests need no waiting.
    app = App(
        signing_secret=SECRET,
        client=WebClient(token=slack.token, base_url=slack.api_url),
        process_before_response=True,
    )

    @app.command("/handoff")
    def command(ack: Ack, respond: Respond, command: dict[str, Any], client: WebClient) -> None:
        ack()
        respond(f"Creating: {command['text']}")
        client.chat_postMessage(channel=command["channel_id"], text="Task 12", blocks=[START_BUTTON])

    @app.action("task_start")
    def start(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=MODAL)
        respond(replace_original=True, text=f"Task {body['actions'][0]['value']} started")

    @app.view("new_task")
    def submit(ack: Ack, view: dict[str, Any]) -> None:
        title = view["state"]["values"]["title"]["title_input"]["value"]
        if len(title) < 3:
            ack(response_action="errors", errors={"title": "Too short"})
        else:
            ack()

    @app.event("reaction_added")
    def reacted(event: dict[str, Any], say: Say) -> None:
        say(channel=event["item"]["channel"], text=f"Seen :{event['reaction']}:")

    return app


@pytest.fixture
def bot_url(slack: SlackStandIn) -> Iterator[str]:
    app = build_app(slack)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            headers: dict[str, str | Sequence[str]] = dict(self.headers.items())
            response = app.dispatch(BoltRequest(body=body, headers=headers))
            data = (response.body or "").encode()
            self.send_response(response.status)
            for name, values in response.headers.items():
                for value in values:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    server.shutdown()
    server.server_close()


def test_command_button_modal_and_reaction_round_trip(slack: SlackStandIn, bot_url: str) -> None:
    sim = SlackClientSim(bot_url, SECRET, standin=slack)

    assert sim.command("U1", "/handoff", "fix the build", channel_id="C1").status == 200
    assert [e["text"] for e in slack.ephemerals("U1", channel="C1")] == ["Creating: fix the build"]
    (task,) = slack.messages("C1")
    assert task["blocks"] == [START_BUTTON]

    assert sim.click_button("U2", "C1", task["ts"], "task_start").status == 200
    (modal,) = slack.open_views
    assert modal["callback_id"] == "new_task"
    assert slack.message("C1", task["ts"])["text"] == "Task 12 started"

    rejected = sim.view_submission("U2", modal["id"], {"title": {"title_input": "x"}})
    assert rejected.json() == {"response_action": "errors", "errors": {"title": "Too short"}}
    assert [v["id"] for v in slack.open_views] == [modal["id"]]
    assert sim.view_submission("U2", modal["id"], {"title": {"title_input": "Fix CI"}}).status == 200
    assert slack.open_views == []

    sim.reaction_added("U1", "eyes", "C1", task["ts"])
    assert [m["text"] for m in slack.messages("C1")] == ["Task 12 started", "Seen :eyes:"]


def test_bolt_rejects_bad_and_stale_signatures(slack: SlackStandIn, bot_url: str) -> None:
    assert (
        SlackClientSim(bot_url, "not-the-secret", standin=slack).command("U1", "/handoff", "x").status == 401
    )
    stale = SlackClientSim(bot_url, SECRET, standin=slack, clock=lambda: time.time() - 600)
    assert stale.command("U1", "/handoff", "x").status == 401
    assert slack.calls_to("chat.postMessage") == []
