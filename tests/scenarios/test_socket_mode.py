"""`python -m bot` over Socket Mode: a real process that dials the stand-in's WebSocket instead of serving HTTP.

Slack pushes slash commands and events as envelopes; the bot answers each with an ack on the socket (the
command's immediate answer rides in the ack's payload) and delivers everything else over the Web API.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.gate import LOCK_BUDGET
from models.db import Database
from models.enums import TaskStatus
from models.tables import Task
from models.tasks import find_task
from sandbox import SlackStandIn
from tests.scenarios.conftest import ANA, BEN, GENERAL, MIA, POOL, RITA, TEAM, process_env
from tests.scenarios.test_busy import locked_by_another_process

START_TIMEOUT = 60.0  # migrations and the worker process come first
WAIT = 15.0
STOP_TIMEOUT = 15.0


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    log: Path
    db_url: str

    def output(self) -> str:
        """The process's log so far (for failure messages)."""
        return self.log.read_text(errors="replace")[-4000:]

    def task(self, number: int) -> Task:
        db = Database.from_url(self.db_url)
        try:
            with db.transaction() as session:
                return find_task(session, team_id=TEAM, number=number)
        finally:
            db.dispose()


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    """Whether every process of the group (the bot and its worker) has exited within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _group_gone(pgid):
            return True
        time.sleep(0.05)
    return _group_gone(pgid)


@pytest.fixture
def served(slack: SlackStandIn, db_url: str, tmp_path: Path) -> Iterator[Served]:
    """`python -m bot` with an app-level token and no signing secret, connected to the stand-in's socket."""
    env = process_env(
        SLACK_BOT_TOKEN=slack.token, SLACK_APP_TOKEN=slack.app_token, SLACK_API_URL=slack.api_url,
        DATABASE_URL=db_url, HANDOFF_POOL_CHANNEL=POOL, HANDOFF_MANAGERS=MIA,
    )
    log = tmp_path / "bot.log"
    with log.open("wb") as sink:
        # Its own process group, so the test can tell that the worker process went away too.
        process = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Served(process, log, db_url)
    try:
        if not slack.socket_connected(timeout=START_TIMEOUT):
            pytest.fail(f"no Socket Mode connection (exit code {process.poll()}):\n{running.output()}")
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if not _wait_group_gone(process.pid, 5):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _eventually(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll `check` (for state outside the stand-in, such as the bot's database) until it holds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _ack_text(slack: SlackStandIn, envelope_id: str) -> str:
    ack = slack.socket_ack(envelope_id, timeout=WAIT)
    assert ack is not None, "the bot never acked the envelope"
    payload: dict[str, Any] = ack.get("payload") or {}
    return str(payload.get("text", ""))


def test_a_command_over_the_socket_is_acked_with_the_answer_and_the_card_and_dm_follow(
    served: Served, slack: SlackStandIn
) -> None:
    envelope = slack.socket_command(RITA, "/delegate", "<@UANA> Reconcile invoices by Friday 5pm", channel_id=GENERAL)
    text = _ack_text(slack, envelope)
    assert "Created *T-1* for <@UANA>" in text, text
    delivered = slack.wait_for(lambda s: len(s.messages(GENERAL)) == 1 and len(s.dms(ANA)) == 1, timeout=WAIT)
    assert delivered, served.output()
    card = slack.messages(GENERAL)[0]
    assert "Reconcile invoices" in card["text"] and card["user"] == slack.bot_user_id
    assert "delegated" in slack.dms(ANA)[0]["text"] and "Reconcile invoices" in slack.dms(ANA)[0]["text"]
    assert slack.responses == []  # the ack was the one confirmation
    task = served.task(1)
    assert task.status is TaskStatus.ASSIGNED and task.assignee_id == ANA and task.card_ts == card["ts"]

    # A command the bot refuses is answered in the ack too, and nothing is saved.
    bad = slack.socket_command(RITA, "/delegate", "<@UANA> Pay the rent by Fridayy 5pm", channel_id=GENERAL)
    refused = _ack_text(slack, bad)
    assert refused.startswith("⚠️") and "Fridayy 5pm" in refused, refused
    assert len(slack.messages(GENERAL)) == 1


def test_a_reaction_event_over_the_socket_claims_a_pool_task(served: Served, slack: SlackStandIn) -> None:
    ts, event = _ben_reacts_to_a_pool_card(served, slack)

    envelope = slack.socket_event(event)
    assert slack.socket_ack(envelope, timeout=WAIT) is not None

    def claimed(s: SlackStandIn) -> bool:
        card = s.message(POOL, ts)
        thread = [m["text"] for m in s.messages(POOL, thread_ts=ts)]
        return "<@UBEN>" in str(card.get("blocks")) and "✋ <@UBEN> claimed this" in thread
    assert slack.wait_for(claimed, timeout=WAIT), served.output()
    assert slack.wait_for(lambda s: any("claimed your task" in m["text"] for m in s.dms(RITA)), timeout=WAIT)
    task = served.task(1)
    assert task.status is TaskStatus.ASSIGNED and task.assignee_id == BEN

    # Slack redelivers the same event (its retry): nothing changes, nobody is told twice.
    again = slack.socket_event(event, event_id=None, retry_attempt=1, retry_reason="timeout")
    assert slack.socket_ack(again, timeout=WAIT) is not None
    assert [m["text"] for m in slack.messages(POOL, thread_ts=ts)] == ["✋ <@UBEN> claimed this"]


def test_a_claim_sent_while_the_bot_still_records_its_card_is_not_lost(served: Served, slack: SlackStandIn) -> None:
    # Slack is slow to answer auth.test, which the worker asks for the workspace's address (to link to
    # the card) right after posting its first card.
    slack.hang_seconds = 2.0
    slack.fail_next("auth.test", "timeout_after_success")
    text = _ack_text(slack, slack.socket_command(RITA, "/delegate", "Check the shared inbox", channel_id=GENERAL))
    assert "Created *T-1*" in text, text
    assert slack.wait_for(lambda s: len(s.messages(POOL)) == 1, timeout=WAIT), served.output()
    ts = slack.messages(POOL)[0]["ts"]

    # Ben claims it as soon as he sees the card, while the bot is still waiting for the card's link.
    slack.add_reaction(POOL, ts, "raised_hand", BEN)
    event = {
        "type": "reaction_added", "user": BEN, "reaction": "raised_hand", "item_user": slack.bot_user_id,
        "item": {"type": "message", "channel": POOL, "ts": ts},
    }
    assert slack.socket_ack(slack.socket_event(event), timeout=WAIT) is not None
    assert _eventually(lambda: served.task(1).card_ts == ts), "the card's ts was never stored"

    def answered(s: SlackStandIn) -> bool:
        thread = [m["text"] for m in s.messages(POOL, thread_ts=ts)]
        return "✋ <@UBEN> claimed this" in thread or bool(s.ephemerals(user_id=BEN))

    # The card's place is recorded before the permalink round trip, and a ✋ that still overtakes it is
    # looked up again for a moment: the claim is never silently dropped.
    assert slack.wait_for(answered, timeout=5) and served.task(1).assignee_id == BEN, (
        "a ✋ on a freshly posted card was ignored"
    )


def test_it_reconnects_when_slack_refreshes_the_connection(served: Served, slack: SlackStandIn) -> None:
    slack.socket_disconnect("refresh_requested", timeout=WAIT)
    assert slack.socket_connected(timeout=WAIT), served.output()
    text = _ack_text(slack, slack.socket_command(RITA, "/delegate", "<@UANA> Reconcile invoices", channel_id=GENERAL))
    assert "Created *T-1*" in text, text


def test_sigterm_stops_the_bot_and_its_worker_with_exit_code_0(served: Served, slack: SlackStandIn) -> None:
    # Busy first: a command handled and its card delivered by the worker process.
    _ack_text(slack, slack.socket_command(RITA, "/delegate", "<@UANA> Reconcile invoices", channel_id=GENERAL))
    assert slack.wait_for(lambda s: len(s.messages(GENERAL)) == 1, timeout=WAIT), served.output()

    started = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    try:
        code = served.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_TIMEOUT}s after SIGTERM:\n{served.output()}")
    elapsed = time.monotonic() - started
    assert code == 0, served.output()
    assert elapsed < 10, f"took {elapsed:.1f}s to stop"
    assert _wait_group_gone(served.process.pid, 5), "a child process (the worker) outlived the bot"
    assert slack.wait_for(lambda s: s.socket_connections == 0, timeout=WAIT), "the socket was left open"
    assert "shutting down" in served.output()


def test_an_event_that_failed_is_left_unacknowledged_so_slack_sends_it_again(
    served: Served, slack: SlackStandIn, db_url: str
) -> None:
    ts, event = _ben_reacts_to_a_pool_card(served, slack)
    with locked_by_another_process(db_url):
        first = slack.socket_event(event, event_id="EvLocked")
        assert slack.socket_ack(first, timeout=LOCK_BUDGET + 1.5) is None  # an ack would lose the claim
    again = slack.socket_event(event, event_id="EvLocked", retry_attempt=1, retry_reason="timeout")
    assert slack.socket_ack(again, timeout=WAIT) is not None
    assert _eventually(lambda: served.task(1).assignee_id == BEN), served.output()


def _ben_reacts_to_a_pool_card(served: Served, slack: SlackStandIn) -> tuple[str, dict[str, Any]]:
    """Rita puts T-1 in the pool; once its card's place is stored, Ben ✋s it: the card's ts and the event."""
    text = _ack_text(slack, slack.socket_command(RITA, "/delegate", "Check the shared inbox", channel_id=GENERAL))
    assert "Created *T-1* in the pool" in text, text
    assert slack.wait_for(lambda s: len(s.messages(POOL)) == 1, timeout=WAIT), served.output()
    ts = str(slack.messages(POOL)[0]["ts"])
    # The worker records where the card is right after Slack answers; a person reacts after that.
    assert _eventually(lambda: served.task(1).card_ts == ts), "the card's ts was never stored"
    slack.add_reaction(POOL, ts, "raised_hand", BEN)
    event = {
        "type": "reaction_added", "user": BEN, "reaction": "raised_hand", "item_user": slack.bot_user_id,
        "item": {"type": "message", "channel": POOL, "ts": ts},
    }
    return ts, event
