"""Who is who without asking Slack in the request: plain @names come from the stored directory, which the
worker reads in the background and `user_change`/`team_join` events keep current."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel import select

from bot.app import create_app
from bot.directory import LIST_EVERY
from migrations import upgrade
from models.db import Database
from models.tables import Person
from sandbox import SlackStandIn
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, GENERAL, POOL, RITA, TEAM, Bot, serving, settings_for


def _text(answer: Any) -> str:
    return str(answer["text"])


def _methods_during(bot: Bot, act: Any) -> list[str]:
    """The Web API methods the bot called while `act()` ran (the request and nothing after it)."""
    before = len(bot.slack.calls)
    act()
    return [call.method for call in bot.slack.calls[before:]]


def _person(bot: Bot, user_id: str) -> Person:
    with bot.handoff.services.db.read() as session:
        return session.exec(select(Person).where(Person.team_id == TEAM, Person.user_id == user_id)).one()


def test_a_typo_is_answered_at_once_from_the_stored_directory_with_close_names(bot: Bot) -> None:
    answer: dict[str, Any] = {}
    methods = _methods_during(bot, lambda: answer.update(bot.delegate("@anaa Send the payroll report")))
    assert "can't find anyone called @anaa" in _text(answer), answer
    assert "Did you mean @ana?" in _text(answer)
    assert "users.list" not in methods, "a typo paged through the member list inside the request"
    assert bot.deliver().sent == 0 and bot.slack.calls_to("chat.postMessage") == []


def test_a_plain_name_resolves_without_asking_slack(bot: Bot) -> None:
    bot.delegate("<@UANA> Warm up")  # Rita herself is looked up (users.info) on her first command
    methods = _methods_during(bot, lambda: bot.delegate("@ben Send the payroll report"))
    assert "users.list" not in methods and "users.info" not in methods, methods
    assert bot.task(2).assignee_id == "UBEN"


def test_a_first_start_reads_the_member_list_in_the_background_not_in_a_request(
    slack: SlackStandIn, db_url: str, clock: FakeClock
) -> None:
    upgrade(db_url)
    handoff = create_app(settings_for(slack, db_url), db=Database.from_url(db_url), clock=clock)
    with serving(handoff, slack) as bot:
        # The first request of a process reads no member list (it used to, to learn Slack's admins).
        first = _methods_during(bot, lambda: bot.delegate("<@UANA> Reconcile the invoices"))
        assert "users.list" not in first, first
        assert bot.task(1).assignee_id == ANA  # an exact mention is one users.info, directory or not
        unknown = _text(bot.delegate("@ben Send the payroll report"))
        assert "can't find anyone called @ben" in unknown and "still reading this workspace's member list" in unknown

        # The scheduler's housekeeping before its first pass reads the list (one page per pass).
        handoff.services.directory.refresh()
        assert [c.method for c in slack.calls].count("users.list") == 1
        assert "Created *T-2*" in _text(bot.delegate("@ben Send the payroll report"))
        assert _person(bot, "UMIA").real_name == "Mia Manager"  # everyone, not only who used Handoff


def test_the_member_list_is_read_again_only_every_few_hours_one_page_per_pass(
    slack: SlackStandIn, db_url: str, clock: FakeClock
) -> None:
    for n in range(250):  # more than one page of 200
        slack.add_user(f"UPEOPLE{n:03d}", f"person{n}")
    upgrade(db_url)
    handoff = create_app(settings_for(slack, db_url), db=Database.from_url(db_url), clock=clock)
    directory = handoff.services.directory
    try:
        def listed() -> int:
            return len(slack.calls_to("users.list"))

        assert directory.list_page() is True and listed() == 1  # page one; more to read
        assert directory.list_page() is False and listed() == 2  # the last page
        with handoff.services.db.read() as session:
            assert session.exec(select(Person).where(Person.name == "person249")).one()
        clock.advance(hours=1)
        assert directory.list_page() is False and listed() == 2  # nothing owed yet
        clock.advance(seconds=LIST_EVERY.total_seconds())
        assert directory.list_page() is True and listed() == 3  # a new page-through starts
    finally:
        handoff.close()


def test_user_change_and_team_join_update_the_directory_at_once(bot: Bot) -> None:
    renamed = bot.slack.add_user(ANA, "ana.b", real_name="Ana Brown", tz="Asia/Tokyo", is_admin=True, locale="fr-FR")
    renamed.pop("locale")  # events carry no locale (only calls that ask with include_locale get it)
    assert bot.client.event({"type": "user_change", "user": renamed}).status == 200
    joined = bot.slack.add_user("UNEW", "nora", real_name="Nora New", tz="Europe/Paris")
    assert bot.client.event({"type": "team_join", "user": joined}).status == 200
    ana = _person(bot, ANA)
    assert (ana.name, ana.real_name, ana.tz, ana.slack_admin) == ("ana.b", "Ana Brown", "Asia/Tokyo", True)
    assert ana.locale == "en-GB"  # the known one stays

    bot.slack.add_member(GENERAL, "UNEW")
    methods = _methods_during(bot, lambda: bot.delegate("@nora Send the payroll report"))
    assert "users.list" not in methods
    assert bot.task(1).assignee_id == "UNEW"
    assert "Created *T-2*" in _text(bot.delegate("@ana.b Book the flights"))
    # The requester's own zone follows the change too (the in-memory copy was dropped).
    assert bot.handoff.services.directory.person(TEAM, ANA).tz == "Asia/Tokyo"


def test_a_user_change_that_does_not_fit_is_refused_and_changes_nothing(bot: Bot) -> None:
    bot.delegate("<@UANA> Warm up")
    before = _person(bot, ANA).name
    for user in ({"id": "not an id"}, {"id": ANA, "tz": "x" * 65}, {"id": ANA, "name": 5}):
        assert bot.client.event({"type": "user_change", "user": user}).status == 400, user
    assert bot.client.event({"type": "team_join"}).status == 400
    assert _person(bot, ANA).name == before


def test_a_reaction_on_a_bot_message_that_is_no_card_is_answered_at_once(bot: Bot) -> None:
    bot.delegate("Check the shared inbox")
    bot.deliver()
    # A message of the bot's own that is not a card (as a digest line is), in the pool channel.
    line = bot.slack.add_message(POOL, bot.slack.bot_user_id, "📋 3 tasks are open")["ts"]
    with bot.statements() as seen:
        assert bot.client.reaction_added(ANA, "raised_hand", POOL, line).status == 200
    lookups = [s for s in seen if "card_ts" in s]
    assert len(lookups) <= 2, f"looked for a card {len(lookups)} times"
    assert bot.task(1).assignee_id is None


def test_a_reaction_may_wait_only_while_a_card_for_that_channel_is_on_its_way(bot: Bot) -> None:
    bot.delegate("Check the shared inbox")  # its card for the pool is queued, not posted yet
    elsewhere = bot.slack.add_message(GENERAL, bot.slack.bot_user_id, "📋 3 tasks are open")["ts"]
    with bot.statements() as seen:
        assert bot.client.reaction_added(RITA, "raised_hand", GENERAL, elsewhere).status == 200
    assert len([s for s in seen if "card_ts" in s]) <= 2, "waited for a card of another channel"
    # In the pool, the ✋ may be on that very card, whose place the worker has not recorded yet: look again.
    here = bot.slack.add_message(POOL, bot.slack.bot_user_id, "📋 3 tasks are open")["ts"]
    with bot.statements() as seen:
        assert bot.client.reaction_added(RITA, "raised_hand", POOL, here).status == 200
    assert len([s for s in seen if "card_ts" in s]) > 2, "gave up on a card still on its way"
    with bot.handoff.services.db.transaction() as session:
        queued = session.execute(text("SELECT count(*) FROM outbox WHERE kind = 'card.post' AND status = 'pending'"))
        assert queued.scalar_one() == 1
