"""Modal submissions: block reason, reassignment, due date, cancel reason, done note."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.services import Services
from handlers.common import date_reading, done_words, explain, plain, resolve_mention, step
from handlers.payloads import BadPayload, ViewSubmission, current
from models.errors import BadDueDate, DomainError
from models.parsing import Mention, parse_when
from models.schedule import snooze_until

__all__ = ["register"]

# Which input block an error belongs to, so Slack shows it under the right field.
_FIELD = {
    "block": "reason", "assign": "assignee", "due": "due", "cancel": "reason", "done": "note", "snooze": "until",
}


def register(app: App, services: Services) -> None:
    """Attach the modal submissions."""

    def submit(verb: str, read: Any) -> Any:
        def on_submit(ack: Ack, context: BoltContext) -> None:
            submission = current(context, ViewSubmission)
            if submission.target is None:
                raise BadPayload(f"{submission.callback_id} names no task")
            team_id, user_id, number = submission.team_id, submission.user_id, submission.target.number
            try:
                kwargs = read(submission)
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
            services.tell(
                team_id=team_id, user_id=user_id, channel_id=submission.target.channel_id, text=done_words(done, task)
            )

        on_submit.__name__ = f"on_{verb}_submit"
        return on_submit

    def read_reason(submission: ViewSubmission) -> dict[str, Any]:
        return {"reason": submission.text("reason")}

    def read_optional_reason(submission: ViewSubmission) -> dict[str, Any]:
        return {"reason": submission.text("reason") or None}

    def read_note(submission: ViewSubmission) -> dict[str, Any]:
        return {"note": submission.text("note") or None}

    def read_assignee(submission: ViewSubmission) -> dict[str, Any]:
        selected = submission.input("assignee").get("selected_user")
        if not selected:
            return {"assignee_id": None}
        if not isinstance(selected, str):
            raise BadPayload("`selected_user` is not a user id")
        return {"assignee_id": resolve_mention(services, submission.team_id, Mention(user_id=selected, name=None))}

    def read_due(submission: ViewSubmission) -> dict[str, Any]:
        text = submission.text("due").strip()
        if text.lower() in {"none", "clear", "-"}:
            return {"due_at": None}
        if not text:
            raise BadDueDate("Type when it is due, or none.", "e.g. Friday 5pm")
        reading = date_reading(services, submission.team_id, submission.user_id)
        return {"due_at": parse_when(text, now=services.clock(), **reading)}

    def read_snooze(submission: ViewSubmission) -> dict[str, Any]:
        text = submission.text("until").strip()
        reading = date_reading(services, submission.team_id, submission.user_id)
        return {"until": snooze_until(text, now=services.clock(), **reading)}

    app.view("task_snooze_modal")(submit("snooze", read_snooze))
    app.view("task_block_modal")(submit("block", read_reason))
    app.view("task_cancel_modal")(submit("cancel", read_optional_reason))
    app.view("task_done_note_modal")(submit("done", read_note))
    app.view("task_reassign_modal")(submit("assign", read_assignee))
    app.view("task_due_modal")(submit("due", read_due))
