"""`/delegate` end to end: the card, the DM, the confirmation, and friendly refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from models.enums import Priority, TaskStatus
from models.tables import Outbox, Task
from tests.scenarios.conftest import ANA, GENERAL, POOL, RITA, Bot


def _text(message: dict[str, object]) -> str:
    """Everything a person reads in a message: its text and its blocks."""
    return str(message.get("text", "")) + json.dumps(message.get("blocks") or [], ensure_ascii=False)


def _stored(bot: Bot) -> list[Task]:
    with bot.handoff.services.db.transaction() as session:
        return list(session.exec(select(Task)))


def test_delegate_to_a_mentioned_person(bot: Bot) -> None:
    answer = bot.delegate("<@UANA|ana> Reconcile October invoices by Friday 5pm !high #bookkeeping")
    # One confirmation, the command's own answer, saying what was understood (Friday 5pm in New York).
    assert answer["text"] == (
        "✅ Created *T-1* for <@UANA>: Reconcile October invoices · due *Fri 27 Nov at 17:00 EST* · "
        "priority *🔺 High* · `#bookkeeping`. Its card is going up in <#CGENERAL>."
    )
    report = bot.deliver()
    assert report.dead == 0 and report.retried == 0

    task = bot.task(1)
    # Wednesday 25 Nov 2026; Friday 17:00 in New York (the requester's zone) is 22:00 UTC.
    assert task.due_at == datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    assert (task.title, task.assignee_id, task.requester_id) == ("Reconcile October invoices", ANA, RITA)
    assert task.priority is Priority.HIGH and task.tags == ["bookkeeping"]

    card = bot.card(1)
    shown = _text(card)
    assert task.card_channel_id == GENERAL
    for expected in ("T-1", "Reconcile October invoices", "<@UANA>", "<@URITA>", "High", "#bookkeeping",
                     "Assigned", "<!date^1795816800^"):
        assert expected in shown, expected
    buttons = [e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["task_start", "task_done", "task_block", "task_details", "task_menu"]

    dm = bot.slack.dms(ANA)
    assert len(dm) == 1 and "delegated" in dm[0]["text"] and "Reconcile October invoices" in dm[0]["text"]
    # The DM links to the card by Slack's own permalink, made from the workspace's address (auth.test):
    # no chat.getPermalink round trip per card.
    assert task.card_ts is not None and task.card_url == bot.slack.permalink(GENERAL, task.card_ts)
    assert task.card_url in json.dumps(dm[0]) and bot.slack.calls_to("chat.getPermalink") == []

    assert bot.slack.responses == [] and bot.slack.ephemerals(RITA) == []  # and no second one later


def test_a_dm_fetches_the_link_its_card_could_not_get(bot: Bot) -> None:
    # Slack answers neither the workspace's address nor the card's permalink while the card goes up: the
    # card is not posted again for its link, which the DM then fetches, so it still links to the card.
    bot.slack.fail_next("auth.test", "server_error")
    bot.slack.fail_next("chat.getPermalink", "server_error")
    bot.delegate("<@UANA> Reconcile October invoices")
    report = bot.deliver()
    assert report.dead == 0 and report.retried == 0
    task = bot.task(1)
    assert task.card_ts is not None and task.card_url == bot.slack.permalink(GENERAL, task.card_ts)
    assert len(bot.slack.messages(GENERAL)) == 1
    dm = bot.slack.dms(ANA)
    assert len(dm) == 1 and task.card_url in json.dumps(dm[0])


def test_a_card_and_its_dm_cost_three_write_transactions(bot: Bot) -> None:
    # The lease; both attempts begun; both outcomes, the card's with its place and link (and the drain's
    # last lease, which finds nothing more). The card's place is not written on its own once its link
    # needs no round trip.
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()  # the first card asks Slack (auth.test) for the workspace's address once
    bot.delegate("<@UANA> Reconcile November invoices")
    with bot.recorded("commit", lambda connection: connection) as commits:
        bot.deliver()
    task = bot.task(2)
    assert task.card_ts is not None and task.card_url == bot.slack.permalink(GENERAL, task.card_ts)
    assert len(commits) == 3 + 1


def test_a_lanes_rows_begin_their_attempts_several_at_a_time(bot: Bot) -> None:
    # Ten cards and their DMs, all in #general's lane: one lease of 20 rows (of the 80 that 16 lanes ask
    # for), whose attempts begin 8, 8 and 4 at a time (each time with the outcomes of those before), then
    # the last outcomes, and the drain's next pass, whose lease finds nothing. One transaction per row
    # (24 in all) kept each message waiting its turn for the write lock.
    bot.delegate("<@UANA> Warm up")
    bot.deliver()
    for n in range(10):
        bot.delegate(f"<@UANA> Reconcile invoice batch {n}")
    with bot.recorded("commit", lambda connection: connection) as commits, bot.statements() as statements:
        report = bot.deliver()
    updates = [sql for sql in statements if sql.startswith("UPDATE outbox")]
    assert report.sent == 20
    assert len(commits) == 1 + 3 + 1 + 1
    # And a statement per kind of write in each: the lease; 8 begun; 8 sent and 8 begun; 8 sent and 4
    # begun; 4 sent (a statement per row was 41).
    assert len(updates) == 1 + 1 + 2 + 2 + 1
    for number in range(2, 12):
        task = bot.task(number)
        assert task.card_ts is not None and task.card_url == bot.slack.permalink(GENERAL, task.card_ts)
    assert len(bot.slack.dms(ANA)) == 11


def test_a_plain_at_name_is_resolved_through_the_workspace(bot: Bot) -> None:
    bot.delegate("@ana Send the payroll report tomorrow")
    bot.deliver()
    task = bot.task(1)
    assert task.assignee_id == ANA
    # "tomorrow" with no time means the end of the working day, 17:00 in New York.
    assert task.due_at == datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
    assert bot.slack.calls_to("users.list"), "plain names come from the member list the worker read"


def test_no_assignee_goes_to_the_pool_with_a_claim_button(bot: Bot) -> None:
    bot.delegate("Check the shared inbox by EOD", channel=GENERAL)
    bot.deliver()
    task = bot.task(1)
    assert task.status is TaskStatus.OPEN and task.card_channel_id == POOL
    card = bot.card(1)
    assert "Unclaimed" in _text(card)
    assert card["blocks"][-1]["elements"][0]["action_id"] == "task_claim"
    assert bot.slack.dms(ANA) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@UNOBODY> Do the thing", "can't find <@UNOBODY>"),
        ("@nobody Do the thing", "can't find anyone called @nobody"),
        ("<@UGONE|gone> Do the thing", "has left this workspace"),
        ("<@UBOT|handoff> Do the thing", "is a bot"),
        ("<@UANA> Pay the rent by yesterday", "in the past"),
        ("<@UANA> Pay the rent by Fridayy 5pm", "Fridayy 5pm"),
        ("<@UANA> !high", "description"),
        ("<@UANA> Pay rent !someday", "!someday"),
        ("<@UANA> " + "x" * 300, "limit is 250"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_stored(bot: Bot, text: str, expected: str) -> None:
    answer = bot.delegate(text)
    assert answer["text"].startswith("⚠️") and expected in answer["text"], answer["text"]
    assert _stored(bot) == []
    assert bot.deliver().sent == 0
    assert bot.slack.calls_to("chat.postMessage") == []


def test_help_explains_the_grammar(bot: Bot) -> None:
    # `/delegate` alone opens the creation modal (tests/scenarios/test_creation_modal.py).
    for text in ("help", "?"):
        answer = bot.delegate(text)
        assert "/delegate @ana" in answer["text"] and "!urgent" in answer["text"]
    assert "/tasks done T-42" in bot.tasks("help")["text"]


def test_broadcast_mentions_cannot_be_smuggled_into_messages(bot: Bot) -> None:
    bot.delegate("<@UANA> Tell <!channel> and <!here|here> about <https://example.com|this>")
    bot.deliver()
    shown = _text(bot.card(1)) + _text(bot.slack.dms(ANA)[0])
    assert "<!channel>" not in shown and "<!here" not in shown
    assert "&lt;!channel&gt;" in shown
    assert "<https://example.com|this>" in shown  # ordinary links still work


def test_a_card_that_cannot_be_posted_is_kept_and_the_requester_told_how_to_fix_it(bot: Bot) -> None:
    bot.delegate("<@UANA> Run payroll by Friday", channel="CPRIVATE")
    report = bot.deliver()
    assert report.dead == 0
    task = bot.task(1)
    assert task.card_ts is None
    help_dm = bot.slack.dms(RITA)
    assert len(help_dm) == 1 and "/invite @Handoff" in help_dm[0]["text"]
    # The only confirmation was the command's answer; nothing claims a DM that does not exist.
    assert bot.slack.responses == []
    with bot.handoff.services.db.transaction() as session:
        card_row = session.exec(select(Outbox).where(Outbox.key == f"card.post:{task.id}")).one()
        assert card_row.status == "pending"
        assert card_row.last_error in {"not_in_channel", "channel_not_found"}  # private: not even visible

    # Someone invites the bot: Slack says so, and the card goes out at once.
    bot.slack.add_member("CPRIVATE", "UBOT")
    response = bot.client.event({"type": "member_joined_channel", "user": "UBOT", "channel": "CPRIVATE"})
    assert response.status == 200
    bot.deliver()
    task = bot.task(1)
    assert task.card_ts is not None and task.card_channel_id == "CPRIVATE"
    assert len(bot.slack.messages("CPRIVATE")) == 1
    assert len(bot.slack.dms(RITA)) == 1, "the requester is told once, not on every retry"


def test_ampersands_and_angle_brackets_show_as_typed(bot: Bot) -> None:
    # Slack escapes &, < and > in command text; the task keeps what the person typed.
    bot.delegate("<@UANA> Book R&amp;D review for 3 &lt; 5 items")
    bot.deliver()
    assert bot.task(1).title == "Book R&D review for 3 < 5 items"
    card = json.dumps(bot.card(1)["blocks"], ensure_ascii=False)
    assert "R&amp;D review for 3 &lt; 5 items" in card and "&amp;amp;" not in card
