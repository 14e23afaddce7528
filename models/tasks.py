"""Domain operations on tasks. Each takes a session and `now`, records an event, and queues Slack output.

Callers run each operation inside one transaction (`Database.transaction()`); the task row is locked
first (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite) so concurrent claims and moves serialise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, update
from sqlmodel import Session, col, select

from models.db import apart
from models.enums import Priority, TaskStatus
from models.errors import BadDueDate, BadInput, TaskNotFound
from models.lifecycle import Action, check_claim, check_transition, next_status
from models.notices import place_next_notice
from models.outbox import Pending, enqueue, enqueue_all
from models.parsing import MAX_TITLE_CHARS, parse_task_ref, read_task_ref
from models.people import Actor
from models.permissions import Deed, allowed, require, require_on_task
from models.sql import ignoring_duplicates
from models.tables import OUTBOX_PENDING, Outbox, Person, RoleGrant, Task, TaskEvent, TaskTag, Workspace

__all__ = [
    "MAX_DETAILS_CHARS",
    "MAX_NOTE_CHARS",
    "MAX_TAGS",
    "MAX_TAG_CHARS",
    "MAX_TITLE_CHARS",
    "NewTask",
    "SourceMessage",
    "COMMENT_BATCH",
    "MAX_COMMENT_CHARS",
    "add_comment",
    "block_task",
    "cancel_task",
    "card_in_source_thread",
    "card_on_its_way",
    "check_details",
    "check_tags",
    "change_due",
    "claim_task",
    "commit_change",
    "complete_task",
    "TaskEdit",
    "create_task",
    "edit_task",
    "find_task",
    "release_task",
    "set_source_replies",
    "source_replies_on",
    "reopen_task",
    "reassign_task",
    "start_task",
    "task_by_card",
    "task_by_thread",
    "task_number",
    "unblock_task",
]

MAX_NOTE_CHARS = 1000
# Slack's longest multi-line input; the card shows the start of it, `/tasks T-42` all of it.
MAX_DETAILS_CHARS = 3000
# A card shows its tags in one field of at most 2,000 characters; these keep it readable and within it.
MAX_TAGS = 10
MAX_TAG_CHARS = 40


@dataclass(frozen=True)
class SourceMessage:
    """The Slack message a task is made from: where it is, the thread it is in (if a reply), who wrote it."""

    channel_id: str
    ts: str
    author_id: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class NewTask:
    """What a requester asked for."""

    team_id: str
    requester_id: str
    title: str
    origin_channel_id: str
    card_channel_id: str
    assignee_id: str | None = None
    due_at: datetime | None = None
    priority: Priority = Priority.NORMAL
    tags: tuple[str, ...] = field(default=())
    recurring_id: int | None = None
    details: str | None = None
    source: SourceMessage | None = None
    # Post the card as a reply in this thread of `card_channel_id` (a mention in a thread).
    card_thread_ts: str | None = None


def create_task(*, session: Session, request: NewTask, now: datetime, allow_past_due: bool = False) -> Task:
    """Create a task (assigned when it names an assignee, else open in the pool) and queue its card.

    `allow_past_due` is for the scheduler catching up a recurring task it missed while down.
    """
    title = request.title.strip()
    if not title:
        raise BadInput("The task needs a description.", "Try `/delegate @ana Reconcile October invoices`.")
    if len(title) > MAX_TITLE_CHARS:
        raise BadInput(
            f"That description is {len(title)} characters; the limit is {MAX_TITLE_CHARS}.",
            "Keep the title short and put the details in the card's thread.",
        )
    check_tags(request.tags)
    details = check_details(request.details)
    if request.due_at is not None and request.due_at <= now and not allow_past_due:
        raise BadDueDate("That due date is in the past.", "Pick a time in the future, e.g. `by Friday 5pm`.")
    status = TaskStatus.ASSIGNED if request.assignee_id else TaskStatus.OPEN
    number, source_replies = _next_number(session, request.team_id, now)
    source = request.source
    values: dict[str, Any] = {
        "team_id": request.team_id,
        "number": number,
        "title": title,
        "requester_id": request.requester_id,
        "assignee_id": request.assignee_id,
        "priority": request.priority,
        "tags": list(request.tags),
        "due_at": request.due_at,
        "origin_channel_id": request.origin_channel_id,
        "card_channel_id": request.card_channel_id,
        "card_ts": None,
        "card_url": None,
        "card_thread_ts": request.card_thread_ts,
        "status": status,
        "blocked_reason": None,
        "blocked_from": None,
        "done_note": None,
        "snoozed_until": None,
        "recurring_id": request.recurring_id,
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
        "version": 1,
        "details": details,
        "source_channel_id": source.channel_id if source else None,
        "source_ts": source.ts if source else None,
        "source_thread_ts": source.thread_ts if source else None,
        "source_author_id": source.author_id if source else None,
        # Made by the worker when it posts the card (it knows the workspace's address).
        "source_url": None,
    }
    # Core INSERT … RETURNING (as for events): this runs on every /delegate, and the ORM's unit of work
    # costs more than the rest of the request together.
    task_id = session.connection().execute(_INSERT_TASK, values).scalar_one()
    # The values were validated above; model_construct skips validating them a second time.
    task = Task.model_construct(id=task_id, **values)
    place_next_notice(session, task=task, now=now)
    if request.tags:
        tags = [{"task_id": task_id, "team_id": request.team_id, "tag": tag} for tag in dict.fromkeys(request.tags)]
        session.connection().execute(_INSERT_TAG, tags)
    event = _event(session, task, request.requester_id, "created", {"assignee": request.assignee_id}, now)
    items = [Pending(f"card.post:{task.id}", "card.post", {"channel": task.card_channel_id}, task.id)]
    # The requester's one confirmation is the answer to their command itself, so none is queued here.
    items += _dms(task, event, [request.assignee_id], actor_id=request.requester_id)
    if source_replies and not card_in_source_thread(task):
        items += _source_note(task, event)
    items += _homes(session, task, event)
    enqueue_all(session, team_id=task.team_id, now=now, items=items)
    return task


def check_details(text: str | None) -> str | None:
    """A task's details as stored (trimmed; None when empty), or BadInput when they are too long."""
    text = (text or "").strip()
    if len(text) > MAX_DETAILS_CHARS:
        raise BadInput(
            f"The details are {len(text):,} characters; the limit is {MAX_DETAILS_CHARS:,}.",
            "Shorten them, or link to a document.",
        )
    return text or None


