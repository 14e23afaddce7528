"""Each person chooses which DMs they get and whether they wait for working hours; a requester mutes a task."""

from __future__ import annotations

from datetime import UTC, datetime

from scheduler.jobs import run_morning
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, BEN, RITA, Bot


def dm_count(bot: Bot, user: str) -> int:
    return len(bot.slack.dms(user))


def test_needed_only_keeps_what_needs_the_person(bot: Bot, clock: FakeClock) -> None:
    assert "only what needs you" in bot.tasks("notify needed")["text"]
    assert "*needed*" in bot.tasks("notify")["text"]
    bot.delegate("Renew the domain")
    bot.deliver()
    task = bot.task(1)
    before = dm_count(bot, RITA)
    bot.client.click_button(ANA, task.card_channel_id, str(task.card_ts), "task_claim")
    bot.deliver()
    assert dm_count(bot, RITA) == before  # "Ana claimed it" is not something Rita must act on
    bot.tasks("block T-1 waiting for the registrar login", user=ANA)
    bot.deliver()
    assert dm_count(bot, RITA) == before + 1 and "blocked" in bot.slack.dms(RITA)[-1]["text"]
    # Comments: only those that mention her.
    bot.client.message_event(ANA, "Found the login", task.card_channel_id, thread_ts=str(task.card_ts))
    clock.advance(minutes=5)
    bot.deliver()
    assert dm_count(bot, RITA) == before + 1
    bot.client.message_event(ANA, f"<@{RITA}> can you confirm the renewal price?", task.card_channel_id,
                             thread_ts=str(task.card_ts))
    clock.advance(minutes=5)
    bot.deliver()
    assert dm_count(bot, RITA) == before + 2 and "new comment" in bot.slack.dms(RITA)[-1]["text"]
    # Ana, also on "needed", hears of an edit to what she must do.
    bot.tasks("notify needed", user=ANA)
    ana_before = dm_count(bot, ANA)
    bot.tasks("due T-1 Friday 5pm")
    bot.deliver()
    assert dm_count(bot, ANA) == ana_before + 1


def test_summary_only_sends_no_dm_but_the_morning_one(bot: Bot, clock: FakeClock) -> None:
    bot.tasks("notify summary", user=ANA)
    bot.delegate(f"<@{ANA}> Send the 941 by Friday")
    bot.deliver()
    assert dm_count(bot, ANA) == 0
    services = bot.handoff.services
    morning = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # 09:00 in London, the start of Ana's day
    clock.set(morning)
    run_morning(services.db, morning, services.config)
    bot.deliver()
    assert dm_count(bot, ANA) == 1 and "Send the 941" in str(bot.slack.dms(ANA)[0])


def test_quiet_hours_hold_dms_until_the_persons_working_day(bot: Bot, clock: FakeClock) -> None:
    assert "wait for the start" in bot.tasks("quiet on", user=BEN)["text"]
    bot.delegate(f"<@{BEN}> Prepare the W-2s")  # 20:30 in Kolkata: after Ben's day
    report = bot.deliver()
    assert dm_count(bot, BEN) == 0 and report.dead == 0
    clock.set(datetime(2026, 11, 26, 3, 30, tzinfo=UTC))  # 09:00 the next morning in Kolkata
    bot.deliver()
    assert dm_count(bot, BEN) == 1 and "delegated" in bot.slack.dms(BEN)[0]["text"]
    assert "any hour" in bot.tasks("quiet off", user=BEN)["text"]


def test_a_requester_mutes_one_task(bot: Bot) -> None:
    bot.delegate(f"<@{ANA}> Send the 941")
    bot.deliver()
    assert "can't mute" in bot.tasks("mute T-1", user=ANA)["text"]
    assert "hear nothing more of T-1" in bot.tasks("mute T-1")["text"]
    before = dm_count(bot, RITA)
    bot.tasks("done T-1 filed", user=ANA)
    bot.deliver()
    assert dm_count(bot, RITA) == before
    assert "again" in bot.tasks("unmute T-1")["text"]
    bot.tasks("reopen T-1", user=ANA)
    bot.deliver()
    assert dm_count(bot, RITA) == before + 1


def test_a_choice_that_is_not_one_is_refused(bot: Bot) -> None:
    assert "not a choice" in bot.tasks("notify sometimes")["text"]
    assert "/tasks quiet on" in bot.tasks("quiet maybe")["text"]
