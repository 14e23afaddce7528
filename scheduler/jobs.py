"""The scheduler's jobs: plain functions of (session, now) that queue what is owed at that instant.

Every notice is claimed under a unique key in the same transaction that queues it, so a re-run at the
same instant, a restart, or a second scheduler process neither repeats nor skips one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.enums import TaskStatus
from models.notices import claim_once, notify_task
from models.outbox import enqueue
from models.queries import ACTIVE_STATUSES, sort_key
from models.recurrence import Recurrence, due_between, next_occurrence
from models.roles import roles_of, seed_managers
from models.tables import Person, RecurringTask, Task, TaskEvent
from models.tasks import NewTask, create_task
from models.worktime import WorkWeek
from scheduler.config import JobConfig
from scheduler.digest import run_digests, snapshot

__all__ = [
    "JobReport",
    "run_all",
    "run_digests",
    "run_morning",
    "run_recurring",
    "run_reminders",
    "run_unclaimed",
]

@dataclass
class JobReport:
    """What a run queued."""

    reminders: int = 0
    overdue: int = 0
    escalations: int = 0
    nudges: int = 0
    created: int = 0
    digests: int = 0
    morning: int = 0

    def __iadd__(self, other: JobReport) -> JobReport:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def summary(self) -> str:
        """One line for operators, e.g. `reminders=2 overdue=1 …`."""
        return " ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


class _People:
    """People looked up once per run."""

    def __init__(self, session: Session, team_id: str) -> None:
        rows = session.exec(select(Person).where(Person.team_id == team_id)).all()
        self.by_id = {p.user_id: p for p in rows}

    def get(self, user_id: str | None) -> Person | None:
        return self.by_id.get(user_id) if user_id else None


def _managers(session: Session, team_id: str, now: datetime, config: JobConfig) -> list[str]:
    """Who hears escalations: the workspace's managers (HANDOFF_MANAGERS seeded first, as for requests)."""
    seed_managers(session, team_id=team_id, user_ids=config.managers, now=now)
    return list(roles_of(session, team_id=team_id).managers)


def _teams(session: Session) -> list[str]:
    return sorted(set(session.exec(select(Task.team_id).distinct())))


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


# -- reminders, overdue, escalations --------------------------------------------------------------


def run_reminders(session: Session, now: datetime, config: JobConfig) -> JobReport:
    """Due-soon reminders, overdue notices and escalations for every assigned, unfinished task."""
    report = JobReport()
    for team_id in _teams(session):
        people = _People(session, team_id)
        managers = _managers(session, team_id, now, config)
        tasks = session.exec(
            select(Task).where(
                Task.team_id == team_id,
                col(Task.status).in_([TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED]),
                col(Task.due_at).is_not(None),
            )
        ).all()
        for task in tasks:
            week = config.week(people.get(task.assignee_id))
            report += _remind(session, task, now, config, week)
            report += _overdue(session, task, now, config, week, managers)
    return report


def owed_leads(task: Task, now: datetime, leads: Iterable[timedelta], week: WorkWeek) -> list[timedelta]:
    """The reminder lead times whose (working-hours-shifted) moment has come for `task` at `now`."""
    assert task.due_at is not None
    due = task.due_at
    if now >= due:
        return []
    owed = []
    for lead in leads:
        planned = due - lead
        # A task delegated 3 hours before it is due gets no "24 hours left" reminder.
        if planned < task.created_at:
            continue
        if week.shift_into_hours(planned, deadline=due) <= now:
            owed.append(lead)
    return owed


def _snoozed(task: Task, now: datetime) -> bool:
    return task.snoozed_until is not None and now < task.snoozed_until


def _remind(session: Session, task: Task, now: datetime, config: JobConfig, week: WorkWeek) -> JobReport:
    report = JobReport()
    if _snoozed(task, now):
        return report
    if task.snoozed_until is not None:
        # The snooze is over: refresh the card once so its "snoozed until" note goes away.
        enqueue(
            session, team_id=task.team_id, key=f"card.unsnooze:{task.id}:{_stamp(task.snoozed_until)}",
            kind="card.update", task_id=task.id, payload={"channel": task.card_channel_id}, now=now,
        )
    owed = owed_leads(task, now, config.reminder_leads, week)
    if not owed:
        return report
    assert task.due_at is not None
    due = _stamp(task.due_at)
    # After downtime several leads may be owed at once: the person needs only the nearest one.
    nearest = min(owed)
    for lead in sorted(owed, reverse=True):
        key = f"rem:{task.id}:{due}:{int(lead.total_seconds())}"
        if lead != nearest:
            claim_once(session, team_id=task.team_id, key=key, now=now)
            continue
        if notify_task(
            session, task=task, kind="reminder", key=key, now=now,
            detail={"lead": int(lead.total_seconds())}, dm_to=[task.assignee_id],
        ):
            report.reminders += 1
    return report


def _overdue(
    session: Session, task: Task, now: datetime, config: JobConfig, week: WorkWeek, managers: list[str]
) -> JobReport:
    report = JobReport()
    assert task.due_at is not None
    if now < task.due_at:
        return report
    due = _stamp(task.due_at)
    if not _snoozed(task, now) and notify_task(
        session, task=task, kind="overdue", key=f"od:{task.id}:{due}", now=now,
        dm_to=[task.assignee_id], thread=True, refresh_card=True,
    ):
        report.overdue += 1
    escalate_from = week.add_working_time(task.due_at, config.overdue_grace)
    if now < escalate_from or not week.is_working_time(now):
        return report
    # At most once per working day (the assignee's local date) for the same due time.
    day = week.local_date(now).isoformat()
    recipients = [task.requester_id, *managers]
    if notify_task(
        session, task=task, kind="escalated", key=f"esc:{task.id}:{due}:{day}", now=now,
        detail={"late_by": int((now - task.due_at).total_seconds())}, dm_to=recipients,
    ):
        report.escalations += 1
    return report


