"""🎫 on any message, and intake channels, turn messages into tasks without anyone typing a command."""

from __future__ import annotations

from dataclasses import replace

from bot.settings import SettingsError, load_settings
from tests.scenarios.conftest import ANA, BEN, GENERAL, MIA, POOL, PRIVATE, RITA, Bot


def react(bot: Bot, user: str, channel: str, ts: str, name: str = "ticket") -> None:
    response = bot.client.reaction_added(user, name, channel, ts)
    assert response.status == 200, response.body


def test_a_ticket_reaction_makes_one_pool_task_however_often_it_is_given(bot: Bot) -> None:
    message = bot.slack.add_message(GENERAL, ANA, "The printer on 3 is out of toner again by tomorrow 10am\nTray 2.")
    react(bot, RITA, GENERAL, message["ts"])
    react(bot, RITA, GENERAL, message["ts"])  # again
    react(bot, MIA, GENERAL, message["ts"])  # someone else
    react(bot, RITA, GENERAL, message["ts"], "ticket::skin-tone-2")
    bot.deliver()
    [task] = bot.stored_tasks()
    assert (task.requester_id, task.assignee_id, task.card_channel_id) == (RITA, None, POOL)
    assert task.title == "The printer on 3 is out of toner again" and task.due_at is not None
    assert task.details is not None and task.details.endswith("Tray 2.")
    assert (task.source_ts, task.source_author_id) == (message["ts"], ANA)
    # The message's thread says where its task is; the card, in the pool, links back.
    lines = bot.slack.messages(GENERAL, thread_ts=message["ts"])
    assert len(lines) == 1 and "T-1" in lines[0]["text"]
    assert task.source_url is not None


def test_without_a_pool_channel_the_card_goes_into_the_messages_thread(bot: Bot) -> None:
    services = bot.handoff.services
    services.settings = replace(services.settings, pool_channel=None)
    message = bot.slack.add_message(GENERAL, ANA, "<@UBEN> renew the domain")
    react(bot, RITA, GENERAL, message["ts"])
    bot.deliver()
    [task] = bot.stored_tasks()
    assert task.assignee_id is None  # a 🎫 makes a pool task, whoever the message names
    assert (task.card_channel_id, task.card_thread_ts) == (GENERAL, message["ts"])
    assert bot.card(1)["thread_ts"] == message["ts"]


def test_a_ticket_on_a_card_or_a_message_already_made_into_a_task_makes_nothing(bot: Bot) -> None:
    bot.delegate("Pay the invoices")
    bot.deliver()
    card = bot.task(1)
    react(bot, RITA, card.card_channel_id, str(card.card_ts))
    message = bot.slack.add_message(GENERAL, ANA, "Order the new laptops")
    react(bot, RITA, GENERAL, message["ts"])
    react(bot, BEN, GENERAL, message["ts"])
    bot.deliver()
    assert [t.title for t in bot.stored_tasks()] == ["Pay the invoices", "Order the new laptops"]


def test_an_intake_channel_makes_a_task_of_every_new_message_and_of_nothing_else(bot: Bot) -> None:
    refused = bot.tasks("intake here", user=RITA)
    assert "can't" in refused["text"]
    assert "intake channel" in bot.tasks("intake here", user=MIA)["text"]
    first = bot.say(RITA, f"<@{ANA}> send the W-9 to Acme by Friday", GENERAL)
    bot.say(BEN, "Refund the duplicate charge for order 1182 !urgent #refunds", GENERAL)
    bot.say(ANA, "On it", GENERAL, thread_ts=first["ts"])  # a reply: not a request
    bot.say(RITA, f"<@{bot.slack.bot_user_id}> Check the inbox", GENERAL)  # a mention: its own task, once
    bot.say(RITA, "Cancel the old Zoom plan by yesterday", GENERAL)  # can't be read: kept, and said so
    bot.deliver()
    made = bot.stored_tasks()
    assert [t.title for t in made] == [
        "send the W-9 to Acme", "Refund the duplicate charge for order 1182", "Check the inbox",
        "Cancel the old Zoom plan by yesterday",
    ]
    w9, refund, _, zoom = made
    assert (w9.assignee_id, w9.requester_id, w9.card_channel_id, w9.card_thread_ts) == (ANA, RITA, GENERAL, first["ts"])
    assert (refund.assignee_id, refund.requester_id, refund.card_channel_id) == (None, BEN, POOL)
    assert refund.priority == "urgent" and refund.tags == ["refunds"]
    assert zoom.due_at is None
    assert any("kept the words as the title" in e["text"] for e in bot.slack.ephemerals(RITA, GENERAL))

    # A file shared with a comment is a request; a file alone, and a bot's message, are not.
    for n, (subtype, text, extra) in enumerate([
        ("file_share", "Please file this receipt", {"user": ANA}), ("file_share", "", {"user": ANA}),
        ("bot_message", "Deploy finished", {"bot_id": "B0CI"}),
    ]):
        bot.client.event({"type": "message", "subtype": subtype, "text": text, "ts": f"1795000100.00010{n}",
                          "channel": GENERAL, "channel_type": "channel", "files": [{"id": f"F{n}"}], **extra})
    bot.deliver()
    receipt = bot.stored_tasks()[-1]
    assert (receipt.title, receipt.requester_id, receipt.source_ts) == ("Please file this receipt", ANA,
                                                                        "1795000100.000100")
    assert len(bot.stored_tasks()) == 5

    assert "no longer" in bot.tasks("intake off", user=MIA)["text"]
    bot.say(RITA, "One more thing", GENERAL)
    bot.deliver()
    assert len(bot.stored_tasks()) == 5


def test_intake_refuses_a_dm_and_explains_its_words(bot: Bot) -> None:
    assert "not a DM" in bot.tasks("intake here", user=MIA, channel=bot.slack.dm_id(MIA))["text"]
    assert "/tasks intake here" in bot.tasks("intake", user=MIA)["text"]
    assert bot.tasks("intake here", user=MIA, channel=PRIVATE)["text"].startswith("📥")


def test_the_ticket_emoji_cannot_be_a_cards_reaction() -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "HANDOFF_TASK_EMOJI": "ticket,raised_hand"}
    try:
        load_settings(env, dotenv_path=None)
    except SettingsError as error:
        assert "raised_hand" in str(error)
    else:
        raise AssertionError("accepted a 🎫 emoji that also claims")
