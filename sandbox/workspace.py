"""One sandbox workspace: the Slack stand-in with seeded people and channels, and the real bot serving it.

The bot is the same app, handlers, scheduler and delivery as in production, served over loopback HTTP
with a SQLite file of its own. Only its clock is the sandbox's, so time can be moved forward to watch
reminders, escalations, recurring tasks and digests arrive. Used by the scripted tour (`demo`) and
the browser workspace (`web`).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import col, select

from sandbox.client import SlackClientSim
from sandbox.standin import SlackStandIn

if TYPE_CHECKING:
    from bot.app import Handoff
    from models.db import Database

__all__ = [
    "CHANNELS",
    "PEOPLE",
    "SECRET",
    "TEAM",
    "Member",
    "SandboxClock",
    "Workspace",
    "next_step",
    "seeded_standin",
    "workspace",
]

TEAM = "T0SANDBOX"
SECRET = "sandbox-signing-secret"
POOL = "CPOOL"
MANAGER = "UMIA"
# How far apart the stops are when fast-forwarding (on the quarter-hour; see next_step): close enough that
# anything set to the quarter-hour lands on time, far enough apart that a day takes a moment, not minutes.
STEP = timedelta(minutes=15)
# How long a fast-forward step waits for delivery to catch up before moving on regardless.
SETTLE_SECONDS = 10.0


@dataclass(frozen=True)
class Member:
    """A seeded person of the sandbox workspace."""

    id: str
    name: str
    real_name: str
    title: str
    tz: str
    locale: str = "en-US"
    # Slack's workspace owner: a Handoff admin, who may add and remove managers.
    is_owner: bool = False
    # On Handoff's roster (assistants): their skills and office, as a manager would have set them.
    skills: tuple[str, ...] = ()
    office: str | None = None


PEOPLE = (
    Member("URITA", "rita", "Rita Alvarez", "Requester · Operations lead", "America/New_York", is_owner=True),
    Member("UMIA", "mia", "Mia Novak", "Manager · Back office", "America/Chicago"),
    Member("UANA", "ana", "Ana Silva", "Assistant · Bookkeeping", "Europe/London", "en-GB",
           skills=("bookkeeping", "payroll"), office="back"),
    Member("UBEN", "ben", "Ben Okafor", "Assistant · Payroll", "Asia/Kolkata", "en-IN",
           skills=("payroll",), office="back"),
    Member("UCHEN", "chen", "Chen Wei", "Assistant · Inbox and support", "Australia/Sydney", "en-AU",
           skills=("inbox", "support"), office="front"),
)
NAMES = {m.id: m.name for m in PEOPLE}
CHANNELS = {"CGENERAL": "general", POOL: "va-pool", "CDIGEST": "ops-digest"}


class SandboxClock:
    """The sandbox's clock: starts at a chosen instant; stands still, or runs at real speed, and jumps ahead."""

    def __init__(self, start: datetime, *, running: bool = False) -> None:
        self._start = start
        self._offset = timedelta(0)
        self._running = running
        self._began = time.monotonic()
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """Whether time passes on its own (in the browser workspace) or only when moved (in the tour)."""
        return self._running

    def __call__(self) -> datetime:
        with self._lock:
            return self._now()

    def _now(self) -> datetime:
        elapsed = timedelta(seconds=time.monotonic() - self._began) if self._running else timedelta(0)
        return self._start + self._offset + elapsed

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta`."""
        with self._lock:
            self._offset += max(delta, timedelta(0))
            return self._now()

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (never backwards)."""
        with self._lock:
            self._offset += max(moment - self._now(), timedelta(0))


def next_step(now: datetime) -> datetime:
    """The first quarter-hour after `now`: where fast-forwarding next stops to run the scheduler.

    Steps end on the quarter-hour, so reminders, digests and due times set on the hour or the
    half-hour (nearly all of them; every time zone's offset is a whole number of quarter-hours)
    arrive at their exact time, not up to a step late.
    """
    step_minutes = int(STEP.total_seconds() // 60)
    floor = now.replace(minute=now.minute - now.minute % step_minutes, second=0, microsecond=0)
    return floor + STEP


def seeded_standin(
    clock: Callable[[], float] | None = None, *, timer: Callable[[], float] | None = None
) -> SlackStandIn:
    """A running, strict stand-in with the sandbox's people and channels.

    `clock` drives message timestamps; `timer` the expiry of trigger ids and response URLs (real
    time when not given). Without `../shared/contract_data` methods are checked against slack_sdk.
    """
    slack = SlackStandIn(team_id=TEAM, clock=clock, timer=timer).start()
    for member in PEOPLE:
        slack.add_user(
            member.id, member.name, real_name=member.real_name, tz=member.tz, title=member.title, locale=member.locale,
            is_owner=member.is_owner,
        )
    for channel_id, name in CHANNELS.items():
        slack.add_channel(channel_id, name, members=[m.id for m in PEOPLE])
    return slack


@dataclass
class Workspace:
    """The stand-in, the running bot and a signed client: one sandbox workspace."""

    slack: SlackStandIn
    clock: SandboxClock
    client: SlackClientSim
    handoff: Handoff
    close: Callable[[], None]
    seen: set[tuple[str, str]] = field(default_factory=set)
    _moving: threading.Lock = field(default_factory=threading.Lock)

    def settle(self) -> None:
        """Let the scheduler and delivery do what is owed at the sandbox's current time (clock standing still)."""
        self.handoff.scheduler.run("all")
        self.handoff.services.delivery.drain(rounds=50)

    def advance(self, delta: timedelta) -> None:
        """Move the clock and settle (clock standing still)."""
        self.clock.advance(delta)
        self.settle()

    def fast_forward(self, target: datetime) -> datetime:
        """Move a running workspace's clock to `target`, a step at a time, as if that time had passed.

        At each step the scheduler runs its jobs, as its timers would have, and the step waits for
        delivery to send what became due, so messages arrive in order and at about their time.
        """
        with self._moving:
            while (now := self.clock()) < target:
                self.clock.set(min(target, next_step(now)))
                self.handoff.scheduler.run("all")
                self.handoff.services.delivery.kick()
                self._wait_for_delivery()
                self.slack.touch()
            return self.clock()

    def _wait_for_delivery(self) -> None:
        """Until nothing due is left in the outbox (or SETTLE_SECONDS pass); woken by each Slack call."""
        from models.tables import OUTBOX_PENDING, Outbox

        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            seen = self.slack.version
            with self.handoff.services.db.read() as session:
                due = session.exec(
                    select(func.count())
                    .select_from(Outbox)
                    .where(Outbox.status == OUTBOX_PENDING, col(Outbox.next_attempt_at) <= self.clock())
                ).one()
            if due == 0:
                return
            self.slack.wait_for_version(seen, timeout=0.2)


def _seed_roster(db: Database, now: datetime) -> None:
    """The assistants on Handoff's roster, with their skills and office, as if a manager had added them."""
    from models.tables import TeamMember

    with db.transaction() as session:
        for m in PEOPLE:
            if m.skills:
                session.add(TeamMember(team_id=TEAM, user_id=m.id, skills=sorted(m.skills), office=m.office,
                                       added_by=MANAGER, added_at=now))


@contextlib.contextmanager
def workspace(start: datetime, *, folder: Path | None = None, live: bool = False) -> Iterator[Workspace]:
    """Start the stand-in and the real bot (HTTP on loopback), and stop both afterwards.

    `live`: the clock runs at real speed, and delivery and the scheduler run in the background as in
    production (the browser workspace); otherwise time moves only when told to and `settle()` does
    their work (the scripted tour).
    """
    from bot.app import create_app
    from bot.server import start_http, stop_http
    from bot.settings import Settings
    from migrations import upgrade
    from models.db import Database

    clock = SandboxClock(start, running=live)
    # Interaction expiry follows the sandbox's clock, so a jump of an hour expires response URLs as
    # an hour in Slack would.
    slack = seeded_standin(
        clock=(lambda: clock().timestamp()) if live else None, timer=lambda: clock().timestamp()
    )
    own = tempfile.TemporaryDirectory(prefix="handoff-sandbox-") if folder is None else None
    path = Path(own.name if own else str(folder)) / "sandbox.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    settings = Settings(
        bot_token=slack.token, signing_secret=SECRET, api_url=slack.api_url, database_url=url,
        pool_channel=POOL, managers=frozenset({MANAGER}), slack_timeout=5.0,
    )
    handoff = create_app(settings, db=Database.from_url(url), clock=clock)
    _seed_roster(handoff.services.db, clock())
    # The member list is read before the page opens (a running bot reads it in the background), so the
    # first `/delegate @ana` typed in the page already knows Ana.
    for _page in range(100):  # a handful of pages; bounded in case the stand-in fails
        if not handoff.services.directory.list_page():
            break
    server = start_http(handoff, "127.0.0.1", 0, 4)

    def serve() -> None:
        with contextlib.suppress(OSError, ValueError):
            server.run()

    thread = threading.Thread(target=serve, name="sandbox-http", daemon=True)
    thread.start()
    if live:
        handoff.start_background(scheduler=True)
    client = SlackClientSim(f"http://127.0.0.1:{server.effective_port}/slack/events", SECRET, team_id=TEAM,
                            standin=slack)

    def close() -> None:
        stop_http(server)
        thread.join(timeout=5)
        handoff.close()
        slack.stop()
        if own is not None:
            own.cleanup()

    try:
        yield Workspace(slack=slack, clock=clock, client=client, handoff=handoff, close=close)
    finally:
        close()
