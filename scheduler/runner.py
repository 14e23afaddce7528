"""APScheduler wiring: a frequent sweep and a per-minute digest check, run only by the leader."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from models.db import Database
from scheduler.config import JobConfig
from scheduler.jobs import JobReport, run_all
from scheduler.leader import Leadership
from scheduler.retention import Pruned, prune

__all__ = ["SchedulerRunner"]

log = logging.getLogger(__name__)

# Job defaults, on purpose:
# - coalesce: after a pause (sleeping laptop, blocked process) a backlog of sweeps runs once, not N times;
#   the jobs compute what is owed *now*, so one run catches everything up.
# - max_instances=1: a slow sweep is never overlapped by the next one.
# - misfire_grace_time=None: a late run still runs, however late; nothing is skipped because of delay.
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


class SchedulerRunner:
    """Runs the jobs on a timer while this process holds the scheduler lock."""

    def __init__(
        self,
        db: Database,
        config: JobConfig,
        *,
        clock: Callable[[], datetime],
        after_run: Callable[[], object] = lambda: None,
        before_run: Callable[[], object] = lambda: None,
        sweep_seconds: int = 30,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.after_run = after_run
        self.before_run = before_run
        self.sweep_seconds = sweep_seconds
        # Told which group just ran (the worker reports the last sweep apart from the other passes).
        self.after_group: Callable[[str], object] = lambda group: None
        self.leadership = Leadership(db)
        self._scheduler: BackgroundScheduler | None = None

    def run(self, only: str = "all", *, at: datetime | None = None, lead: bool = True) -> JobReport | None:
        """Run a group of jobs once as of `at` (default: now) if this process leads; None when it does not.

        `lead=False` runs beside whichever process leads (a one-off `jobs run` next to a live server):
        every notice, digest and instance is claimed under a once-key, so concurrent runs repeat nothing.
        """
        if lead and not self.leadership.acquire():
            log.debug("another process runs the scheduler")
            return None
        self.before_run()
        now = at or self.clock()
        report = run_all(self.db, now, self.config, only=only)
        self.after_run()
        self.after_group(only)
        return report

    def prune(self) -> Pruned | None:
        """Prune what the retention ages allow, if this process leads; None when it does not."""
        if not self.leadership.acquire():
            return None
        return prune(self.db, self.clock(), self.config)

    def start(self) -> None:
        """Start the timers in a background thread."""
        scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
        # The first sweep runs at once, not a sweep interval later: it catches up on what came due while the
        # bot was down, and its housekeeping reads the member list a first start needs for plain @names.
        # (APScheduler's timers run on the wall clock; the jobs themselves take `self.clock`.)
        scheduler.add_job(
            self.run, IntervalTrigger(seconds=self.sweep_seconds), id="sweep", kwargs={"only": "reminders"},
            next_run_time=datetime.now(UTC),
        )
        scheduler.add_job(self.run, IntervalTrigger(seconds=self.sweep_seconds), id="recurring",
                          kwargs={"only": "recurring"})
        # Digests and morning queues are due on the minute someone chose, so check at every minute.
        scheduler.add_job(self.run, CronTrigger(second=2), id="digests", kwargs={"only": "digest"})
        scheduler.add_job(self.prune, IntervalTrigger(hours=1), id="retention")
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started (sweep every %ss, digests every minute)", self.sweep_seconds)

    def stop(self) -> None:
        """Stop the timers and give up the lock."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        self.leadership.release()
