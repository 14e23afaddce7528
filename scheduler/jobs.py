"""The scheduler's jobs: plain functions of (database, now) that queue what is owed at that instant.

Every notice is claimed under a unique key in the same transaction that queues it, so a re-run at the
same instant, a restart, or a second scheduler process neither repeats nor skips one. The sweep reads
only the tasks whose next-notice instant (`TaskNotice.at`) has come, so its cost follows what is owed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from queue import Queue
from time import monotonic, sleep
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, update
from sqlalchemy import select as columns_of
from sqlmodel import Session, col, select

from models.availability import AT_WORK, AWAY, availability
from models.db import Database
from models.enums import TaskStatus
from models.notices import Notice, claim_once, owed_dms, record_notices, send_owed_dms, unclaimed_keys
from models.outbox import Pending, enqueue, enqueue_all
from models.queries import ACTIVE_STATUSES, sort_key
from models.recurrence import Recurrence, due_between, next_occurrence
from models.roles import roles_of, seed_managers
from models.sql import bulk_delete, bulk_update, one_of
from models.tables import Person, RecurringTask, RoleGrant, Task, TaskEvent, TaskNotice, TeamMember
from models.tasks import NewTask, create_task
from models.worktime import WorkWeek
from scheduler.config import JobConfig
from scheduler.digest import run_digests, run_each_digest, snapshot

__all__ = [
    "JobReport",
    "run_all",
    "run_digests",
    "run_morning",
    "run_recurring",
    "run_sweep",
]

log = logging.getLogger(__name__)

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


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


# -- the sweep: reminders, overdue, escalations, unclaimed pool tasks ------------------------------

# Tasks in the first transaction; later ones are sized so that each takes about HOLD seconds: on SQLite,
# how long every other writer waits for its one lock; on PostgreSQL, only a request that touches one of
# the batch's tasks waits, and fewer round trips matter more.
SWEEP_BATCH = 50
# Tasks planned from one read (outside any lock), then written in batches of the size above.
PLAN_CHUNK = 500
# Chunks swept side by side on PostgreSQL (see `_sweep_team`).
CHUNKS_AT_ONCE = 2
HOLD = {"sqlite": 0.015, "postgresql": 0.05}
# The first transaction of a pass's DMs holds about this much queued (rows plus the items they list); the
# next ones are sized by how long it took (measured on SQLite: 7–9 µs each, so the first takes ~3 ms).
DM_START = 300
# A stored next notice is looked at again within a day at most, so changed hours, zones or settings catch up.
RECHECK = timedelta(days=1)
# The longest pause (seconds) after a write transaction, so SQLite's other writers get the lock in between:
# they try for it every millisecond (models.db.LOCK_POLL).
MAX_GAP = 0.005
# A task whose notices could not be worked out (damaged data) is tried again this much later.
RETRY_FAILED = timedelta(hours=1)
_POOL_ENTRIES = ("created", "released", "reopened")


@dataclass
class _Team:
    """What the sweep looks up once per workspace and run."""

    team_id: str
    people: _People
    managers: list[str]
    assistants: list[str] | None = None
    weeks: dict[str | None, WorkWeek] = field(default_factory=dict)
    aways: dict[str | None, bool] = field(default_factory=dict)
    # How many notices of each kind each person's DM lists so far in this pass (see `record_notices`). Two
    # chunks written at once (PostgreSQL) may race on a count: then a DM renders an item more, and
    # `send_owed_dms` still keeps the first GROUPED_ITEMS.
    listed: Counter[tuple[str, str]] = field(default_factory=Counter)

    def week(self, user_id: str | None, config: JobConfig) -> WorkWeek:
        """Someone's working week, worked out once per run."""
        if user_id not in self.weeks:
            self.weeks[user_id] = config.week(self.people.get(user_id))
        return self.weeks[user_id]

    def away(self, user_id: str | None, now: datetime, config: JobConfig) -> bool:
        """Whether someone is away at `now` (by `/tasks away` or their Slack status), once per run."""
        if user_id not in self.aways:
            person = self.people.get(user_id)
            state = availability(person, self.week(user_id, config), now).state if person is not None else ""
            self.aways[user_id] = state == AWAY
        return self.aways[user_id]


