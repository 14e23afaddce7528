"""Wrong task references and claims that can't be: every surface answers in the same words."""

from __future__ import annotations

import copy

import pytest

from models.enums import TaskStatus
from sandbox.client import element_action
from tests.scenarios.conftest import ANA, BEN, GENERAL, MIA, POOL, RITA, Bot

NOT_FOUND = "⚠️ There is no task {ref} in this workspace.\n`/tasks` lists your tasks; `/tasks open` the pool."


@pytest.mark.parametrize(
    ("typed", "ref"),
    [
        ("T-999", "T-999"),
        ("T-0", "T-0"),
        ("#0", "T-0"),
        ("t-0042", "T-42"),
        ("T-99999999999", "T-99999999999"),
        ("done T-999", "T-999"),
        ("done T-0", "T-0"),
        ("claim T-99999999999", "T-99999999999"),
        ("start 0", "T-0"),
        ("block T-0 waiting for the bank", "T-0"),
        ("due T-999 Friday 5pm", "T-999"),
    ],
)
def test_a_task_reference_that_names_no_task_gets_one_answer(bot: Bot, typed: str, ref: str) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    assert bot.tasks(typed, user=ANA)["text"] == NOT_FOUND.format(ref=ref)
    assert bot.task(1).status is TaskStatus.ASSIGNED


def test_stale_buttons_and_menu_entries_get_the_same_answer_as_a_typed_reference(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    card = bot.card(1)
    channel, ts = GENERAL, str(card["ts"])
    # The card's own elements, as from a copy of the card whose task this workspace no longer has.
    done = element_action(card["blocks"], "task_done")
    block = element_action(card["blocks"], "task_block")  # a button that opens a modal
    for button, value in ((done, "999"), (done, "0"), (block, "999")):
        stale = {**copy.deepcopy(button), "value": value}
        assert bot.client.block_action(ANA, stale, channel_id=channel, message_ts=ts, message=card).status == 200
    # A menu entry that opens a modal, and one that acts at once (older cards still carry "release").
    for verb in ("reassign", "release"):
        option = copy.deepcopy(element_action(card["blocks"], "task_menu", "reassign:1"))
        option["selected_option"]["value"] = f"{verb}:999"
        assert bot.client.block_action(ANA, option, channel_id=channel, message_ts=ts, message=card).status == 200
    bot.deliver()
    told = [e["text"] for e in bot.slack.ephemerals(user_id=ANA)]
    assert told == [NOT_FOUND.format(ref=r) for r in ("T-999", "T-0", "T-999", "T-999", "T-999")]
    assert bot.slack.open_views == []
    assert bot.task(1).status is TaskStatus.ASSIGNED


def _finish(bot: Bot, how: str) -> None:
    bot.delegate("Check the shared inbox")
    bot.tasks("claim T-1", user=ANA)
    if how == "done":
        bot.tasks("done T-1", user=ANA)
    else:
        bot.tasks("cancel T-1")  # by its requester
    bot.deliver()


@pytest.mark.parametrize(("how", "words"), [("done", "is already done"), ("cancel", "is cancelled")])
def test_claiming_a_finished_task_says_it_is_finished_and_who_may_reopen_it(bot: Bot, how: str, words: str) -> None:
    _finish(bot, how)
    # Its own assignee is offered the reopen; someone else is sent to the requester.
    mine = bot.tasks("claim T-1", user=ANA)["text"]
    assert mine == (
        f"⚠️ T-1 {words}, so there is nothing to claim.\nIf there is more to do, reopen it: `/tasks reopen T-1`."
    )
    theirs = bot.tasks("claim T-1", user=BEN)["text"]
    assert theirs == (
        f"⚠️ T-1 {words}, so there is nothing to claim.\n"
        "If there is more to do, ask its requester (<@URITA>) to reopen it."
    )
    # A manager may reopen it, and is told so.
    assert "reopen it: `/tasks reopen T-1`" in bot.tasks("claim T-1", user=MIA)["text"]
    task = bot.task(1)
    assert task.status is TaskStatus(how if how == "done" else "cancelled") and task.assignee_id == ANA


def test_claiming_a_finished_task_from_its_stale_card_button_says_the_same(bot: Bot) -> None:
    bot.delegate("Check the shared inbox")
    bot.deliver()
    pool_card = bot.card(1)  # as first posted: with its Claim button
    bot.tasks("claim T-1", user=ANA)
    bot.tasks("done T-1", user=ANA)
    bot.deliver()
    claim = element_action(pool_card["blocks"], "task_claim")
    bot.client.block_action(ANA, claim, channel_id=POOL, message_ts=str(pool_card["ts"]), message=pool_card)
    bot.deliver()
    told = bot.slack.ephemerals(user_id=ANA)[-1]["text"]
    assert told.startswith("⚠️ T-1 is already done, so there is nothing to claim.")
    assert "`/tasks reopen T-1`" in told
    assert bot.task(1).status is TaskStatus.DONE


def test_claiming_a_task_that_is_someone_elses_names_them_in_every_state(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    expected = {
        "assigned": "T-1 already belongs to <@UANA> (assigned and not started).",
        "in_progress": "T-1 already belongs to <@UANA> (in progress).",
        "blocked": "T-1 already belongs to <@UANA> (blocked).",
    }
    for state, words in expected.items():
        if state == "in_progress":
            bot.tasks("start T-1", user=ANA)
        if state == "blocked":
            bot.tasks("block T-1 waiting for the bank", user=ANA)
        assert bot.task(1).status is TaskStatus(state)
        assert bot.tasks("claim T-1", user=BEN)["text"].startswith(f"⚠️ {words}")
        assert bot.task(1).assignee_id == ANA


def test_claiming_your_own_task_again_changes_nothing_and_says_where_it_stands(bot: Bot) -> None:
    bot.delegate("Check the shared inbox")
    assert bot.tasks("claim T-1", user=ANA)["text"] == "✋ T-1 is yours."
    assert bot.tasks("claim T-1", user=ANA)["text"] == "✋ T-1 is yours."
    bot.tasks("start T-1", user=ANA)
    assert bot.tasks("claim T-1", user=ANA)["text"] == "✋ T-1 is already yours; it is in progress."
    bot.tasks("block T-1 waiting for the bank", user=ANA)
    assert bot.tasks("claim T-1", user=ANA)["text"] == "✋ T-1 is already yours; it is blocked."
    assert bot.task(1).status is TaskStatus.BLOCKED
    # The requester typing claim on a pool task takes it like anyone else.
    bot.delegate("Sort the post")
    assert bot.tasks("claim T-2", user=RITA)["text"] == "✋ T-2 is yours."
