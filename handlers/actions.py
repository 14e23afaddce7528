"""Buttons and the overflow menu on task cards."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import render
from bot.modals import MODAL_VERBS, detail_modal, edit_modal, modal_for
from bot.services import Services
from handlers.common import explain, step
from handlers.payloads import BlockAction, current
from models.errors import BadInput, DomainError
from models.people import zone_of
from models.permissions import Deed, require_any_on_task
from models.queries import recent_history
from models.tasks import find_task, task_number

__all__ = ["detail_view", "register"]

log = logging.getLogger(__name__)

_BUTTONS = {
    "task_claim": "claim",
    "task_start": "start",
    "task_done": "done",
    "task_unblock": "unblock",
    "task_reopen": "reopen",
}
_MENU_DIRECT = {"release": "release"}
# What each modal of the menu leads to, so someone who may not do it is told before filling it in.
# The reassign modal also releases (left empty), so whoever may do either may open it.
_MODAL_DEEDS = {
    "block": (Deed.BLOCK,), "reassign": (Deed.REASSIGN, Deed.RELEASE), "due": (Deed.CHANGE_DUE,),
    "cancel": (Deed.CANCEL,), "done_note": (Deed.DONE,), "snooze": (Deed.SNOOZE,), "edit": (Deed.EDIT,),
}


def register(app: App, services: Services) -> None:
    """Attach the card's buttons and overflow menu."""
    for action_id, verb in _BUTTONS.items():
        app.action(action_id)(_button_listener(services, verb))

    @app.action("task_menu")
    def menu(ack: Ack, context: BoltContext, client: WebClient) -> None:
        click = current(context, BlockAction)
        ack()
        verb, _, number_text = click.value.partition(":")
        # "release" is no longer on the menu (the reassign modal does it), but older cards still carry it.
        if verb in _MENU_DIRECT:
            try:
                _run(services, click, _MENU_DIRECT[verb], _number(number_text))
            except DomainError as error:
                _tell(services, click, explain(error))
            return
        _open_modal(services, click, client, verb, number_text)

    @app.action("task_block")
    def block_button(ack: Ack, context: BoltContext, client: WebClient) -> None:
        click = current(context, BlockAction)
        ack()
        _open_modal(services, click, client, "block", click.value)

    @app.action("task_details")
    def details_button(ack: Ack, context: BoltContext, client: WebClient) -> None:
        click = current(context, BlockAction)
        ack()
        try:
            number = _number(click.value)
            if not click.trigger_id:
                raise BadInput("Slack did not let me open a form for that.", "Try again.")
            view = detail_view(services, click.team_id, number, channel_id=click.channel_id)
            if click.view_id and click.view_callback_id != "handoff_home":
                client.views_push(trigger_id=click.trigger_id, view=view)  # from within a modal
            else:
                client.views_open(trigger_id=click.trigger_id, view=view)
        except DomainError as error:
            _tell(services, click, explain(error))

    @app.action("task_edit")
    def edit_button(ack: Ack, context: BoltContext, client: WebClient) -> None:
        click = current(context, BlockAction)
        ack()
        _open_modal(services, click, client, "edit", click.value)


def detail_view(services: Services, team_id: str, number: int, *, channel_id: str | None) -> dict[str, Any]:
    """The detail modal of T-<number>: what `/tasks T-42` shows, and the card's buttons with *Edit…*."""
    with services.db.read() as session:
        task = find_task(session, team_id=team_id, number=number)
        recent = recent_history(session, task_id=task.id or 0)
    _, blocks = render.task_detail(task, recent, services.clock())
    buttons = [b for b in render.card_buttons(task) if b.get("action_id") != "task_details"]
    if task.status.value not in ("done", "cancelled"):
        buttons.insert(len(buttons) - (1 if buttons and buttons[-1]["type"] == "overflow" else 0), {
            "type": "button", "text": {"type": "plain_text", "text": "✏️ Edit…", "emoji": True},
            "action_id": "task_edit", "value": str(task.number),
        })
    return detail_modal(task, blocks[:90], buttons, channel_id=channel_id)


def _open_modal(services: Services, click: BlockAction, client: WebClient, verb: str, number_text: str) -> None:
    """Open the modal that asks what `verb` needs, or tell the person why not."""
    try:
        number = _number(number_text)
        if verb not in MODAL_VERBS:
            raise BadInput("That menu entry is not something I know.", "")
        if not click.trigger_id:
            raise BadInput("Slack did not let me open a form for that.", "Try again.")
        actor = services.actor(click.user_id, click.team_id)
        with services.db.read() as session:
            task = find_task(session, team_id=click.team_id, number=number)
        # Someone who may not do it is told before filling the modal in, not after.
        require_any_on_task(_MODAL_DEEDS[verb], actor, task)
        if verb == "edit":
            zone = zone_of(services.directory.person(click.team_id, click.user_id))
            view = edit_modal(task, zone, channel_id=click.channel_id)
        else:
            view = modal_for(verb, task, channel_id=click.channel_id)
        if click.view_id and click.view_callback_id == "task_detail_modal":
            client.views_push(trigger_id=click.trigger_id, view=view)  # on top of the task's details
        else:
            client.views_open(trigger_id=click.trigger_id, view=view)
    except DomainError as error:
        _tell(services, click, explain(error))


def _button_listener(services: Services, verb: str) -> Any:
    def on_click(ack: Ack, context: BoltContext, client: WebClient) -> None:
        click = current(context, BlockAction)
        ack()
        try:
            number = _number(click.value)
            _run(services, click, verb, number)
        except DomainError as error:
            _tell(services, click, explain(error))
            return
        if click.view_id and click.view_callback_id == "task_detail_modal":
            # The modal the button was in shows the task as it is now.
            view = detail_view(services, click.team_id, number, channel_id=None)
            try:
                client.views_update(view_id=click.view_id, view=view)
            except SlackApiError as error:
                log.info("detail modal of T-%s not updated: %s", number, error.response.get("error"))

    on_click.__name__ = f"on_{verb}_click"
    return on_click


def _run(services: Services, click: BlockAction, verb: str, number: int) -> None:
    # The card itself changes in place; the person needs no extra confirmation.
    step(services, verb, team_id=click.team_id, number=number, user_id=click.user_id)


def _number(value: str) -> int:
    # A stale or foreign value is answered like a typed reference to a task that does not exist; only
    # ASCII digits are ours (`\d` would also read "٣" as 3).
    number = task_number(value) if value.isascii() else None
    if number is None:
        raise BadInput("That button belongs to a task I can't identify.", "Use `/tasks` to find the task.")
    return number


def _tell(services: Services, click: BlockAction, text: str) -> None:
    services.tell(
        team_id=click.team_id,
        user_id=click.user_id,
        channel_id=click.channel_id,
        response_url=click.response_url,
        text=text,
    )