@dataclass(slots=True)
class _Owed:
    """What the sweep reads of a task whose next notice has come (plain values: no ORM bookkeeping)."""

    id: int
    team_id: str
    number: int
    status: TaskStatus
    due_at: datetime | None
    created_at: datetime
    snoozed_until: datetime | None
    assignee_id: str | None
    requester_id: str
    card_channel_id: str
    version: int

    @property
    def ref(self) -> str:
        """`T-42`."""
        return f"T-{self.number}"


# The task's columns, but the version of its next-notice row: the one the sweep's moves compare.
_OWED_COLUMNS = [col(TaskNotice.version) if f == "version" else col(getattr(Task, f)) for f in _Owed.__slots__]


def _notice(task: _Owed, kind: str, key: str, **more: Any) -> Notice:
    return Notice(task.id, task.card_channel_id, kind, key, **more)


@dataclass
class _Batch:
    """What a chunk of tasks is owed, worked out before taking the write lock."""

    notices: list[Notice]
    moves: list[dict[str, Any]]
    unsnoozed: list[_Owed]

    def split(self, size: int) -> tuple[_Batch, _Batch]:
        """The first `size` tasks' part, and the rest."""
        first = {move["task_id"] for move in self.moves[:size]}
        parts = (_Batch([], self.moves[:size], []), _Batch([], self.moves[size:], []))
        for notice in self.notices:
            parts[notice.task_id not in first].notices.append(notice)
        for task in self.unsnoozed:
            parts[task.id not in first].unsnoozed.append(task)
        return parts


def run_sweep(db: Database, now: datetime, config: JobConfig, *, batch: int | None = None) -> JobReport:
    """Queue the reminders, overdue notices, escalations and nudges owed at `now`.

    Only tasks whose next-notice instant has come are read, workspace by workspace and a batch at a
    time: each batch is worked out from a read, then written in one short transaction, and its tasks
    moved on to their next notice. Batches are sized to take about HOLD seconds each (or are
    `batch` tasks each, when given). Last, each person gets one DM for all they are owed in the pass.
    One workspace failing stops none of the others.
    """
    with db.read() as session:
        # Core: plain tuples, where the ORM's result machinery cost more than the query (10,000 rows).
        owed = session.connection().execute(
            columns_of(col(TaskNotice.team_id), col(Task.assignee_id), col(TaskNotice.task_id))
            .join_from(TaskNotice, Task, col(Task.id) == col(TaskNotice.task_id))
            .where(col(TaskNotice.at) <= now)
        ).all()
        left_owing = owed_dms(session)
    by_team: dict[str, list[int]] = {team_id: [] for team_id in left_owing}
    # By assignee, so that each person's notices fall in few batches (a queued DM row each); sorted as
    # plain tuples: comparing result rows costs more than the rest of this loop.
    for team_id, _assignee, task_id in sorted((t, a or "", i) for t, a, i in owed):
        assert task_id is not None
        by_team.setdefault(team_id, []).append(task_id)
    if not by_team:
        return JobReport()
    with db.checkpoint_after():
        return _sweep(db, by_team, now, config, batch)


