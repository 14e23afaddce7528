"""Delivery under faults, as deployed: `python -m bot serve --no-scheduler` processes, the stand-in as Slack.

Each test runs real worker processes against one database and the stand-in over HTTP, then checks what
Slack holds: every card, DM and thread line exactly once, nothing left in the outbox.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from migrations import upgrade
from models import outbox
from models.db import Database
from models.tables import Outbox, Task
from sandbox import SlackClientSim, SlackStandIn
from sandbox.contract import Contract
from tests.scenarios.conftest import ANA, GENERAL, MIA, POOL, RITA, SECRET, TEAM, process_env, seed

# What the delivering worker calls; the request path's own reads (users.info) stay calm.
DELIVERY_METHODS = (
    "chat.postMessage", "chat.update", "chat.postEphemeral", "chat.getPermalink", "conversations.open",
    "conversations.history", "conversations.replies", "response_url",
)
# Posted messages carry their outbox key; these kinds post one message each.
POSTING_KINDS = {"card.post", "thread.note", "dm", "notice"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a real other process's progress until `predicate` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Workers:
    """Handoff processes (web server plus its delivery worker) on one database, each in its own group."""

    def __init__(self, slack: SlackStandIn, db_url: str, tmp_path: Path) -> None:
        self.slack = slack
        self.db_url = db_url
        self.tmp_path = tmp_path
        self.running: list[subprocess.Popen[bytes]] = []
        self.db = Database.from_url(db_url)

    def start(self, *, slack_timeout: int = 1, lease: int = 10) -> SlackClientSim:
        """Start `serve --no-scheduler`; return a client signing requests to it once it is healthy."""
        port = _free_port()
        env = process_env(
            SLACK_BOT_TOKEN=self.slack.token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=self.slack.api_url,
            DATABASE_URL=self.db_url, PORT=str(port), HOST="127.0.0.1", HANDOFF_POOL_CHANNEL=POOL,
            HANDOFF_MANAGERS=MIA, HANDOFF_SLACK_TIMEOUT=str(slack_timeout),
            HANDOFF_OUTBOX_LEASE_SECONDS=str(lease), HANDOFF_OUTBOX_MAX_BACKOFF_SECONDS="2",
        )
        log = (self.tmp_path / f"bot-{port}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--no-scheduler"], cwd=self.tmp_path, env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.running.append(process)
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            assert process.poll() is None, f"bot exited with {process.returncode}"
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    return bool(json.loads(response.read()).get("ok"))
            except OSError:
                return False

        _until(healthy, 60, "the bot to answer /healthz")
        return SlackClientSim(f"{base}/slack/events", SECRET, team_id=TEAM, standin=self.slack)

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process and its delivery worker (its whole process group)."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # the parent stops its worker
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
        self.db.dispose()

    def rows(self) -> list[Outbox]:
        with self.db.read() as session:
            return list(session.exec(select(Outbox)))

    def pending(self) -> int:
        with self.db.read() as session:
            return outbox.pending_count(session)

    def tasks(self) -> list[Task]:
        with self.db.read() as session:
            return list(session.exec(select(Task)))


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """The strict stand-in with message ts on real time, as the worker processes' clocks are."""
    with SlackStandIn(team_id=TEAM, clock=time.time, contract=Contract.load(required=True)) as standin:
        seed(standin)
        standin.hang_seconds = 1.5  # a "late" answer comes after the workers' 1 s timeout
        yield standin
        refused = [(call.method, call.error, call.messages) for call in standin.violations]
        assert not refused, f"the bot sent what Slack refuses: {refused}"


