"""Modal submissions: block reason, reassignment, due date, cancel reason, done note."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.modals import read_metadata
from bot.services import Services
from handlers.common import date_reading, done_words, explain, plain, resolve_mention, step
from models.errors import BadDueDate, DomainError
from models.parsing import Mention, parse_when
from models.schedule import snooze_until

__all__ = ["register"]

# Which input block an error belongs to, so Slack shows it under the right field.
_FIELD = {
    "block": "reason", "assign": "assignee", "due": "due", "cancel": "reason", "done": "note", "snooze": "until",
}


def _value(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return dict(view["state"]["values"].get(block_id, {}).get("value") or {})


def register(app: App, services: Services) -> None:
    """Attach the modal submissions."""

    def submit(verb: str, read: Any) -> Any:
        def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
            team_id = body["team"]["id"] if body.get("team") else body["user"]["team_id"]
            user_id = body["user"]["id"]
            number, channel = read_metadata(view)
            try:
                kwargs = read(view, team_id, user_id)
                # The reassign modal with nobody chosen means "back to the pool".
                done = "release" if verb == "assign" and kwargs.get("assignee_id") is None else verb
                task = step(services, done, team_id=team_id, number=number, user_id=user_id,
                            **({} if done == "release" else kwargs))
            except DomainError as error:
                # Problems with the typed value stay in the modal, under the field.
                ack(response_action="errors", errors={_FIELD[verb]: plain(services, team_id, explain(error))})
                return
            ack()
            assert task is not None
            services.tell(team_id=team_id, user_id=user_id, channel_id=channel, text=done_words(done, task))

        on_submit.__name__ = f"on_{verb}_submit"
        return on_submit

    def read_reason(view: dict[str, Any], _team: str, _user: str) -> dict[str, Any]:
        return {"reason": _value(view, "reason").get("value") or ""}

    def read_optional_reason(view: dict[str, Any], _team: str, _user: str) -> dict[str, Any]:
        return {"reason": _value(view, "reason").get("value") or None}

    def read_note(view: dict[str, Any], _team: str, _user: str) -> dict[str, Any]:
        return {"note": _value(view, "note").get("value") or None}

    def read_assignee(view: dict[str, Any], team_id: str, _user: str) -> dict[str, Any]:
        selected = _value(view, "assignee").get("selected_user")
        if not selected:
            return {"assignee_id": None}
        return {"assignee_id": resolve_mention(services, team_id, Mention(user_id=selected, name=None))}

    def read_due(view: dict[str, Any], team_id: str, user_id: str) -> dict[str, Any]:
        text = (_value(view, "due").get("value") or "").strip()
        if text.lower() in {"none", "clear", "-"}:
            return {"due_at": None}
        if not text:
            raise BadDueDate("Type when it is due, or none.", "e.g. Friday 5pm")
        return {"due_at": parse_when(text, now=services.clock(), **date_reading(services, team_id, user_id))}

    def read_snooze(view: dict[str, Any], team_id: str, user_id: str) -> dict[str, Any]:
        text = (_value(view, "until").get("value") or "").strip()
        return {"until": snooze_until(text, now=services.clock(), **date_reading(services, team_id, user_id))}

    app.view("task_snooze_modal")(submit("snooze", read_snooze))
    app.view("task_block_modal")(submit("block", read_reason))
    app.view("task_cancel_modal")(submit("cancel", read_optional_reason))
    app.view("task_done_note_modal")(submit("done", read_note))
    app.view("task_reassign_modal")(submit("assign", read_assignee))
    app.view("task_due_modal")(submit("due", read_due))
