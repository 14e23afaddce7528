"""`/tasks team`: the roster through signed commands against the strict stand-in, and what is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from models.tables import Person, RoleGrant, TeamMember
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, BEN, GENERAL, MIA, RITA, TEAM, Bot


def shown(answer: Any) -> str:
    return str(answer.get("text", "")) + json.dumps(answer.get("blocks") or [], ensure_ascii=False)


def members(bot: Bot) -> dict[str, TeamMember]:
    with bot.handoff.services.db.read() as session:
        return {m.user_id: m for m in session.exec(select(TeamMember).where(TeamMember.team_id == TEAM)).all()}


def test_a_manager_builds_the_roster_and_everyone_reads_it(bot: Bot) -> None:
    added = bot.tasks(f"team add <@{ANA}> assistant skills:bookkeeping,payroll office:back capacity:8", user=MIA)
    assert added["text"] == f"👥 <@{ANA}> is on the team: bookkeeping, payroll."
    bot.tasks(f"team add <@{BEN}> skills:inbox office:front", user=MIA)
    bot.delegate(f"<@{ANA}> Reconcile October invoices")
    bot.delegate(f"<@{ANA}> Run payroll")

    roster = bot.tasks("team", user=RITA)  # anyone may read it
    text = shown(roster)
    assert "3 people, 2 assistants" in roster["text"]
    # Mia first (a manager), then by name; Ana at work in London at 15:00, Ben off hours in Kolkata.
    assert text.index(f"<@{MIA}> · manager") < text.index(f"<@{ANA}> · assistant") < text.index(f"<@{BEN}>")
    assert (f"<@{ANA}> · assistant · bookkeeping, payroll · back office · Mon–Fri 09:00–17:00 (Europe/London) · "
            "2 open of 8 · 🟢 at work") in text
    assert f"<@{BEN}> · assistant · inbox · front office" in text and "0 open · 🌙 off hours" in text

    assert "inbox, payroll" in bot.tasks(f"team skills <@{ANA}> +inbox -bookkeeping", user=MIA)["text"]
    assert "at most 10" in bot.tasks(f"team capacity <@{ANA}> 10", user=MIA)["text"]
    assert "is updated" in bot.tasks(f"team add <@{ANA}> office:none capacity:none", user=MIA)["text"]
    ana = members(bot)[ANA]
    assert (ana.skills, ana.office, ana.capacity, ana.added_by) == (["inbox", "payroll"], None, None, MIA)

    removed = bot.tasks(f"team remove <@{ANA}>", user=MIA)
    assert "off the team" in removed["text"] and "stay theirs" in removed["text"]
    assert ANA not in members(bot)
    assert bot.task(1).assignee_id == ANA and bot.task(2).assignee_id == ANA  # nothing is lost
    assert "was not on the team" in bot.tasks(f"team remove <@{ANA}>", user=MIA)["text"]


def test_only_managers_and_admins_change_the_roster_and_only_admins_make_managers(bot: Bot) -> None:
    refused = bot.tasks(f"team add <@{ANA}> assistant", user=ANA)
    assert "You can't change the team" in refused["text"] and f"<@{MIA}>" in refused["text"]
    refused = bot.tasks(f"team add <@{BEN}> manager skills:payroll", user=MIA)
    assert "You can't add a manager" in refused["text"]
    assert members(bot) == {}  # refused whole: not half-added without the role
    assert "on the team" in bot.tasks(f"team add <@{BEN}> skills:payroll", user=MIA)["text"]
    assert "is not on the team" in bot.tasks(f"team skills <@{ANA}> +inbox", user=MIA)["text"]


@pytest.mark.settings(admins=frozenset({RITA}))
def test_an_admin_adds_a_manager_to_the_team_and_removing_them_takes_the_role(bot: Bot) -> None:
    bot.tasks(f"team add <@{BEN}> manager skills:payroll", user=RITA)
    with bot.handoff.services.db.read() as session:
        assert session.get(RoleGrant, (TEAM, BEN)) is not None
    assert f"<@{BEN}> · manager · payroll" in shown(bot.tasks("team"))
    bot.deliver()
    assert "made you a Handoff manager" in bot.slack.dms(BEN)[-1]["text"]
    bot.tasks(f"team remove <@{BEN}>", user=RITA)
    with bot.handoff.services.db.read() as session:
        assert session.get(RoleGrant, (TEAM, BEN)) is None
    assert f"<@{BEN}>" not in shown(bot.tasks("team"))


@pytest.mark.parametrize(
    ("words", "says"),
    [
        ("team add", "I can't read that"),
        ("team hire <@UANA>", "I can't read that"),
        ("team add <@UANA> office:middle", "not an office"),
        ("team capacity <@UANA>", "How many open tasks"),
        ("team capacity <@UANA> lots", "not a capacity"),
        ("team remove <@UANA> now", "just `/tasks team remove"),
        ("team skills <@UANA>", "Which skills"),
    ],
)
def test_mistakes_are_explained_and_change_nothing(bot: Bot, words: str, says: str) -> None:
    assert says in bot.tasks(words, user=MIA)["text"]
    assert members(bot) == {}


@pytest.mark.settings(managers=frozenset())
def test_an_empty_team_says_how_to_start(bot: Bot) -> None:
    answer = bot.tasks("team")
    assert "Nobody is on the team yet" in answer["text"] and "/tasks team add" in shown(answer)


def test_team_alone_in_the_handoff_dm_shows_the_roster(bot: Bot) -> None:
    bot.tasks(f"team add <@{ANA}> skills:payroll", user=MIA)
    bot.say(RITA, "team", bot.slack.dm_id(RITA))
    bot.deliver()
    assert bot.stored_tasks() == []
    assert "The team" in bot.slack.dms(RITA)[-1]["text"]


def test_away_and_back_by_command_show_on_the_roster(bot: Bot) -> None:
    bot.tasks(f"team add <@{ANA}> skills:payroll", user=MIA)
    answer = bot.tasks("away until Friday dentist", user=ANA)  # Wednesday: away Wednesday to Friday
    assert answer["text"].startswith("🏝️ You're away (dentist), back <!date^") and "/tasks back" in answer["text"]
    with bot.handoff.services.db.read() as session:
        ana = session.exec(select(Person).where(Person.user_id == ANA)).one()
    assert (ana.away_until, ana.away_reason, ana.away_by) == (datetime(2026, 11, 30, 9, 0, tzinfo=UTC), "dentist", ANA)
    roster = bot.tasks("team")
    assert ", 1 away" in roster["text"] and "🏝️ away until <!date^" in shown(roster) and "(dentist)" in shown(roster)
    assert "👋 You're back." == bot.tasks("back", user=ANA)["text"]
    assert "🟢 at work" in shown(bot.tasks("team"))
    assert "not marked away" in bot.tasks("back", user=ANA)["text"]


def test_a_manager_marks_someone_away_and_others_may_not(bot: Bot) -> None:
    refused = bot.tasks(f"away <@{BEN}> for 2 days", user=ANA)
    assert "You can't mark someone else away" in refused["text"]
    assert f"<@{BEN}> is away" in bot.tasks(f"away <@{BEN}> for 2 days on leave", user=MIA)["text"]
    assert "You can't mark someone else back" in bot.tasks(f"back <@{BEN}>", user=ANA)["text"]
    assert f"<@{BEN}> is back" in bot.tasks(f"back <@{BEN}>", user=MIA)["text"]
    assert "Away until when" in bot.tasks("away", user=ANA)["text"]


def test_a_slack_status_that_says_out_of_office_makes_them_away_until_it_expires(bot: Bot, clock: FakeClock) -> None:
    bot.tasks(f"team add <@{ANA}> skills:payroll", user=MIA)
    ends = int(datetime(2026, 11, 27, 17, 0, tzinfo=UTC).timestamp())
    ana = bot.slack.add_user(ANA, "ana", real_name="Ana Assistant", tz="Europe/London", locale="en-GB",
                             status_text="Vacationing", status_emoji=":palm_tree:", status_expiration=ends)
    ana.pop("locale")
    assert bot.client.event({"type": "user_change", "user": ana}).status == 200
    assert "🏝️ away until <!date^" in shown(bot.tasks("team")) and "(Vacationing)" in shown(bot.tasks("team"))
    clock.set(datetime(2026, 11, 27, 17, 0, tzinfo=UTC))  # the status's own expiry: Friday 17:00
    roster = shown(bot.tasks("team"))
    assert "🏝️" not in roster and f"<@{ANA}> · assistant · payroll · Mon–Fri 09:00–17:00 (Europe/London) · " \
        "0 open · 🌙 off hours" in roster  # 17:00 in London: the end of her day


def test_someone_away_hears_no_reminders_nor_a_morning_queue_and_keeps_their_tasks(bot: Bot, clock: FakeClock) -> None:
    bot.delegate(f"<@{ANA}> Reconcile invoices by Friday 5pm")  # due Friday 22:00 UTC
    bot.tasks("morning on", user=ANA)
    bot.tasks("away until Friday", user=ANA)  # Wednesday to Friday; back Monday 09:00 London
    bot.deliver()

    def run(when: datetime) -> None:
        clock.set(when)
        bot.handoff.scheduler.run("all")
        bot.deliver()

    def dms(needle: str) -> list[str]:
        return [m["text"] for m in bot.slack.dms(ANA) if needle in m["text"]]

    run(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))  # Friday 09:00: the 24 h reminder and her morning queue
    run(datetime(2026, 11, 27, 21, 0, tzinfo=UTC))  # the 1 h reminder
    assert dms("Reminder") == [] and dms("Good morning") == []
    run(datetime(2026, 11, 27, 22, 0, tzinfo=UTC))
    assert len(dms("is overdue")) == 1 and bot.task(1).assignee_id == ANA  # still hers, and overdue counts
    run(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # back on Monday
    assert len(dms("Good morning")) == 1


@pytest.mark.parametrize(
    ("setup", "named"),
    [
        ([], [ANA]),  # Ana at work in London at 16:00 UTC; Ben's day in Kolkata is over
        ([f"team capacity <@{ANA}> 1"], []),  # her one open task fills her capacity
        ([f"away <@{ANA}> for 1 day"], []),
        ([f"team remove <@{ANA}>"], []),  # only the roster's assistants are asked
    ],
)
def test_an_unclaimed_nudge_names_the_rosters_assistants_free_now(
    bot: Bot, clock: FakeClock, setup: list[str], named: list[str]
) -> None:
    clock.set(datetime(2026, 11, 25, 14, 0, tzinfo=UTC))  # 09:00 in New York
    bot.tasks(f"team add <@{ANA}> skills:payroll", user=MIA)
    bot.tasks(f"team add <@{BEN}> skills:payroll", user=MIA)
    bot.tasks(f"team add <@{MIA}>", user=MIA)  # a manager on the team is not asked to claim
    bot.delegate(f"<@{ANA}> Reconcile invoices")
    bot.delegate("Check the shared inbox by EOD")  # T-2 in the pool
    for words in setup:
        bot.tasks(words, user=MIA)
    clock.set(datetime(2026, 11, 25, 16, 0, tzinfo=UTC))  # two of Rita's working hours later
    bot.handoff.scheduler.run("all")
    bot.deliver()
    task = bot.task(2)
    assert task.card_ts is not None
    [nudge] = [m["text"] for m in bot.slack.messages(task.card_channel_id, thread_ts=task.card_ts)]
    ask = " ".join(f"<@{u}>" for u in named)
    assert nudge == (f"👋 Still unclaimed. {ask}, can one of you take it? React ✋ to claim." if named
                     else "👋 Still unclaimed. React ✋ to claim.")


def test_the_digest_lists_every_assistant_on_the_roster_and_who_is_away(bot: Bot, clock: FakeClock) -> None:
    bot.tasks("digest here at 9:00", user=MIA, channel=GENERAL)  # 09:00 in Chicago: 15:00 UTC
    bot.tasks(f"team add <@{ANA}> skills:payroll", user=MIA)
    bot.tasks(f"team add <@{BEN}> skills:inbox", user=MIA)  # nothing open: listed all the same
    bot.tasks(f"away <@{BEN}> until Friday on leave", user=MIA)
    bot.delegate(f"<@{ANA}> Reconcile invoices by Friday 5pm")
    bot.deliver()
    clock.set(datetime(2026, 11, 26, 15, 0, tzinfo=UTC))
    bot.handoff.scheduler.run("all")
    bot.deliver()
    [parent] = [m for m in bot.slack.messages(GENERAL) if "Daily digest" in m["text"]]
    replies = [json.dumps(m, ensure_ascii=False) for m in bot.slack.messages(GENERAL, thread_ts=parent["ts"])]
    [people] = [r for r in replies if "Per person" in r]
    assert f"<@{ANA}> · 1 open" in people and f"<@{MIA}>" not in people
    assert f"<@{BEN}> · 0 open · 0 overdue · 0 due today · 0 blocked · 0 done · 🏝️ away until <!date^" in people


def test_a_managers_home_tab_lists_the_rosters_assistants_and_who_is_away(bot: Bot) -> None:
    from tests.scenarios.test_home import open_home, text_of

    bot.tasks(f"team add <@{BEN}> skills:inbox", user=MIA)  # nothing open: listed all the same
    bot.tasks(f"away <@{BEN}> until Friday", user=MIA)
    text = text_of(open_home(bot, MIA))
    assert f"<@{BEN}> · 0 open · 0 done this week · 🏝️ away until <!date^" in text
