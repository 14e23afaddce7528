"""Modal submissions: the creation modal; block reason, reassignment, due date, cancel reason, done note."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.services import Services
from handlers.common import create, date_reading, done_words, explain, plain, resolve_mention, step
from handlers.payloads import BadPayload, CreationOrigin, ViewSubmission, current
from models.enums import Priority
from models.errors import BadDueDate, BadInput, DomainError
from models.localtime import local_instant
from models.parsing import MAX_TITLE_CHARS, Mention, check_due_range, parse_tags, parse_when
from models.people import zone_of
from models.recurrence import Recurrence, parse_schedule
from models.schedule import snooze_until
from models.tasks import NewTask, SourceMessage, TaskEdit, check_details, check_tags, find_task

__all__ = ["register"]

# Which input block an error belongs to, so Slack shows it under the right field.
_FIELD = {
    "block": "reason", "assign": "assignee", "due": "due", "cancel": "reason", "done": "note", "snooze": "until",
}


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}")


def register(app: App, services: Services) -> None:
    """Attach the modal submissions."""

    @app.view("new_task_modal")
    def on_create(ack: Ack, context: BoltContext) -> None:
        submission = current(context, ViewSubmission)
        origin = submission.origin or CreationOrigin(channel_id=None)
        errors: dict[str, str] = {}
        request, rule, zone = _read_creation(services, submission, origin, errors)
        answer = None
        if not errors:
            assert request is not None
            # The same view submitted twice (a double click, Slack's retry) makes one task.
            once = f"view:{submission.view_id}" if submission.view_id else None
            try:
                answer = create(services, request, rule=rule, zone=zone, once=once)
            except DomainError as error:
                _refused(errors, error)
        if errors:
            _show_errors(ack, services, submission, errors)  # nothing was made
            return
        ack()
        if answer is not None:
            assert request is not None
            services.tell(
                team_id=submission.team_id, user_id=submission.user_id,
                channel_id=origin.channel_id or request.card_channel_id, text=answer,
            )

    @app.view("task_edit_modal")
    def on_edit(ack: Ack, context: BoltContext) -> None:
        submission = current(context, ViewSubmission)
        if submission.target is None:
            raise BadPayload("task_edit_modal names no task")
        errors: dict[str, str] = {}
        try:
            edit = _read_edit(services, submission, errors)
            task = None
            if edit is not None:
                task = step(services, "edit", team_id=submission.team_id, number=submission.target.number,
                            user_id=submission.user_id, edit=edit)
        except DomainError as error:
            _refused(errors, error)
        if errors:
            _show_errors(ack, services, submission, errors)
            return
        ack()
        assert task is not None
        services.tell(team_id=submission.team_id, user_id=submission.user_id,
                      channel_id=submission.target.channel_id, text=f"✏️ {task.ref} is updated.")

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


def _refused(errors: dict[str, str], error: DomainError) -> None:
    """A refusal of the whole form, shown under the field it is about (a date's, else the title's)."""
    errors["due_date" if isinstance(error, BadDueDate) else "title"] = explain(error)


def _show_errors(ack: Ack, services: Services, submission: ViewSubmission, errors: dict[str, str]) -> None:
    """Keep the modal open with each problem under its field, in plain words (Slack shows them literally)."""
    ack(response_action="errors", errors={k: plain(services, submission.team_id, v) for k, v in errors.items()})


class _Form:
    """Reads the fields the creation and edit modals share; what is wrong goes into `errors`, by block id."""

    def __init__(self, services: Services, submission: ViewSubmission, errors: dict[str, str]) -> None:
        self.services, self.submission, self.errors = services, submission, errors
        self.person = services.directory.person(submission.team_id, submission.user_id)
        self.zone = zone_of(self.person)

    def field(self, block_id: str, read: Any) -> Any:
        try:
            return read()
        except DomainError as error:
            self.errors[block_id] = explain(error)
            return None

    def title(self) -> str:
        text = self.submission.text("title").strip()
        if not text:
            raise BadInput("Say what should be done.", "")
        if len(text) > MAX_TITLE_CHARS:
            raise BadInput(f"That is {len(text)} characters; the limit is {MAX_TITLE_CHARS}.",
                           "Put the rest in the details.")
        return text

    def due(self, *, unchanged: Any = None) -> Any:
        day = self.submission.input("due_date").get("selected_date")
        clock = self.submission.input("due_time").get("selected_time")
        if not day:
            if clock:
                raise BadDueDate("Pick a day for that time too.", "")
            return None
        if not isinstance(day, str) or not _DATE.fullmatch(day) or (clock and not (
            isinstance(clock, str) and _TIME.fullmatch(clock)
        )):
            raise BadPayload("the due date or time is not in Slack's format")
        at = time.fromisoformat(clock) if clock else self.services.config.week(self.person).end
        due_at = local_instant(date.fromisoformat(day), at, self.zone)
        if unchanged is not None and due_at == unchanged:
            return due_at  # left as it was: a due date already past is not refused for that
        check_due_range(due_at, f"{day} {at:%H:%M}", now=self.services.clock(), tz=self.zone)
        return due_at

    def tags(self) -> tuple[str, ...]:
        found = parse_tags(self.submission.text("tags"))
        check_tags(found)
        return found

    def priority(self) -> Priority:
        value = (self.submission.input("priority").get("selected_option") or {}).get("value") or "normal"
        if value not in {p.value for p in Priority}:
            raise BadPayload("unknown priority")
        return Priority(value)

    def details(self) -> str | None:
        return check_details(self.submission.text("details"))


def _read_edit(services: Services, submission: ViewSubmission, errors: dict[str, str]) -> TaskEdit | None:
    """The edit modal's fields as a TaskEdit; None with `errors` set when a field is wrong."""
    assert submission.target is not None
    form = _Form(services, submission, errors)
    with services.db.read() as session:
        stored = find_task(session, team_id=submission.team_id, number=submission.target.number).due_at
    values = {
        "title": form.field("title", form.title), "details": form.field("details", form.details),
        "due": form.field("due_date", lambda: form.due(unchanged=stored)), "tags": form.field("tags", form.tags),
        "priority": form.priority(),
    }
    if errors:
        return None
    return TaskEdit(title=values["title"], details=values["details"], due_at=values["due"],
                    priority=values["priority"], tags=values["tags"])


