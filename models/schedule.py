"""Domain operations behind the scheduler's settings: snooze, recurring tasks, digests, hours, morning queue."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.enums import TaskStatus
from models.errors import BadDueDate, BadInput, TaskNotFound
from models.notices import look_again_for
from models.parsing import WORK_DAYS, parse_when
from models.people import Actor
from models.permissions import Deed, require, require_on_task
from models.queries import ACTIVE_STATUSES
from models.recurrence import Recurrence, anchored, next_occurrence
from models.tables import DigestSubscription, Person, RecurringTask, Task
from models.tasks import NewTask, check_details, commit_change, find_task

__all__ = [
    "MAX_SNOOZE",
    "create_recurring",
    "list_recurring",
    "parse_clock",
    "set_digest",
    "set_hours",
    "set_morning_queue",
    "set_recurring_status",
    "snooze_task",
    "snooze_until",
    "stop_digest",
]

MAX_SNOOZE = timedelta(days=14)


def snooze_task(
    *, session: Session, team_id: str, number: int, actor: Actor, until: datetime, now: datetime
) -> Task:
    """Hold the task's reminders until `until`; the due date stays where it is."""
    task = find_task(session, team_id=team_id, number=number, lock=True)
    if task.status not in ACTIVE_STATUSES or task.status == TaskStatus.OPEN:
        raise BadInput(f"{task.ref} has no reminders to snooze.", "Snooze works on assigned, unfinished tasks.")
    require_on_task(Deed.SNOOZE, actor, task)
    if until <= now:
        raise BadDueDate("Snooze until when? That time has passed.", "e.g. `/tasks snooze T-42 2h`")
    if until - now > MAX_SNOOZE:
        raise BadDueDate("That snooze is longer than two weeks.", "Change the due date instead.")
    task.snoozed_until = until
    return commit_change(session, task, actor, "snoozed", {"until": until.isoformat()}, now, notify=[])


_SHORT_SPAN = re.compile(r"^\d+\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)$", re.IGNORECASE)


_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)


def parse_clock(text: str) -> time:
    """A time of day such as `9`, `9:30`, `09:30`, `9am` or `5:30pm`."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise BadInput(f"I can't read {text!r} as a time of day.", "e.g. `9:00` or `8:30am`")
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
    if half:
        if not 1 <= hour <= 12:
            raise BadInput(f"I can't read {text!r} as a time of day.", "e.g. `9:00` or `8:30am`")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise BadInput(f"I can't read {text!r} as a time of day.", "e.g. `9:00` or `8:30am`")
    return time(hour, minute)


def snooze_until(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    day_first: bool | None = None,
    day_end: time = time(17, 0),
    work_days: Collection[int] = WORK_DAYS,
) -> datetime:
    """Read `2h`, `for 90 minutes`, `until tomorrow 9am` or `Monday 8am` as the end of a snooze."""
    text = text.strip()
    lowered = text.lower()
    for word in ("until ", "till ", "for "):
        if lowered.startswith(word):
            text = text[len(word):].strip()
            break
    if not text:
        raise BadDueDate("Snooze for how long?", "e.g. `2h` or `until tomorrow 9am`")
    if _SHORT_SPAN.match(text):
        text = "in " + text
    return parse_when(text, now=now, tz=tz, day_first=day_first, day_end=day_end, work_days=work_days)


def create_recurring(
    *, session: Session, request: NewTask, rule: Recurrence, tz: ZoneInfo, now: datetime
) -> RecurringTask:
    """Store a recurring task; its instances are created by the scheduler as each occurrence nears."""
    if not request.title.strip():
        raise BadInput("The recurring task needs a description.", "e.g. `/delegate @ana Send payroll every Monday 9am`")
    rule = anchored(rule, now=now, tz=tz)
    recurring = RecurringTask(
        team_id=request.team_id,
        requester_id=request.requester_id,
        assignee_id=request.assignee_id,
        title=request.title.strip(),
        priority=request.priority,
        tags=list(request.tags),
        origin_channel_id=request.origin_channel_id,
        card_channel_id=request.card_channel_id,
        rule=rule.to_dict(),
        tz=tz.key,
        next_at=next_occurrence(rule, after=now, tz=tz),
        created_at=now,
        details=check_details(request.details),
    )
    session.add(recurring)
    session.flush()
    return recurring


def list_recurring(session: Session, *, team_id: str) -> list[RecurringTask]:
    """The workspace's recurring tasks that are not stopped, soonest first."""
    return list(
        session.exec(
            select(RecurringTask)
            .where(RecurringTask.team_id == team_id, RecurringTask.status != "stopped")
            .order_by(col(RecurringTask.next_at))
        )
    )


def set_recurring_status(
    *, session: Session, team_id: str, recurring_id: int, actor: Actor, status: str, now: datetime
) -> RecurringTask:
    """Pause, resume or stop a recurring task (its requester or a manager)."""
    recurring = session.get(RecurringTask, recurring_id)
    if recurring is None or recurring.team_id != team_id or recurring.status == "stopped":
        raise TaskNotFound(f"I can't find R-{recurring_id}.", "`/tasks recurring` lists them.")
    require(Deed.CHANGE_RECURRING, actor, subject=f"R-{recurring_id}", requester=recurring.requester_id)
    if status == "active" and recurring.status == "paused":
        # Resuming skips what fell due while paused: the next instance is the next occurrence from now.
        rule = Recurrence.from_dict(recurring.rule)
        recurring.next_at = next_occurrence(rule, after=now, tz=ZoneInfo(recurring.tz))
    recurring.status = status
    session.add(recurring)
    return recurring


def set_digest(
    *, session: Session, team_id: str, channel_id: str, actor: Actor, at: time, tz: str,
    hours: dict[str, Any], now: datetime,
) -> DigestSubscription:
    """Post the daily digest in `channel_id` at `at` in `tz` (managers and admins only)."""
    require(Deed.SET_DIGEST, actor, subject="the daily digest")
    user_id = actor.user_id
    sub = session.get(DigestSubscription, (team_id, channel_id))
    if sub is None:
        sub = DigestSubscription(team_id=team_id, channel_id=channel_id, user_id=user_id, created_at=now)
    sub.user_id = user_id
    sub.at = at.strftime("%H:%M")
    sub.tz = tz
    sub.hours = hours
    sub.active = True
    session.add(sub)
    return sub


def stop_digest(*, session: Session, team_id: str, channel_id: str, actor: Actor) -> bool:
    """Stop the digest in `channel_id` (managers and admins only); False when there was none."""
    require(Deed.STOP_DIGEST, actor, subject="the daily digest")
    sub = session.get(DigestSubscription, (team_id, channel_id))
    if sub is None or not sub.active:
        return False
    sub.active = False
    session.add(sub)
    return True


def _person(session: Session, team_id: str, user_id: str) -> Person:
    person = session.exec(select(Person).where(Person.team_id == team_id, Person.user_id == user_id)).first()
    if person is None:
        raise BadInput("I don't know you yet; try again in a moment.", "")
    return person


def set_hours(*, session: Session, team_id: str, user_id: str, hours: dict[str, Any]) -> Person:
    """Store a person's own working week (used for their reminders and morning queue)."""
    person = _person(session, team_id, user_id)
    person.hours = hours
    session.add(person)
    look_again_for(session, team_id=team_id, user_ids=[user_id])
    return person


def set_morning_queue(*, session: Session, team_id: str, user_id: str, on: bool) -> Person:
    """Turn the morning queue DM on or off for a person."""
    person = _person(session, team_id, user_id)
    person.morning_queue = on
    session.add(person)
    return person
