"""The daily digest: what needs attention and each assistant's numbers, in a few thread replies at any size.

Its cost is a fixed number of statements whatever the number of tasks: counts come from SQL aggregates,
and only the few tasks it shows are loaded. Everything else is one `/tasks …` command away.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.db import Database
from models.enums import TaskStatus
from models.localtime import local_instant
from models.outbox import Pending, enqueue_all
from models.queries import AssistantCounts, active_tasks, digest_counts, done_since
from models.roster import away_among, with_roster
from models.sql import insert_ignore
from models.tables import DigestRun, DigestSubscription, Task
from models.worktime import WorkWeek, from_dict
from scheduler.config import JobConfig

if TYPE_CHECKING:
    from scheduler.jobs import JobReport

__all__ = [
    "DIGEST_LIST", "DIGEST_PEOPLE", "compose_digest", "digest_owed", "run_digests", "run_each_digest", "snapshot",
]

log = logging.getLogger(__name__)

# The most pressing tasks shown per list; the rest are counted, with the command that lists them all.
DIGEST_LIST = 10
# Assistants per reply in the per-person numbers: one short line each, well inside Slack's block limits.
DIGEST_PEOPLE = 100

# Each list: its filter for `active_tasks` (given now and the end of the local day) and its `/tasks` command.
_LISTS = ("overdue", "due_today", "blocked", "unclaimed")
_COMMANDS = {"overdue": "/tasks overdue", "due_today": "/tasks today", "blocked": "/tasks blocked",
             "unclaimed": "/tasks pool"}


def digest_owed(subscription: DigestSubscription, week: WorkWeek, now: datetime) -> date | None:
    """The local date whose digest is owed at `now`, or None (pure: time of day, working day, same day)."""
    local = now.astimezone(week.tz)
    day = local.date()
    if not week.is_working_day(day):
        return None
    hour, minute = (int(x) for x in subscription.at.split(":"))
    scheduled = local_instant(day, time(hour, minute), week.tz)
    if scheduled < subscription.created_at:
        return None  # set up after today's time: the first digest is tomorrow's, not one right away
    # A digest missed while the bot was down still goes out later the same local day, never the next.
    return day if scheduled <= now else None


def run_each_digest(db: Database, now: datetime, config: JobConfig) -> JobReport:
    """Every channel's digest on its own: composed in a read (no write lock held meanwhile), then its run
    recorded and its messages queued in one short transaction. One bad subscription (a zone this machine's
    tzdata lacks, a damaged week) is logged and skipped, and every other channel gets its digest."""
    from scheduler.jobs import JobReport  # jobs.py imports this module for its table of jobs

    report = JobReport()
    with db.read() as session:
        channels = session.exec(
            select(DigestSubscription.team_id, DigestSubscription.channel_id)
            .where(col(DigestSubscription.active).is_(True))
        ).all()
    for team_id, channel_id in channels:
        try:
            with db.read() as session:
                sub = session.get(DigestSubscription, (team_id, channel_id))
                planned = _plan(session, sub, now, config) if sub is not None else None
            if planned is not None:
                with db.transaction() as session:
                    report.digests += _record(session, *planned, now=now)
        except Exception:
            log.exception("digest of %s in %s failed at %s; skipped", team_id, channel_id, now.isoformat())
    return report


def run_digests(
    session: Session, now: datetime, config: JobConfig, *, channel: tuple[str, str] | None = None
) -> JobReport:
    """Post each channel's (or one `(team, channel)`'s) daily digest once per local date, at its time, on
    working days, all in `session`."""
    from scheduler.jobs import JobReport  # jobs.py imports this module for its table of jobs

    report = JobReport()
    query = select(DigestSubscription).where(col(DigestSubscription.active).is_(True))
    if channel is not None:
        query = query.where(DigestSubscription.team_id == channel[0], DigestSubscription.channel_id == channel[1])
    for sub in session.exec(query).all():
        planned = _plan(session, sub, now, config)
        if planned is not None:
            report.digests += _record(session, *planned, now=now)
    return report


def _plan(
    session: Session, sub: DigestSubscription, now: datetime, config: JobConfig
) -> tuple[str, str, date, list[Pending]] | None:
    """The digest `sub` is owed at `now`, composed: (team, channel, local date, its messages); None if none."""
    zone = ZoneInfo(sub.tz)
    week = from_dict(sub.hours, zone) if sub.hours else config.week(None, sub.tz)
    day = digest_owed(sub, week, now)
    if day is None:
        return None
    runs = session.exec(
        select(DigestRun.at, DigestRun.local_date)
        .where(DigestRun.team_id == sub.team_id, DigestRun.channel_id == sub.channel_id)
        .order_by(col(DigestRun.at).desc())
    ).first()
    if runs is not None and runs[1] == day.isoformat():
        return None  # today's went out already
    since = runs[0] if runs is not None else now - timedelta(days=1)
    return sub.team_id, sub.channel_id, day, _compose(session, sub, day, week, since, now)


def _record(session: Session, team_id: str, channel_id: str, day: date, items: list[Pending], *, now: datetime) -> int:
    """Record the day's run and queue its messages; 0 when another run recorded it first."""
    if not insert_ignore(
        session, DigestRun, {"team_id": team_id, "channel_id": channel_id, "local_date": day.isoformat(), "at": now}
    ):
        return 0
    enqueue_all(session, team_id=team_id, now=now, items=items)
    return 1


