"""`python -m bot sandbox --script demo`: a scripted tour of the real bot against the Slack stand-in.

The bot is the same app, handlers, scheduler and delivery as in production, served over loopback HTTP,
with its own SQLite file; only its clock is the sandbox's, so the tour can jump ahead to reminders,
escalations and the digest. The conversation is printed as text, as people would read it.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.client import SlackClientSim
from sandbox.standin import SlackStandIn

__all__ = ["SandboxClock", "Workspace", "run_demo", "seeded_standin"]

TEAM = "T0SANDBOX"
SECRET = "sandbox-signing-secret"
PEOPLE = {
    "URITA": ("rita", "Rita (requester)", "America/New_York"),
    "UMIA": ("mia", "Mia (manager)", "America/Chicago"),
    "UANA": ("ana", "Ana (assistant, bookkeeping)", "Europe/London"),
    "UBEN": ("ben", "Ben (assistant, payroll)", "Asia/Kolkata"),
    "UCHEN": ("chen", "Chen (assistant, inbox)", "Australia/Sydney"),
}
CHANNELS = {"CGENERAL": "general", "CPOOL": "va-pool", "CDIGEST": "ops-digest"}


class SandboxClock:
    """The sandbox's clock: starts at a chosen instant and moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta`."""
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (never backwards)."""
        with self._lock:
            self._now = max(self._now, moment)


def seeded_standin() -> SlackStandIn:
    """A running stand-in with the sandbox's people and channels."""
    slack = SlackStandIn(team_id=TEAM).start()
    for user_id, (name, real_name, tz) in PEOPLE.items():
        slack.add_user(user_id, name, real_name=real_name, tz=tz)
    for channel_id, name in CHANNELS.items():
        slack.add_channel(channel_id, name, members=list(PEOPLE))
    return slack


@dataclass
class Workspace:
    """The stand-in, the running bot and a signed client: one sandbox workspace."""

    slack: SlackStandIn
    clock: SandboxClock
    client: SlackClientSim
    handoff: Any
    close: Callable[[], None]
    seen: set[tuple[str, str]] = field(default_factory=set)

    def settle(self) -> None:
        """Let the scheduler and delivery do what is owed at the sandbox's current time."""
        self.handoff.scheduler.run("all")
        self.handoff.services.delivery.drain(rounds=50)

    def advance(self, delta: timedelta) -> None:
        """Move the clock and settle."""
        self.clock.advance(delta)
        self.settle()


@contextlib.contextmanager
def workspace(start: datetime, *, folder: Path | None = None) -> Iterator[Workspace]:
    """Start the stand-in and the real bot (HTTP on loopback), and stop both afterwards."""
    from bot.app import create_app
    from bot.server import start_http
    from bot.settings import Settings
    from migrations import upgrade
    from models.db import Database

    slack = seeded_standin()
    own = tempfile.TemporaryDirectory(prefix="handoff-sandbox-") if folder is None else None
    path = Path(own.name if own else str(folder)) / "sandbox.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    clock = SandboxClock(start)
    settings = Settings(
        bot_token=slack.token, signing_secret=SECRET, api_url=slack.api_url, database_url=url,
        pool_channel="CPOOL", managers=frozenset({"UMIA"}), slack_timeout=5.0,
    )
    handoff = create_app(settings, db=Database.from_url(url), clock=clock)
    server = start_http(handoff, "127.0.0.1", 0, 4)

    def serve() -> None:
        with contextlib.suppress(OSError, ValueError):
            server.run()

    thread = threading.Thread(target=serve, name="sandbox-http", daemon=True)
    thread.start()
    client = SlackClientSim(f"http://127.0.0.1:{server.effective_port}/slack/events", SECRET, team_id=TEAM,
                            standin=slack)

    def close() -> None:
        server.close()
        thread.join(timeout=5)
        handoff.close()
        slack.stop()
        if own is not None:
            own.cleanup()

    try:
        yield Workspace(slack=slack, clock=clock, client=client, handoff=handoff, close=close)
    finally:
        close()