def _read_creation(
    services: Services, submission: ViewSubmission, origin: CreationOrigin, errors: dict[str, str]
) -> tuple[NewTask | None, Recurrence | None, Any]:
    """The task the creation modal asks for; what is wrong with a field goes into `errors`, by its block id."""
    team_id, user_id = submission.team_id, submission.user_id
    form = _Form(services, submission, errors)
    zone, field = form.zone, form.field

    def assignee() -> str | None:
        selected = submission.input("assignee").get("selected_user")
        if not selected:
            return None
        if not isinstance(selected, str):
            raise BadPayload("`selected_user` is not a user id")
        return resolve_mention(services, team_id, Mention(user_id=selected, name=None))

    def repeat() -> Recurrence | None:
        text = submission.text("repeat").strip()
        return parse_schedule(text) if text else None

    values = {
        "title": field("title", form.title), "details": field("details", form.details),
        "assignee": field("assignee", assignee), "due": field("due_date", form.due), "tags": field("tags", form.tags),
        "rule": field("repeat", repeat), "priority": form.priority(),
    }
    chosen = submission.input("channel").get("selected_conversation")
    if chosen is not None and not (isinstance(chosen, str) and chosen[:1] in {"C", "G", "D"}):
        raise BadPayload("`selected_conversation` is not a conversation")
    channel = chosen or (origin.channel_id if (origin.channel_id or "")[:1] in {"C", "G"} else None)
    channel = channel or services.settings.pool_channel
    if channel is None:
        errors["channel"] = "Pick a channel for the task's card."
    elif channel.startswith("D"):
        errors["channel"] = "Cards go in a channel: pick one the team can see."
    if values["rule"] is not None and values["due"] is not None:
        errors["repeat"] = "A repeating task takes its due time from its schedule: clear the due date, or this."
    if errors:
        return None, None, zone
    assert channel is not None
    source = origin.source
    request = NewTask(
        team_id=team_id,
        requester_id=user_id,
        title=values["title"],
        details=values["details"],
        origin_channel_id=origin.channel_id or channel,
        card_channel_id=channel,
        assignee_id=values["assignee"],
        due_at=values["due"],
        priority=values["priority"],
        tags=values["tags"],
        source=SourceMessage(
            channel_id=source.channel_id, ts=source.ts, author_id=source.author_id, thread_ts=source.thread_ts,
        ) if source is not None else None,
    )
    return request, values["rule"], zone
