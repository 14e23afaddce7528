"""`python -m bot sandbox --script demo`: a scripted tour of the real bot against the Slack stand-in.

The bot is the same app, handlers, scheduler and delivery as in production, served over loopback HTTP,
with its own SQLite file; only its clock is the sandbox's, so the tour can jump ahead to reminders,
escalations and the digest. The conversation is printed as text, as people would read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox.standin import SlackStandIn
from sandbox.workspace import CHANNELS, NAMES, PEOPLE, TEAM, Workspace, workspace

__all__ = ["run_demo", "slack_date", "transcript"]

_ZONES = {m.id: ZoneInfo(m.tz) for m in PEOPLE}
_DATE_RE = re.compile(r"<!date\^(-?\d+)\^([^^|>]*)(?:\^[^|>]*)?(?:\|([^>]*))?>")


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _ago(moment: datetime, now: datetime) -> str:
    seconds = (moment - now).total_seconds()
    size = abs(seconds)
    if size < 45:
        return "a few seconds ago" if seconds < 0 else "in a few seconds"
    for unit, length in (("year", 31_536_000), ("month", 2_592_000), ("day", 86_400), ("hour", 3_600),
                         ("minute", 60)):
        if size >= length:
            n = int(size // length)
            words = f"{n} {unit}{'' if n == 1 else 's'}"
            return f"{words} ago" if seconds < 0 else f"in {words}"
    return "a minute ago" if seconds < 0 else "in a minute"  # 45 to 60 seconds


def slack_date(stamp: int, template: str, zone: ZoneInfo, now: datetime) -> str:
    """A `<!date^stamp^template|…>` as Slack shows it to a reader in `zone` at `now` (12-hour clock).

    Unknown tokens stay as written, as Slack leaves them.
    """
    local = datetime.fromtimestamp(stamp, UTC).astimezone(zone)
    day: date = local.date()
    today = now.astimezone(zone).date()
    long_date = f"{local:%B} {_ordinal(local.day)}, {local.year}"
    short_date = f"{local:%b} {local.day}, {local.year}"
    weekday_date = f"{local:%A}, {long_date}"
    nearby = {today - timedelta(days=1): "yesterday", today: "today", today + timedelta(days=1): "tomorrow"}

    def pretty(otherwise: str) -> str:
        return nearby.get(day, otherwise)

    hour = local.hour % 12 or 12
    noon = "AM" if local.hour < 12 else "PM"
    tokens = {
        "date_num": f"{local:%Y-%m-%d}",
        "date": long_date,
        "date_short": short_date,
        "date_long": weekday_date,
        "date_pretty": pretty(long_date),
        "date_short_pretty": pretty(short_date),
        "date_long_pretty": pretty(weekday_date),
        "time": f"{hour}:{local:%M} {noon}",
        "time_secs": f"{hour}:{local:%M:%S} {noon}",
        "ago": _ago(local, now),
    }
    return re.sub(r"\{(\w+)\}", lambda m: tokens.get(m.group(1), m.group(0)), template)


def _plain(text: str, reader: str, now: datetime) -> str:
    """Slack mrkdwn as `reader` reads it: mentions as names, links as their labels, dates in their zone."""
    zone = _ZONES.get(reader, ZoneInfo("UTC"))
    text = re.sub(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "@" + NAMES.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<#(C[A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "#" + CHANNELS.get(m.group(1), m.group(1)), text)
    text = _DATE_RE.sub(lambda m: slack_date(int(m.group(1)), _unescape(m.group(2)), zone, now), text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2", text)
    return _unescape(text)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def only_visible_to(user: str) -> str:
    """The one label every ephemeral message gets, naming the person who sees it."""
    return f"[only visible to @{NAMES.get(user, user)}]"


def _where(slack: SlackStandIn, channel: str) -> str:
    if channel.startswith("D"):
        user = channel[1:]
        return f"DM to @{NAMES.get(user, user)}"
    return "#" + CHANNELS.get(channel, channel)


def transcript(ws: Workspace, reader: str) -> list[str]:
    """Lines for every bot message, reply, edit and ephemeral not printed yet, in order.

    DMs and ephemerals are shown as their one reader sees them; channel messages as `reader` (the
    person who last acted, looking at the channel) sees them: dates in that person's zone.
    """
    lines: list[str] = []
    now = ws.clock()
    for call in ws.slack.calls:
        key = (call.method, str(call.at))
        if key in ws.seen or not call.ok:
            continue
        ws.seen.add(key)
        p = call.params
        text = str(p.get("text", ""))
        if call.method == "chat.postMessage":
            channel = str(p.get("channel", ""))
            channel = f"D{channel}" if channel.startswith("U") else channel
            thread = "  ↳ (thread) " if p.get("thread_ts") else ""
            viewer = channel[1:] if channel.startswith("D") else reader
            lines.append(f"[{_where(ws.slack, channel)}] {thread}Handoff: {_plain(text, viewer, now)}")
        elif call.method == "chat.update":
            channel = str(p.get("channel", ""))
            viewer = channel[1:] if channel.startswith("D") else reader
            lines.append(f"[{_where(ws.slack, channel)}] (card updated) {_plain(str(p.get('text')), viewer, now)}")
        elif call.method in ("response_url", "chat.postEphemeral"):
            shown_to = _ephemeral_reader(ws, text)
            viewer = str(p.get("user") or "") or shown_to or reader
            lines.append(f"{only_visible_to(viewer)} Handoff: {_plain(text, viewer, now)}")
    return lines


def _ephemeral_reader(ws: Workspace, text: str) -> str | None:
    """Who an ephemeral reply (through a response_url, which names nobody) was shown to."""
    for ephemeral in ws.slack.ephemerals():
        key = ("ephemeral", str(ephemeral["ts"]))
        if key not in ws.seen and ephemeral.get("text") == text:
            ws.seen.add(key)
            return str(ephemeral["user"])
    return None


def run_demo(out: Callable[[str], None] = print) -> int:
    """Play the scripted tour and print the conversation; returns 0 when every step went as expected."""
    # Wednesday 11:00 in New York (10:00 for Mia in Chicago), so the working days of the tour are visible.
    start = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    with workspace(start) as ws:
        reader = "URITA"

        def say(who: str, text: str) -> None:
            nonlocal reader
            reader = who
            out(f"\n> @{NAMES[who]}: {text}")

        def show() -> None:
            for line in transcript(ws, reader):
                out("  " + line.replace("\n", "\n    "))

        def command(who: str, command: str, text: str, channel: str = "CGENERAL") -> None:
            say(who, f"{command} {text}".strip())
            answer = ws.client.command(who, command, text, channel_id=channel).json() or {}
            text = _plain(str(answer.get("text", "")), who, ws.clock())
            out(f"  {only_visible_to(who)} Handoff: {text}".replace("\n", "\n    "))
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
        say("UBEN", "reacts ✋ on the same card, a moment too late")
        ws.client.reaction_added("UBEN", "raised_hand", task.card_channel_id, task.card_ts)
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
