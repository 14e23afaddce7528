"""The running app, served over real HTTP, talking to the Slack stand-in: what Slack and people see."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from bot.app import Handoff, create_app
from bot.delivery import DeliveryReport
from bot.server import start_http, stop_http
from bot.settings import Settings
from migrations import upgrade
from models.db import Database
from models.tables import Task
from models.tasks import find_task
from sandbox import SlackClientSim, SlackStandIn
from sandbox.contract import Contract
from tests.conftest import FakeClock

SECRET = "test-signing-secret"
TEAM = "T0001"
# People of the test workspace: a requester in New York, assistants in London and Kolkata, a manager.
RITA, ANA, BEN, MIA = "URITA", "UANA", "UBEN", "UMIA"
GENERAL, POOL, PRIVATE = "CGENERAL", "CPOOL", "CPRIVATE"


@dataclass
class Bot:
    """The app under test and the ways a test talks to it."""

    handoff: Handoff
    slack: SlackStandIn
    client: SlackClientSim
    url: str

    def deliver(self) -> DeliveryReport:
        """Run the outbox until nothing is due (what the background worker does after each commit)."""
        return self.handoff.services.delivery.drain()

    def task(self, number: int) -> Task:
        """The stored task `T-<number>`."""
        with self.handoff.services.db.transaction() as session:
            return find_task(session, team_id=TEAM, number=number)

    def delegate(self, text: str, *, user: str = RITA, channel: str = GENERAL) -> Any:
        """Type `/delegate text` and return the JSON of the immediate (ephemeral) answer."""
        response = self.client.command(user, "/delegate", text, channel_id=channel)
        assert response.status == 200, response.body
        return response.json()

    def tasks(self, text: str, *, user: str = RITA, channel: str = GENERAL) -> Any:
        """Type `/tasks text` and return the JSON answer."""
        response = self.client.command(user, "/tasks", text, channel_id=channel)
        assert response.status == 200, response.body
        return response.json()

    @contextlib.contextmanager
    def recorded(self, name: str, keep: Callable[..., Any]) -> Iterator[list[Any]]:
        """What `keep` makes of each of the app's engine events `name` (e.g. "commit") inside the block."""
        seen: list[Any] = []

        def record(*args: Any) -> None:
            seen.append(keep(*args))

        engine = self.handoff.services.db.engine
        event.listen(engine, name, record)
        try:
            yield seen
        finally:
            event.remove(engine, name, record)

    def statements(self) -> contextlib.AbstractContextManager[list[str]]:
        """The SQL statements the app runs inside the block."""
        return self.recorded("before_cursor_execute", lambda _conn, _cursor, statement, *_: statement)

    def stored_tasks(self) -> list[Task]:
        """Every stored task, by number."""
        with self.handoff.services.db.read() as session:
            return list(session.exec(select(Task).order_by(col(Task.number))))

    def say(self, user: str, text: str, channel: str, **kwargs: Any) -> dict[str, Any]:
        """`user` writes `text` in `channel` (as Slack delivers it to the bot); the stored message."""
        response = self.client.message_event(user, text, channel, **kwargs)
        assert response.status == 200, response.body
        return self.slack.messages(channel, include_replies=True)[-1]

    def card(self, number: int) -> dict[str, Any]:
        """The card message of `T-<number>` as Slack stores it now."""
        task = self.task(number)
        assert task.card_ts is not None, "card not posted"
        return self.slack.message(task.card_channel_id, task.card_ts)


def seed(slack: SlackStandIn) -> None:
    """The test workspace's people and channels."""
    slack.add_user(RITA, "rita", real_name="Rita Requester", tz="America/New_York")
    slack.add_user(ANA, "ana", real_name="Ana Assistant", tz="Europe/London", locale="en-GB")
    slack.add_user(BEN, "ben", real_name="Ben Assistant", tz="Asia/Kolkata", locale="en-IN")
    slack.add_user(MIA, "mia", real_name="Mia Manager", tz="America/Chicago")
    slack.add_user("UGONE", "gone", real_name="Gone Person", deleted=True)
    people = [RITA, ANA, BEN, MIA]
    slack.add_channel(GENERAL, "general", members=people)
    slack.add_channel(POOL, "va-pool", members=people)
    slack.add_channel(PRIVATE, "payroll", members=people, bot_is_member=False, is_private=True)