def _sweep(
    db: Database, by_team: dict[str, list[int]], now: datetime, config: JobConfig, batch: int | None
) -> JobReport:
    report = JobReport()
    for team_id, ids in sorted(by_team.items()):
        try:
            with db.transaction() as session:
                team = _Team(team_id, _People(session, team_id), _managers(session, team_id, now, config))
            report += _sweep_team(db, team, ids, now, config, batch)
            # The pass's DMs last, one per person however many batches it took.
            with db.read() as session:
                recipients = owed_dms(session).get(team_id, [])
            # As many people to a transaction as what is queued for them (rows and the items they list) fits
            # in a batch: an assistant's one row may list 50 tasks, a manager's 40 rows only counts.
            dms = _Pace(db, batch, start=DM_START)
            start = 0
            while start < len(recipients):
                end, owing = start + 1, recipients[start][1]
                while end < len(recipients) and owing + recipients[end][1] <= dms.size:
                    owing, end = owing + recipients[end][1], end + 1
                with dms.transaction(owing) as session:
                    users = [user_id for user_id, _count in recipients[start:end]]
                    send_owed_dms(session, team_id=team_id, user_ids=users, now=now)
                start = end
        except Exception:
            log.exception("sweep of workspace %s failed at %s", team_id, now.isoformat())
    return report


def _sweep_team(
    db: Database, team: _Team, ids: list[int], now: datetime, config: JobConfig, batch: int | None
) -> JobReport:
    """Plan one workspace's owed tasks PLAN_CHUNK at a time, then write each chunk in batches. Reads take
    no lock, so they go in fewer, bigger statements than the writes.

    On PostgreSQL, CHUNKS_AT_ONCE chunks go side by side, each on a thread and connection of its own:
    while one is planned (in this process), another's writes are worked on by the server, on the other
    core. Not on SQLite, whose writes run in this process and take turns for one lock: there a planner
    beside the writer fought it for the GIL, and each batch held the lock longer.
    """
    chunks = [ids[start : start + PLAN_CHUNK] for start in range(0, len(ids), PLAN_CHUNK)]

    def sweep_chunk(chunk: list[int], pace: _Pace) -> JobReport:
        report = JobReport()
        with db.read() as session:
            left = _plan(session, team, chunk, now, config)
        while left.moves:
            planned, left = left.split(pace.size)
            with pace.transaction(len(planned.moves)) as session:
                report += _write(session, team, planned, now)
        return report

    report = JobReport()
    if db.dialect != "postgresql" or len(chunks) < 2:
        pace = _Pace(db, batch)
        for chunk in chunks:
            report += sweep_chunk(chunk, pace)
        return report
    # Chunks touch different tasks, notices and once-keys, so their transactions never wait for each other.
    paces = Queue[_Pace]()
    for _ in range(CHUNKS_AT_ONCE):
        paces.put(_Pace(db, batch))

    def with_a_pace(chunk: list[int]) -> JobReport:
        pace = paces.get()
        try:
            return sweep_chunk(chunk, pace)
        finally:
            paces.put(pace)

    with ThreadPoolExecutor(CHUNKS_AT_ONCE, thread_name_prefix="sweep-chunk") as pool:
        for done in pool.map(with_a_pace, chunks):
            report += done
    return report


