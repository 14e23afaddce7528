"""A task in full (the detail modal) and editing it: from the card, the Home tab and `/tasks edit`."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from models.tables import TaskEvent
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, BEN, RITA, Bot


def open_modal(bot: Bot, user: str, callback_id: str) -> dict[str, Any]:
    views = [v for v in bot.slack.snapshot(user)["modals"] if v["callback_id"] == callback_id]
    assert views, [v["callback_id"] for v in bot.slack.snapshot(user)["modals"]]
    return views[-1]


def modal_text(view: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in view["blocks"] if isinstance(b.get("text"), dict))


def test_details_from_the_card_show_everything_and_its_buttons_work_there(bot: Bot) -> None:
    bot.delegate(f"<@{ANA}> Send the W-9 to Acme")
    bot.deliver()
    task = bot.task(1)
    bot.client.message_event(BEN, "Is this the Boston Acme?", task.card_channel_id, thread_ts=str(task.card_ts))
    bot.client.click_button(ANA, task.card_channel_id, str(task.card_ts), "task_details")
    view = open_modal(bot, ANA, "task_detail_modal")
    assert view["title"]["text"] == "T-1" and "Is this the Boston Acme?" in modal_text(view)
    assert "submit" not in view
    response = bot.client.act_in_view(ANA, view["id"], "task_start")
    assert response.status == 200
    assert bot.task(1).status == "in_progress"
    again = bot.slack.views[view["id"]]  # updated in place
    actions = [e["action_id"] for b in again["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "task_done" in actions and "task_start" not in actions and "task_edit" in actions


def test_the_requester_edits_and_the_assignee_hears_what_changed(bot: Bot, clock: FakeClock) -> None:
    bot.delegate(f"<@{ANA}> Send the W-9 by Friday")
    bot.deliver()
    task = bot.task(1)
    bot.client.click_button(RITA, task.card_channel_id, str(task.card_ts), "task_details")
    detail = open_modal(bot, RITA, "task_detail_modal")
    bot.client.act_in_view(RITA, detail["id"], "task_edit", "1")
    form = open_modal(bot, RITA, "task_edit_modal")
    fields = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    assert fields["title"]["initial_value"] == "Send the W-9"
    values = {
        "title": {"value": {"type": "plain_text_input", "value": "Send the signed W-9 to Acme"}},
        "details": {"value": {"type": "plain_text_input", "value": "The form is in the shared drive."}},
        "due_date": {"value": {"type": "datepicker", "selected_date": "2026-11-30"}},
        "due_time": {"value": {"type": "timepicker", "selected_time": "12:00"}},
        "priority": {"value": {"type": "static_select", "selected_option": {"value": "high", "text": {
            "type": "plain_text", "text": "High"}}}},
        "tags": {"value": {"type": "plain_text_input", "value": "#acme"}},
    }
    past = {**values, "due_date": {"value": {"type": "datepicker", "selected_date": "2026-11-20"}}}
    refused = bot.client.view_submission(RITA, form, past)
    assert set(refused.json()["errors"]) == {"due_date"}
    saved = bot.client.view_submission(RITA, form, values)
    assert saved.status == 200 and not saved.body
    bot.deliver()
    task = bot.task(1)
    assert (task.title, task.details, task.priority, task.tags) == (
        "Send the signed W-9 to Acme", "The form is in the shared drive.", "high", ["acme"])
    assert task.due_at is not None and task.due_at.isoformat() == "2026-11-30T17:00:00+00:00"  # noon, New York
    with bot.handoff.services.db.read() as session:
        edited = session.exec(select(TaskEvent).where(TaskEvent.kind == "edited")).one()
    assert edited.detail["changed"] == ["title", "details", "due date", "priority", "tags"]
    told = bot.slack.dms(ANA)[-1]["text"]
    assert "changed the title, details, due date, priority and tags" in told and "now due" in told
    assert "Send the signed W-9 to Acme" in str(bot.card(1)["blocks"])


def test_only_the_requester_or_a_manager_may_edit(bot: Bot) -> None:
    bot.delegate(f"<@{ANA}> Send the W-9")
    bot.deliver()
    response = bot.client.command(ANA, "/tasks", "edit T-1", channel_id=bot.task(1).card_channel_id)
    assert response.status == 200
    bot.deliver()
    assert not [v for v in bot.slack.open_views if v["callback_id"] == "task_edit_modal"]
    assert any("can't edit T-1" in e["text"] for e in bot.slack.ephemerals(ANA))
    bot.client.command(RITA, "/tasks", "edit T-1", channel_id=bot.task(1).card_channel_id)
    assert open_modal(bot, RITA, "task_edit_modal")["title"]["text"] == "Edit T-1"
