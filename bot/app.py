"""The app factory: builds the Bolt app and everything it needs from the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slack_bolt import App

from bot import home
from bot.delivery import Delivery, Wakeup
from bot.directory import Directory
from bot.services import Services
from bot.settings import Settings
from bot.slack_http import KeepAliveWebClient
from handlers import register_all
from models.db import Database, RequestWriters
from models.notify import Rules, quiet_of
from models.people import get_person
from models.worktime import parse_work_hours, to_dict
from scheduler.config import JobConfig
from scheduler.runner import SchedulerRunner

if TYPE_CHECKING:
    from bot.worker import Worker

__all__ = ["Handoff", "create_app", "job_config", "utc_now"]

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The real clock (the one place outside tests and the sandbox that reads it)."""
    return datetime.now(UTC)


@dataclass
class Handoff:
    """A running Handoff: the Bolt app, its services, and the background delivery worker."""

    app: App
    services: Services
    scheduler: SchedulerRunner
    # The separate worker process doing delivery (and the scheduler), when this is the web process of `serve`.
    worker: Worker | None = None

    def start_background(self, *, scheduler: bool = True) -> None:
        """Start delivering the outbox in the background, and the scheduler unless told not to."""
        self.services.delivery.start()
        self.services.delivery.kick()
        if scheduler:
            self.scheduler.start()

    def close(self) -> None:
        """Stop background work and close database connections."""
        self.scheduler.stop()
        self.services.delivery.stop()
        self.services.db.dispose()


def rules_for(services: Services, team_id: str, user_id: str, now: datetime) -> Rules:
    """A person's notification choices as stored now (read afresh: another process may have changed them)."""
    with services.db.read() as session:
        person = get_person(session, team_id=team_id, user_id=user_id)
    if person is None:
        return Rules()
    week = services.config.week(person)
    quiet = quiet_of(person, services.settings.quiet_hours) and not week.is_working_time(now)
    return Rules(mode=person.notify, quiet_until=week.next_start(now) if quiet else None)


def job_config(settings: Settings) -> JobConfig:
    """The scheduler's rules from the settings."""
    return JobConfig(
        reminder_leads=settings.reminder_leads,
        overdue_grace=settings.overdue_grace,
        unclaimed_after=settings.unclaimed_after,
        unclaimed_escalate_after=settings.unclaimed_escalate_after,
        default_hours=to_dict(parse_work_hours(settings.work_hours, ZoneInfo("UTC"))),
        managers=settings.managers,
        keep_outbox=timedelta(days=settings.retention_outbox_days),
        keep_events=timedelta(days=settings.retention_events_days),
    )


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Callable[[], datetime] = utc_now,
    wake: Wakeup | None = None,
    writers: RequestWriters | None = None,
) -> Handoff:
    """Build the app for `settings`; every Slack client it makes talks to `settings.api_url`.

    `writers` is shared by `serve`'s web and worker processes: on SQLite the worker writes between requests.
    """
    database = db or Database.from_url(settings.database_url, writers=writers)
    # Listeners use Bolt's client for reads (users.info, views.open); retries there are harmless.
    # slack_sdk annotates the timeout as int, but urllib takes fractions of a second too.
    timeout: Any = settings.slack_timeout
    # Connections kept open between calls: setting one up (TLS, against slack.com) cost more than a call.
    client = KeepAliveWebClient(token=settings.bot_token, base_url=settings.api_url, timeout=timeout)
    # Deliveries retry through the outbox, which knows what is safe to repeat, so the SDK must not.
    delivery_client = KeepAliveWebClient(
        token=settings.bot_token, base_url=settings.api_url, timeout=timeout, retry_handlers=[]
    )
    services = Services(
        settings=settings,
        db=database,
        clock=clock,
        directory=Directory(database, client, clock),
        delivery=Delivery(
            database, delivery_client, clock=clock, wake=wake,
            lease=settings.outbox_lease, max_backoff=settings.outbox_max_backoff, lanes=settings.delivery_lanes,
        ),
        config=job_config(settings),
    )
    services.delivery.home_view = lambda team_id, user_id: home.view_for(services, team_id, user_id)
    services.delivery.rules = lambda team_id, user_id, now: rules_for(services, team_id, user_id, now)
    app = App(
        signing_secret=settings.signing_secret or None,
        client=client,
        # Listeners finish (one short transaction) before the HTTP answer; Slack output goes via the
        # outbox afterwards. This also avoids the ~10 ms ack polling of the default mode.
        process_before_response=True,
        logger=logging.getLogger("slack_bolt"),
    )
    register_all(app, services)
    runner = SchedulerRunner(
        database, services.config, clock=clock, sweep_seconds=settings.sweep_seconds,
        before_run=services.directory.refresh, after_run=services.delivery.kick,
    )
    return Handoff(app=app, services=services, scheduler=runner)
