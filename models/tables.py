"""SQLModel tables. Every row belongs to one workspace (`team_id`); timestamps are aware UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Index, UniqueConstraint, text
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlmodel import Field, SQLModel

from models.enums import Priority, TaskStatus
from models.types import UTCDateTime


def _enum(enum: type[Priority] | type[TaskStatus]) -> Any:
    # Stored as plain strings (their values), so new states need no ALTER TYPE on PostgreSQL.
    return Enum(
        enum, native_enum=False, create_constraint=False, length=16,
        values_callable=lambda members: [m.value for m in members],
    )


__all__ = [
    "OUTBOX_DEAD",
    "OUTBOX_PENDING",
    "OUTBOX_SENT",
    "Outbox",
    "DigestRun",
    "DigestSubscription",
    "NoticeQueue",
    "Person",
    "RecurringTask",
    "RoleEvent",
    "RoleGrant",
    "ProcessedEvent",
    "Task",
    "TaskBase",
    "TaskEvent",
    "TaskNotice",
    "TaskTag",
    "Workspace",
]


class Workspace(SQLModel, table=True):
    """One Slack team; holds the counter behind its `T-<n>` task numbers."""

    team_id: str = Field(primary_key=True, max_length=32)
    next_task_number: int = Field(default=1)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Whether a task's source message hears, in its thread, that the task was made and done.
    source_replies: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()})


class Person(SQLModel, table=True):
    """A Slack user as last seen through `users.info`/`users.list` (name and time zone)."""

    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_person_team_user"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    user_id: str = Field(max_length=32)
    name: str = Field(max_length=255)
    real_name: str = Field(default="", max_length=255)
    tz: str = Field(default="UTC", max_length=64)
    # Slack's `locale` (`en-GB`, `en-US`), for reading `12/5`; "" until Slack has told us.
    locale: str = Field(default="", max_length=35)
    is_bot: bool = Field(default=False)
    deleted: bool = Field(default=False)
    refreshed_at: datetime = Field(sa_type=UTCDateTime)
    # Set in Handoff, never overwritten by a refresh from Slack:
    hours: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # working week; {} = workspace default
    morning_queue: bool = Field(default=False)
    # When they last opened Handoff's Home tab (None: never, so nothing keeps it fresh), and its pages.
    home_opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    home_pages: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # Which DMs they get: "all", "needed" (what needs them) or "summary" (the morning DM only); and
    # whether DMs about their tasks wait for their working hours (quiet hours: outside them); None until
    # they choose, which means the workspace's HANDOFF_QUIET_HOURS (on unless a team turns it off).
    notify: str = Field(default="all", max_length=16, sa_column_kwargs={"server_default": "all"})
    quiet: bool | None = Field(default=None)
    # Refreshed from Slack with the name: the person is a workspace owner or admin there.
    slack_admin: bool = Field(default=False)
    # Away by `/tasks away` until this instant (their first working start after the last day away), why,
    # and who said so (themselves or a manager).
    away_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    away_reason: str = Field(default="", max_length=200)
    away_by: str = Field(default="", max_length=32)
    # Their Slack status as last seen (users.info, users.list, user_change), and when Slack ends it.
    status_text: str = Field(default="", max_length=100)
    status_emoji: str = Field(default="", max_length=100)
    status_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IntakeChannel(SQLModel, table=True):
    """A channel whose every new top-level message becomes a task (as request channels of ticketing tools)."""

    team_id: str = Field(primary_key=True, max_length=32)
    channel_id: str = Field(primary_key=True, max_length=32)
    set_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)


class RoleGrant(SQLModel, table=True):
    """A role given in Handoff to one person of a workspace (admins come from Slack and the settings)."""

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    role: str = Field(default="manager", max_length=16)
    granted_by: str = Field(max_length=32)
    granted_at: datetime = Field(sa_type=UTCDateTime)


class TeamMember(SQLModel, table=True):
    """One person on a workspace's roster: what they can take on (skills, office) and how much (capacity).

    Whether they manage comes from their role (`RoleGrant`), so the two never disagree."""

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    # Lower-case skill names such as "payroll", sorted.
    skills: list[str] = Field(default_factory=list, sa_type=JSON)
    # "front" (client-facing: support, calls, email) or "back" (admin, bookkeeping, payroll); None: either.
    office: str | None = Field(default=None, max_length=8)
    # The most open tasks routing gives them; None: no limit.
    capacity: int | None = Field(default=None)
    added_by: str = Field(max_length=32)
    added_at: datetime = Field(sa_type=UTCDateTime)


class RoleEvent(SQLModel, table=True):
    """One line of a workspace's role history: who gave or took which role from whom, when."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    user_id: str = Field(max_length=32)
    role: str = Field(max_length=16)
    kind: str = Field(max_length=16)  # granted, revoked
    # A user id, or where the change came from (HANDOFF_MANAGERS, the 0004 migration).
    actor_id: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime)