def snapshot(task: Task) -> dict[str, Any]:
    """What a digest or queue shows of a task, frozen at the moment it is composed."""
    return {
        "ref": task.ref,
        "title": task.title,
        "url": task.card_url,
        "due": task.due_at.isoformat() if task.due_at else None,
        "assignee": task.assignee_id,
        "status": str(task.status),
        "priority": str(task.priority),
    }


def _filters(name: str, now: datetime, day_end: datetime) -> dict[str, Any]:
    filters: dict[str, dict[str, Any]] = {
        "overdue": {"overdue_at": now},
        "due_today": {"due_between": (now, day_end)},
        "blocked": {"status": TaskStatus.BLOCKED},
        "unclaimed": {"status": TaskStatus.OPEN},
    }
    return filters[name]


def _pressing(person: AssistantCounts) -> tuple[int, int, int, int, str]:
    # Who needs a look first: most overdue, then due today, blocked, open.
    return (-person.overdue, -person.due_today, -person.blocked, -person.open, person.user_id)


def compose_digest(
    session: Session, *, team_id: str, day_end: datetime, since: datetime, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The digest's headline numbers and its replies: each non-empty attention list (capped), the
    per-assistant numbers (everyone, in parts of DIGEST_PEOPLE), and what was done since `since`."""
    counts = digest_counts(session, team_id=team_id, now=now, day_end=day_end, since=since)
    headline = {
        "open": counts.open,
        "due_today": counts.due_today,
        "overdue": counts.overdue,
        "blocked": counts.blocked,
        "unclaimed": counts.unclaimed,
        "done": counts.done,
        "on_time_rate": round(100 * counts.done_on_time / counts.done) if counts.done else None,
    }
    sections: list[dict[str, Any]] = []
    for name in _LISTS:
        if not headline[name]:
            continue
        page = active_tasks(session, team_id=team_id, limit=DIGEST_LIST, **_filters(name, now, day_end))
        sections.append({"kind": "list", "group": name, "items": [snapshot(t) for t in page.tasks],
                         "total": page.total, "more": _COMMANDS[name]})
    people = sorted(with_roster(session, team_id, counts.assistants), key=_pressing)
    parts = -(-len(people) // DIGEST_PEOPLE)
    away = away_among(session, team_id, [p.user_id for p in people], now)
    for start in range(0, len(people), DIGEST_PEOPLE):
        rows = [{**vars(p), **({"away": away[p.user_id]} if p.user_id in away else {})}
                for p in people[start : start + DIGEST_PEOPLE]]
        part = {"part": start // DIGEST_PEOPLE + 1, "parts": parts} if parts > 1 else {}
        sections.append({"kind": "people", "rows": rows, **part})
    if counts.done:
        done = done_since(session, team_id=team_id, since=since, limit=DIGEST_LIST)
        sections.append({"kind": "list", "group": "done", "items": [snapshot(t) for t in done],
                         "total": counts.done, "more": None})
    return headline, sections


def _compose(
    session: Session, sub: DigestSubscription, day: date, week: WorkWeek, since: datetime, now: datetime
) -> list[Pending]:
    """The digest's parent message and its replies, keyed so that each is queued once."""
    midnight = local_instant(day + timedelta(days=1), time(0, 0), week.tz)
    headline, sections = compose_digest(session, team_id=sub.team_id, day_end=midnight, since=since, now=now)
    parent = f"digest:{sub.team_id}:{sub.channel_id}:{day.isoformat()}"
    items = [Pending(parent, "digest.post", {"channel": sub.channel_id, "date": day.isoformat(), "headline": headline})]
    items += [
        Pending(f"{parent}:{n}", "digest.reply", {"channel": sub.channel_id, "parent": parent, "section": section})
        for n, section in enumerate(sections, start=1)
    ]
    return items
