"""Failures answered: a database that takes no writes, and events that could not be handled."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot import render
from bot.app import create_app
from bot.server import start_http, stop_http
from models.db import Database
from sandbox import SlackClientSim, SlackStandIn
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, BEN, GENERAL, POOL, RITA, SECRET, TEAM, Bot, settings_for
from tests.scenarios.test_busy import locked_by_another_process

UNWRITABLE = "I can't save anything right now: my database is not taking changes. Nothing was changed"


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _health_url(bot: Bot) -> str:
    return bot.url.replace("/slack/events", "/healthz")


def _read_only_url(db_url: str) -> str:
    """The same database, opened so that it takes no writes (a read-only file system or a replica)."""
    if db_url.startswith("sqlite"):
        return "sqlite:///file:" + db_url.removeprefix("sqlite:///") + "?mode=ro&uri=true"
    admin = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = conn.execute(text("SELECT current_database()")).scalar()
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    admin.dispose()
    return db_url


@pytest.fixture
def read_only(slack: SlackStandIn, db_url: str, clock: FakeClock) -> Iterator[Callable[[], Bot]]:
    """Start a second Handoff over HTTP on the same database, which from then on takes no writes."""
    with contextlib.ExitStack() as stack:

        def start() -> Bot:
            handoff = create_app(settings_for(slack, db_url), db=Database.from_url(_read_only_url(db_url)),
                                 clock=clock)
            stack.callback(handoff.close)
            server = start_http(handoff, "127.0.0.1", 0, 4, loop_timeout=0.05)

            def serve() -> None:
                with contextlib.suppress(OSError, ValueError):
                    server.run()

            thread = threading.Thread(target=serve, daemon=True)
            thread.start()
            stack.callback(thread.join, 5)
            stack.callback(stop_http, server)
            url = f"http://127.0.0.1:{server.effective_port}/slack/events"
            return Bot(handoff=handoff, slack=slack, url=url,
                       client=SlackClientSim(url, SECRET, team_id=TEAM, standin=slack))

        yield start


def test_a_button_on_a_read_only_database_is_answered_directly(bot: Bot, read_only: Callable[[], Bot]) -> None:
    assert "Created *T-1*" in bot.delegate("Order printer toner by Friday")["text"]
    bot.deliver()
    card_ts = bot.task(1).card_ts or ""
    unwritable = read_only()

    click = unwritable.client.click_button(ANA, POOL, card_ts, "task_claim")
    assert click.status == 200
    # The apology cannot go through the outbox: it comes through the click's response URL.
    assert unwritable.slack.wait_for(lambda s: any(UNWRITABLE in e["text"] for e in s.ephemerals(user_id=ANA)),
                                    timeout=10)
    assert bot.task(1).assignee_id is None
    answer = unwritable.client.command(RITA, "/delegate", "<@UBEN> Book the venue by Friday", channel_id=POOL)
    assert UNWRITABLE in answer.json()["text"]


def test_health_check_tries_a_write(bot: Bot, read_only: Callable[[], Bot]) -> None:
    status, report = _get(_health_url(bot))
    assert status == 200 and report["database"] == "ok" and report["ok"] is True
    status, report = _get(_health_url(read_only()))
    assert status == 503 and report["database"] == "unwritable" and report["ok"] is False


def test_an_event_that_could_not_be_handled_is_retried_by_slack(bot: Bot, db_url: str) -> None:
    assert "Created *T-1*" in bot.delegate("Order printer toner by Friday")["text"]
    bot.deliver()
    card_ts = bot.task(1).card_ts or ""
    with locked_by_another_process(db_url):
        first = bot.client.reaction_added(ANA, "raised_hand", POOL, card_ts, event_id="Ev1")
    assert first.status >= 500  # so Slack sends it again; a 200 would lose the claim
    assert bot.task(1).assignee_id is None
    retry = bot.client.reaction_added(ANA, "raised_hand", POOL, card_ts, event_id="Ev1", retry_num=1)
    assert retry.status == 200
    assert bot.task(1).assignee_id == ANA


def test_slack_retrying_a_refused_claim_tells_the_loser_once(bot: Bot) -> None:
    assert "Created *T-1*" in bot.delegate("Order printer toner by Friday")["text"]
    bot.deliver()
    card_ts = bot.task(1).card_ts or ""
    assert bot.client.reaction_added(BEN, "raised_hand", POOL, card_ts).status == 200
    assert bot.client.reaction_added(ANA, "raised_hand", POOL, card_ts, event_id="Ev2").status == 200
    assert bot.client.reaction_added(ANA, "raised_hand", POOL, card_ts, event_id="Ev2", retry_num=1).status == 200
    bot.deliver()
    told = [e for e in bot.slack.ephemerals(user_id=ANA) if "already belongs to" in e["text"]]
    assert len(told) == 1, told
    assert bot.task(1).assignee_id == BEN


def test_a_failure_after_the_commit_never_says_nothing_was_changed(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> str:
        raise RuntimeError("a bug in the confirmation")

    monkeypatch.setattr(render, "confirmation", broken)  # fails after the task was committed
    answer = bot.delegate("<@UANA> Reconcile October invoices by Friday")["text"]
    assert "Nothing was changed" not in answer
    assert "it may have gone through. Check `/tasks` before you try again." in answer
    assert bot.task(1).title == "Reconcile October invoices"


def test_a_modal_submitted_to_a_read_only_database_says_so_under_its_input(
    bot: Bot, read_only: Callable[[], Bot]
) -> None:
    bot.delegate("<@UANA> Reconcile October invoices by Friday 5pm")
    bot.deliver()
    ts = bot.task(1).card_ts or ""
    bot.client.click_button(ANA, GENERAL, ts, "task_block")
    modal = bot.slack.open_views[-1]
    response = read_only().client.view_submission(
        ANA, modal, {"reason": {"value": {"type": "plain_text_input", "value": "waiting for the bank"}}}
    )
    assert response.status == 200
    answer = response.json()
    assert answer["response_action"] == "errors" and UNWRITABLE in answer["errors"]["reason"]
    assert bot.task(1).blocked_reason is None
