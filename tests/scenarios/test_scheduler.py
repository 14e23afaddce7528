"""What people see from the scheduler: reminders, overdue notices, escalations, nudges, recurring tasks,
digests and the morning queue, driven by the fake clock and delivered through the Slack stand-in.

Instants are worked out by hand in each person's zone from the fixture's workspace (Rita in New York,
Ana in London, Ben in Kolkata, Mia in Chicago) and the default working week, Monday to Friday 09:00-17:00.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select, update

from models.enums import TaskStatus
from models.outbox import enqueue
from models.tables import DigestRun, Outbox, RecurringTask, Task
from scheduler.jobs import JobReport
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, BEN, GENERAL, MIA, POOL, RITA, TEAM, Bot, process_env

DIGEST = "CDIGEST"


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _run(bot: Bot, clock: FakeClock, when: datetime, group: str = "all", *, times: int = 1) -> JobReport:
    """Run the scheduler `times` times at `when`, delivering after each run; the last report."""
    clock.set(when)
    report: JobReport | None = None
    for _ in range(times):
        report = bot.handoff.scheduler.run(group)
        assert report is not None, "this process should lead the scheduler"
        bot.deliver()
    assert report is not None
    return report


def _shown(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks") or [], ensure_ascii=False)


def _dm_texts(bot: Bot, user: str, needle: str) -> list[str]:
    return [m["text"] for m in bot.slack.dms(user) if needle in m["text"]]


def _thread(bot: Bot, number: int) -> list[str]:
    task = bot.task(number)
    assert task.card_ts is not None
    return [m["text"] for m in bot.slack.messages(task.card_channel_id, thread_ts=task.card_ts)]


def _tasks(bot: Bot) -> list[Task]:
    with bot.handoff.services.db.transaction() as session:
        return list(session.exec(select(Task).order_by(col(Task.number))))


def _digest_channel(bot: Bot) -> None:
    bot.slack.add_channel(DIGEST, "ops-digest", members=[RITA, ANA, BEN, MIA])


# -- reminders, overdue, escalation ---------------------------------------------------------------


def test_reminders_reach_the_assignee_in_her_hours_then_overdue_then_escalation(bot: Bot, clock: FakeClock) -> None:
    bot.delegate("<@UANA> Reconcile invoices by Friday 5pm")
    bot.deliver()
    due = utc(2026, 11, 27, 22)  # Friday 17:00 in New York, the requester's zone
    assert bot.task(1).due_at == due
    assert len(bot.slack.dms(ANA)) == 1  # "delegated to you"

    def reminders() -> list[str]:
        return _dm_texts(bot, ANA, "Reminder")

    # 24 h ahead is Thursday 22:00 in London: after hours, so it waits for Friday 09:00 London (UTC in winter).
    _run(bot, clock, utc(2026, 11, 26, 22))
    _run(bot, clock, utc(2026, 11, 27, 8, 59))
    assert reminders() == []
    report = _run(bot, clock, utc(2026, 11, 27, 9), times=2)
    assert report.reminders == 0, "the second run at the same instant queues nothing"
    assert len(reminders()) == 1 and "Reconcile invoices" in reminders()[0]
    assert bot.slack.dms(RITA) == [] and bot.slack.dms(BEN) == []

    # 1 h ahead is Friday 21:00 London: after hours, but the next start (Monday) would be too late.
    _run(bot, clock, utc(2026, 11, 27, 20, 59))
    assert len(reminders()) == 1
    _run(bot, clock, utc(2026, 11, 27, 21), times=2)
    assert len(reminders()) == 2

    # Overdue at the due instant: the card says so, its thread says so, Ana hears it once.
    _run(bot, clock, utc(2026, 11, 27, 21, 59))
    assert "overdue" not in json.dumps(bot.card(1)["blocks"])
    assert _dm_texts(bot, ANA, "overdue") == []
    _run(bot, clock, due, times=2)
    assert "overdue" in json.dumps(bot.card(1)["blocks"])
    assert _thread(bot, 1) == ["⏰ This is now overdue."]
    assert len(_dm_texts(bot, ANA, "is overdue")) == 1
    assert len(reminders()) == 2, "no reminder once it is due"

    # Escalation after 4 of Ana's working hours: none at the weekend, Monday 09:00 + 4 h = Monday 13:00.
    # That is 08:00 in New York and 07:00 in Chicago: Rita's and Mia's DMs wait for their own mornings.
    _run(bot, clock, utc(2026, 11, 28, 13))
    _run(bot, clock, utc(2026, 11, 30, 12, 59))
    report = _run(bot, clock, utc(2026, 11, 30, 13), times=2)
    assert report.escalations == 0, "queued once, by the first run"
    assert _dm_texts(bot, RITA, "still overdue") == [] and _dm_texts(bot, MIA, "still overdue") == []
    _run(bot, clock, utc(2026, 11, 30, 14))  # 09:00 in New York
    assert len(_dm_texts(bot, RITA, "still overdue")) == 1 and _dm_texts(bot, MIA, "still overdue") == []
    _run(bot, clock, utc(2026, 11, 30, 15))  # 09:00 in Chicago
    for person in (RITA, MIA):
        escalations = _dm_texts(bot, person, "still overdue")
        assert len(escalations) == 1, person
        assert "<@UANA>" in escalations[0] and "Reconcile invoices" in escalations[0]
    assert _dm_texts(bot, ANA, "still overdue") == []
    assert _thread(bot, 1) == ["⏰ This is now overdue."]


@pytest.mark.parametrize("error", ["ratelimited", "server_error"])
def test_an_overdue_line_whose_card_refresh_fails_is_posted_once_and_the_card_refreshed_later(
    bot: Bot, clock: FakeClock, error: str
) -> None:
    # The overdue line refreshes its card once posted (one outbox row for both): when the refresh fails,
    # the next attempt finds the line in the thread and only refreshes the card.
    bot.delegate("<@UANA> Reconcile invoices by Friday 5pm")
    bot.deliver()
    due = utc(2026, 11, 27, 22)
    bot.slack.fail_next("chat.update", error, retry_after=30)
    _run(bot, clock, due, "reminders")
    assert _thread(bot, 1) == ["⏰ This is now overdue."]
    assert "overdue" not in json.dumps(bot.card(1)["blocks"])
    clock.set(due + timedelta(minutes=6))  # past Retry-After and any back-off
    bot.deliver()
    assert _thread(bot, 1) == ["⏰ This is now overdue."]
    assert "overdue" in json.dumps(bot.card(1)["blocks"])
    assert bot.slack.calls_to("conversations.replies"), "the line was looked up, not posted again"


def test_several_overdue_tasks_are_one_dm_per_person_and_a_line_in_each_cards_thread(
    bot: Bot, clock: FakeClock
) -> None:
    for title in ("Reconcile invoices", "File the VAT return", "Chase the <bank> & the auditors"):
        bot.delegate(f"<@UANA> {title} by Friday 5pm")
    bot.delegate("<@UBEN> Book the venue by Friday 5pm")
    bot.deliver()
    due = utc(2026, 11, 27, 22)
    _run(bot, clock, due, "reminders", times=2)
    [grouped] = _dm_texts(bot, ANA, "overdue")
    assert grouped == "⏰ 3 of your tasks are overdue"
    [message] = [m for m in bot.slack.dms(ANA) if m["text"] == grouped]
    for number in (1, 2, 3):
        assert bot.task(number).card_url in _shown(message)  # a link to each card
        assert _thread(bot, number) == ["⏰ This is now overdue."]
        assert "overdue" in json.dumps(bot.card(number)["blocks"])
    assert "Chase the &lt;bank&gt; &amp; the auditors" in _shown(message)
    assert len(_dm_texts(bot, BEN, "is overdue")) == 1  # one notice: the usual DM about its task

    # Monday 13:00 (Ana's London afternoon; Ben's Kolkata evening, his waits for his morning): Mia, the
    # manager, and Rita, the requester, each get one DM listing Ana's three, once their own day begins
    # (09:00 in Chicago is 15:00 UTC).
    _run(bot, clock, utc(2026, 11, 30, 13), "reminders", times=2)
    _run(bot, clock, utc(2026, 11, 30, 15), "reminders")
    for person in (MIA, RITA):
        [escalated] = [m for m in bot.slack.dms(person) if "still overdue" in m["text"]]
        assert escalated["text"] == "🚨 3 tasks are still overdue", person
        assert _shown(escalated).count("with <@UANA>, requested by <@URITA>") == 3


def test_a_grouped_dm_shows_its_tasks_as_they_are_when_sent_and_old_queued_ones_as_queued(
    bot: Bot, clock: FakeClock
) -> None:
    # The queue names each listed task; what the DM shows of it is read when the DM goes out.
    for title in ("Reconcile invoices", "File the VAT return"):
        bot.delegate(f"<@UANA> {title} by Friday 5pm")
    bot.deliver()
    due = utc(2026, 11, 27, 22)
    clock.set(due)
    assert bot.handoff.scheduler.run("reminders") is not None
    with bot.handoff.services.db.transaction() as s:
        [queued] = s.exec(select(Outbox).where(Outbox.kind == "notices")).all()
        assert {tuple(sorted(item)) for item in queued.payload["items"]} == {("event_id", "kind", "task_id")}
        s.exec(update(Task).where(col(Task.number) == 2).values(title="File the VAT return (Q4)"))
        # A grouped DM queued by an earlier version carries what it shows: it is sent as queued.
        enqueue(s, team_id=TEAM, key="notices:old", kind="notices", now=due, payload={
            "user": BEN, "counts": {"overdue": 2}, "items": [
                {"kind": "overdue", "event_id": 0, "task_id": 1, "ref": "T-1", "title": "As it was", "url": None,
                 "due": due.isoformat(), "assignee": ANA, "requester": RITA}] * 2})
    bot.deliver()
    [grouped] = [m for m in bot.slack.dms(ANA) if m["text"] == "⏰ 2 of your tasks are overdue"]
    assert "File the VAT return (Q4)" in _shown(grouped) and bot.task(1).card_url in _shown(grouped)
    [old] = [m for m in bot.slack.dms(BEN) if m["text"] == "⏰ 2 of your tasks are overdue"]
    assert _shown(old).count("As it was") == 2


def test_reminder_times_follow_each_assignees_own_zone(bot: Bot, clock: FakeClock) -> None:
    bot.tasks("quiet off", user=MIA)  # Mia reads escalations at any hour: each shows when it is sent
    bot.delegate("<@UANA> Reconcile invoices by Friday 5pm")
    bot.delegate("<@UBEN> File the VAT return by Friday 5pm")
    bot.deliver()
    # Ben works 09:00-17:00 in Kolkata (03:30-11:30 UTC): his 24 h reminder (due Thursday 22:00 UTC = Friday
    # 03:30 IST, before his day) comes at Friday 09:00 IST = 03:30 UTC, hours before Ana's at 09:00 UTC.
    _run(bot, clock, utc(2026, 11, 27, 3, 29))
    assert _dm_texts(bot, BEN, "Reminder") == []
    _run(bot, clock, utc(2026, 11, 27, 3, 30))
    assert len(_dm_texts(bot, BEN, "Reminder")) == 1
    assert _dm_texts(bot, ANA, "Reminder") == []
    _run(bot, clock, utc(2026, 11, 27, 9))
    assert len(_dm_texts(bot, ANA, "Reminder")) == 1
    # Both are overdue at 22:00 UTC; Ben's grace runs Monday 09:00-13:00 IST, so escalation comes at 07:30 UTC.
    _run(bot, clock, utc(2026, 11, 27, 22))
    _run(bot, clock, utc(2026, 11, 30, 7, 29))
    assert _dm_texts(bot, MIA, "still overdue") == []
    _run(bot, clock, utc(2026, 11, 30, 7, 30))
    late = _dm_texts(bot, MIA, "still overdue")
    assert len(late) == 1 and "File the VAT return" in late[0]
    _run(bot, clock, utc(2026, 11, 30, 13))
    assert len(_dm_texts(bot, MIA, "still overdue")) == 2


# -- snooze ---------------------------------------------------------------------------------------


def test_the_assignee_snoozes_reminders_and_the_due_date_stays(bot: Bot, clock: FakeClock) -> None:
    bot.delegate("<@UANA> Reconcile invoices by Friday 5pm")
    bot.deliver()
    due = bot.task(1).due_at
    clock.set(utc(2026, 11, 27, 8, 30))

    for other in (BEN, RITA):
        refused = bot.tasks("snooze T-1 2h", user=other)
        assert refused["text"].startswith("⚠️ You can't snooze T-1."), refused
        assert "Only its assignee (<@UANA>) or a manager or an admin (<@UMIA>) can do that." in refused["text"]
    assert bot.task(1).snoozed_until is None

    answer = bot.tasks("snooze T-1 2h", user=ANA)
    assert answer["text"] == "💤 Reminders for T-1 are snoozed; the due date stays as it is."
    bot.deliver()
    task = bot.task(1)
    assert task.snoozed_until == utc(2026, 11, 27, 10, 30)
    assert task.due_at == due
    assert "💤 Reminders snoozed until" in _shown(bot.card(1))
    assert _thread(bot, 1)[-1].startswith("💤 <@UANA> snoozed reminders until <!date^")

    # The 24 h reminder was owed at 09:00; the snooze holds it until 10:30.
    _run(bot, clock, utc(2026, 11, 27, 9))
    _run(bot, clock, utc(2026, 11, 27, 10, 29))
    assert _dm_texts(bot, ANA, "Reminder") == []
    _run(bot, clock, utc(2026, 11, 27, 10, 30), times=2)
    assert len(_dm_texts(bot, ANA, "Reminder")) == 1
    assert bot.task(1).due_at == due


# -- digest ---------------------------------------------------------------------------------------


def _digest_posts(bot: Bot) -> list[dict[str, Any]]:
    return [m for m in bot.slack.messages(DIGEST) if "Daily digest" in m["text"]]


def test_daily_digest_posts_once_per_working_day_with_a_thread_per_assistant(bot: Bot, clock: FakeClock) -> None:
    _digest_channel(bot)
    answer = bot.tasks("digest here at 9:00", user=MIA, channel=DIGEST)
    assert answer["text"].startswith("📋 The daily digest will be posted here at 09:00 (America/Chicago)"), answer
    bot.delegate("<@UANA> Reconcile invoices by Friday 5pm")  # T-1, started below: in progress
    bot.delegate("<@UBEN> Send the aged debtors report by Thursday noon")  # T-2, due Thursday: due today
    bot.delegate("Check the shared inbox")  # T-3, the pool
    bot.delegate("<@UANA> Book the auditor")  # T-4, done before the first digest
    bot.deliver()
    bot.tasks("start T-1", user=ANA)
    clock.advance(hours=1)
    bot.tasks("done T-4", user=ANA)
    bot.deliver()

    # 09:00 in Chicago is 15:00 UTC in winter.
    _run(bot, clock, utc(2026, 11, 26, 14, 59))
    assert _digest_posts(bot) == []
    _run(bot, clock, utc(2026, 11, 26, 15), times=2)
    posts = _digest_posts(bot)
    assert len(posts) == 1
    parent = posts[0]
    assert parent["text"] == (
        "📋 Daily digest for 2026-11-26: 3 open · 1 due today · 0 overdue · 0 blocked · 1 unclaimed · "
        "1 done since the last digest (100% on time)"
    )
    assert any(b["type"] == "header" for b in parent["blocks"])
    replies = bot.slack.messages(DIGEST, thread_ts=parent["ts"])
    titles = [r["text"] for r in replies]
    assert titles == [
        "Digest: *📅 Due today* (1)",
        "Digest: *⚪ Unclaimed* (1)",
        "Digest: *👥 Per person*",
        "Digest: *✅ Done since the last digest* (1)",
    ]
    shown = [_shown(r) for r in replies]
    for number, where in ((2, 0), (3, 1), (4, 3)):
        url = bot.task(number).card_url
        assert url, f"T-{number} has a card link"
        assert f"<{url}|T-{number}>" in shown[where], (number, shown[where])
    # Ana's task in progress needs no attention: it is counted, with what she finished.
    assert "<@UANA> · 1 open · 0 overdue · 0 due today · 0 blocked · 1 done" in shown[2]
    assert "<@UBEN> · 1 open · 0 overdue · 1 due today · 0 blocked · 0 done" in shown[2]

    # Again the same day: nothing new.
    _run(bot, clock, utc(2026, 11, 26, 20))
    assert len(_digest_posts(bot)) == 1
    assert len(bot.slack.messages(DIGEST, thread_ts=parent["ts"])) == 4

    # The next working day posts again; what was done before yesterday's digest is not repeated.
    _run(bot, clock, utc(2026, 11, 27, 15))
    posts = _digest_posts(bot)
    assert len(posts) == 2 and "2026-11-27" in posts[1]["text"]
    assert "0 done since the last digest" in posts[1]["text"]
    friday = [r["text"] for r in bot.slack.messages(DIGEST, thread_ts=posts[1]["ts"])]
    assert not any(t.startswith("Digest: *✅ Done") for t in friday)

    # Not at the weekend; Monday again.
    _run(bot, clock, utc(2026, 11, 28, 15))
    _run(bot, clock, utc(2026, 11, 29, 15))
    assert len(_digest_posts(bot)) == 2
    _run(bot, clock, utc(2026, 11, 30, 15))
    assert len(_digest_posts(bot)) == 3

    off = bot.tasks("digest off", user=MIA, channel=DIGEST)
    assert off["text"] == "🔕 The daily digest here is off."
    _run(bot, clock, utc(2026, 12, 1, 15))
    assert len(_digest_posts(bot)) == 3
    with bot.handoff.services.db.transaction() as session:
        days = sorted(r.local_date for r in session.exec(select(DigestRun)))
    assert days == ["2026-11-26", "2026-11-27", "2026-11-30"]


def test_digest_keeps_chicago_nine_oclock_across_the_dst_change(bot: Bot, clock: FakeClock) -> None:
    clock.set(utc(2026, 10, 29, 15))
    _digest_channel(bot)
    bot.tasks("digest here at 9:00", user=MIA, channel=DIGEST)
    bot.delegate("<@UANA> Reconcile invoices")
    bot.deliver()
    # Friday 30 October: CDT (UTC-5), so 09:00 is 14:00 UTC.
    _run(bot, clock, utc(2026, 10, 30, 13, 59))
    assert _digest_posts(bot) == []
    _run(bot, clock, utc(2026, 10, 30, 14))
    assert [p["text"][:33] for p in _digest_posts(bot)] == ["📋 Daily digest for 2026-10-30: 1 "]
    # Monday 2 November: CST (UTC-6) since Sunday, so 09:00 is 15:00 UTC; 14:00 UTC is only 08:00.
    _run(bot, clock, utc(2026, 11, 2, 14))
    _run(bot, clock, utc(2026, 11, 2, 14, 59))
    assert len(_digest_posts(bot)) == 1
    _run(bot, clock, utc(2026, 11, 2, 15))
    posts = _digest_posts(bot)
    assert len(posts) == 2 and "2026-11-02" in posts[1]["text"]


@pytest.mark.slack_timeout(1.0)
def test_a_digest_slack_refused_at_first_is_posted_once_with_each_reply_once(bot: Bot, clock: FakeClock) -> None:
    _digest_channel(bot)
    bot.tasks("digest here at 9:00", user=MIA, channel=DIGEST)
    bot.delegate("<@UANA> Reconcile invoices by Friday 5pm")
    bot.delegate("<@UBEN> Send the aged debtors report by Thursday noon")
    bot.delegate("Check the shared inbox")
    bot.deliver()
    bot.tasks("start T-1", user=ANA)
    bot.deliver()

    bot.slack.fail_next("chat.postMessage", "ratelimited", retry_after=5)
    _run(bot, clock, utc(2026, 11, 26, 15), "digest")
    assert _digest_posts(bot) == []
    clock.advance(seconds=4)
    bot.deliver()
    assert _digest_posts(bot) == [], "Slack said to wait 5 seconds"

    # Next, Slack posts the parent but the answer never arrives: the bot must not post it again.
    bot.slack.hang_seconds = 1.5  # longer than the bot's 1 s Slack timeout
    bot.slack.fail_next("chat.postMessage", "timeout_after_success")
    clock.advance(seconds=1)
    bot.deliver()
    assert len(_digest_posts(bot)) == 1
    # Then one reply fails with a 500.
    bot.slack.fail_next("chat.postMessage", "server_error")
    for _ in range(3):
        clock.advance(seconds=30)
        bot.deliver()
        bot.handoff.scheduler.run("digest")  # it keeps running meanwhile; it must not start a second digest
        bot.deliver()

    posts = _digest_posts(bot)
    assert len(posts) == 1
    replies = [r["text"] for r in bot.slack.messages(DIGEST, thread_ts=posts[0]["ts"])]
    assert replies == sorted(set(replies), key=replies.index), "no reply twice"
    expected = ["Digest: *📅 Due today* (1)", "Digest: *⚪ Unclaimed* (1)", "Digest: *👥 Per person*"]
    assert sorted(replies) == sorted(expected)
    assert len(bot.slack.messages(DIGEST, include_replies=True)) == 4
    injected = [c.injected for c in bot.slack.calls_to("chat.postMessage") if c.injected]
    assert injected == ["ratelimited", "timeout_after_success", "server_error"], "every failure was met"
    assert bot.slack.calls_to("conversations.history"), "the uncertain parent was looked for, not re-posted"


# -- recurring tasks ------------------------------------------------------------------------------


def test_recurring_task_makes_a_normal_task_a_day_ahead_and_can_be_paused_resumed_and_stopped(
    bot: Bot, clock: FakeClock
) -> None:
    answer = bot.delegate("@ana Send payroll report every Monday 9am")
    text = answer["text"]
    assert text.startswith("🔁 R-1 set up: *Send payroll report* for <@UANA>, every Monday at 09:00."), text
    # Monday 30 November 09:00 in New York (Rita's zone) is 14:00 UTC.
    monday = utc(2026, 11, 30, 14)
    assert f"<!date^{int(monday.timestamp())}^" in text
    listed = bot.tasks("recurring")
    assert "R-1" in _shown(listed) and "Send payroll report" in _shown(listed) and "every Monday at 09:00" in _shown(
        listed
    )
    bot.deliver()
    assert bot.slack.messages(GENERAL) == [] and _tasks(bot) == []

    _run(bot, clock, utc(2026, 11, 29, 13, 59), "recurring")
    assert _tasks(bot) == []
    _run(bot, clock, utc(2026, 11, 29, 14), "recurring", times=2)
    [task] = _tasks(bot)
    assert task.number == 1 and task.due_at == monday and task.assignee_id == ANA
    assert task.status is TaskStatus.ASSIGNED and task.recurring_id == 1
    card = bot.card(1)
    assert "Send payroll report" in _shown(card) and "task_start" in _shown(card)
    assert f"<!date^{int(monday.timestamp())}^" in _shown(card)
    # Made on a Sunday: Ana hears of it at the start of her Monday (quiet hours).
    assert _dm_texts(bot, ANA, "T-1") == []
    clock.set(utc(2026, 11, 30, 9))
    bot.deliver()
    assert any("delegated" in t and "Send payroll report" in t for t in _dm_texts(bot, ANA, "T-1"))

    paused = bot.tasks("recurring pause R-1")
    assert paused["text"] == "⏸️ R-1 is paused."
    assert "paused" in _shown(bot.tasks("recurring"))
    _run(bot, clock, utc(2026, 12, 6, 14), "recurring")
    _run(bot, clock, utc(2026, 12, 7, 14, 30), "recurring")
    assert len(_tasks(bot)) == 1

    # Resumed on Tuesday 8 December: the next one is Monday 14 December, created on the 13th.
    clock.set(utc(2026, 12, 8, 10))
    assert bot.tasks("recurring resume R-1")["text"] == "▶️ R-1 is running again."
    _run(bot, clock, utc(2026, 12, 13, 13, 59), "recurring")
    assert len(_tasks(bot)) == 1
    _run(bot, clock, utc(2026, 12, 13, 14), "recurring")
    tasks = _tasks(bot)
    assert len(tasks) == 2 and tasks[1].due_at == utc(2026, 12, 14, 14)

    assert bot.tasks("recurring stop R-1")["text"] == "⏹️ R-1 is stopped."
    assert "R-1" not in _shown(bot.tasks("recurring"))
    _run(bot, clock, utc(2026, 12, 20, 14), "recurring")
    _run(bot, clock, utc(2026, 12, 21, 15), "recurring")
    assert len(_tasks(bot)) == 2
    with bot.handoff.services.db.transaction() as session:
        assert session.exec(select(RecurringTask)).one().status == "stopped"


def test_only_the_requester_or_a_manager_may_pause_a_recurring_task(bot: Bot) -> None:
    bot.delegate("<@UANA> Send payroll report every Monday 9am")
    refused = bot.tasks("recurring pause R-1", user=BEN)
    assert refused["text"].startswith("⚠️ You can't change R-1."), refused
    assert bot.tasks("recurring pause R-1", user=MIA)["text"] == "⏸️ R-1 is paused."


# -- morning queue --------------------------------------------------------------------------------


def _mornings(bot: Bot) -> list[dict[str, Any]]:
    return [m for m in bot.slack.dms(ANA) if "Good morning" in m["text"]]


def test_morning_queue_at_the_start_of_the_working_day_follows_changed_hours(bot: Bot, clock: FakeClock) -> None:
    bot.delegate("<@UANA> Reconcile invoices by Friday 5pm")  # T-1 normal, due Friday
    bot.delegate("<@UANA> Send the payroll file tomorrow 9am !high")  # T-2 high
    bot.delegate("<@UANA> Update the supplier list !urgent")  # T-3 urgent, no due date
    bot.delegate("<@UANA> Archive old receipts")  # T-4 normal, no due date
    bot.delegate("<@UBEN> File the VAT return")  # Ben's: not in Ana's queue
    bot.deliver()
    answer = bot.tasks("morning on", user=ANA)
    assert answer["text"] == "☀️ Each working morning I'll DM you what's yours today, most pressing first."

    # Ana's day starts at 09:00 London (UTC in winter).
    _run(bot, clock, utc(2026, 11, 26, 8, 59), "digest")
    assert _mornings(bot) == []
    _run(bot, clock, utc(2026, 11, 26, 9), "digest", times=2)
    _run(bot, clock, utc(2026, 11, 26, 12), "digest")
    [morning] = _mornings(bot)
    assert morning["text"] == "☀️ Good morning! You have 4 open tasks, most pressing first:"
    shown = _shown(morning)
    order = [shown.index(f"|T-{n}>") for n in (3, 2, 1, 4)]
    assert order == sorted(order), shown
    assert "|T-5>" not in shown

    hours = bot.tasks("hours 8:00-16:00 mon-fri", user=ANA)
    assert hours["text"].startswith("🕘 Got it: you work Mon–Fri 08:00–16:00 (Europe/London)"), hours
    assert bot.tasks("hours", user=ANA)["text"] == "🕘 Your working hours: Mon–Fri 08:00–16:00 (Europe/London)."
    _run(bot, clock, utc(2026, 11, 27, 7, 59), "digest")
    assert len(_mornings(bot)) == 1
    _run(bot, clock, utc(2026, 11, 27, 8), "digest")
    assert len(_mornings(bot)) == 2
    # Not on Saturday; off means off.
    _run(bot, clock, utc(2026, 11, 28, 8), "digest")
    assert len(_mornings(bot)) == 2
    assert bot.tasks("morning off", user=ANA)["text"] == "The morning queue is off."
    _run(bot, clock, utc(2026, 11, 30, 8), "digest")
    assert len(_mornings(bot)) == 2


# -- the unclaimed pool ---------------------------------------------------------------------------


def test_an_unclaimed_pool_task_is_nudged_in_its_thread_then_escalated_to_the_manager(
    bot: Bot, clock: FakeClock
) -> None:
    clock.set(utc(2026, 11, 25, 14))  # Wednesday 09:00 in New York, Rita's working day start
    bot.delegate("<@UANA> Reconcile invoices")  # Ana and Ben have taken tasks: they are the assistants
    bot.delegate("<@UBEN> File the VAT return")
    bot.delegate("Check the shared inbox by EOD")  # T-3 in the pool
    bot.deliver()
    assert bot.task(3).card_channel_id == POOL

    # Two of Rita's working hours later (16:00 UTC) Ana is at work in London, Ben's day in Kolkata is over.
    _run(bot, clock, utc(2026, 11, 25, 15, 59))
    assert _thread(bot, 3) == []
    _run(bot, clock, utc(2026, 11, 25, 16), times=2)
    assert _thread(bot, 3) == ["👋 Still unclaimed. <@UANA>, can one of you take it? React ✋ to claim."]

    _run(bot, clock, utc(2026, 11, 25, 17, 59))
    assert _dm_texts(bot, MIA, "pool") == []
    _run(bot, clock, utc(2026, 11, 25, 18), times=2)
    escalated = _dm_texts(bot, MIA, "has waited in the pool")
    assert len(escalated) == 1 and "Check the shared inbox" in escalated[0]
    assert _dm_texts(bot, RITA, "has waited in the pool") == []
    assert len(_thread(bot, 3)) == 1


# -- `python -m bot jobs run` ---------------------------------------------------------------------


def _jobs(bot: Bot, db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = process_env(
        SLACK_BOT_TOKEN=bot.slack.token, SLACK_SIGNING_SECRET="s", SLACK_API_URL=bot.slack.api_url,
        DATABASE_URL=db_url, HANDOFF_MANAGERS=MIA, HANDOFF_POOL_CHANNEL=POOL,
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "jobs", "run", *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120,
    )


def test_jobs_run_at_an_instant_queues_and_delivers_and_says_so(
    bot: Bot, clock: FakeClock, db_url: str, tmp_path: Path
) -> None:
    # In the past of the real clock, since the command delivers by it: Wednesday 19 November 2025.
    clock.set(utc(2025, 11, 19, 15))
    _digest_channel(bot)
    bot.tasks("digest here at 9:00", user=MIA, channel=DIGEST)
    bot.delegate("<@UANA> Reconcile invoices by Thursday 5pm")  # Thursday 22:00 UTC
    bot.deliver()

    # Thursday 09:00 in Chicago: the digest, and Ana's 24 h reminder (owed since 09:00 London).
    result = _jobs(bot, db_url, tmp_path, "all", "--at", "2025-11-20T09:00:00-06:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "queued: reminders=1 overdue=0 escalations=0 nudges=0 created=0 digests=1 morning=0",
        "delivered: sent=4 retrying=0 refused=0",  # the reminder, the digest, its "due today" and per person
    ]
    [parent] = _digest_posts(bot)
    assert parent["text"].startswith("📋 Daily digest for 2025-11-20: 1 open · 1 due today ·"), parent["text"]
    replies = [r["text"] for r in bot.slack.messages(DIGEST, thread_ts=parent["ts"])]
    assert replies == ["Digest: *📅 Due today* (1)", "Digest: *👥 Per person*"]
    assert len(_dm_texts(bot, ANA, "Reminder")) == 1

    # Thursday 21:00 London: the 1 h reminder.
    result = _jobs(bot, db_url, tmp_path, "reminders", "--at", "2025-11-20T21:00:00Z")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "queued: reminders=1 overdue=0 escalations=0 nudges=0 created=0 digests=0 morning=0",
        "delivered: sent=1 retrying=0 refused=0",
    ]
    assert len(_dm_texts(bot, ANA, "Reminder")) == 2
    # The same instant again: nothing new anywhere.
    again = _jobs(bot, db_url, tmp_path, "all", "--at", "2025-11-20T21:00:00+00:00")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "queued: reminders=0 overdue=0 escalations=0 nudges=0 created=0 digests=0 morning=0",
        "delivered: sent=0 retrying=0 refused=0",
    ]
    assert len(_dm_texts(bot, ANA, "Reminder")) == 2 and len(_digest_posts(bot)) == 1


def test_jobs_run_refuses_an_unreadable_instant(bot: Bot, db_url: str, tmp_path: Path) -> None:
    for bad, why in (("tomorrow", "is not an ISO-8601 instant"), ("2026-11-26T09:00", "needs a UTC offset")):
        result = _jobs(bot, db_url, tmp_path, "all", "--at", bad)
        assert result.returncode == 2, result
        assert "argument --at" in result.stderr and why in result.stderr, result.stderr
        assert result.stdout == ""
    assert bot.slack.calls_to("chat.postMessage") == []



def test_jobs_run_at_a_later_instant_does_not_leave_its_messages_undelivered(
    bot: Bot, clock: FakeClock, db_url: str, tmp_path: Path
) -> None:
    # An operator runs the jobs "as of" an instant after the real clock (a typo, or a wrong zone offset).
    # A Wednesday at least a week ahead of the real clock, and its Friday 09:00 UTC, when Ana's 24 h
    # reminder for "by Friday 5pm" (New York) is owed whatever the season.
    today = datetime.now(UTC).date() + timedelta(days=7)
    wednesday = today + timedelta(days=(2 - today.weekday()) % 7)
    clock.set(datetime.combine(wednesday, time(15), tzinfo=UTC))
    bot.delegate("<@UANA> Reconcile invoices by Friday 5pm")
    bot.deliver()
    friday = datetime.combine(wednesday + timedelta(days=2), time(9), tzinfo=UTC)
    result = _jobs(bot, db_url, tmp_path, "reminders", "--at", friday.isoformat())
    if result.returncode == 2:  # refusing the instant, with the reason, is a fine answer
        assert "--at" in result.stderr and _dm_texts(bot, ANA, "Reminder") == []
        return
    assert result.returncode == 0, result.stderr
    queued, delivered = result.stdout.splitlines()
    assert queued.startswith("queued: reminders=1 "), result.stdout
    # The jobs queue their messages as of --at, so delivery must run as of --at too, not the real clock.
    assert delivered != "delivered: sent=0 retrying=0 refused=0", (
        "`jobs run --at <future>` queued a reminder but delivered nothing"
    )
    assert len(_dm_texts(bot, ANA, "Reminder")) == 1


def test_jobs_run_goes_beside_a_running_bot_that_holds_the_scheduler_lock(
    bot: Bot, clock: FakeClock, db_url: str, tmp_path: Path
) -> None:
    clock.set(utc(2025, 11, 19, 15))
    bot.delegate("<@UANA> Reconcile invoices by Thursday 5pm")
    bot.deliver()
    # The serving process keeps the lock for life; the one-off run is another process beside it.
    assert bot.handoff.scheduler.leadership.acquire()
    result = _jobs(bot, db_url, tmp_path, "reminders", "--at", "2025-11-20T09:00:00Z")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("queued: reminders=1 "), result.stdout
    assert len(_dm_texts(bot, ANA, "Reminder")) == 1
    # The bot's own run at the same instant (the once-keys) repeats nothing.
    assert _run(bot, clock, utc(2025, 11, 20, 9), "reminders").reminders == 0
    assert len(_dm_texts(bot, ANA, "Reminder")) == 1


def test_jobs_run_delivers_everything_due_not_just_the_first_500(
    bot: Bot, clock: FakeClock, db_url: str, tmp_path: Path
) -> None:
    from models.outbox import Pending, enqueue_all

    clock.set(utc(2025, 11, 19, 15))
    with bot.handoff.services.db.transaction() as session:
        enqueue_all(session, team_id=TEAM, now=clock(), items=[
            Pending(f"backlog:{n}", "notice", {"user": ANA, "text": f"Backlog {n}"}) for n in range(520)
        ])
    result = _jobs(bot, db_url, tmp_path, "recurring", "--at", "2025-11-20T09:00:00Z")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "delivered: sent=520 retrying=0 refused=0"
    assert len(_dm_texts(bot, ANA, "Backlog")) == 520


def test_a_drain_through_an_id_leaves_what_was_queued_after_it_to_the_bots_worker(
    bot: Bot, clock: FakeClock
) -> None:
    # `jobs run` drains what it queued: under load the bot keeps queuing, and draining that too never ends.
    from models.outbox import Pending, enqueue_all, newest_id

    clock.set(utc(2025, 11, 19, 15))
    db = bot.handoff.services.db
    with db.transaction() as session:
        enqueue_all(session, team_id=TEAM, now=clock(), items=[
            Pending(f"mine:{n}", "notice", {"user": ANA, "text": f"Mine {n}"}) for n in range(3)
        ])
    with db.read() as session:
        through = newest_id(session)
    with db.transaction() as session:
        enqueue_all(session, team_id=TEAM, now=clock(), items=[
            Pending(f"later:{n}", "notice", {"user": ANA, "text": f"Later {n}"}) for n in range(2)
        ])
    assert bot.handoff.services.delivery.drain(through_id=through).sent == 3
    assert len(_dm_texts(bot, ANA, "Mine")) == 3 and _dm_texts(bot, ANA, "Later") == []
    assert bot.deliver().sent == 2  # the bot's own worker sends the rest