def _homes(session: Session, task: Task, event: TaskEvent, *, also: Iterable[Any] = ()) -> list[Pending]:
    """A refresh of the Home tab of each person it shows `task` to who has opened theirs: its assignee and
    requester (and whoever it was taken from), and the managers, whose tab counts the team's tasks."""
    people = {p for p in (task.assignee_id, task.requester_id, *also) if isinstance(p, str) and p}
    managers = select(RoleGrant.user_id).where(RoleGrant.team_id == task.team_id)
    viewers = session.exec(
        select(Person.user_id).where(
            Person.team_id == task.team_id, col(Person.home_opened_at).is_not(None),
            or_(col(Person.user_id).in_(people), col(Person.user_id).in_(managers), col(Person.slack_admin)),
        )
    ).all()
    return [Pending(f"home:{user}:{event.id}", "home.publish", {"user": user}) for user in sorted(viewers)]


def card_in_source_thread(task: Task) -> bool:
    """Whether the card is itself in its source message's thread, whose own lines then say it all."""
    return (
        task.card_thread_ts is not None and task.card_channel_id == task.source_channel_id
        and task.card_thread_ts == (task.source_thread_ts or task.source_ts)
    )


def _source_note(task: Task, event: TaskEvent) -> list[Pending]:
    """The short line in the source message's thread that says what became of it (none without a source)."""
    if task.source_channel_id is None or task.source_ts is None:
        return []
    thread = task.source_thread_ts or task.source_ts
    payload = {"channel": task.source_channel_id, "thread_ts": thread, "event_id": event.id}
    return [Pending(f"source:{event.id}", "source.note", payload, task.id)]


def source_replies_on(session: Session, team_id: str) -> bool:
    """Whether the workspace's source messages hear in their thread when their task is made and done."""
    on = session.exec(select(Workspace.source_replies).where(Workspace.team_id == team_id)).first()
    return True if on is None else bool(on)


