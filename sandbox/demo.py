"""`python -m bot sandbox --script demo`: a scripted tour of the real bot against the Slack stand-in.

The bot is the same app, handlers, scheduler and delivery as in production, served over loopback HTTP,
with its own SQLite file; only its clock is the sandbox's, so the tour can jump ahead to reminders,
escalations and the digest. The conversation is printed as text, as people would read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from sandbox.standin import SlackStandIn
from sandbox.workspace import CHANNELS, NAMES, TEAM, Workspace, workspace

__all__ = ["run_demo", "transcript"]


def _plain(text: str) -> str:
    """Slack mrkdwn as a person reads it: mentions as names, links as their labels, dates readable."""
    text = re.sub(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "@" + NAMES.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<#(C[A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "#" + CHANNELS.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _where(slack: SlackStandIn, channel: str) -> str:
    if channel.startswith("D"):
        user = channel[1:]
        return f"DM to @{NAMES.get(user, user)}"
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
            who = NAMES.get(str(p.get("user")), str(p.get("user")))
            lines.append(f"[only @{who}] Handoff: {_plain(str(p.get('text', '')))}")
    return lines


def run_demo(out: Callable[[str], None] = print) -> int:
    """Play the scripted tour and print the conversation; returns 0 when every step went as expected."""
    # Wednesday 11:00 in New York (10:00 for Mia in Chicago), so the working days of the tour are visible.
    start = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    with workspace(start) as ws:
        def say(who: str, text: str) -> None:
            out(f"\n> @{NAMES[who]}: {text}")

        def show() -> None:
            for line in transcript(ws):
                out("  " + line)

        def command(who: str, command: str, text: str, channel: str = "CGENERAL") -> None:
            say(who, f"{command} {text}".strip())
            answer = ws.client.command(who, command, text, channel_id=channel).json() or {}
            out(f"  [only @{NAMES[who]}] Handoff: {_plain(str(answer.get('text', '')))}")
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