@pytest.fixture
def slack(clock: FakeClock) -> Iterator[SlackStandIn]:
    """The strict Slack stand-in, seeded; a test fails if the bot sent anything Slack would refuse.

    Trigger and response_url expiry (and rate limits, when a test turns them on) run on the test's
    clock, so they move only when the test moves it.
    """
    contract = Contract.load(required=True)  # the tests hold the bot to Slack's published contract
    # Message ts follow the test's clock too, as Slack's follow real time (lookups read history by ts).
    with SlackStandIn(
        team_id=TEAM, clock=lambda: clock().timestamp(), timer=lambda: clock().timestamp(), contract=contract
    ) as standin:
        seed(standin)
        yield standin
        refused = [(call.method, call.error, call.messages) for call in standin.violations]
        assert not refused, f"Slack would have refused: {refused}"


def process_env(**values: str) -> dict[str, str]:
    """The environment for a `python -m bot` child: this one's, less any Slack, Handoff or database
    settings, plus `values`. Quiet hours off: the child runs on the wall clock, where a DM outside the
    people's working hours would wait until morning (tests/scenarios/test_notify.py is about that)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOFF_", "DATABASE_URL", "PORT"))}
    env["HANDOFF_QUIET_HOURS"] = "off"
    env.update(values)
    return env


def settings_for(slack: SlackStandIn, db_url: str, **overrides: Any) -> Settings:
    """Settings that point every Slack client at the stand-in."""
    fields: dict[str, Any] = {
        "bot_token": slack.token,
        "signing_secret": SECRET,
        "api_url": slack.api_url,
        "database_url": db_url,
        "pool_channel": POOL,
        "managers": frozenset({MIA}),
        # Long enough that a pause of the test process (a full garbage collection of a big suite's heap)
        # is never taken for Slack not answering; tests of late answers ask for less (`slack_timeout`).
        "slack_timeout": 5.0,
    }
    fields.update(overrides)
    return Settings(**fields)


@contextlib.contextmanager
def serving(handoff: Handoff, slack: SlackStandIn) -> Iterator[Bot]:
    """`handoff` served by waitress on a loopback port until the block ends, then closed."""
    server = start_http(handoff, "127.0.0.1", 0, 4, loop_timeout=0.05)  # so closing it takes no second

    def serve() -> None:
        # Closing the listening socket from the test thread ends the loop with a harmless OSError.
        with contextlib.suppress(OSError, ValueError):
            server.run()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}/slack/events"
    client = SlackClientSim(url, SECRET, team_id=TEAM, standin=slack)
    try:
        yield Bot(handoff=handoff, slack=slack, client=client, url=url)
    finally:
        stop_http(server)
        thread.join(timeout=5)
        handoff.close()


@pytest.fixture
def bot(slack: SlackStandIn, db_url: str, clock: FakeClock, request: pytest.FixtureRequest) -> Iterator[Bot]:
    """Handoff served over HTTP, its member list read; deliveries run when the test says (`bot.deliver()`).

    `@pytest.mark.slack_timeout(1.0)` sets how long it waits for Slack's answers;
    `@pytest.mark.settings(quiet_hours=False)` sets other settings.
    """
    upgrade(db_url)
    marker = request.node.get_closest_marker("slack_timeout")
    overrides: dict[str, Any] = {"slack_timeout": float(marker.args[0])} if marker is not None else {}
    if (changed := request.node.get_closest_marker("settings")) is not None:
        overrides.update(changed.kwargs)
    handoff = create_app(settings_for(slack, db_url, **overrides), db=Database.from_url(db_url), clock=clock)
    # What the worker does first when it starts: read the member list (one page holds the test workspace),
    # which plain @names resolve from.
    handoff.services.directory.list_page()
    with serving(handoff, slack) as served:
        yield served
