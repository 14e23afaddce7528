"""Messages into tasks through the modal: ⋯ "Delegate this message", ⚡ "New task" and `/delegate` alone.

Each test acts as people do in Slack (signed shortcuts and submissions in, Web API calls out to the strict
stand-in) and checks what they see: the modal and its field errors, the card, the source thread's lines.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlmodel import select

from models.tables import RecurringTask, Task
from tests.scenarios.conftest import ANA, BEN, GENERAL, MIA, POOL, PRIVATE, RITA, TEAM, Bot

_STATE = {
    "plain_text_input": ("value", "initial_value"),
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "static_select": ("selected_option", "initial_option"),
}


def modal_of(bot: Bot, user: str) -> dict[str, Any]:
    """The one creation modal open on `user`'s screen."""
    modals = [m for m in bot.slack.snapshot(user)["modals"] if m["callback_id"] == "new_task_modal"]
    assert len(modals) == 1, modals
    return modals[0]


def state(view: dict[str, Any], **typed: Any) -> dict[str, Any]:
    """What Slack sends for the modal's inputs: each as it opened, with `typed` ({block_id: value}) changed."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        key, initial = _STATE[element["type"]]
        value = typed[block["block_id"]] if block["block_id"] in typed else copy.deepcopy(element.get(initial))
        if element["type"] == "static_select" and isinstance(value, str):
            value = next(o for o in element["options"] if o["value"] == value)
        values[block["block_id"]] = {"value": {"type": element["type"], key: value}}
    return values


def submit(bot: Bot, user: str, view: dict[str, Any], **typed: Any) -> Any:
    response = bot.client.view_submission(user, view, state(view, **typed))
    assert response.status == 200, response.body
    return response.json() if response.body else None


def field(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    element: dict[str, Any] = next(b for b in view["blocks"] if b.get("block_id") == block_id)["element"]
    return element


def tasks(bot: Bot) -> list[Task]:
    with bot.handoff.services.db.read() as session:
        return list(session.exec(select(Task).order_by(Task.number)))


def context_texts(view_or_blocks: Any) -> str:
    blocks = view_or_blocks["blocks"] if isinstance(view_or_blocks, dict) else view_or_blocks
    return " ".join(e.get("text", "") for b in blocks if b["type"] == "context" for e in b["elements"])


def delegate_message(bot: Bot, user: str, channel: str, message: dict[str, Any]) -> dict[str, Any]:
    response = bot.client.shortcut(user, "delegate_message", message=message, channel_id=channel)
    assert response.status == 200, response.body
    return modal_of(bot, user)


def test_a_message_becomes_a_task_that_links_back_and_reports_in_its_thread(bot: Bot) -> None:
    message = bot.slack.add_message(
        GENERAL, ANA, f"<@{BEN}> Send the W-9 to Acme by Friday 5pm #client-acme\nThey asked twice &amp; are waiting."
    )
    view = delegate_message(bot, RITA, GENERAL, message)
    # Prefilled with the message read by the /delegate grammar; the author shown.
    assert field(view, "title")["initial_value"] == "Send the W-9 to Acme"
    assert field(view, "assignee")["initial_user"] == BEN
    assert field(view, "channel")["initial_conversation"] == GENERAL
    assert field(view, "due_date")["initial_date"] == "2026-11-27"
    assert field(view, "due_time")["initial_time"] == "17:00"  # Rita's zone, New York
    assert field(view, "tags")["initial_value"] == "#client-acme"
    assert "They asked twice & are waiting." in field(view, "details")["initial_value"]
    assert f"<@{ANA}>'s message" in context_texts(view)

    assert submit(bot, RITA, view) is None  # closes the modal
    assert bot.slack.open_views == []
    bot.deliver()
    task = bot.task(1)
    assert (task.assignee_id, task.requester_id, task.card_channel_id) == (BEN, RITA, GENERAL)
    assert (task.source_channel_id, task.source_ts, task.source_author_id) == (GENERAL, message["ts"], ANA)
    assert task.source_url == bot.slack.permalink(GENERAL, message["ts"])
    assert task.details is not None and task.details.endswith("They asked twice & are waiting.")
    card = bot.card(1)
    assert f"<{task.source_url}|a message> by <@{ANA}>" in context_texts(card["blocks"])
    assert any(b.get("block_id") == "details" for b in card["blocks"])
    # The source message's thread hears once that it became a task, linking the card.
    lines = bot.slack.messages(GENERAL, thread_ts=message["ts"])
    assert len(lines) == 1 and f"<{task.card_url}|T-1>" in lines[0]["text"] and f"<@{BEN}>" in lines[0]["text"]
    # Rita, who acted, is told what was made.
    assert any("Created" in e["text"] and "T-1" in e["text"] for e in bot.slack.ephemerals(RITA))

    bot.client.click_button(BEN, GENERAL, str(task.card_ts), "task_done")
    bot.deliver()
    lines = bot.slack.messages(GENERAL, thread_ts=message["ts"])
    assert len(lines) == 2 and "is done" in lines[1]["text"] and f"<@{BEN}>" in lines[1]["text"]


def test_a_reply_in_a_thread_links_to_itself_in_that_thread(bot: Bot) -> None:
    parent = bot.slack.add_message(GENERAL, ANA, "Month-end close")
    reply = bot.slack.add_message(GENERAL, MIA, "Can someone chase the bank statement?", thread_ts=parent["ts"])
    reply["thread_ts"] = parent["ts"]
    view = delegate_message(bot, RITA, GENERAL, reply)
    submit(bot, RITA, view)
    bot.deliver()
    task = bot.task(1)
    assert task.source_thread_ts == parent["ts"]
    assert task.source_url == bot.slack.permalink(GENERAL, reply["ts"])
    assert "thread_ts=" in task.source_url
    # The line goes in the thread the reply is in.
    assert any("made this into" in m["text"] for m in bot.slack.messages(GENERAL, thread_ts=parent["ts"]))


def test_the_same_message_delegated_twice_says_so_and_makes_a_second_task_only_when_submitted(bot: Bot) -> None:
    message = bot.slack.add_message(GENERAL, ANA, "Renew the Xero subscription")
    submit(bot, RITA, delegate_message(bot, RITA, GENERAL, message))
    bot.deliver()
    again = delegate_message(bot, MIA, GENERAL, message)
    assert "already" in context_texts(again) and "T-1" in context_texts(again)
    bot.client.view_closed(MIA, again)
    assert len(tasks(bot)) == 1


def test_the_global_shortcut_opens_an_empty_form_and_wrong_fields_are_shown_under_each(bot: Bot) -> None:
    response = bot.client.shortcut(RITA, "new_task")
    assert response.status == 200
    view = modal_of(bot, RITA)
    assert "initial_value" not in field(view, "title")
    assert field(view, "channel").get("default_to_current_conversation") is True
    answer = submit(
        bot, RITA, view, title="Payroll", due_date="2026-11-20", tags="#ok no!pe", assignee=bot.slack.bot_user_id,
        repeat="every blue moon",
    )
    assert answer["response_action"] == "errors"
    errors = answer["errors"]
    assert set(errors) == {"due_date", "tags", "assignee", "repeat"}
    assert "past" in errors["due_date"] and "bot" in errors["assignee"] and "not a tag" in errors["tags"]
    assert "<@" not in errors["assignee"]  # shown literally by Slack: names, not ids
    # Nothing was made, and the form is still open with the errors under the fields.
    assert tasks(bot) == [] and bot.deliver().sent == 0
    shown = modal_of(bot, RITA)
    assert set(shown["errors"]) == set(errors)

    answer = submit(bot, RITA, shown, title="Payroll run", due_date="2026-11-27", due_time="14:30", tags="#payroll",
                    priority="urgent", channel=POOL)
    assert answer is None
    bot.deliver()
    task = bot.task(1)
    assert task.assignee_id is None and task.card_channel_id == POOL and task.tags == ["payroll"]
    assert task.priority == "urgent" and task.source_channel_id is None
    assert task.due_at is not None and task.due_at.isoformat() == "2026-11-27T19:30:00+00:00"  # 14:30 New York


def test_a_due_time_without_a_day_or_a_schedule_with_a_date_is_refused_on_the_field(bot: Bot) -> None:
    bot.client.shortcut(RITA, "new_task")
    view = modal_of(bot, RITA)
    answer = submit(bot, RITA, view, title="x", due_time="09:00", channel=GENERAL)
    assert set(answer["errors"]) == {"due_date"}
    answer = submit(bot, RITA, modal_of(bot, RITA), title="x", due_date="2026-12-01", repeat="every Monday",
                    channel=GENERAL)
    assert set(answer["errors"]) == {"repeat"}
    assert tasks(bot) == []


def test_a_double_submit_makes_one_task(bot: Bot) -> None:
    bot.client.shortcut(RITA, "new_task")
    view = modal_of(bot, RITA)
    values = state(view, title="Close the books", channel=GENERAL)
    first = bot.client.view_submission(RITA, copy.deepcopy(view), values)
    second = bot.client.view_submission(RITA, copy.deepcopy(view), values)
    assert first.status == second.status == 200
    bot.deliver()
    assert [t.title for t in tasks(bot)] == ["Close the books"]
    assert len([m for m in bot.slack.messages(GENERAL) if "Close the books" in m.get("text", "")]) == 1


def test_delegate_alone_opens_the_form_for_this_channel_and_help_still_helps(bot: Bot) -> None:
    response = bot.client.command(RITA, "/delegate", "", channel_id=GENERAL)
    assert response.status == 200 and not response.body
    view = modal_of(bot, RITA)
    assert field(view, "channel")["initial_conversation"] == GENERAL
    assert "/delegate @ana" in bot.delegate("help")["text"]


def test_a_repeating_task_from_the_form_keeps_its_details_for_each_instance(bot: Bot) -> None:
    bot.client.shortcut(RITA, "new_task")
    submit(bot, RITA, modal_of(bot, RITA), title="Payroll report", details="Use the Gusto export.",
           assignee=ANA, channel=GENERAL, repeat="every Monday 9am")
    with bot.handoff.services.db.read() as session:
        recurring = session.exec(select(RecurringTask)).one()
    assert recurring.details == "Use the Gusto export." and recurring.assignee_id == ANA
    bot.deliver()
    assert any("R-1" in e["text"] for e in bot.slack.ephemerals(RITA))


def test_a_source_the_bot_cannot_reach_still_gets_a_card_that_links_to_it(bot: Bot) -> None:
    message = bot.slack.add_message(PRIVATE, ANA, "Payroll for December")
    submit(bot, RITA, delegate_message(bot, RITA, PRIVATE, message), channel=GENERAL)
    report = bot.deliver()
    task = bot.task(1)
    # Slack's link to it, though the bot can't read it: the author's channel-mates can follow it.
    assert task.card_ts is not None and task.source_url is not None
    assert task.source_url.endswith(f"/archives/{PRIVATE}/p{message['ts'].replace('.', '')}")
    assert report.dead == 0 and report.retried == 0  # the thread line is skipped, not retried for ever
    assert bot.deliver().touched == 0
    assert bot.slack.messages(PRIVATE, thread_ts=message["ts"]) == []


def test_managers_turn_the_source_thread_lines_off(bot: Bot) -> None:
    refused = bot.tasks("source-replies off", user=RITA)
    assert "can't" in refused["text"]
    assert "no longer" in bot.tasks("source-replies off", user=MIA)["text"]
    assert "*off*" in bot.tasks("source-replies", user=RITA)["text"]
    message = bot.slack.add_message(GENERAL, ANA, "Check the shared inbox")
    submit(bot, RITA, delegate_message(bot, RITA, GENERAL, message))
    bot.deliver()
    assert bot.task(1).source_url is not None
    assert bot.slack.messages(GENERAL, thread_ts=message["ts"]) == []
    with bot.handoff.services.db.read() as session:
        assert session.exec(select(Task.team_id)).all() == [TEAM]
