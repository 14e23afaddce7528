"""Slack failing, Slack retrying, forged requests, restarts: nothing lost, nothing sent twice."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from bot import render
from bot.app import create_app
from bot.delivery import Delivery
from models.db import BUSY, Database, Unavailable
from models.tables import Outbox, Task, TaskEvent
from sandbox import SlackClientSim
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, GENERAL, POOL, RITA, SECRET, TEAM, Bot, settings_for


def _cards(bot: Bot, channel: str = GENERAL) -> list[dict[str, object]]:
    return [m for m in bot.slack.messages(channel) if "T-1" in str(m.get("text"))]


def _row(bot: Bot, key: str) -> Outbox:
    with bot.handoff.services.db.transaction() as session:
        return session.exec(select(Outbox).where(Outbox.key == key)).one()


def test_rate_limited_card_waits_for_retry_after_then_posts_once(bot: Bot, clock: FakeClock) -> None:
    bot.slack.fail_next("chat.postMessage", "ratelimited", retry_after=30)
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    assert _cards(bot) == []
    row = _row(bot, "card.post:1")
    assert row.status == "pending" and row.last_error == "ratelimited"
    clock.advance(seconds=29)
    bot.deliver()
    assert _cards(bot) == []
    clock.advance(seconds=2)
    bot.deliver()
    assert len(_cards(bot)) == 1
    assert _row(bot, "card.post:1").status == "sent"
    assert len(bot.slack.dms(ANA)) == 1


def test_server_errors_back_off_and_retry(bot: Bot, clock: FakeClock) -> None:
    bot.slack.fail_next("chat.postMessage", "server_error", times=3)
    bot.delegate("<@UANA> Reconcile October invoices")
    for _ in range(4):
        bot.deliver()
        clock.advance(seconds=10)
    assert len(_cards(bot)) == 1 and len(bot.slack.dms(ANA)) == 1
    failed = [c for c in bot.slack.calls_to("chat.postMessage") if not c.ok]
    assert len(failed) == 3
    assert _row(bot, "card.post:1").attempts >= 2  # the DM took one of the failures


@pytest.mark.slack_timeout(1.0)
def test_a_timeout_after_slack_posted_is_not_posted_again(bot: Bot, clock: FakeClock) -> None:
    bot.slack.hang_seconds = 1.5  # longer than the bot's 1 s Slack timeout
    bot.slack.fail_next("chat.postMessage", "timeout_after_success")
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    row = _row(bot, "card.post:1")
    assert row.status == "pending" and row.uncertain
    assert len(_cards(bot)) == 1  # Slack has it although the bot gave up waiting
    clock.advance(seconds=5)
    bot.deliver()
    assert len(_cards(bot)) == 1, "found by its metadata, not posted twice"
    task = bot.task(1)
    assert task.card_ts == _cards(bot)[0]["ts"]
    assert _row(bot, "card.post:1").result.get("found") is True


@pytest.mark.slack_timeout(1.0)
def test_a_timeout_before_slack_acted_is_retried(bot: Bot, clock: FakeClock) -> None:
    bot.slack.hang_seconds = 1.5
    bot.slack.fail_next("chat.postMessage", "timeout")
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    assert _cards(bot) == []
    clock.advance(seconds=5)
    bot.deliver()
    assert len(_cards(bot)) == 1


def test_undelivered_messages_survive_a_restart(bot: Bot, clock: FakeClock, db_url: str) -> None:
    bot.slack.fail_next("chat.postMessage", "server_error", times=50)
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    bot.handoff.close()
    bot.slack.clear_failures()
    clock.advance(minutes=1)
    restarted = create_app(settings_for(bot.slack, db_url), db=Database.from_url(db_url), clock=clock)
    try:
        restarted.services.delivery.drain()
    finally:
        restarted.close()
    assert len(_cards(bot)) == 1 and len(bot.slack.dms(ANA)) == 1


def test_the_background_worker_delivers_right_after_the_command(bot: Bot) -> None:
    bot.handoff.start_background()
    bot.delegate("<@UANA> Reconcile October invoices")
    assert bot.slack.wait_for(lambda s: len(s.dms(ANA)) == 1 and len(_cards(bot)) == 1, timeout=5)
    assert bot.slack.responses == []  # the command's answer was the confirmation


def test_slack_retrying_an_event_changes_nothing(bot: Bot) -> None:
    bot.delegate("Check the shared inbox")
    bot.deliver()
    ts = bot.task(1).card_ts
    assert ts is not None
    assert bot.client.reaction_added(ANA, "raised_hand", POOL, ts, event_id="Ev0001").status == 200
    bot.client.reaction_removed(ANA, "raised_hand", POOL, ts, event_id="Ev0002")
    # Slack thinks we missed the first one and sends it again.
    retry = bot.client.reaction_added(ANA, "raised_hand", POOL, ts, event_id="Ev0001", retry_num=1)
    assert retry.status == 200
    assert bot.task(1).assignee_id is None
    with bot.handoff.services.db.transaction() as session:
        kinds = [e.kind for e in session.exec(select(TaskEvent).order_by(col(TaskEvent.id)))]
    assert kinds == ["created", "claimed", "released"]


def test_events_nobody_listens_for_are_acknowledged(bot: Bot) -> None:
    for event in ({"type": "app_mention", "user": RITA, "text": "hi", "channel": GENERAL, "ts": "1.2"},
                  {"type": "message", "user": RITA, "text": "hello", "channel": GENERAL, "ts": "1.3"}):
        assert bot.client.event(event).status == 200
    unknown = bot.client.block_action(RITA, {"action_id": "something_else", "value": "x"}, channel_id=GENERAL)
    assert unknown.status == 200


def test_forged_or_stale_requests_are_refused_and_change_nothing(bot: Bot) -> None:
    forged = SlackClientSim(bot.url, "not-the-secret", team_id=TEAM, standin=bot.slack)
    assert forged.command(RITA, "/delegate", "<@UANA> Pay everyone twice", channel_id=GENERAL).status == 401
    stale = SlackClientSim(bot.url, SECRET, team_id=TEAM, standin=bot.slack, clock=lambda: time.time() - 600)
    assert stale.command(RITA, "/delegate", "<@UANA> Pay everyone twice", channel_id=GENERAL).status == 401
    unsigned = bot.client.raw(b"command=%2Fdelegate&text=x", {"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status == 401
    with bot.handoff.services.db.transaction() as session:
        assert session.exec(select(Outbox)).all() == []
    assert bot.deliver().sent == 0


def test_health_check_reports_the_database(bot: Bot) -> None:
    with urllib.request.urlopen(bot.url.replace("/slack/events", "/healthz"), timeout=5) as response:
        assert response.status == 200
        report = json.loads(response.read())
    assert report["ok"] is True and report["database"] == "ok" and report["outbox_pending"] == 0


def test_a_restart_in_the_middle_of_a_digest_finishes_it_once(bot: Bot, clock: FakeClock, db_url: str) -> None:
    bot.slack.add_channel("CDIGEST", "digest", members=[RITA, "UMIA"])
    assert "daily digest" in bot.tasks("digest here at 9:00", user="UMIA", channel="CDIGEST")["text"]
    bot.delegate("<@UANA> Reconcile October invoices by Friday 5pm")
    bot.delegate("Sort the post")
    bot.deliver()
    clock.set(datetime(2026, 11, 26, 15, 0, tzinfo=UTC))  # Thursday 09:00 in Chicago (Mia's zone)
    report = bot.handoff.scheduler.run("digest")
    assert report is not None and report.digests == 1
    # The parent goes out, then the process stops before any reply is posted.
    assert bot.handoff.services.delivery.deliver_due(limit=1).sent == 1
    parent_ts = bot.slack.messages("CDIGEST")[0]["ts"]
    assert bot.slack.messages("CDIGEST", thread_ts=parent_ts) == []
    bot.handoff.close()
    clock.advance(minutes=10)
    restarted = create_app(settings_for(bot.slack, db_url), db=Database.from_url(db_url), clock=clock)
    try:
        restarted.services.delivery.drain()
        assert restarted.scheduler.run("digest") is not None  # the same day again: nothing new
        restarted.services.delivery.drain()
    finally:
        restarted.close()
    parents = bot.slack.messages("CDIGEST")
    assert len(parents) == 1 and "Daily digest" in parents[0]["text"]
    replies = bot.slack.messages("CDIGEST", thread_ts=parents[0]["ts"])
    assert len(replies) == 2  # Ana's tasks and the pool, each once


def test_under_slack_rate_limits_delivery_paces_itself_and_loses_nothing(bot: Bot, clock: FakeClock) -> None:
    """30 tasks for Ana in one channel: 30 cards and 30 DMs, each once, each retry after its Retry-After."""
    bot.slack.enable_rate_limits()
    for number in range(1, 31):
        bot.delegate(f"<@UANA> Invoice batch {number}")
    started = clock()
    for _ in range(200):
        bot.deliver()
        with bot.handoff.services.db.transaction() as session:
            if not session.exec(select(Outbox).where(Outbox.status == "pending")).first():
                break
        clock.advance(seconds=1)
    with bot.handoff.services.db.transaction() as session:
        rows = session.exec(select(Outbox)).all()
        assert {row.status for row in rows} == {"sent"}, [(r.key, r.status, r.last_error) for r in rows]

    def keys(messages: list[dict[str, object]]) -> list[str]:
        return [str(m["metadata"]["event_payload"]["key"]) for m in messages if m.get("metadata")]  # type: ignore[index]

    cards, dms = keys(bot.slack.messages(GENERAL)), keys(bot.slack.dms(ANA))
    assert sorted(cards) == sorted(f"card.post:{n}" for n in range(1, 31))  # each once
    assert len(dms) == len(set(dms)) == 30
    unlinked = [m["text"] for m in bot.slack.dms(ANA) if "|T-" not in str(m["text"])]
    assert not unlinked, "a DM waits for its card so that it can link to it"
    posts = bot.slack.calls_to("chat.postMessage")
    limited = [c for c in posts if c.error == "ratelimited"]
    assert limited, "the burst went over Slack's limit, so some posts were told to wait"
    # Paced: after a 429 a row is tried again only once its Retry-After (1 s) has passed.
    by_key: dict[str, list[float]] = {}
    for call in posts:
        by_key.setdefault(str(call.params["metadata"]["event_payload"]["key"]), []).append(call.clock)
    for key, moments in by_key.items():
        assert all(later - earlier >= 1 for earlier, later in zip(moments, moments[1:], strict=False)), key
    # About one card per second in the channel, not minutes of back-off.
    assert (clock() - started).total_seconds() <= 60


def test_a_card_waiting_days_for_an_invite_still_goes_out(bot: Bot, clock: FakeClock) -> None:
    """Every 10-minute retry counts as an attempt; after 47 of them the back-off must not overflow."""
    bot.delegate("<@UANA> Run payroll by Friday", channel="CPRIVATE")
    for _ in range(60):
        bot.deliver()
        clock.advance(minutes=10)
    assert _row(bot, "card.post:1").attempts >= 50
    bot.slack.add_member("CPRIVATE", "UBOT")
    bot.client.event({"type": "member_joined_channel", "user": "UBOT", "channel": "CPRIVATE"})
    bot.deliver()
    assert bot.task(1).card_ts is not None
    assert _row(bot, "card.post:1").status == "sent"


@pytest.mark.slack_timeout(1.0)
def test_a_card_slack_posted_is_found_behind_hundreds_of_newer_messages(bot: Bot, clock: FakeClock) -> None:
    """After a timeout and a long wait in a busy channel, the lookup pages back to the first attempt."""
    bot.slack.hang_seconds = 1.5
    bot.slack.fail_next("chat.postMessage", "timeout_after_success")
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    assert len(_cards(bot)) == 1 and bot.task(1).card_ts is None
    clock.advance(minutes=4)
    for number in range(450):
        bot.slack.add_message(GENERAL, RITA, f"chatter {number}")
    clock.advance(minutes=1)
    bot.deliver()
    assert len(_cards(bot)) == 1, "found in the third page of history, not posted again"
    assert bot.task(1).card_ts == _cards(bot)[0]["ts"]
    lookups = bot.slack.calls_to("conversations.history")
    assert len(lookups) == 3 and all(call.params.get("oldest") for call in lookups)


def test_a_transient_card_failure_holds_its_dm_for_the_card_not_for_an_invite(bot: Bot, clock: FakeClock) -> None:
    """A 500 on the card is not "the bot is not in the channel": the DM waits for the card and links to it."""
    bot.slack.fail_next("chat.postMessage", "server_error")
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    assert _cards(bot) == [] and bot.slack.dms(ANA) == []
    assert bot.slack.dms(RITA) == [], "nobody is told to invite the bot"
    clock.advance(seconds=2)
    bot.deliver()
    assert len(_cards(bot)) == 1
    (dm,) = bot.slack.dms(ANA)
    assert "|T-1>" in str(dm["text"])


def test_a_change_while_the_card_is_being_refreshed_gets_its_own_refresh(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot.delegate("Check the shared inbox")
    bot.deliver()
    ts = bot.task(1).card_ts
    assert ts is not None
    assert bot.client.reaction_added(ANA, "raised_hand", POOL, ts).status == 200
    read_task = Delivery._task
    changed: list[bool] = []

    def read_then_change(self: Delivery, row: Outbox, lease: Any = None) -> Task:
        task = read_task(self, row, lease)
        if row.kind == "card.update" and not changed:
            # Ana starts the task just after this refresh read it: that change must reach the card too.
            changed.append(True)
            assert bot.client.reaction_added(ANA, "eyes", POOL, ts).status == 200
        return task

    monkeypatch.setattr(Delivery, "_task", read_then_change)
    bot.deliver()
    assert changed
    assert bot.slack.message(POOL, ts)["text"] == render.card_fallback(bot.task(1))
    assert "progress" in render.card_fallback(bot.task(1)).lower()


def test_delivery_lanes_keep_each_channels_order_and_each_card_before_its_dm(bot: Bot) -> None:
    """Channels go side by side (four lanes by default), but each channel's cards keep their order."""
    assert bot.handoff.services.delivery.lanes > 1
    bot.slack.slow_down(0.02)  # calls overlap, so any lane mixing one channel's rows would reorder them
    for number in range(1, 13):
        bot.delegate(f"<@UANA> Invoice batch {number}", channel=GENERAL if number % 2 else POOL)
    bot.deliver()

    def keys(messages: list[dict[str, object]]) -> list[str]:
        return [str(m["metadata"]["event_payload"]["key"]) for m in messages if m.get("metadata")]  # type: ignore[index]

    assert keys(bot.slack.messages(GENERAL)) == [f"card.post:{n}" for n in range(1, 13, 2)]
    assert keys(bot.slack.messages(POOL)) == [f"card.post:{n}" for n in range(2, 13, 2)]
    dms = bot.slack.dms(ANA)
    assert len(dms) == 12 and all("|T-" in str(m["text"]) for m in dms)


