"""Buttons and the overflow menu on task cards."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.modals import MODAL_VERBS, modal_for
from bot.services import Services
from handlers.common import explain, step
from models.errors import BadInput, DomainError
from models.permissions import Deed, require_any_on_task
from models.tasks import find_task, task_number

__all__ = ["register"]

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
    "cancel": (Deed.CANCEL,), "done_note": (Deed.DONE,), "snooze": (Deed.SNOOZE,),
}


def register(app: App, services: Services) -> None:
    """Attach the card's buttons and overflow menu."""
    for action_id, verb in _BUTTONS.items():
        app.action(action_id)(_button_listener(services, verb))

    @app.action("task_menu")
    def menu(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        verb, _, number_text = str(action.get("selected_option", {}).get("value", "")).partition(":")
        # "release" is no longer on the menu (the reassign modal does it), but older cards still carry it.
        if verb in _MENU_DIRECT:
            try:
                _run(services, body, _MENU_DIRECT[verb], _number(number_text))
            except DomainError as error:
                _tell(services, body, explain(error))
            return
        _open_modal(services, body, client, verb, number_text)

    @app.action("task_block")
    def block_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        _open_modal(services, body, client, "block", str(action.get("value", "")))


def _open_modal(services: Services, body: dict[str, Any], client: WebClient, verb: str, number_text: str) -> None:
    """Open the modal that asks what `verb` needs, or tell the person why not."""
    try:
        number = _number(number_text)
        if verb not in MODAL_VERBS:
            raise BadInput("That menu entry is not something I know.", "")
        actor = services.actor(body["user"]["id"], _team(body))
        with services.db.read() as session:
            task = find_task(session, team_id=_team(body), number=number)
        # Someone who may not do it is told before filling the modal in, not after.
        require_any_on_task(_MODAL_DEEDS[verb], actor, task)
        channel = (body.get("channel") or {}).get("id")
        client.views_open(trigger_id=body["trigger_id"], view=modal_for(verb, task, channel_id=channel))
    except DomainError as error:
        _tell(services, body, explain(error))


def _button_listener(services: Services, verb: str) -> Any:
    def on_click(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        try:
            _run(services, body, verb, _number(str(action.get("value", ""))))
        except DomainError as error:
            _tell(services, body, explain(error))

    on_click.__name__ = f"on_{verb}_click"
    return on_click


def _run(services: Services, body: dict[str, Any], verb: str, number: int) -> None:
    # The card itself changes in place; the person needs no extra confirmation.
    step(services, verb, team_id=_team(body), number=number, user_id=body["user"]["id"])


def _number(value: str) -> int:
    # A stale or foreign value is answered like a typed reference to a task that does not exist.
    number = task_number(value)
    if number is None:
        raise BadInput("That button belongs to a task I can't identify.", "Use `/tasks` to find the task.")
    return number


def _team(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or body["user"].get("team_id"))


def _tell(services: Services, body: dict[str, Any], text: str) -> None:
    services.tell(
        team_id=_team(body),
        user_id=body["user"]["id"],
        channel_id=(body.get("channel") or {}).get("id"),
        response_url=body.get("response_url"),
        text=text,
    )
