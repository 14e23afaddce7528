"""Each person chooses which DMs they get and whether they wait for working hours; a requester mutes a task."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler.jobs import run_morning
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, BEN, MIA, RITA, Bot
from tests.scenarios.test_home import home_of, open_home, text_of


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


def test_quiet_hours_are_on_by_default_and_hold_dms_until_the_persons_working_day(bot: Bot, clock: FakeClock) -> None:
    assert "wait for your working hours" in bot.tasks("notify", user=BEN)["text"]
    bot.delegate(f"<@{BEN}> Prepare the W-2s")  # 20:30 in Kolkata: after Ben's day
    report = bot.deliver()
    assert dm_count(bot, BEN) == 0 and report.dead == 0
    assert bot.task(1).card_ts is not None  # the card is up; only the DM waits
    clock.set(datetime(2026, 11, 26, 3, 29, tzinfo=UTC))
    bot.deliver()
    assert dm_count(bot, BEN) == 0
    clock.set(datetime(2026, 11, 26, 3, 30, tzinfo=UTC))  # 09:00 the next morning in Kolkata
    bot.deliver()
    assert dm_count(bot, BEN) == 1 and "delegated" in bot.slack.dms(BEN)[0]["text"]


def test_with_quiet_hours_off_dms_come_at_any_hour(bot: Bot) -> None:
    assert "any hour" in bot.tasks("quiet off", user=BEN)["text"]
    assert "come at any hour" in bot.tasks("notify", user=BEN)["text"]
    bot.delegate(f"<@{BEN}> Prepare the W-2s")
    bot.deliver()
    assert dm_count(bot, BEN) == 1
    assert "wait for the start" in bot.tasks("quiet on", user=BEN)["text"]
    bot.tasks("due T-1 Friday 5pm")
    bot.deliver()
    assert dm_count(bot, BEN) == 1  # the due-date change waits for his morning


@pytest.mark.settings(quiet_hours=False)
def test_a_team_that_turns_quiet_hours_off_by_default_still_lets_each_person_turn_them_on(bot: Bot) -> None:
    bot.delegate(f"<@{BEN}> Prepare the W-2s")  # 20:30 in Kolkata
    bot.deliver()
    assert dm_count(bot, BEN) == 1
    open_home(bot, BEN)
    assert "Quiet hours:* off" in text_of(home_of(bot, BEN))
    bot.tasks("quiet on", user=BEN)
    bot.deliver()
    assert "Quiet hours:* on" in text_of(home_of(bot, BEN))  # the command redraws the tab that shows it
    bot.tasks("due T-1 Friday 5pm")
    bot.deliver()
    assert dm_count(bot, BEN) == 1


def test_a_reminder_is_not_held_by_quiet_hours(bot: Bot, clock: FakeClock) -> None:
    # Due 11:00 in New York (16:00 UTC, 21:30 in Kolkata): the 1 h reminder is owed now, in Ben's evening,
    # because the task is due before his next day; held till morning it would come after the due time.
    bot.delegate(f"<@{BEN}> Send the payroll file by today 11am")
    bot.deliver()
    assert dm_count(bot, BEN) == 0
    bot.handoff.scheduler.run("all")
    bot.deliver()
    dms = [m["text"] for m in bot.slack.dms(BEN)]
    assert len(dms) == 1 and "Reminder" in dms[0] and "Send the payroll file" in dms[0]


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


def test_a_muted_task_is_left_out_of_its_requesters_grouped_escalation(bot: Bot, clock: FakeClock) -> None:
    for title in ("Reconcile invoices", "File the VAT return", "Chase the auditors"):
        bot.delegate(f"<@{ANA}> {title} by Friday 5pm")
    bot.deliver()
    bot.tasks("mute T-1")
    clock.set(datetime(2026, 11, 27, 22, 0, tzinfo=UTC))  # all three are due now
    bot.handoff.scheduler.run("all")
    bot.deliver()
    clock.set(datetime(2026, 11, 30, 15, 0, tzinfo=UTC))  # Monday: 4 of Ana's working hours later
    bot.handoff.scheduler.run("all")
    bot.deliver()
    [rita] = [m for m in bot.slack.dms(RITA) if "still overdue" in m["text"]]
    assert rita["text"] == "🚨 2 tasks are still overdue"
    assert "Reconcile invoices" not in str(rita) and "Chase the auditors" in str(rita)
    [mia] = [m for m in bot.slack.dms(MIA) if "still overdue" in m["text"]]
    assert mia["text"] == "🚨 3 tasks are still overdue" and "Reconcile invoices" in str(mia)
