"""`/tasks team`: the roster, one line a person, with what routing will read of them and how they stand now."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.render import MESSAGE_BLOCKS, chunked_sections, escape, format_when
from models.availability import AT_WORK, AWAY
from models.roster import RosterEntry
from models.worktime import format_work_hours

__all__ = ["team_summary"]

Blocks = list[dict[str, Any]]

_OFFICE = {"front": "front office", "back": "back office"}
HOW_TO = (
    "Managers and admins: `/tasks team add @name assistant skills:payroll,inbox office:back capacity:8` "
    "(again to change), `/tasks team skills @name +inbox -payroll`, `/tasks team capacity @name 10`, "
    "`/tasks team remove @name`. Making someone a manager is an admin's: `/tasks team add @name manager`. "
    "Anyone: `/tasks away until Monday` (or `for 3 days`), `/tasks back`."
)


def _line(entry: RosterEntry) -> str:
    member, person = entry.member, entry.person
    parts = [f"<@{member.user_id}>", "manager" if entry.manager else "assistant"]
    if member.skills or not entry.manager:
        parts.append(", ".join(member.skills) if member.skills else "_no skills_")
    if member.office:
        parts.append(_OFFICE.get(member.office, member.office))
    if entry.week is not None:
        parts.append(f"{format_work_hours(entry.week)} ({person.tz if person else 'UTC'})")
    load = f"{entry.open_tasks} open"
    parts.append(f"{load} of {member.capacity}" if member.capacity is not None else load)
    return "• " + " · ".join(parts) + f" · {_standing(entry)}"


def _standing(entry: RosterEntry) -> str:
    state = entry.now
    if state.state == AT_WORK:
        return "🟢 at work"
    if state.state != AWAY:
        return "🌙 off hours"
    until = f" until {format_when(state.until)}" if state.until is not None else ""
    why = f" ({escape(state.reason[:80])})" if state.reason else ""
    return f"🏝️ away{until}{why}"


def team_summary(entries: Sequence[RosterEntry]) -> tuple[str, Blocks]:
    """The roster message: managers first, then everyone by name."""
    if not entries:
        text = "Nobody is on the team yet."
        return text, [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"👥 {text}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": HOW_TO}]},
        ]
    assistants = sum(1 for e in entries if not e.manager)
    working = sum(1 for e in entries if e.at_work)
    away = sum(1 for e in entries if e.now.state == AWAY)
    text = f"👥 The team: {len(entries)} people, {assistants} assistants, {working} at work now"
    text += f", {away} away" if away else ""
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}}]
    blocks += chunked_sections([_line(e) for e in entries])[: MESSAGE_BLOCKS - 2]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": HOW_TO}]})
    return text, blocks
