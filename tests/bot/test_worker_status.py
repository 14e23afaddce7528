"""What the worker tells the web process about its scheduler: every pass, and the sweeps apart."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.worker import WorkerStatus
from models.db import Database
from scheduler.config import JobConfig
from scheduler.runner import SchedulerRunner

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_a_sweep_is_reported_apart_from_the_other_passes() -> None:
    status = WorkerStatus()
    assert status.last_scheduler_pass is None and status.last_sweep is None
    status.scheduler_pass("digest")
    assert status.last_scheduler_pass is not None and status.last_sweep is None
    before = time.time()
    status.scheduler_pass("reminders")
    assert status.last_sweep is not None and status.last_sweep >= before


def test_the_runner_says_which_group_ran(db: Database) -> None:
    runner = SchedulerRunner(db, JobConfig(), clock=lambda: NOW)
    ran: list[str] = []
    runner.after_group = ran.append
    try:
        runner.run("digest", at=NOW)
        runner.run("reminders", at=NOW)
    finally:
        runner.stop()
    assert ran == ["digest", "reminders"]
