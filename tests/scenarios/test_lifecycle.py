"""Claiming and moving tasks through the card (buttons, menu, modals, reactions) and `/tasks`."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from models.enums import TaskStatus
from models.tables import TaskEvent
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, BEN, GENERAL, MIA, POOL, RITA, Bot


def _shown(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks") or [], ensure_ascii=False)


def _thread(bot: Bot, number: int) -> list[str]:
    task = bot.task(number)
    assert task.card_ts is not None
    return [m["text"] for m in bot.slack.messages(task.card_channel_id, thread_ts=task.card_ts)]


def _events(bot: Bot, number: int) -> list[tuple[str, str]]:
    task = bot.task(number)
    with bot.handoff.services.db.transaction() as session:
        rows = session.exec(select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(col(TaskEvent.id)))
        return [(e.kind, e.actor_id) for e in rows]


def _pool_task(bot: Bot) -> str:
    bot.delegate("Check the shared inbox by EOD")
    bot.deliver()
    ts = bot.task(1).card_ts
    assert ts is not None
    return ts


def test_claim_by_reaction_then_a_second_claimer_is_told_who_has_it(bot: Bot) -> None:
    ts = _pool_task(bot)
    assert bot.client.reaction_added(ANA, "raised_hand", POOL, ts).status == 200
    bot.deliver()
    task = bot.task(1)
    assert task.status is TaskStatus.ASSIGNED and task.assignee_id == ANA
    card = bot.card(1)
    assert "<@UANA>" in _shown(card) and "task_start" in _shown(card)
    assert _thread(bot, 1) == ["✋ <@UANA> claimed this"]
    assert "claimed your task" in bot.slack.dms(RITA)[0]["text"]

    bot.client.reaction_added(BEN, "raised_hand::skin-tone-4", POOL, ts)
    bot.deliver()
    told = bot.slack.ephemerals(user_id=BEN)
    assert len(told) == 1 and "already belongs to <@UANA>" in told[0]["text"]
    assert bot.task(1).assignee_id == ANA


def test_removing_the_claim_reaction_before_starting_releases_the_task(bot: Bot) -> None:
    ts = _pool_task(bot)
    bot.client.reaction_added(ANA, "raised_hand", POOL, ts)
    bot.client.reaction_removed(BEN, "raised_hand", POOL, ts)  # not the claimer: nothing happens
    assert bot.task(1).assignee_id == ANA
    bot.client.reaction_removed(ANA, "raised_hand", POOL, ts)
    bot.deliver()
    task = bot.task(1)
    assert task.status is TaskStatus.OPEN and task.assignee_id is None
    assert "Unclaimed" in _shown(bot.card(1))
    assert _thread(bot, 1)[-1] == "↩️ <@UANA> released this back to the pool"


def test_eyes_starts_and_check_mark_finishes_only_for_the_assignee(bot: Bot) -> None:
    bot.delegate("<@UANA> File the VAT return")
    bot.deliver()
    ts = bot.task(1).card_ts
    assert ts is not None
    bot.client.reaction_added(BEN, "eyes", GENERAL, ts)
    bot.client.reaction_added(BEN, "white_check_mark", GENERAL, ts)
    assert bot.task(1).status is TaskStatus.ASSIGNED
    bot.client.reaction_added(ANA, "eyes", GENERAL, ts)
    assert bot.task(1).status is TaskStatus.IN_PROGRESS
    bot.client.reaction_added(ANA, "white_check_mark", GENERAL, ts)
    bot.deliver()
    assert bot.task(1).status is TaskStatus.DONE
    assert "Done" in _shown(bot.card(1)) and "task_reopen" in _shown(bot.card(1))
    assert [k for k, _ in _events(bot, 1)] == ["created", "started", "done"]


def test_simultaneous_claim_clicks_have_one_winner(bot: Bot) -> None:
    ts = _pool_task(bot)
    people = [f"UCLAIM{i}" for i in range(6)]
    for user in people:
        bot.slack.add_user(user, user.lower())
        bot.slack.add_member(POOL, user)
    barrier = threading.Barrier(len(people))
    statuses: list[int] = []

    def click(user: str) -> None:
        barrier.wait()
        statuses.append(bot.client.click_button(user, POOL, ts, "task_claim").status)

    threads = [threading.Thread(target=click, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * len(people)
    bot.deliver()
    winner = bot.task(1).assignee_id
    assert winner in people
    assert [k for k, _ in _events(bot, 1)].count("claimed") == 1
    losers = {e["user"] for e in bot.slack.ephemerals() if "already belongs to" in e["text"]}
    assert losers == set(people) - {winner}


def test_buttons_and_menu_move_a_task_and_every_step_is_in_the_thread(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices by Friday 5pm")
    bot.deliver()
    ts = bot.task(1).card_ts
    assert ts is not None
    bot.client.click_button(ANA, GENERAL, ts, "task_start")
    bot.deliver()
    assert bot.task(1).status is TaskStatus.IN_PROGRESS

    # Block from its button: a modal asks for the reason.
    bot.client.click_button(ANA, GENERAL, ts, "task_block")
    modal = bot.slack.open_views[-1]
    assert modal["callback_id"] == "task_block_modal"
    response = bot.client.view_submission(ANA, modal, {"reason": {"value": {"type": "plain_text_input",
                                                                   "value": "waiting for the bank"}}})
    assert response.status == 200
    bot.deliver()
    task = bot.task(1)
    assert task.status is TaskStatus.BLOCKED and task.blocked_reason == "waiting for the bank"
    assert "waiting for the bank" in _shown(bot.card(1))
    assert any("blocked on" in m["text"] for m in bot.slack.dms(RITA))

    bot.client.click_button(RITA, GENERAL, ts, "task_unblock")
    bot.deliver()
    bot.client.choose_option(ANA, GENERAL, ts, "task_menu", "done_note:1")
    modal = bot.slack.open_views[-1]
    bot.client.view_submission(ANA, modal, {"note": {"value": {"type": "plain_text_input", "value": "All matched"}}})
    bot.deliver()
    assert bot.task(1).status is TaskStatus.DONE
    assert any("All matched" in m["text"] for m in bot.slack.dms(RITA))
    assert _thread(bot, 1) == [
        "▶️ <@UANA> started this",
        "⛔ <@UANA> blocked this: waiting for the bank",
        "🔓 <@URITA> unblocked this",
        "✅ <@UANA> marked this done: All matched",
    ]
    # the card was updated in place, never re-posted
    assert len(bot.slack.messages(GENERAL)) == 1


def test_modal_errors_stay_under_the_field(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    ts = bot.task(1).card_ts
    assert ts is not None
    bot.client.choose_option(RITA, GENERAL, ts, "task_menu", "due:1")
    modal = bot.slack.open_views[-1]
    response = bot.client.view_submission(RITA, modal, {"due": {"value": {"type": "plain_text_input",
                                                                 "value": "last week"}}})
    body = response.json()
    assert body["response_action"] == "errors" and "due" in body["errors"]
    assert bot.task(1).due_at is None


def test_a_person_who_may_not_act_is_told_why(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    ts = bot.task(1).card_ts
    assert ts is not None
    bot.client.click_button(BEN, GENERAL, ts, "task_start")
    bot.deliver()
    told = bot.slack.ephemerals(user_id=BEN)
    assert len(told) == 1 and "You can't start T-1" in told[0]["text"] and "a manager" in told[0]["text"]
    assert bot.task(1).status is TaskStatus.ASSIGNED


def test_reassign_through_the_modal_notifies_both_people(bot: Bot, clock: FakeClock) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    ts = bot.task(1).card_ts
    assert ts is not None
    bot.client.choose_option(MIA, GENERAL, ts, "task_menu", "reassign:1")
    modal = bot.slack.open_views[-1]
    bot.client.view_submission(MIA, modal, {"assignee": {"value": {"type": "users_select", "selected_user": BEN}}})
    bot.deliver()
    assert bot.task(1).assignee_id == BEN
    assert "reassigned" in bot.slack.dms(ANA)[-1]["text"]  # 15:00 in London
    assert bot.slack.dms(BEN) == []  # 20:30 in Kolkata: his DM waits for his morning (quiet hours)
    clock.set(datetime(2026, 11, 26, 3, 30, tzinfo=UTC))
    bot.deliver()
    assert "delegated" in bot.slack.dms(BEN)[-1]["text"]


def test_clearing_the_reassign_choice_puts_a_claimed_task_back_in_the_pool(bot: Bot) -> None:
    bot.delegate("Sort the post")
    bot.deliver()
    ts, channel = bot.task(1).card_ts, bot.task(1).card_channel_id
    assert ts is not None
    bot.client.click_button(ANA, channel, ts, "task_claim")
    bot.deliver()
    bot.client.choose_option(ANA, channel, ts, "task_menu", "reassign:1")
    modal = bot.slack.open_views[-1]
    assert modal["blocks"][1]["optional"] is True
    assert modal["blocks"][1]["element"]["initial_user"] == ANA
    response = bot.client.view_submission(ANA, modal, {"assignee": {"value": {"type": "users_select",
                                                                       "selected_user": None}}})
    assert response.status == 200 and not response.body
    bot.deliver()
    task = bot.task(1)
    assert task.status is TaskStatus.OPEN and task.assignee_id is None
    assert _thread(bot, 1)[-1] == "↩️ <@UANA> released this back to the pool"


def test_tasks_command_lists_and_moves(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices by Friday 5pm #bookkeeping")
    bot.delegate("<@UBEN> Update the supplier list !urgent")
    bot.delegate("Sort the post")
    bot.deliver()

    mine = _shown(bot.tasks("", user=ANA))
    assert "T-1" in mine and "T-2" not in mine
    assert "T-1" in _shown(bot.tasks("delegated")) and "T-2" in _shown(bot.tasks("delegated"))
    pool = _shown(bot.tasks("open"))
    assert "T-3" in pool and "T-1" not in pool
    assert "T-1" in _shown(bot.tasks("#bookkeeping")) and "T-2" not in _shown(bot.tasks("#bookkeeping"))
    assert "T-2" in _shown(bot.tasks("<@UBEN|ben>")) and "T-1" not in _shown(bot.tasks("<@UBEN|ben>"))

    assert bot.tasks("claim T-3", user=BEN)["text"] == "✋ T-3 is yours."
    assert bot.tasks("start T-3", user=BEN)["text"] == "▶️ T-3 is in progress."
    assert bot.tasks("done T-3 filed everything", user=BEN)["text"].startswith("✅ T-3 is done")
    assert bot.tasks("assign T-1 @ben")["text"] == "👉 T-1 now belongs to <@UBEN>."
    assert bot.tasks("due T-1 Monday 10am")["text"] == "📅 T-1's due date is updated."
    assert bot.tasks("cancel T-2 not needed")["text"] == "🚫 T-2 is cancelled."
    bot.deliver()
    detail = _shown(bot.tasks("T-3"))
    for line in ("claimed this", "started this", "marked this done: filed everything"):
        assert line in detail
    assert bot.task(3).done_note == "filed everything"

    clock = bot.handoff.services.clock
    assert "Nothing is overdue" in _shown(bot.tasks("overdue"))
    clock.advance(days=7)  # type: ignore[attr-defined]
    assert "T-1" in _shown(bot.tasks("overdue"))


def test_tasks_command_refusals_are_friendly(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    cases = {
        "frobnicate": "I don't know `/tasks frobnicate`",
        "done": "Which task?",
        "done T-99": "There is no task T-99 in this workspace.",
        "cancel T-1": None,  # requester may: checked below
        "block T-1": "Say what is blocking",
        "due T-1 yesterday": "in the past",
        "assign T-1": "Whom to?",
    }
    for text, expected in cases.items():
        if expected is None:
            continue
        answer = bot.tasks(text)["text"]
        assert answer.startswith("⚠️") and expected in answer, (text, answer)
    answer = bot.tasks("cancel T-1", user=BEN)["text"]
    assert "You can't cancel T-1" in answer
    assert bot.task(1).status is TaskStatus.ASSIGNED


def test_the_assignees_dm_copy_of_the_card_follows_the_card(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    dm = bot.slack.dms(ANA)[0]
    dm_channel = bot.slack.dm_id(ANA)
    # Ana starts the task from her DM; the channel card and the DM copy both change, neither is re-posted.
    bot.client.click_button(ANA, dm_channel, dm["ts"], "task_start")
    bot.deliver()
    assert bot.task(1).status is TaskStatus.IN_PROGRESS
    copy = bot.slack.message(dm_channel, dm["ts"])
    shown = json.dumps(copy["blocks"], ensure_ascii=False)
    assert "In progress" in shown and "task_start" not in shown and "task_done" in shown
    assert copy["text"] == dm["text"]  # the "delegated to you" line stays; only the card part moves on
    assert len(bot.slack.dms(ANA)) == 1
    bot.client.click_button(ANA, GENERAL, bot.task(1).card_ts or "", "task_done")
    bot.deliver()
    assert "Done" in json.dumps(bot.slack.message(dm_channel, dm["ts"])["blocks"], ensure_ascii=False)


def test_modal_errors_are_plain_text_and_name_people_by_name(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    ts = bot.task(1).card_ts
    assert ts is not None
    # Ben may not change the due date, so the menu would not open it for him: Rita opens it, he submits it.
    bot.client.choose_option(RITA, GENERAL, ts, "task_menu", "due:1")
    modal = bot.slack.open_views[-1]
    assert all("(optional)" not in json.dumps(b) for b in modal["blocks"])
    response = bot.client.view_submission(BEN, modal, {"due": {"value": {"type": "plain_text_input",
                                                                 "value": "Friday 5pm"}}})
    error = response.json()["errors"]["due"]
    assert "<@" not in error and "*" not in error and "`" not in error and "&amp;" not in error
    assert "Rita Requester" in error, error
    assert bot.task(1).due_at is None