def _plain(text: str) -> str:
    """Slack mrkdwn as a person reads it: mentions as names, links as their labels, dates readable."""
    text = re.sub(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "@" + PEOPLE.get(m.group(1), (m.group(1),))[0], text)
    text = re.sub(r"<#(C[A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "#" + CHANNELS.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _where(slack: SlackStandIn, channel: str) -> str:
    if channel.startswith("D"):
        user = channel[1:]
        return f"DM to @{PEOPLE.get(user, (user,))[0]}"
    return "#" + CHANNELS.get(channel, channel)


def transcript(ws: Workspace) -> list[str]:
    """Lines for every bot message, reply, edit and ephemeral not printed yet, in order."""
    lines: list[str] = []
    for call in ws.slack.calls:
        key = (call.method, str(call.at))
        if key in ws.seen or not call.ok:
            continue
        ws.seen.add(key)
        p = call.params
        if call.method == "chat.postMessage":
            channel = str(p.get("channel", ""))
            channel = f"D{channel}" if channel.startswith("U") else channel
            thread = "  ↳ (thread) " if p.get("thread_ts") else ""
            lines.append(f"[{_where(ws.slack, channel)}] {thread}Handoff: {_plain(str(p.get('text', '')))}")
        elif call.method == "chat.update":
            lines.append(f"[{_where(ws.slack, str(p.get('channel', '')))}] (card updated) {_plain(str(p.get('text')))}")
        elif call.method == "response_url":
            lines.append(f"[only you] Handoff: {_plain(str(p.get('text', '')))}")
        elif call.method == "chat.postEphemeral":
            who = PEOPLE.get(str(p.get("user")), (p.get("user"),))[0]
            lines.append(f"[only @{who}] Handoff: {_plain(str(p.get('text', '')))}")
    return lines


def run_demo(out: Callable[[str], None] = print) -> int:
    """Play the scripted tour and print the conversation; returns 0 when every step went as expected."""
    # Wednesday 11:00 in New York (10:00 for Mia in Chicago), so the working days of the tour are visible.
    start = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    with workspace(start) as ws:
        def say(who: str, text: str) -> None:
            out(f"\n> @{PEOPLE[who][0]}: {text}")

        def show() -> None:
            for line in transcript(ws):
                out("  " + line)

        def command(who: str, command: str, text: str, channel: str = "CGENERAL") -> None:
            say(who, f"{command} {text}".strip())
            answer = ws.client.command(who, command, text, channel_id=channel).json() or {}
            out(f"  [only @{PEOPLE[who][0]}] Handoff: {_plain(str(answer.get('text', '')))}")
            ws.settle()
            show()

        out("Handoff sandbox tour: the real bot, a local Slack stand-in, and a clock we can move.")
        command("UMIA", "/tasks", "digest here at 9:00", channel="CDIGEST")
        command("URITA", "/delegate", "Reconcile October invoices by Friday 5pm !high #bookkeeping")
        from models.tasks import find_task

        with ws.handoff.services.db.read() as session:
            task = find_task(session, team_id=TEAM, number=1)
        assert task.card_ts is not None
        say("UANA", "reacts ✋ on the card in #va-pool")
        ws.client.reaction_added("UANA", "raised_hand", task.card_channel_id, task.card_ts)
        ws.settle()
        show()
        say("UANA", "clicks ▶️ Start")
        ws.client.click_button("UANA", task.card_channel_id, task.card_ts, "task_start")
        ws.settle()
        show()
        for label, moment in (
            ("Friday 09:00 in London: the 24-hour reminder", datetime(2026, 12, 4, 9, 0, tzinfo=UTC)),
            ("Friday 17:00 in New York: due now", datetime(2026, 12, 4, 22, 0, tzinfo=UTC)),
            ("Monday 13:00 in London: 4 working hours late, escalated", datetime(2026, 12, 7, 13, 0, tzinfo=UTC)),
            ("Monday 09:00 in Chicago: the daily digest", datetime(2026, 12, 7, 15, 0, tzinfo=UTC)),
        ):
            out(f"\n⏩ {label}")
            ws.clock.set(moment)
            ws.settle()
            show()
        say("UANA", "clicks ✅ Done")
        ws.client.click_button("UANA", task.card_channel_id, task.card_ts, "task_done")
        ws.settle()
        show()
        thread = [m.get("text", "") for m in ws.slack.messages(task.card_channel_id, thread_ts=task.card_ts)]
        ok = (
            len(ws.slack.messages("CDIGEST")) >= 1
            and any("claimed" in line for line in thread)
            and any("done" in line for line in thread)
            and any("Reminder" in m.get("text", "") for m in ws.slack.dms("UANA"))
        )
        out("\n" + ("✅ tour complete" if ok else "❌ the tour did not go as expected"))
        return 0 if ok else 1