@pytest.fixture
def workers(slack: SlackStandIn, db_url: str, tmp_path: Path) -> Iterator[Workers]:
    upgrade(db_url)
    pool = Workers(slack, db_url, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def _posted_keys(slack: SlackStandIn) -> Counter[str]:
    """How many times each outbox key appears on a message anywhere the bot posts (threads included)."""
    found: Counter[str] = Counter()
    for place in (GENERAL, POOL, RITA, ANA, MIA):
        for message in slack.messages(place, include_replies=True):
            meta = message.get("metadata") or {}
            if meta.get("event_type") == "handoff_delivery":
                found[str(meta["event_payload"]["key"])] += 1
    return found


def _assert_each_once(workers: Workers, slack: SlackStandIn) -> None:
    rows = workers.rows()
    assert {row.status for row in rows} == {"sent"}, [(r.key, r.status, r.last_error) for r in rows]
    wanted = sorted(row.key for row in rows if row.kind in POSTING_KINDS and not row.result.get("via"))
    posted = _posted_keys(slack)
    doubled = {key: n for key, n in posted.items() if n > 1}
    assert not doubled, f"posted more than once: {doubled}"
    assert sorted(posted) == wanted
    for task in workers.tasks():
        assert task.card_ts is not None
        card = slack.message(task.card_channel_id, task.card_ts)
        assert card["metadata"]["event_payload"]["key"] == f"card.post:{task.id}"


def _delegate(client: SlackClientSim, count: int, first: int = 1, channels: tuple[str, ...] = (GENERAL,)) -> None:
    for number in range(first, first + count):
        channel = channels[number % len(channels)]
        answer = client.command(RITA, "/delegate", f"<@UANA> Invoice batch {number}", channel_id=channel)
        assert answer.status == 200 and f"*T-{number}*" in answer.json()["text"], answer.body


def test_a_storm_of_429s_500s_and_late_answers_delivers_everything_once(workers: Workers, slack: SlackStandIn) -> None:
    client = workers.start()
    slack.storm(0.3, seed=10, methods=DELIVERY_METHODS)
    _delegate(client, 10, channels=(GENERAL, POOL))  # two channels: two delivery lanes
    _until(lambda: len(workers.tasks()) == 10 and all(t.card_ts for t in workers.tasks()), 60, "every card")
    for task in workers.tasks():
        assert task.card_ts is not None
        done = client.reaction_added(ANA, "white_check_mark", task.card_channel_id, task.card_ts)
        assert done.status == 200
    _until(lambda: len({r.key for r in workers.rows() if r.kind == "thread.note"}) == 10, 30, "the done lines queued")
    injected = Counter(call.injected for call in slack.calls if call.injected)
    slack.storm(0)
    calm = time.monotonic()
    _until(lambda: workers.pending() == 0, 60, "the outbox to drain after the storm")
    assert time.monotonic() - calm < 60
    assert set(injected) == {"ratelimited", "server_error", "timeout_after_success"}, injected
    _assert_each_once(workers, slack)
    # A DM waits for its card's link: a 429 or a 500 on the card is not "the bot is not invited".
    dm_texts = [
        str(call.params.get("text")) for call in slack.calls_to("chat.postMessage")
        if str(call.params["metadata"]["event_payload"]["key"]).endswith(f":{ANA}")
    ]
    assert dm_texts and all("|T-" in text for text in dm_texts), dm_texts
    for task in workers.tasks():
        assert task.card_ts is not None
        assert "Done" in json.dumps(slack.message(task.card_channel_id, task.card_ts)), f"{task.ref}'s card is stale"


def test_sigkill_mid_post_then_a_restart_loses_and_doubles_nothing(workers: Workers, slack: SlackStandIn) -> None:
    # Slack posts the first card but the answer is held until after the kill.
    slack.hang_seconds = 60
    slack.fail_next("chat.postMessage", "timeout_after_success")
    first = workers.start(slack_timeout=2, lease=8)
    _delegate(first, 3)
    slack.wait_for_call("chat.postMessage", timeout=30)
    workers.kill(workers.running[0])
    assert _posted_keys(slack) == Counter({"card.post:1": 1})
    restarted = workers.start(lease=8)
    _until(lambda: workers.pending() == 0, 60, "the restarted worker to finish the outbox")
    _assert_each_once(workers, slack)
    _delegate(restarted, 1, first=4)  # and the restarted bot goes on as normal
    _until(lambda: workers.pending() == 0 and len(workers.tasks()) == 4, 30, "T-4 delivered")
    _assert_each_once(workers, slack)


def test_two_delivering_workers_on_one_database_post_nothing_twice(workers: Workers, slack: SlackStandIn) -> None:
    slack.slow_down(0.05)  # a loaded Slack: each row is in flight a while, so both workers see it due
    clients = [workers.start(), workers.start()]
    for number in range(1, 21):
        answer = clients[number % 2].command(RITA, "/delegate", f"<@UANA> Invoice batch {number}", channel_id=GENERAL)
        assert answer.status == 200, answer.body
    _until(lambda: len(workers.tasks()) == 20 and workers.pending() == 0, 90, "both workers to drain the outbox")
    slack.slow_down(0)
    _assert_each_once(workers, slack)
