"""Mentioning the bot, and writing to it in its DM, make tasks with the `/delegate` grammar.

Messages go in as Slack sends them (a `message` event, and an `app_mention` when the bot is mentioned in
a channel), signed; what people see is read back from the strict stand-in.
"""

from __future__ import annotations

from typing import Any

from tests.scenarios.conftest import ANA, BEN, GENERAL, MIA, POOL, PRIVATE, RITA, Bot


def ephemeral_texts(bot: Bot, user: str, channel: str) -> list[str]:
    return [e["text"] for e in bot.slack.ephemerals(user, channel)]


def context_of(blocks: list[dict[str, Any]]) -> str:
    return " ".join(e.get("text", "") for b in blocks if b["type"] == "context" for e in b["elements"])


def test_a_mention_at_the_top_of_a_channel_makes_a_task_whose_card_follows_in_the_channel(bot: Bot) -> None:
    robot = bot.slack.bot_user_id
    asked = bot.say(RITA, f"<@{robot}> <@{ANA}> send the W-9 to Acme by Friday !high", GENERAL)
    bot.deliver()
    [task] = bot.stored_tasks()
    assert (task.title, task.assignee_id, task.requester_id) == ("send the W-9 to Acme", ANA, RITA)
    assert task.priority == "high"
    assert task.card_channel_id == GENERAL and task.card_thread_ts is None
    assert (task.source_channel_id, task.source_ts, task.source_author_id) == (GENERAL, asked["ts"], RITA)
    card = bot.card(1)
    assert "thread_ts" not in card  # top level
    assert "From <" in context_of(card["blocks"]) and "by <@" not in context_of(card["blocks"])  # Rita wrote it
    # The mention's own thread says what it became; Rita is told what was understood.
    lines = bot.slack.messages(GENERAL, thread_ts=asked["ts"])
    assert len(lines) == 1 and "T-1" in lines[0]["text"]
    assert any("Created" in t and "T-1" in t for t in ephemeral_texts(bot, RITA, GENERAL))
    assert any("delegated" in m["text"] for m in bot.slack.dms(ANA))


def test_slack_delivering_a_mention_again_makes_no_second_task(bot: Bot) -> None:
    robot = bot.slack.bot_user_id
    event = {"type": "app_mention", "user": RITA, "text": f"<@{robot}> Check the shared inbox",
             "ts": "1795000000.000100", "channel": GENERAL}
    for retry in (None, 1, 2):
        response = bot.client.event(event, event_id="Ev0MENTION", retry_num=retry)
        assert response.status == 200
    bot.deliver()
    assert [t.title for t in bot.stored_tasks()] == ["Check the shared inbox"]


def test_a_mention_in_a_thread_is_about_the_threads_first_message_and_its_card_joins_the_thread(bot: Bot) -> None:
    robot = bot.slack.bot_user_id
    parent = bot.slack.add_message(GENERAL, MIA, "Year-end payroll: the W-2s are due to employees by 31 January")
    bot.say(RITA, f"<@{robot}> <@{BEN}> prepare the W-2s by Dec 20", GENERAL, thread_ts=parent["ts"])
    bot.deliver()
    [task] = bot.stored_tasks()
    assert (task.assignee_id, task.card_channel_id, task.card_thread_ts) == (BEN, GENERAL, parent["ts"])
    assert (task.source_ts, task.source_author_id) == (parent["ts"], MIA)
    card = bot.card(1)
    assert card["thread_ts"] == parent["ts"]
    assert f"by <@{MIA}>" in context_of(card["blocks"])
    assert task.card_url is not None and f"thread_ts={parent['ts']}" in task.card_url
    # No separate "made into" line: the card itself is in the thread. Its history lines go there too.
    bot.client.click_button(BEN, GENERAL, str(task.card_ts), "task_start")
    bot.deliver()
    replies = bot.slack.messages(GENERAL, thread_ts=parent["ts"])
    assert [m["ts"] for m in replies if "made this into" in m.get("text", "")] == []
    assert any("started this" in m.get("text", "") for m in replies)
    assert bot.card(1)["blocks"][1]["fields"][0]["text"].endswith("In progress")