class TaskBase(SQLModel):
    """Fields a task is created with."""

    title: str = Field(max_length=500)
    requester_id: str = Field(max_length=32)
    assignee_id: str | None = Field(default=None, max_length=32)
    priority: Priority = Field(default=Priority.NORMAL, sa_type=_enum(Priority))
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    origin_channel_id: str = Field(max_length=32)


class Task(TaskBase, table=True):
    """One delegated piece of work, shown as `T-<number>`, with its card's place in Slack."""

    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_task_team_number"),
        Index("ix_task_card", "card_channel_id", "card_ts"),
        Index("ix_task_team_assignee_status", "team_id", "assignee_id", "status"),
        Index("ix_task_status_due", "status", "due_at"),
        # Also serves (team_id, status) lookups; completed_at for "done since" reads.
        Index("ix_task_team_status_completed", "team_id", "status", "completed_at"),
        Index("ix_task_source", "source_channel_id", "source_ts"),
        # Only cards posted into a thread (few): a reply's lookup reads its thread's cards, newest first.
        Index("ix_task_card_thread", "card_channel_id", "card_thread_ts", "card_ts",
              sqlite_where=text("card_thread_ts IS NOT NULL"), postgresql_where=text("card_thread_ts IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    status: TaskStatus = Field(default=TaskStatus.OPEN, sa_type=_enum(TaskStatus))
    card_channel_id: str = Field(max_length=32)
    card_ts: str | None = Field(default=None, max_length=32)
    card_url: str | None = Field(default=None, max_length=500)
    # Set when the card is a reply in a thread (a mention in a thread): its history lines go there too.
    card_thread_ts: str | None = Field(default=None, max_length=32)
    blocked_reason: str | None = Field(default=None, max_length=500)
    # The state a blocked task returns to when it is unblocked.
    blocked_from: TaskStatus | None = Field(default=None, sa_type=_enum(TaskStatus))
    done_note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recurring_id: int | None = Field(default=None, foreign_key="recurringtask.id", index=True)
    version: int = Field(default=1)
    details: str | None = Field(default=None, max_length=3000)
    # The Slack message the task was made from, if any: its place, its thread, its author and its link.
    source_channel_id: str | None = Field(default=None, max_length=32)
    source_ts: str | None = Field(default=None, max_length=32)
    source_thread_ts: str | None = Field(default=None, max_length=32)
    source_author_id: str | None = Field(default=None, max_length=32)
    source_url: str | None = Field(default=None, max_length=500)
    # The requester asked to hear nothing more of this task.
    requester_muted: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})

    @property
    def ref(self) -> str:
        """The reference people see, e.g. `T-42`."""
        return f"T-{self.number}"


class TaskNotice(SQLModel, table=True):
    """When the sweep next looks at a task: a row for each task that may still be owed a notice.

    Apart from the task, so that the sweep moving 10,000 tasks on rewrites these narrow rows and their
    one index, not the wide task rows and every index on them.
    """

    __table_args__ = (Index("ix_tasknotice_at", "at"),)

    task_id: int = Field(primary_key=True, foreign_key="task.id")
    team_id: str = Field(max_length=32)
    # No scheduler notice is owed before this instant (a lower bound the sweep moves on).
    at: datetime = Field(sa_type=UTCDateTime)
    # The task's version when `at` was set: the sweep moves a task on only if it has not changed since.
    version: int


