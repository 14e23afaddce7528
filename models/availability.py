"""Whether a person is at work, away or off hours now, and `/tasks away` / `back`.

Away is either said in Handoff (`/tasks away until Monday`, by the person or a manager) or read from
their Slack status: words such as "out of office" or "vacation", or 🌴 🤒 🏖️ ✈️, until the status's own
expiry. Outside their working hours a person is off hours, not away. Pure but for the two setters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlmodel import Session

from models.errors import BadInput, DomainError
from models.localtime import local_instant
from models.parsing import parse_when
from models.people import Actor, get_person
from models.permissions import Deed, require
from models.tables import Person
from models.worktime import WorkWeek

__all__ = [
    "AT_WORK",
    "AWAY",
    "OFF_HOURS",
    "Availability",
    "availability",
    "away_now",
    "parse_away",
    "set_away",
    "set_back",
    "status_says_away",
]

AT_WORK: Final = "at work"
AWAY: Final = "away"
OFF_HOURS: Final = "off hours"
MAX_AWAY_DAYS: Final = 366
MAX_REASON: Final = 200
_AWAY_WORDS: Final = re.compile(
    r"\b(out\s+of\s+(the\s+)?office|ooo|vacation\w*|holidays?|on\s+leave|sick)\b", re.IGNORECASE
)
# 🌴 🤒 🏖️ ✈️ as Slack names them in `status_emoji`.
_AWAY_EMOJI: Final = frozenset({":palm_tree:", ":face_with_thermometer:", ":beach_with_umbrella:", ":airplane:"})
_HINT: Final = "Say e.g. `/tasks away until Monday`, `/tasks away until 2026-12-24 dentist` or `away for 3 days`."


@dataclass(frozen=True)
class Availability:
    """How a person stands at one instant: `state` is AT_WORK, AWAY or OFF_HOURS.

    `until` is when an away ends (None: when their Slack status is cleared); `reason` says why."""

    state: str
    until: datetime | None = None
    reason: str = ""


def status_says_away(text: str, emoji: str, expires_at: datetime | None, now: datetime) -> bool:
    """Whether a Slack status says its person is out: its words or its emoji, and not expired."""
    if expires_at is not None and expires_at <= now:
        return False
    return emoji in _AWAY_EMOJI or bool(_AWAY_WORDS.search(text))


def away_now(person: Person | None, now: datetime) -> Availability | None:
    """Their away at `now` (by `/tasks away` or by their Slack status), or None."""
    if person is None:
        return None
    if person.away_until is not None and now < person.away_until:
        return Availability(AWAY, person.away_until, person.away_reason)
    if status_says_away(person.status_text, person.status_emoji, person.status_expires_at, now):
        return Availability(AWAY, person.status_expires_at, person.status_text or person.status_emoji)
    return None


def availability(person: Person | None, week: WorkWeek, now: datetime) -> Availability:
    """At work, away (by `/tasks away` or by their Slack status) or off hours, at `now`."""
    return away_now(person, now) or Availability(AT_WORK if week.is_working_time(now) else OFF_HOURS)


def _last_day(words: Sequence[str], now: datetime, tz: ZoneInfo, day_first: bool | None) -> tuple[int, datetime]:
    """The last day away, from the words after `until` (the longest readable start) or `for N days`."""
    error: DomainError = BadInput(f"I can't read `{' '.join(words)[:40]}` as a date.", _HINT)
    for length in range(len(words), 0, -1):
        try:
            return length, parse_when(" ".join(words[:length]), now=now, tz=tz, day_first=day_first)
        except DomainError as unread:
            error = unread  # the date's own reason, for its first word alone (tried last)
    raise error


def parse_away(
    words: Sequence[str], *, now: datetime, week: WorkWeek, day_first: bool | None = None
) -> tuple[datetime, str]:
    """Read `until Monday [reason]` or `for 3 days [reason]`: (when they are back, the reason).

    `until` a date takes in that whole date in their zone; they are back at their first working start after
    it. `for 3 days` is today and the next two."""
    tz = week.tz
    today = now.astimezone(tz).date()
    if len(words) >= 2 and words[0].lower() == "for":
        count = words[1]
        if not count.isascii() or not count.isdigit() or not 1 <= int(count) <= MAX_AWAY_DAYS:
            raise BadInput(f"`{count[:10]}` is not a number of days.", _HINT)
        used = 3 if len(words) > 2 and words[2].lower() in {"day", "days"} else 2
        last, rest = today + timedelta(days=int(count) - 1), list(words[used:])
    elif len(words) >= 2 and words[0].lower() == "until":
        used, moment = _last_day(words[1:], now, tz, day_first)
        last, rest = moment.astimezone(tz).date(), list(words[1 + used:])
    else:
        raise BadInput("Away until when?", _HINT)
    if last < today:
        raise BadInput(f"{last:%a %-d %b} has passed.", _HINT)
    if (last - today).days >= MAX_AWAY_DAYS:
        raise BadInput("That is more than a year away.", _HINT)
    back = week.next_start(local_instant(last + timedelta(days=1), time(0, 0), tz))
    reason = " ".join(rest).strip(" -—:")
    if len(reason) > MAX_REASON:
        raise BadInput(f"The reason is {len(reason)} characters; the limit is {MAX_REASON}.", "")
    return back, reason


def _person(session: Session, team_id: str, user_id: str) -> Person:
    person = get_person(session, team_id=team_id, user_id=user_id)
    if person is None:
        raise BadInput("I don't know them yet; try again in a moment.", "")
    return person


def set_away(
    session: Session, *, team_id: str, actor: Actor, user_id: str, until: datetime, reason: str
) -> Person:
    """Mark `user_id` away until `until` (themselves, or anyone by a manager)."""
    if user_id != actor.user_id:
        require(Deed.SET_AWAY, actor, subject="someone else away")
    person = _person(session, team_id, user_id)
    person.away_until, person.away_reason, person.away_by = until, reason, actor.user_id
    session.add(person)
    return person


def set_back(session: Session, *, team_id: str, actor: Actor, user_id: str) -> bool:
    """End an away said in Handoff; False if there was none (a Slack status ends in Slack)."""
    if user_id != actor.user_id:
        require(Deed.SET_AWAY, actor, subject="someone else back")
    person = _person(session, team_id, user_id)
    was = person.away_until is not None
    person.away_until, person.away_reason, person.away_by = None, "", ""
    session.add(person)
    return was
