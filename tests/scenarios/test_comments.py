"""Replies in a card's thread are comments: in the task's history, and told, batched, to whom they concern."""

from __future__ import annotations

from sqlmodel import select

from models.tables import TaskEvent
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, BEN, GENERAL, MIA, RITA, Bot


def comments(bot: Bot) -> list[TaskEvent]:
    with bot.handoff.services.db.read() as session:
        return list(session.exec(select(TaskEvent).where(TaskEvent.kind == "comment").order_by(TaskEvent.id)))


def dm_texts(bot: Bot, user: str) -> list[str]:
    return [m.get("text", "") for m in bot.slack.dms(user)]


def test_replies_in_a_cards_thread_are_comments_told_once_per_few_minutes(bot: Bot, clock: FakeClock) -> None:
    bot.delegate(f"<@{ANA}> Send the W-9 to Acme")
    bot.deliver()
    card = bot.task(1)
    thread = str(card.card_ts)
    bot.client.message_event(BEN, "Is this the Acme from Boston?", GENERAL, thread_ts=thread)
    bot.client.message_event(MIA, "Yes, the Boston one &amp; only", GENERAL, thread_ts=thread)
    assert [c.actor_id for c in comments(bot)] == [BEN, MIA]
    # /tasks T-1 shows them in the history.
    detail = " ".join(b["text"]["text"] for b in bot.tasks("T-1")["blocks"] if "text" in b)
    assert f"💬 <@{BEN}>: Is this the Acme from Boston?" in detail and "the Boston one &amp; only" in detail
    before = {u: len(dm_texts(bot, u)) for u in (ANA, RITA)}
    bot.deliver()
    assert {u: len(dm_texts(bot, u)) for u in (ANA, RITA)} == before  # batched: not yet
    clock.advance(minutes=5)
    bot.deliver()
    for user in (ANA, RITA):
        [told] = dm_texts(bot, user)[before[user]:]
        assert told.startswith("💬 2 new comments on")
    # Ana answers: Rita hears of it; Ana is not told of her own words.
    bot.client.message_event(ANA, "Sent it this morning", GENERAL, thread_ts=thread)
    clock.advance(minutes=5)
    bot.deliver()
    assert dm_texts(bot, RITA)[-1].startswith("💬 1 new comment on")
    assert not dm_texts(bot, ANA)[-1].startswith("💬 1 new comment")


def test_the_bots_own_thread_lines_a_retry_and_other_threads_make_no_comment(bot: Bot) -> None:
    bot.delegate("Order toner")
    bot.deliver()
    card = bot.task(1)
    bot.client.click_button(ANA, GENERAL if card.card_channel_id == GENERAL else card.card_channel_id,
                            str(card.card_ts), "task_claim")
    bot.deliver()  # the bot's "claimed this" line goes into the thread
    event = {"type": "message", "user": BEN, "text": "I can pick it up at lunch", "ts": "1795000000.000200",
             "thread_ts": str(card.card_ts), "channel": card.card_channel_id, "channel_type": "channel"}
    for retry in (None, 1):
        bot.client.event(event, event_id="Ev0REPLY", retry_num=retry)
    other = bot.slack.add_message(GENERAL, RITA, "Lunch plans?")
    bot.client.message_event(BEN, "Tacos", GENERAL, thread_ts=other["ts"])
    assert [c.detail["text"] for c in comments(bot)] == ["I can pick it up at lunch"]


def test_a_card_posted_into_a_thread_takes_the_replies_after_it(bot: Bot) -> None:
    parent = bot.slack.add_message(GENERAL, MIA, "Year-end close")
    bot.client.message_event(RITA, "Before the card", GENERAL, thread_ts=parent["ts"])
    bot.client.message_event(RITA, f"<@{bot.slack.bot_user_id}> <@{BEN}> prepare the W-2s", GENERAL,
                             thread_ts=parent["ts"])
    bot.deliver()
    bot.client.message_event(BEN, "Starting on them now", GENERAL, thread_ts=parent["ts"])
    assert [c.detail["text"] for c in comments(bot)] == ["Starting on them now"]