def set_source_replies(session: Session, *, team_id: str, actor: Actor, on: bool, now: datetime) -> None:
    """Turn the source messages' thread lines on or off for the workspace (managers and admins only)."""
    require(Deed.SET_SOURCE_REPLIES, actor, subject="the lines in source messages' threads")
    changed = session.execute(
        update(Workspace).where(col(Workspace.team_id) == team_id).values(source_replies=on)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        session.add(Workspace(team_id=team_id, next_task_number=1, created_at=now, source_replies=on))


def check_tags(tags: tuple[str, ...]) -> None:
    """BadInput when there are too many tags or one is too long."""
    if len(tags) > MAX_TAGS:
        raise BadInput(f"That is {len(tags)} tags; a task takes at most {MAX_TAGS}.", "Keep the ones people filter by.")
    for tag in tags:
        if len(tag) > MAX_TAG_CHARS:
            raise BadInput(
                f"The tag #{tag[:MAX_TAG_CHARS]}… is {len(tag)} characters; a tag takes at most {MAX_TAG_CHARS}.",
                "Use a short word, e.g. `#payroll`.",
            )


def find_task(session: Session, *, team_id: str, number: int, lock: bool = False) -> Task:
    """The task `T-<number>` of this workspace (locked for update when asked), or TaskNotFound."""
    query = select(Task).where(Task.team_id == team_id, Task.number == number)
    if lock:
        query = query.with_for_update()
    task = session.exec(query).first()
    if task is None:
        raise _not_found(f"T-{number}")
    return task


def task_number(token: str) -> int | None:
    """The task number a typed reference (`T-42`, `#42`, `42`) names; None when the token is no reference.

    A reference no task can have (`T-0`, `T-99999999999`) raises the same TaskNotFound as a number
    nobody has used yet, so every surface answers a wrong reference in the same words.
    """
    digits = read_task_ref(token)
    if digits is None:
        return None
    number = parse_task_ref(token)
    if number is None:
        # Shown as typed, shortened: a pasted run of digits need not come back whole.
        raise _not_found(f"T-{digits if len(digits) <= 20 else digits[:20] + '…'}")
    return number


def _not_found(ref: str) -> TaskNotFound:
    """The one answer to a task reference that names no task of this workspace."""
    return TaskNotFound(
        f"There is no task {ref} in this workspace.", "`/tasks` lists your tasks; `/tasks open` the pool."
    )


def task_by_card(session: Session, *, team_id: str, channel_id: str, ts: str) -> Task | None:
    """The task whose card is the message at (`channel_id`, `ts`), if any."""
    return session.exec(
        select(Task).where(Task.team_id == team_id, Task.card_channel_id == channel_id, Task.card_ts == ts)
    ).first()


def task_by_thread(session: Session, *, team_id: str, channel_id: str, thread_ts: str, ts: str) -> Task | None:
    """The task whose card's thread the message at `ts` (a reply in `thread_ts`) is in: a top-level card's
    own thread, or the thread a card was posted into (the latest card there before the reply)."""
    own = task_by_card(session, team_id=team_id, channel_id=channel_id, ts=thread_ts)
    if own is not None:
        return own
    return session.exec(
        select(Task)
        .where(Task.team_id == team_id, Task.card_channel_id == channel_id, Task.card_thread_ts == thread_ts)
        .where(col(Task.card_ts) < ts)
        .order_by(col(Task.card_ts).desc())
        .limit(1)
    ).first()


# Comments in a card's thread reach the assignee and requester in one DM per this many minutes.
COMMENT_BATCH = timedelta(minutes=5)
MAX_COMMENT_CHARS = 2000


def add_comment(session: Session, *, task: Task, author_id: str, text: str, ts: str, now: datetime) -> TaskEvent:
    """Record a reply in the card's thread as a comment in the task's history.

    It counts as activity (`updated_at`), leaves the card as it is (nothing on it changes) and queues,
    for the assignee and the requester who didn't write it, one DM for all comments of the same few minutes.
    """
    shown = text.strip()
    if len(shown) > MAX_COMMENT_CHARS:
        shown = shown[: MAX_COMMENT_CHARS - 1] + "…"
    event = _event(session, task, author_id, "comment", {"text": shown, "ts": ts}, now)
    session.execute(update(Task).where(col(Task.id) == task.id).values(updated_at=now))
    start = datetime.fromtimestamp(now.timestamp() // COMMENT_BATCH.total_seconds() * COMMENT_BATCH.total_seconds(),
                                   tz=now.tzinfo)
    end = start + COMMENT_BATCH
    for user in dict.fromkeys(u for u in (task.assignee_id, task.requester_id) if u and u != author_id):
        enqueue(
            session, team_id=task.team_id, key=f"comments:{task.id}:{user}:{int(start.timestamp())}", kind="comments",
            task_id=task.id, payload={"user": user, "from": start.isoformat(), "to": end.isoformat()}, now=now, at=end,
        )
    return event


def card_on_its_way(session: Session, *, team_id: str, channel_id: str) -> bool:
    """Whether a card for `channel_id` is queued or being posted, its place in Slack not recorded yet."""
    # The worker records the card's place before it marks the post sent, so once this is False a
    # card that was posted is found by task_by_card.
    return session.exec(
        select(Outbox.id)
        .join(Task, col(Outbox.task_id) == col(Task.id))
        .where(Task.team_id == team_id, Task.card_channel_id == channel_id, col(Task.card_ts).is_(None))
        .where(Outbox.kind == "card.post", Outbox.status == OUTBOX_PENDING)
        .limit(1)
    ).first() is not None


def claim_task(*, session: Session, team_id: str, number: int, actor: Actor, now: datetime) -> Task:
    """Make `actor` the assignee of an open task; the first claim wins, a repeat by the winner is a no-op.

    Claiming a finished task, or one that is someone else's, is refused with words that say which.
    """
    task = find_task(session, team_id=team_id, number=number, lock=True)
    takes = check_claim(
        task.status, task.ref, assignee_id=task.assignee_id, requester_id=task.requester_id,
        actor_id=actor.user_id,
        may_reopen=allowed(Deed.REOPEN, actor, requester=task.requester_id, assignee=task.assignee_id),
    )
    if not takes:
        return task
    _move(task, Action.CLAIM, actor)
    task.assignee_id = actor.user_id
    return commit_change(session, task, actor, "claimed", {}, now, notify=[task.requester_id])


def release_task(*, session: Session, team_id: str, number: int, actor: Actor, now: datetime) -> Task:
    """Give a claimed, not yet started task back to the pool (only its assignee may)."""
    task = find_task(session, team_id=team_id, number=number, lock=True)
    _move(task, Action.RELEASE, actor)
    task.assignee_id = None
    return commit_change(session, task, actor, "released", {}, now, notify=[])


def start_task(*, session: Session, team_id: str, number: int, actor: Actor, now: datetime) -> Task:
    """Mark an assigned task as in progress."""
    task = find_task(session, team_id=team_id, number=number, lock=True)
    _move(task, Action.START, actor)
    return commit_change(session, task, actor, "started", {}, now, notify=[])


def block_task(
    *, session: Session, team_id: str, number: int, actor: Actor, reason: str, now: datetime
) -> Task:
    """Mark a task blocked with a reason; the requester hears about it."""
    reason = _note(reason, what="reason")
    if not reason:
        raise BadInput("Say what is blocking the task.", "e.g. `/tasks block T-42 waiting for the bank statement`")
    task = find_task(session, team_id=team_id, number=number, lock=True)
    before = task.status
    _move(task, Action.BLOCK, actor)
    task.blocked_from = before
    task.blocked_reason = reason
    return commit_change(session, task, actor, "blocked", {"reason": reason}, now, notify=[task.requester_id])


def unblock_task(*, session: Session, team_id: str, number: int, actor: Actor, now: datetime) -> Task:
    """Return a blocked task to the state it was blocked from."""
    task = find_task(session, team_id=team_id, number=number, lock=True)
    _move(task, Action.UNBLOCK, actor)
    _clear_block(task)
    return commit_change(session, task, actor, "unblocked", {}, now, notify=[task.assignee_id])


def complete_task(
    *, session: Session, team_id: str, number: int, actor: Actor, now: datetime, note: str | None = None
) -> Task:
    """Mark a task done; the optional note reaches the requester."""
    note = _note(note, what="note") or None
    task = find_task(session, team_id=team_id, number=number, lock=True)
    _move(task, Action.DONE, actor)
    task.done_note = note
    task.completed_at = now
    _clear_block(task)
    detail: dict[str, Any] = {"note": note} if note else {}
    return commit_change(session, task, actor, "done", detail, now, notify=[task.requester_id])


def reopen_task(*, session: Session, team_id: str, number: int, actor: Actor, now: datetime) -> Task:
    """Reopen a done or cancelled task."""
    task = find_task(session, team_id=team_id, number=number, lock=True)
    _move(task, Action.REOPEN, actor)
    task.completed_at = None
    task.done_note = None
    return commit_change(session, task, actor, "reopened", {}, now, notify=[task.assignee_id, task.requester_id])


def cancel_task(
    *, session: Session, team_id: str, number: int, actor: Actor, now: datetime, reason: str | None = None
) -> Task:
    """Cancel a task that is not done (requester or manager only)."""
    reason = _note(reason, what="reason") or None
    task = find_task(session, team_id=team_id, number=number, lock=True)
    _move(task, Action.CANCEL, actor)
    _clear_block(task)
    detail: dict[str, Any] = {"reason": reason} if reason else {}
    return commit_change(session, task, actor, "cancelled", detail, now, notify=[task.assignee_id, task.requester_id])


def reassign_task(
    *, session: Session, team_id: str, number: int, actor: Actor, assignee_id: str, now: datetime
) -> Task:
    """Give the task to someone else (requester or manager only); it starts over as assigned."""
    task = find_task(session, team_id=team_id, number=number, lock=True)
    if task.assignee_id == assignee_id:
        raise BadInput(f"{task.ref} is already assigned to <@{assignee_id}>.", "Pick someone else.")
    previous = task.assignee_id
    _move(task, Action.REASSIGN, actor)
    task.assignee_id = assignee_id
    _clear_block(task)
    detail = {"from": previous, "to": assignee_id}
    return commit_change(session, task, actor, "reassigned", detail, now, notify=[assignee_id, previous])


def change_due(
    *, session: Session, team_id: str, number: int, actor: Actor, due_at: datetime | None, now: datetime
) -> Task:
    """Set or clear the due time (requester or manager only)."""
    if due_at is not None and due_at <= now:
        raise BadDueDate("That due date is in the past.", "Pick a time in the future, e.g. `tomorrow 5pm`.")
    task = find_task(session, team_id=team_id, number=number, lock=True)
    _move(task, Action.CHANGE_DUE, actor)
    previous = task.due_at
    task.due_at = due_at
    detail = {
        "from": previous.isoformat() if previous else None,
        "to": due_at.isoformat() if due_at else None,
    }
    return commit_change(session, task, actor, "due_changed", detail, now, notify=[task.assignee_id])


@dataclass(frozen=True)
class TaskEdit:
    """What the edit form asks for: the task's title, details, due time, priority and tags as they should be."""

    title: str
    details: str | None
    due_at: datetime | None
    priority: Priority
    tags: tuple[str, ...]


_EDIT_NAMES = {"title": "title", "details": "details", "due_at": "due date", "priority": "priority", "tags": "tags"}


def edit_task(*, session: Session, team_id: str, number: int, actor: Actor, edit: TaskEdit, now: datetime) -> Task:
    """Change what a task says (its requester or a manager): one event naming what changed; the card is
    redrawn and the assignee told. Nothing changed, nothing happens."""
    title = edit.title.strip()
    if not title:
        raise BadInput("The task needs a title.", "")
    if len(title) > MAX_TITLE_CHARS:
        raise BadInput(f"That title is {len(title)} characters; the limit is {MAX_TITLE_CHARS}.", "Shorten it.")
    details = check_details(edit.details)
    check_tags(edit.tags)
    task = find_task(session, team_id=team_id, number=number, lock=True)
    require_on_task(Deed.EDIT, actor, task)
    if task.status in (TaskStatus.DONE, TaskStatus.CANCELLED):
        raise BadInput(f"{task.ref} is finished; reopen it to change it.", "")
    if edit.due_at is not None and edit.due_at != task.due_at and edit.due_at <= now:
        raise BadDueDate("That due date is in the past.", "Pick a time in the future.")
    wanted = {"title": title, "details": details, "due_at": edit.due_at, "priority": edit.priority,
              "tags": list(dict.fromkeys(edit.tags))}
    changed = [name for name, value in wanted.items() if getattr(task, name) != value]
    if not changed:
        return task
    shown = {name: _EDIT_NAMES[name] for name in changed}
    for name in changed:
        setattr(task, name, wanted[name])
    if "tags" in changed:
        session.execute(delete(TaskTag).where(col(TaskTag.task_id) == task.id))
        if task.tags:
            session.connection().execute(
                _INSERT_TAG, [{"task_id": task.id, "team_id": team_id, "tag": tag} for tag in task.tags]
            )
    detail: dict[str, Any] = {"changed": [shown[name] for name in changed]}
    if "due_at" in changed:
        detail["due"] = task.due_at.isoformat() if task.due_at else None
    return commit_change(session, task, actor, "edited", detail, now, notify=[task.assignee_id])


def _next_number(session: Session, team_id: str, now: datetime) -> tuple[int, bool]:
    """Reserve the workspace's next task number: never one used before, whatever runs concurrently.

    Also says whether the workspace's source messages hear of their tasks (read by the same statement).

    Core execution of statements built once: this runs on every /delegate, and building them (or the
    ORM's bulk-update path) would cost more than the database work itself. The reserving UPDATE locks
    the workspace row, so on PostgreSQL it commits apart (`models.db.apart`): held until the create
    commits, every other create in the workspace would queue behind it. A create that then fails
    leaves its number unused.
    """
    run = apart(session)
    for _ in range(2):
        reserved = run(_RESERVE_NUMBER, {"team": team_id})
        if reserved:
            row: Any = reserved[0]  # (the counter after this one, source_replies)
            return int(row[0]) - 1, bool(row[1])
        # The workspace's first task: its row, and its counter, start here.
        run(ignoring_duplicates(session, Workspace), {"team_id": team_id, "next_task_number": 1, "created_at": now})
    raise AssertionError("the workspace row exists once inserted")


# One UPDATE both reserves the number and locks the workspace row, so numbers never repeat.
_RESERVE_NUMBER = (
    update(Workspace)
    .where(col(Workspace.team_id) == bindparam("team"))
    .values(next_task_number=Workspace.next_task_number + 1)
    .returning(col(Workspace.next_task_number), col(Workspace.source_replies))
)


def _clear_block(task: Task) -> None:
    task.blocked_reason = None
    task.blocked_from = None


def _move(task: Task, action: Action, actor: Actor) -> None:
    check_transition(action, task.status, task.ref)
    require_on_task(Deed(action.value), actor, task)
    task.status = next_status(
        action, task.status, has_assignee=task.assignee_id is not None, blocked_from=task.blocked_from
    )


def _note(text: str | None, *, what: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_NOTE_CHARS:
        raise BadInput(f"That {what} is {len(text)} characters; the limit is {MAX_NOTE_CHARS}.", "Shorten it.")
    return text


def _event(
    session: Session, task: Task, actor_id: str, kind: str, detail: dict[str, Any], now: datetime
) -> TaskEvent:
    assert task.id is not None
    values: dict[str, Any] = {
        "team_id": task.team_id, "task_id": task.id, "actor_id": actor_id, "kind": kind, "detail": detail, "at": now,
    }
    # A Core INSERT … RETURNING: events are never edited, so the ORM's bookkeeping would be wasted work.
    event_id = session.connection().execute(_INSERT_EVENT, values).scalar_one()
    return TaskEvent.model_construct(id=event_id, **values)


_INSERT_TASK = insert(Task.__table__).returning(Task.__table__.c.id)  # type: ignore[attr-defined]
_INSERT_TAG = insert(TaskTag.__table__)  # type: ignore[attr-defined]
_INSERT_EVENT = insert(TaskEvent.__table__).returning(TaskEvent.__table__.c.id)  # type: ignore[attr-defined]


def commit_change(
    session: Session,
    task: Task,
    actor: Actor,
    kind: str,
    detail: dict[str, Any],
    now: datetime,
    *,
    notify: Iterable[str | None],
) -> Task:
    """Save the change, record its event, and queue the card refresh, thread line and DMs."""
    task.updated_at = now
    task.version += 1
    session.add(task)
    session.flush()
    assert task.id is not None
    place_next_notice(session, task=task, now=now)
    event = _event(session, task, actor.user_id, kind, detail, now)
    items = [
        Pending(f"card.update:{task.id}:{task.version}", "card.update", {"channel": task.card_channel_id}, task.id),
        Pending(f"thread:{event.id}", "thread.note", {"channel": task.card_channel_id, "event_id": event.id}, task.id),
        *_dms(task, event, notify, actor_id=actor.user_id),
    ]
    if (kind == "done" and task.source_ts is not None and not card_in_source_thread(task)
            and source_replies_on(session, task.team_id)):
        items += _source_note(task, event)
    items += _homes(session, task, event, also=[detail.get("from")] if kind == "reassigned" else [])
    enqueue_all(session, team_id=task.team_id, now=now, items=items)
    return task


def _dms(task: Task, event: TaskEvent, recipients: Iterable[str | None], *, actor_id: str) -> list[Pending]:
    """A DM about `event` to each recipient other than the person who caused it."""
    seen: set[str] = set()
    items = []
    for user_id in recipients:
        if not user_id or user_id == actor_id or user_id in seen:
            continue
        seen.add(user_id)
        items.append(Pending(f"dm:{event.id}:{user_id}", "dm", {"user": user_id, "event_id": event.id}, task.id))
    return items