def test_deliveries_recorded_when_the_database_dropped_the_connection_are_written_again(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database restart mid-pass: the first write of the pass (the card's attempt begun) meets a dropped
    # connection. Written again on a fresh one, the card and the DM still go in this pass, not once
    # their lease runs out five minutes later.
    write_once = Delivery._write_steps_once
    dropped: list[bool] = []

    def drop_first(self: Delivery, steps: Any) -> None:
        if not dropped:
            dropped.append(True)
            raise Unavailable(BUSY, dropped=True)
        write_once(self, steps)

    monkeypatch.setattr(Delivery, "_write_steps_once", drop_first)
    bot.delegate("<@UANA> Reconcile October invoices")
    report = bot.deliver()
    assert dropped and report.sent == 2 and report.retried == 0
    assert len(_cards(bot)) == 1 and len(bot.slack.dms(ANA)) == 1


def test_an_unexpected_error_on_a_row_retries_it_instead_of_leaving_it_leased(
    bot: Bot, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_card = Delivery._card_post
    failed: list[bool] = []

    def fail_once(self: Delivery, row: Outbox, lease: Any) -> dict[str, object]:
        if not failed:
            failed.append(True)
            raise RuntimeError("a bug")
        return post_card(self, row, lease)

    monkeypatch.setattr(Delivery, "_card_post", fail_once)
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    row = _row(bot, "card.post:1")
    assert row.status == "pending" and row.locked_until is None and "RuntimeError" in str(row.last_error)
    clock.advance(seconds=2)
    bot.deliver()
    assert len(_cards(bot)) == 1 and len(bot.slack.dms(ANA)) == 1
