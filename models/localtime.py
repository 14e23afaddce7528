"""The one rule that turns a local wall-clock time into an instant, used by parsing, working hours,
recurrence and the scheduler's jobs.

Pure: no clock reads. The rule, the same as RFC 5545 (iCalendar) and the "compatible" disambiguation of
JavaScript's Temporal, which calendars follow:

* an ordinary time maps to its only instant;
* a time skipped by a spring-forward change is read with the UTC offset from before the change, so it
  moves forward by the length of the gap: 02:30 on a 02:00->03:00 night is 03:30 after the change, and
  a 30-minute gap (Lord Howe) moves it 30 minutes. A 02:30 meeting stays 30 minutes after the gap's
  start, just as it was 30 minutes after 02:00 on any other night;
* a time that happens twice in a fall-back change is its first occurrence (fold=0), so a deadline or a
  reminder is never an hour late.

This is what zoneinfo does with `fold=0` (PEP 495); the helper exists so that every module says so in
one place and none passes on a stray `fold=1`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

__all__ = ["local_instant", "wall_instant"]


def local_instant(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The UTC instant at which local `day` `clock` in `tz` happens, by the rule above."""
    return wall_instant(datetime.combine(day, clock.replace(tzinfo=None)), tz)


def wall_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a naive local wall time in `tz`, by the rule above."""
    if wall.tzinfo is not None:
        raise ValueError("`wall` must be a naive local time")
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