class RecurringTask(SQLModel, table=True):
    """A task that comes back on a schedule; each occurrence creates an ordinary task."""

    __table_args__ = (Index("ix_recurringtask_status_next", "status", "next_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    requester_id: str = Field(max_length=32)
    assignee_id: str | None = Field(default=None, max_length=32)
    title: str = Field(max_length=500)
    priority: Priority = Field(default=Priority.NORMAL, sa_type=_enum(Priority))
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    origin_channel_id: str = Field(max_length=32)
    card_channel_id: str = Field(max_length=32)
    rule: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    tz: str = Field(default="UTC", max_length=64)
    status: str = Field(default="active", max_length=16)  # active, paused, stopped
    # The occurrence the next instance is for, and the last one an instance was created for.
    next_at: datetime = Field(sa_type=UTCDateTime)
    last_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    details: str | None = Field(default=None, max_length=3000)  # each instance's details


class DigestSubscription(SQLModel, table=True):
    """A channel that gets the daily digest at a local time, in the zone of who set it up."""

    team_id: str = Field(primary_key=True, max_length=32)
    channel_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(max_length=32)
    tz: str = Field(default="UTC", max_length=64)
    at: str = Field(default="09:00", max_length=5)  # HH:MM local
    hours: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # working days of the digest
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class DigestRun(SQLModel, table=True):
    """One digest posted (or being posted) to a channel for a local date: the key that prevents a second."""

    __table_args__ = (Index("ix_digestrun_at", "at"),)

    team_id: str = Field(primary_key=True, max_length=32)
    channel_id: str = Field(primary_key=True, max_length=32)
    local_date: str = Field(primary_key=True, max_length=10)  # YYYY-MM-DD in the subscription's zone
    at: datetime = Field(sa_type=UTCDateTime)


class TaskEvent(SQLModel, table=True):
    """One line of a task's audit history: who did what, when."""

    __table_args__ = (
        # Also serves lookups by task alone; (task, kind) finds when a task last entered the pool.
        Index("ix_taskevent_task_kind", "task_id", "kind"),
        # Partial: only the scheduler's notices have a once-key, and other events pay nothing for it.
        Index("uq_taskevent_once", "team_id", "once_key", unique=True,
              sqlite_where=text("once_key IS NOT NULL"), postgresql_where=text("once_key IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    task_id: int = Field(foreign_key="task.id")
    actor_id: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    at: datetime = Field(sa_type=UTCDateTime)
    # A scheduler notice's once-key (e.g. `od:42:1764…`): the event itself records that it was sent, so a
    # re-run, a restart or a concurrent run never records (or sends) it twice.
    once_key: str | None = Field(default=None, max_length=64)


class TaskTag(SQLModel, table=True):
    """One tag of one task, written with `Task.tags`, so `/tasks #tag` is an indexed lookup in SQL."""

    __table_args__ = (Index("ix_tasktag_team_tag", "team_id", "tag"),)

    task_id: int = Field(foreign_key="task.id", primary_key=True)
    tag: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(max_length=32)


class NoticeQueue(SQLModel, table=True):
    """DMs owed to a person by one batch of a sweep pass, held until the pass's end groups them into one DM.

    A row per person and batch: how many notices of each kind, and what the DM shows of the first of them
    (at most models.notices.GROUPED_ITEMS of each kind over the pass; the rest are counted only).
    """

    __table_args__ = (Index("ix_noticequeue_team_user", "team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    items: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)


OUTBOX_PENDING = "pending"
OUTBOX_SENT = "sent"
OUTBOX_DEAD = "dead"


class Outbox(SQLModel, table=True):
    """A message that must reach Slack; written with the change that causes it, kept until confirmed."""

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # Retention prunes sent and dead rows by age. Partial: the pending rows every change and sweep
        # writes pay nothing for it.
        Index("ix_outbox_sent", "status", "sent_at", sqlite_where=text("sent_at IS NOT NULL"),
              postgresql_where=text("sent_at IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32)
    task_id: int | None = Field(default=None, foreign_key="task.id", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=OUTBOX_PENDING, max_length=16)
    attempts: int = Field(default=0)
    created_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    # A lease: the worker holding `lease_owner` owns the row until then; every outcome it writes checks
    # that it still holds it, so two processes never both record (or repeat) a delivery.
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=36)
    last_error: str | None = Field(default=None, max_length=500)
    # Set before each attempt and kept after one whose outcome is unknown (timeout, 5xx, a killed worker):
    # Slack may have posted it already, so the next attempt looks for it first.
    uncertain: bool = Field(default=False)
    # When the first attempt began: a lookup for an earlier post reads Slack's history back to here.
    first_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class ProcessedEvent(SQLModel, table=True):
    """An Events API `event_id` already acted on, so Slack's retries change nothing."""

    __table_args__ = (Index("ix_processedevent_at", "at"),)

    team_id: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(sa_type=UTCDateTime)