class _Pace:
    """Write transactions that each take about HOLD seconds: `size` is how much to put in the next.

    On SQLite, each is followed by a pause (as long as it held the lock, at most MAX_GAP): the other
    processes' writers try for the lock every millisecond, and a job that took it again at once would
    starve them. Not in `serve`'s worker, whose database makes way for the web process's requests
    (`RequestWriters`): there the next transaction waits while a request waits to write.
    """

    def __init__(self, db: Database, fixed: int | None, *, start: int = SWEEP_BATCH) -> None:
        self.db = db
        self.size = fixed or start
        self.fixed = fixed is not None

    @contextmanager
    def transaction(self, done: int) -> Iterator[Session]:
        """A write transaction for `done` items; sizes the next one from how long it held the lock."""
        with self.db.transaction() as session:
            # Timed from when the lock is taken: the wait for it (requests writing meanwhile) is no sign
            # that the batch costs more, and counting it shrank the batches exactly when others write.
            session.connection()
            started = monotonic()
            yield session
        held = monotonic() - started
        if not self.fixed:
            # At most doubling, at least halving: one slow transaction (a checkpoint, a busy disk) is no trend.
            hold = HOLD.get(self.db.dialect, HOLD["sqlite"])
            self.size = min(max(int(done * hold / max(held, 1e-4)), done // 2, 1), done * 2)
        if self.db.dialect == "sqlite" and self.db.writers is None:
            sleep(min(held, MAX_GAP))


def _plan(session: Session, team: _Team, ids: list[int], now: datetime, config: JobConfig) -> _Batch:
    # Core, not the ORM's execution: plain rows are all the planner needs, and ORM loading cost more.
    rows = session.connection().execute(
        columns_of(*_OWED_COLUMNS)
        .select_from(TaskNotice).join(Task, col(Task.id) == col(TaskNotice.task_id))
        .where(one_of(session, col(TaskNotice.task_id), ids), col(TaskNotice.at) <= now)
    ).all()  # fetched at once: row by row, the driver's fetchone per row cost more than the query
    tasks = [_Owed(*row) for row in rows]
    since = _open_since(session, [t.id for t in tasks if t.status == TaskStatus.OPEN])
    planned = _Batch([], [], [])
    for task in tasks:
        try:
            pooled = task.status == TaskStatus.OPEN
            week = team.week(task.requester_id if pooled else task.assignee_id, config)
            if pooled:
                entered = since.get(task.id or 0, task.created_at)
                owed = _pool_notices(task, entered, now, config, week, team.managers)
                upcoming = _pool_upcoming(entered, now, config, week)
            else:
                escalate_from = week.add_working_time(task.due_at, config.overdue_grace) if task.due_at else now
                moments = _lead_moments(task, config.reminder_leads, week) if task.due_at else []
                owed = _due_notices(task, now, week, team.managers, escalate_from, moments)
                if owed and team.away(task.assignee_id, now, config):
                    # Someone away hears no reminders; the task stays theirs, and overdue still counts.
                    owed = [n for n in owed if n.kind != "reminder"]
                upcoming = _due_upcoming(task, now, week, escalate_from, moments)
            planned.moves.append({"task_id": task.id, "version": task.version, "at": _next_look(upcoming, now)})
            planned.notices += owed
            if task.snoozed_until is not None and task.snoozed_until <= now:
                planned.unsnoozed.append(task)
        except Exception:
            log.exception("sweep skipped %s of workspace %s", task.ref, task.team_id)
            planned.moves.append({"task_id": task.id, "version": task.version, "at": now + RETRY_FAILED})
    # The once-keys first: nothing is worked out or written for a notice that was sent before.
    fresh = unclaimed_keys(session, team_id=team.team_id, keys=[n.key for n in planned.notices])
    planned.notices = [_with_helpers(session, team, n, now, config) for n in planned.notices if n.key in fresh]
    return planned


def _write(session: Session, team: _Team, planned: _Batch, now: datetime) -> JobReport:
    """Move the batch's tasks on, and claim and queue their notices; a concurrent run's claims win over ours.

    Compare-and-set on each task's version: a task changed since it was planned (done, reassigned, due
    later) keeps the "look again now" its change set, and gets none of the notices planned from its old
    state; the next pass plans it afresh.
    """
    report = JobReport()
    later = [move for move in planned.moves if move["at"] is not None]
    never = [{"task_id": move["task_id"], "version": move["version"]} for move in planned.moves if move["at"] is None]
    moved = {task_id for (task_id,) in [
        *bulk_update(session, TaskNotice, later, match=("task_id", "version"), returning=("task_id",)),
        # Nothing more can be owed (e.g. a pool task past its last escalation): no row to look at.
        *bulk_delete(session, TaskNotice, never, returning=("task_id",)),
    ]}
    notices = [notice for notice in planned.notices if notice.task_id in moved]
    for notice in record_notices(session, team_id=team.team_id, notices=notices, now=now, listed=team.listed):
        setattr(report, _COUNTED[notice.kind], getattr(report, _COUNTED[notice.kind]) + 1)
    _unsnooze(session, team.team_id, [task for task in planned.unsnoozed if task.id in moved], now)
    return report


_COUNTED = {"reminder": "reminders", "overdue": "overdue", "escalated": "escalations", "unclaimed": "escalations",
            "nudged": "nudges"}


def _next_look(upcoming: list[datetime], now: datetime) -> datetime | None:
    later = [moment for moment in upcoming if moment > now]
    return min([*later, now + RECHECK]) if later else None


def _owed_leads(task: _Owed, now: datetime, moments: list[tuple[timedelta, datetime]]) -> list[timedelta]:
    """The reminder lead times whose (working-hours-shifted) moment has come for `task` at `now`."""
    if task.due_at is None or now >= task.due_at:
        return []
    return [lead for lead, at in moments if at <= now]


def _lead_moments(task: _Owed, leads: Iterable[timedelta], week: WorkWeek) -> list[tuple[timedelta, datetime]]:
    """Each reminder lead with the moment it lands, in working hours where that is before the due time."""
    assert task.due_at is not None
    due = task.due_at
    moments = []
    for lead in leads:
        planned = due - lead
        # A task delegated 3 hours before it is due gets no "24 hours left" reminder.
        if planned >= task.created_at:
            moments.append((lead, week.shift_into_hours(planned, deadline=due)))
    return moments


def _snoozed(task: _Owed, now: datetime) -> bool:
    return task.snoozed_until is not None and now < task.snoozed_until


def _due_notices(
    task: _Owed, now: datetime, week: WorkWeek, managers: list[str], escalate_from: datetime,
    moments: list[tuple[timedelta, datetime]],
) -> list[Notice]:
    """What an assigned task with a due time is owed at `now`: the nearest reminder, overdue, an escalation."""
    if task.due_at is None:
        return []
    due, stamp = task.due_at, _stamp(task.due_at)
    notices = []
    owed = _owed_leads(task, now, moments)
    # After downtime several leads may be owed at once: the person needs only the nearest one.
    if owed and not _snoozed(task, now):
        lead = min(owed)
        notices.append(_notice(
            task, "reminder", f"rem:{task.id}:{stamp}:{int(lead.total_seconds())}", dm_to=(task.assignee_id,),
            detail={"lead": int(lead.total_seconds())},
        ))
    if now >= due and not _snoozed(task, now):
        notices.append(_notice(
            task, "overdue", f"od:{task.id}:{stamp}", dm_to=(task.assignee_id,), thread=True, refresh_card=True,
        ))
    at_now = _at(week, now)
    if now >= escalate_from and at_now.working:
        # At most once per working day (the assignee's local date) for the same due time.
        day = at_now.day.isoformat()
        notices.append(_notice(
            task, "escalated", f"esc:{task.id}:{stamp}:{day}", dm_to=(task.requester_id, *managers),
            detail={"late_by": int((now - due).total_seconds())},
        ))
    return notices


def _due_upcoming(
    task: _Owed, now: datetime, week: WorkWeek, escalate_from: datetime, moments: list[tuple[timedelta, datetime]]
) -> list[datetime]:
    """When an assigned task may be owed its next notice: reminders, due time, snooze end, next escalation."""
    if task.due_at is None:
        return []
    upcoming = [at for _lead, at in moments] + [task.due_at]
    if task.snoozed_until is not None:
        upcoming.append(task.snoozed_until)
    upcoming.append(escalate_from if escalate_from > now else _at(week, now).next_escalation)
    return upcoming


@dataclass(frozen=True)
class _Now:
    """What a working week says about the sweep's instant, the same for every task of that week."""

    working: bool
    day: date
    # When an escalation due now or earlier may next be sent: tomorrow's start when today's is done.
    next_escalation: datetime


@lru_cache(maxsize=4096)
def _at(week: WorkWeek, now: datetime) -> _Now:
    working, day = week.is_working_time(now), week.local_date(now)
    return _Now(working, day, week.next_start(week.day_end(day)) if working else week.next_start(now))


def _pool_notices(
    task: _Owed, since: datetime, now: datetime, config: JobConfig, week: WorkWeek, managers: list[str]
) -> list[Notice]:
    """What a task waiting in the pool since `since` is owed: a nudge in its thread, then the managers' DM."""
    waited = week.working_time_between(since, now)
    stamp = _stamp(since)
    notices = []
    if waited >= config.unclaimed_after:
        notices.append(_notice(task, "nudged", f"nudge:{task.id}:{stamp}", thread=True))
    if waited >= config.unclaimed_escalate_after:
        notices.append(_notice(
            task, "unclaimed", f"unesc:{task.id}:{stamp}", dm_to=tuple(managers),
            detail={"waited": int(waited.total_seconds())},
        ))
    return notices


def _pool_upcoming(since: datetime, now: datetime, config: JobConfig, week: WorkWeek) -> list[datetime]:
    return [week.add_working_time(since, config.unclaimed_after),
            week.add_working_time(since, config.unclaimed_escalate_after)]


def _open_since(session: Session, task_ids: list[int]) -> dict[int, datetime]:
    """When each task last entered the pool (created, released or reopened), for the tasks that have an event."""
    if not task_ids:
        return {}
    rows = session.exec(
        select(TaskEvent.task_id, TaskEvent.at)
        .where(col(TaskEvent.task_id).in_(task_ids), col(TaskEvent.kind).in_(_POOL_ENTRIES))
        .order_by(col(TaskEvent.id))
    ).all()
    return dict(rows)  # the latest entry wins


def _with_helpers(session: Session, team: _Team, notice: Notice, now: datetime, config: JobConfig) -> Notice:
    """A nudge names who could take the task; looked up once per workspace, only when a nudge is sent."""
    if notice.kind != "nudged":
        return notice
    if team.assistants is None:
        team.assistants = _available_assistants(session, team.people, config, team.team_id, now)
    return replace(notice, detail={"assistants": team.assistants})


def _available_assistants(
    session: Session, people: _People, config: JobConfig, team_id: str, now: datetime
) -> list[str]:
    """The roster's assistants at work now (in their hours, not away) with room under their capacity; for a
    workspace with no roster yet, people who have taken tasks before and are in their hours."""
    on_roster = session.exec(
        select(TeamMember.user_id, TeamMember.capacity).where(
            TeamMember.team_id == team_id,
            col(TeamMember.user_id).not_in(select(RoleGrant.user_id).where(RoleGrant.team_id == team_id)),
        )
    ).all()
    if not on_roster:
        ids = session.exec(
            select(Task.assignee_id).where(Task.team_id == team_id, col(Task.assignee_id).is_not(None)).distinct()
        ).all()
        working = [u for u in ids if u and config.week(people.get(u)).is_working_time(now)]
        return sorted(working)[:10]
    loads = dict(session.exec(
        select(Task.assignee_id, func.count())
        .where(Task.team_id == team_id, col(Task.assignee_id).in_([u for u, _ in on_roster]),
               col(Task.status).in_(ACTIVE_STATUSES))
        .group_by(col(Task.assignee_id))
    ).all())
    free = []
    for user_id, capacity in on_roster:
        person = people.get(user_id)
        if availability(person, config.week(person), now).state != AT_WORK:
            continue
        if capacity is None or loads.get(user_id, 0) < capacity:
            free.append(user_id)
    return sorted(free)[:10]


def _unsnooze(session: Session, team_id: str, tasks: list[_Owed], now: datetime) -> None:
    """A snooze is over: refresh each card once so its "snoozed until" note goes away, and forget the snooze."""
    if not tasks:
        return
    enqueue_all(session, team_id=team_id, now=now, items=[
        Pending(f"card.unsnooze:{t.id}:{_stamp(t.snoozed_until)}", "card.update", {"channel": t.card_channel_id}, t.id)
        for t in tasks if t.snoozed_until is not None
    ])
    # Only a snooze that is over: one set again meanwhile stays.
    session.connection().execute(
        update(Task.__table__)  # type: ignore[attr-defined]
        .where(col(Task.id).in_([t.id for t in tasks]), col(Task.snoozed_until) <= now)
        .values(snoozed_until=None)
    )


# -- recurring tasks ------------------------------------------------------------------------------


def run_recurring(db: Database, now: datetime, config: JobConfig) -> JobReport:
    """Create the instance of each recurring task whose next occurrence is near; a missed run only once.

    Each in its own transaction: one damaged rule or unknown zone is logged and skipped, not a stop for all.
    """
    with db.read() as session:
        due_soon = session.exec(
            select(RecurringTask.id).where(
                RecurringTask.status == "active", col(RecurringTask.next_at) <= now + config.recurring_lead
            )
        ).all()
    report = JobReport()
    for recurring_id in due_soon:
        try:
            with db.transaction() as session:
                report += _recur(session, recurring_id, now, config)
        except Exception:
            log.exception("recurring task R-%s skipped at %s", recurring_id, now.isoformat())
    return report


def _recur(session: Session, recurring_id: int | None, now: datetime, config: JobConfig) -> JobReport:
    report = JobReport()
    recurring = session.get(RecurringTask, recurring_id)
    if recurring is None or recurring.status != "active" or recurring.next_at > now + config.recurring_lead:
        return report  # changed (or done by a concurrent run) since it was listed
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
                tags=tuple(recurring.tags), recurring_id=recurring.id, details=recurring.details,
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


def run_morning(db: Database, now: datetime, config: JobConfig) -> JobReport:
    """At the start of their working day, DM each opted-in person what is theirs today (one failing person
    is logged and skipped)."""
    with db.read() as session:
        # Those who chose the daily summary over DMs get the morning DM whether or not they turned it on.
        opted = session.exec(
            select(Person).where(or_(col(Person.morning_queue).is_(True), col(Person.notify) == "summary"))
        ).all()
    report = JobReport()
    for person in opted:
        try:
            week = config.week(person)
            day = week.local_date(now)
            if not week.is_working_day(day) or not week.day_start(day) <= now < week.day_end(day):
                continue
            if availability(person, week, now).state == AWAY:
                continue  # not today's queue for someone away (their first day back has its own)
            with db.transaction() as session:
                report += _queue_morning(session, person, day, now)
        except Exception:
            log.exception("morning queue of %s in workspace %s skipped", person.user_id, person.team_id)
    return report


def _queue_morning(session: Session, person: Person, day: date, now: datetime) -> JobReport:
    report = JobReport()
    if not claim_once(session, team_id=person.team_id, key=f"morning:{person.user_id}:{day}", now=now):
        return report
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


Job = Callable[[Database, datetime, JobConfig], JobReport]


JOBS: dict[str, tuple[Job, ...]] = {
    "reminders": (run_sweep,),
    "recurring": (run_recurring,),
    "digest": (run_each_digest, run_morning),
}


def run_all(db: Database, now: datetime, config: JobConfig, only: str = "all") -> JobReport:
    """Run the named group of jobs (`reminders`, `recurring`, `digest`) or all of them, as of `now`.

    Each job commits on its own, so one failing job never holds back the others.
    """
    report = JobReport()
    groups = JOBS.values() if only == "all" else [JOBS[only]]
    for group in groups:
        for job in group:
            try:
                report += job(db, now, config)
            except Exception:
                log.exception("scheduler job %s failed at %s", job.__name__, now.isoformat())
    return report
