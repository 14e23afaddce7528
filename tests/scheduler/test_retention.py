"""Retention prunes what nothing will ask for again, in batches, and keeps every once-key still in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from models.db import Database
from models.notices import claim_once
from models.outbox import Pending, enqueue_all, lease_due, mark_dead, mark_sent, release
from models.people import Actor
from models.tables import DigestRun, Outbox, ProcessedEvent
from models.tasks import claim_task, complete_task
from scheduler.config import JobConfig
from scheduler.jobs import run_sweep
from scheduler.retention import prune
from tests.factories import TEAM, make_task

CONFIG = JobConfig(managers=frozenset({"UMIA"}))
NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # a Monday, working time in London
OLD = NOW - timedelta(days=40)


def _keys(db: Database) -> set[str]:
    with db.read() as s:
        return set(s.exec(select(ProcessedEvent.event_id)))


def test_sent_and_refused_rows_go_after_their_age_pending_ones_never(db: Database) -> None:
    with db.transaction() as s:
        enqueue_all(s, team_id=TEAM, now=OLD, items=[Pending(f"n:{n}", "notice", {"user": "UANA", "text": "x"})
                                                      for n in range(7)])
    with db.transaction() as s:
        rows = lease_due(s, now=OLD, owner="test", limit=7)
        for row in rows[:3]:
            mark_sent(s, row.id or 0, owner="test", now=NOW - timedelta(days=8))
        mark_dead(s, rows[3].id or 0, owner="test", now=NOW - timedelta(days=8), error="channel_not_found")
        mark_sent(s, rows[4].id or 0, owner="test", now=NOW - timedelta(days=6))  # younger than 7 days
        for row in rows[5:]:
            release(s, row.id or 0, owner="test", at=OLD, uncertain=False)
    pruned = prune(db, NOW, CONFIG, batch=2)
    assert pruned.outbox == 4
    with db.read() as s:
        left = [(row.key, row.status) for row in s.exec(select(Outbox).order_by(col(Outbox.id)))]
    assert left == [("n:4", "sent"), ("n:5", "pending"), ("n:6", "pending")]


def test_old_keys_go_but_those_still_in_force_stay(db: Database) -> None:
    overdue = make_task(db, OLD - timedelta(days=1), due_at=OLD)
    done = make_task(db, OLD - timedelta(days=1), due_at=OLD)
    pooled = make_task(db, OLD, assignee_id=None)
    claimed = make_task(db, OLD, assignee_id=None)
    with db.transaction() as s:
        complete_task(session=s, team_id=TEAM, number=done.number, actor=Actor("UANA"), now=OLD)
        claim_task(session=s, team_id=TEAM, number=claimed.number, actor=Actor("UBEN"), now=OLD)
        for key in ["Ev0123ABCD", f"rem:{overdue.id}:1:3600", f"esc:{overdue.id}:1:2026-10-21",
                    f"od:{overdue.id}:{int(OLD.timestamp())}", f"od:{done.id}:{int(OLD.timestamp())}",
                    f"nudge:{pooled.id}:1", f"unesc:{claimed.id}:1", "od:nonsense"]:
            claim_once(s, team_id=TEAM, key=key, now=OLD)
        claim_once(s, team_id=TEAM, key="EvRECENT", now=NOW - timedelta(days=1))
    assert prune(db, NOW, CONFIG, batch=2).events == 6
    assert _keys(db) == {f"od:{overdue.id}:{int(OLD.timestamp())}", f"nudge:{pooled.id}:1", "EvRECENT"}


def test_a_task_overdue_for_longer_than_the_retention_is_not_told_again(db: Database) -> None:
    make_task(db, OLD - timedelta(days=1), due_at=OLD - timedelta(hours=1))
    assert run_sweep(db, OLD, CONFIG).overdue == 1
    prune(db, NOW, CONFIG)
    report = run_sweep(db, NOW, CONFIG)
    assert (report.overdue, report.escalations) == (0, 1)


def test_old_digest_runs_go_except_each_channels_newest(db: Database) -> None:
    with db.transaction() as s:
        for channel, days in [("C1", 60), ("C1", 50), ("C1", 40), ("C2", 45), ("C3", 2)]:
            at = NOW - timedelta(days=days)
            s.add(DigestRun(team_id=TEAM, channel_id=channel, local_date=at.date().isoformat(), at=at))
    assert prune(db, NOW, CONFIG, batch=1).digest_runs == 2
    with db.read() as s:
        kept = sorted((r.channel_id, (NOW - r.at).days) for r in s.exec(select(DigestRun)))
    assert kept == [("C1", 40), ("C2", 45), ("C3", 2)]


def test_the_ages_come_from_the_settings() -> None:
    from bot.app import job_config
    from bot.settings import SettingsError, load_settings

    env = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "0123abcd", "HANDOFF_RETENTION_OUTBOX_DAYS": "3"}
    config = job_config(load_settings(env, dotenv_path=None))
    assert (config.keep_outbox, config.keep_events) == (timedelta(days=3), timedelta(days=30))
    with pytest.raises(SettingsError, match="HANDOFF_RETENTION_EVENTS_DAYS"):
        load_settings({**env, "HANDOFF_RETENTION_EVENTS_DAYS": "0"}, dotenv_path=None)