def test_an_unreadable_mention_is_answered_in_the_same_place_and_makes_nothing(bot: Bot) -> None:
    robot = bot.slack.bot_user_id
    parent = bot.slack.add_message(GENERAL, MIA, "Quarter close")
    bot.say(RITA, f"<@{robot}> <@{ANA}> file the 941 by Fridayy", GENERAL, thread_ts=parent["ts"])
    bot.say(RITA, f"<@{robot}>", GENERAL)
    bot.deliver()
    assert bot.stored_tasks() == []
    shown = bot.slack.ephemerals(RITA, GENERAL)
    assert len(shown) == 2
    assert "Did you mean" in shown[0]["text"] and shown[0].get("thread_ts") == parent["ts"]
    assert "@Handoff @ana send the W-9" in shown[1]["text"] and not shown[1].get("thread_ts")


def test_a_plain_message_in_a_channel_and_one_where_the_bot_is_not_make_nothing(bot: Bot) -> None:
    bot.say(RITA, f"<@{ANA}> can you send the W-9 by Friday?", GENERAL)
    robot = bot.slack.bot_user_id
    bot.say(RITA, f"<@{robot}> <@{ANA}> send the payroll file", PRIVATE)  # Slack delivers nothing from there
    bot.deliver()
    assert bot.stored_tasks() == []


def test_in_the_dm_people_delegate_and_ask_what_tasks_answers(bot: Bot) -> None:
    dm = bot.slack.dm_id(RITA)
    bot.say(RITA, f"<@{ANA}> send the W-9 by Friday", dm)
    bot.say(RITA, "Open the post and scan the invoices by tomorrow", dm)  # "Open…" starts a title here
    bot.deliver()
    first, second = bot.stored_tasks()
    assert (first.assignee_id, first.card_channel_id) == (ANA, dm)  # the card in this DM, Ana her copy
    assert first.source_channel_id is None  # typed to the bot: nothing to link back to
    assert (second.assignee_id, second.card_channel_id) == (None, POOL)
    assert second.title == "Open the post and scan the invoices"
    said = [m.get("text", "") for m in bot.slack.dms(RITA)]
    assert any(t.startswith("T-1") for t in said)  # the card
    assert sum("Created" in t for t in said) == 2
    assert any("delegated" in m["text"] and "T-1" in m["text"] for m in bot.slack.dms(ANA))

    bot.say(RITA, "delegated", dm)
    bot.say(RITA, "T-1", dm)
    bot.say(RITA, "help", dm)
    bot.say(RITA, "tasks assign T-2 @ben", dm)
    bot.deliver()
    said = [m.get("text", "") for m in bot.slack.dms(RITA)]
    assert any("Tasks you delegated" in t for t in said)
    assert any("Here in our DM" in t for t in said)
    assert any("T-2 now belongs to" in t for t in said)
    assert bot.task(2).assignee_id == BEN

    ana_dm = bot.slack.dm_id(ANA)
    bot.say(ANA, "done T-1", ana_dm)
    bot.say(ANA, "start T-2", ana_dm)  # not hers: refused, in words, where she asked
    bot.deliver()
    assert bot.task(1).status == "done" and bot.task(2).status == "assigned"
    assert any(m.get("text", "").startswith("⚠️") for m in bot.slack.dms(ANA))


def test_a_dm_the_grammar_cannot_read_gets_the_reason_there(bot: Bot) -> None:
    dm = bot.slack.dm_id(RITA)
    bot.say(RITA, f"<@{ANA}> send the W-9 by Feb 30", dm)
    bot.deliver()
    assert bot.stored_tasks() == []
    assert bot.slack.dms(RITA)[-1]["text"].startswith("⚠️")