# -- unclaimed pool tasks -------------------------------------------------------------------------


def run_unclaimed(session: Session, now: datetime, config: JobConfig) -> JobReport:
    """Nudge the pool about tasks nobody claimed, then escalate them to managers."""
    report = JobReport()
    for team_id in _teams(session):
        people = _People(session, team_id)
        managers = _managers(session, team_id, now, config)
        pool = session.exec(select(Task).where(Task.team_id == team_id, Task.status == TaskStatus.OPEN)).all()
        for task in pool:
            since = _open_since(session, task)
            week = config.week(people.get(task.requester_id))
            waited = week.working_time_between(since, now)
            stamp = _stamp(since)
            if waited >= config.unclaimed_after:
                helpers = _available_assistants(session, people, config, team_id, now)
                if notify_task(
                    session, task=task, kind="nudged", key=f"nudge:{task.id}:{stamp}", now=now,
                    detail={"assistants": helpers}, thread=True,
                ):
                    report.nudges += 1
            if waited >= config.unclaimed_escalate_after and notify_task(
                session, task=task, kind="unclaimed", key=f"unesc:{task.id}:{stamp}", now=now,
                detail={"waited": int(waited.total_seconds())}, dm_to=managers,
            ):
                report.escalations += 1
    return report


def _open_since(session: Session, task: Task) -> datetime:
    """When the task last entered the pool (created, released or reopened)."""
    last = session.exec(
        select(TaskEvent.at)
        .where(TaskEvent.task_id == task.id, col(TaskEvent.kind).in_(["created", "released", "reopened"]))
        .order_by(col(TaskEvent.id).desc())
    ).first()
    return last or task.created_at


def _available_assistants(
    session: Session, people: _People, config: JobConfig, team_id: str, now: datetime
) -> list[str]:
    """People who have taken tasks before and are within their working hours now (until the roster exists)."""
    ids = session.exec(
        select(Task.assignee_id).where(Task.team_id == team_id, col(Task.assignee_id).is_not(None)).distinct()
    ).all()
    working = [u for u in ids if u and config.week(people.get(u)).is_working_time(now)]
    return sorted(working)[:10]


# -- recurring tasks ------------------------------------------------------------------------------


def run_recurring(session: Session, now: datetime, config: JobConfig) -> JobReport:
    """Create the instance of each recurring task whose next occurrence is near; a missed run only once."""
    report = JobReport()
    due_soon = session.exec(
        select(RecurringTask).where(
            RecurringTask.status == "active", col(RecurringTask.next_at) <= now + config.recurring_lead
        )
    ).all()
    for recurring in due_soon:
        tz = ZoneInfo(recurring.tz)
        rule = Recurrence.from_dict(recurring.rule)
        # Every occurrence the bot slept through collapses into the latest one.
        missed = due_between(rule, start=recurring.next_at - timedelta(seconds=1), end=now, tz=tz)
        occurrence = missed[-1] if missed else recurring.next_at
        if claim_once(session, team_id=recurring.team_id, key=f"rec:{recurring.id}:{_stamp(occurrence)}", now=now):
            task = create_task(
                session=session,
                request=NewTask(
                    team_id=recurring.team_id, requester_id=recurring.requester_id, title=recurring.title,
                    origin_channel_id=recurring.origin_channel_id, card_channel_id=recurring.card_channel_id,
                    assignee_id=recurring.assignee_id, due_at=occurrence, priority=recurring.priority,
                    tags=tuple(recurring.tags), recurring_id=recurring.id,
                ),
                now=now,
                allow_past_due=True,
            )
            report.created += 1 if task.id else 0
        recurring.last_at = occurrence
        recurring.next_at = next_occurrence(rule, after=occurrence, tz=tz)
        session.add(recurring)
    return report


# -- morning queue --------------------------------------------------------------------------------


def run_morning(session: Session, now: datetime, config: JobConfig) -> JobReport:
    """At the start of their working day, DM each opted-in person what is theirs today."""
    report = JobReport()
    opted = session.exec(select(Person).where(col(Person.morning_queue).is_(True))).all()
    for person in opted:
        week = config.week(person)
        day = week.local_date(now)
        if not week.is_working_day(day) or not week.day_start(day) <= now < week.day_end(day):
            continue
        if not claim_once(session, team_id=person.team_id, key=f"morning:{person.user_id}:{day}", now=now):
            continue
        mine = sorted(
            session.exec(
                select(Task).where(
                    Task.team_id == person.team_id,
                    Task.assignee_id == person.user_id,
                    col(Task.status).in_(ACTIVE_STATUSES),
                )
            ).all(),
            key=sort_key,
        )
        enqueue(
            session, team_id=person.team_id, key=f"morning:{person.team_id}:{person.user_id}:{day}",
            kind="morning", now=now,
            payload={"user": person.user_id, "date": day.isoformat(), "items": [snapshot(t) for t in mine]},
        )
        report.morning += 1
    return report


JOBS = {
    "reminders": (run_reminders, run_unclaimed),
    "recurring": (run_recurring,),
    "digest": (run_digests, run_morning),
}


def run_all(session: Session, now: datetime, config: JobConfig, only: str = "all") -> JobReport:
    """Run the named group of jobs (`reminders`, `recurring`, `digest`) or all of them, as of `now`."""
    report = JobReport()
    groups = JOBS.values() if only == "all" else [JOBS[only]]
    for group in groups:
        for job in group:
            report += job(session, now, config)
    return report


