"""Working-hours rules for the scheduler: when someone works, and how much working time lies between instants.

Pure: no Slack imports and no clock reads; every instant is passed in. Instants go in and come out as
timezone-aware datetimes (any zone in, UTC out); the working week itself is read in the person's IANA zone.

Local wall times become instants by the one rule in `models.localtime`, shared with parsing,
recurrence and the jobs: an ambiguous time (a fall-back hour that happens twice) is its first
occurrence (fold=0), and a nonexistent time (a spring-forward gap) moves forward by the length of the
gap (02:30 on a 02:00->03:00 night becomes 03:30 DST).

Each day's working period is worked out from its own local start and end, so a 09:00 start is 09:00
local on both sides of a DST change; only a change inside working hours alters the period's real
length. Moving by the gap is not monotonic inside the gap (02:30 lands after 03:15), so a period whose
start lands at or after its end is empty, and a period never starts before the previous one ended.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import chain, islice
from typing import Any, Final
from zoneinfo import ZoneInfo

from models.errors import BadInput
from models.localtime import local_instant

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_END",
    "DEFAULT_START",
    "WorkWeek",
    "format_work_hours",
    "from_dict",
    "parse_work_hours",
    "to_dict",
]

DEFAULT_DAYS: Final = frozenset({0, 1, 2, 3, 4})  # Monday=0, as in date.weekday()
DEFAULT_START: Final = time(9, 0)
DEFAULT_END: Final = time(17, 0)

_ONE_DAY: Final = timedelta(days=1)
_DAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class WorkWeek:
    """Someone's working week: the weekdays they work and the local hours of each working day."""

    tz: ZoneInfo
    days: frozenset[int] = DEFAULT_DAYS
    start: time = DEFAULT_START
    end: time = DEFAULT_END

    def __post_init__(self) -> None:
        # Accept any iterable of weekdays at runtime, but store a frozenset so the week stays hashable.
        object.__setattr__(self, "days", frozenset(self.days))
        if not self.days:
            raise ValueError("a working week needs at least one working day")
        if any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in self.days):
            raise ValueError(f"working days must be weekday numbers 0 (Monday) to 6 (Sunday), not {set(self.days)}")
        for name, clock in (("start", self.start), ("end", self.end)):
            if clock.tzinfo is not None or clock.microsecond:
                raise ValueError(f"the {name} time must be a plain local time in whole seconds, not {clock!r}")
        if not self.start < self.end:
            raise ValueError(f"the start ({self.start}) must be before the end ({self.end}) on the same day")
        # This week's period tables by the ordinal of their first day (see `_tabled`); not a field, so
        # equality and hashing ignore it.
        object.__setattr__(self, "_tables", {})

    # --- days and local readings -----------------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        """`moment` as a local time in this week's zone."""
        return _require_aware(moment, "moment").astimezone(self.tz)

    def local_date(self, moment: datetime) -> date:
        """The local calendar date of `moment` in this week's zone."""
        return self.local(moment).date()

    def is_working_day(self, day: date) -> bool:
        """Whether `day` falls on one of the working weekdays."""
        return day.weekday() in self.days

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += _ONE_DAY
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """How many working days lie in the half-open range [a, b); 0 when b <= a."""
        if b <= a:
            return 0
        weeks, rest = divmod((b - a).days, 7)
        # Every run of seven days holds each weekday once; only the leftover days need looking at.
        # They are the last `rest` days, whose weekdays continue from a's because 7 * weeks keeps it.
        first = a.weekday()
        return weeks * len(self.days) + sum(1 for i in range(rest) if (first + i) % 7 in self.days)

    # --- a day's working period ------------------------------------------------------------------------

    def day_start(self, day: date) -> datetime:
        """The UTC instant at which `day`'s local start time comes (whether or not it is a working day)."""
        return local_instant(day, self.start, self.tz)

    def day_end(self, day: date) -> datetime:
        """The UTC instant at which `day`'s local end time comes (whether or not it is a working day)."""
        return local_instant(day, self.end, self.tz)

    def is_working_time(self, moment: datetime) -> bool:
        """Whether `moment` lies in a working period: day_start <= moment < day_end on a working day."""
        moment = _utc(moment, "moment")
        start, _end = self._next_period(moment)
        return start <= moment

    def next_start(self, moment: datetime) -> datetime:
        """The first working-period start at or after `moment` (so `moment` itself when it is a start)."""
        moment = _utc(moment, "moment")
        for start, _end in self._periods(moment):
            if start >= moment:
                return start
        raise AssertionError("unreachable: _periods never runs dry")

    # --- scheduling --------------------------------------------------------------------------------------

    def shift_into_hours(self, moment: datetime, *, deadline: datetime | None = None) -> datetime:
        """Where a notification planned for `moment` should land so that it arrives in working hours.

        `moment` itself when it is working time; otherwise the next working start, unless that start
        is not before `deadline` (for a reminder, the task's due time): a reminder at or after the
        deadline is too late to act on, so then `moment` is kept as planned, out of hours. No working
        time lies between `moment` and such a deadline, so nothing later than `moment` is better.
        """
        moment = _utc(moment, "moment")
        # The first period that ends after `moment` either holds it or starts next.
        start, _end = self._next_period(moment)
        if start <= moment or (deadline is not None and start >= _utc(deadline, "deadline")):
            return moment
        return start

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which `amount` of working time has passed since `start`, skipping nights and days off.

        Counting begins at `start` when it is working time, else at the next working start. A positive
        amount that runs out exactly at a day's end gives that end (Friday 13:00 + 4h is Friday 17:00,
        not Monday 09:00). An amount of zero gives `start` shifted into hours: `start` itself when it is
        working time, else the next working start. Exact to the microsecond; one step per day.
        """
        if amount < timedelta(0):
            raise ValueError(f"the amount of working time must not be negative, not {amount}")
        cursor = _utc(start, "start")
        remaining = amount
        table, first = self._tabled(cursor)
        # The table's periods by index (the sweep asks this for every owed task); past it, a walk.
        for period_start, period_end in chain(islice(table.periods, first, None), self._after(table)):
            begin = max(period_start, cursor)
            available = period_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: _periods never runs dry")

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """How much working time lies in [a, b); zero when b <= a."""
        a, b = _utc(a, "a"), _utc(b, "b")
        total = timedelta(0)
        if b <= a:
            return total
        for start, end in self._periods(a):
            if start >= b:
                break
            overlap = min(end, b) - max(start, a)
            if overlap > timedelta(0):
                total += overlap
        return total

    def _periods(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Non-empty working periods (UTC start, end) in time order, from the first that ends after `moment`
        (a UTC instant)."""
        table, first = self._tabled(moment)
        yield from islice(table.periods, first, None)
        yield from self._after(table)

    def _next_period(self, moment: datetime) -> tuple[datetime, datetime]:
        """The first working period that ends after `moment` (a UTC instant)."""
        table, first = self._tabled(moment)
        return table.periods[first] if first < len(table.periods) else next(self._after(table))

    def _tabled(self, moment: datetime) -> tuple[_PeriodTable, int]:
        """A table of periods holding every one that ends after `moment` (a UTC instant) from the index given
        on, or from its end on (`_after`).

        The first weeks come from a table worked out once per week and first day (a sweep asks for the
        periods around the same few days thousands of times), found by `moment`'s UTC date alone: no
        zone arithmetic. The table begins on a Monday at least two days before that date, so at least a
        day before `moment`'s local date (no zone is more than a day off UTC): an end moved forward by
        a gap late in the evening may cross into that date, and no earlier period ends after `moment`.
        """
        day = moment.toordinal() - 2
        first_day = day - (day - 1) % 7  # ordinal 1 (1 January of year 1) was a Monday
        tables: dict[int, _PeriodTable] = self._tables  # type: ignore[attr-defined]
        table = tables.get(first_day)
        if table is None:
            table = tables[first_day] = _period_table(self, date.fromordinal(first_day))
        return table, bisect_right(table.ends, moment)

    def _after(self, table: _PeriodTable) -> Iterator[tuple[datetime, datetime]]:
        """The periods after `table`'s, walked day by day."""
        return self._walk(table.after, table.periods[-1][1] if table.periods else None)

    def _walk(self, day: date, previous_end: datetime | None) -> Iterator[tuple[datetime, datetime]]:
        """The non-empty working periods from `day` on, the one before having ended at `previous_end`."""
        while True:  # ends when a caller stops; every week has a working day, so periods keep coming
            if self.is_working_day(day):
                start, end = _day_bounds(self, day)
                if previous_end is not None:
                    start = max(start, previous_end)  # a gap of a day or more (Samoa, 2011) must not overlap
                # A start moved past its end by a gap leaves nothing to work that day.
                if start < end:
                    yield start, end
                    previous_end = end
            day += _ONE_DAY


@dataclass(frozen=True)
class _PeriodTable:
    """A week's working periods over _TABLE_DAYS days, with their ends apart (to bisect on)."""

    periods: tuple[tuple[datetime, datetime], ...]
    ends: tuple[datetime, ...]
    after: date  # the first day not in the table


_TABLE_DAYS: Final = 21


@lru_cache(maxsize=4096)
def _period_table(week: WorkWeek, first: date) -> _PeriodTable:
    after = first + timedelta(days=_TABLE_DAYS)
    periods = []
    for start, end in week._walk(first, None):
        if start >= _day_bounds(week, after)[0]:
            break
        periods.append((start, end))
    return _PeriodTable(tuple(periods), tuple(end for _start, end in periods), after)


@lru_cache(maxsize=16_384)
def _day_bounds(week: WorkWeek, day: date) -> tuple[datetime, datetime]:
    # A sweep asks the same few days of the same few weeks thousands of times: zone arithmetic once each.
    return week.day_start(day), week.day_end(day)


# --- text ---------------------------------------------------------------------------------------------

_MAX_HOURS_CHARS: Final = 100
_HINT: Final = (
    "Give a time range and, if not Monday to Friday, the days: e.g. `9:00-17:00 mon-fri`, "
    "`8:30am-4:30pm weekdays` or `10-18 sun-thu`."
)

_DAY_WORDS: Final = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}
_DAY_SETS: Final = {
    "weekdays": DEFAULT_DAYS,
    "weekday": DEFAULT_DAYS,
    "weekends": frozenset({5, 6}),
    "weekend": frozenset({5, 6}),
    "daily": frozenset(range(7)),
    "everyday": frozenset(range(7)),
}
_FILLER: Final = frozenset({"on", "and", "from"})

_DASHES_RE: Final = re.compile(r"[\u2010-\u2015\u2212]")  # hyphen, en dash, em dash, minus: all mean "to"
_RANGE_WORD_RE: Final = re.compile(r"\s*(?:-|\bto\b|\buntil\b|\btill\b|\bthrough\b|\bthru\b)\s*")
_SUFFIX_SPACE_RE: Final = re.compile(r"(\d)\s+([ap]\.?m\b\.?)")
_EVERY_DAY_RE: Final = re.compile(r"\bevery\s+day\b")
_CLOCK: Final = r"(\d{1,2})(?::(\d{2}))?(?:([ap])\.?m\.?)?"
_TIME_RANGE_RE: Final = re.compile(_CLOCK + "-" + _CLOCK)
_DAY_RANGE_RE: Final = re.compile(r"([a-z]+)-([a-z]+)")


def parse_work_hours(text: str, tz: ZoneInfo) -> WorkWeek:
    """Read working hours such as `8:00-16:00 mon-fri`, `9am-5pm weekdays` or `mon-sat 9-13`.

    One time range is required (24-hour `9`, `9:30`, `17:00`, or 12-hour `9am`, `5:30pm`); a bare
    number is a 24-hour time, so `9-5` is refused rather than guessed. Days are optional (default
    Monday to Friday): names (`mon`, `tuesday`), lists (`mon,tue,thu`), ranges that may wrap the week
    (`sun-thu`, `fri-mon`), `weekdays`, `weekends`, `daily` or `every day`. Dashes may be `-`, `–`
    or `to`, so what format_work_hours writes reads back. Raises BadInput.
    """
    typed = " ".join(text.split())
    if not typed:
        raise BadInput("Which working hours?", _HINT)
    if len(typed) > _MAX_HOURS_CHARS:
        raise BadInput(f'"{typed[:40]}…" is too long to be working hours.', _HINT)

    normal = _DASHES_RE.sub("-", typed.lower())
    normal = _SUFFIX_SPACE_RE.sub(r"\1\2", normal)  # "9 am" -> "9am", so a clock stays one token
    normal = _RANGE_WORD_RE.sub("-", normal)  # "9am to 5pm", "mon - fri" -> one token each
    normal = _EVERY_DAY_RE.sub("everyday", normal)

    hours: tuple[time, time] | None = None
    days: set[int] = set()
    for token in re.split(r"[\s,;]+", normal):
        if not token or token in _FILLER:
            continue
        if m := _TIME_RANGE_RE.fullmatch(token):
            if hours is not None:
                raise BadInput(f'"{typed}" has more than one time range; give just one.', _HINT)
            hours = (
                _clock(m.group(1), m.group(2), m.group(3), typed),
                _clock(m.group(4), m.group(5), m.group(6), typed),
            )
        elif (found := _days(token)) is not None:
            days |= found
        else:
            raise BadInput(f'I can\'t read "{token}" in "{typed}" as a time range or a day.', _HINT)

    if hours is None:
        raise BadInput(f'"{typed}" has no time range.', _HINT)
    start, end = hours
    if not start < end:
        raise BadInput(
            f'In "{typed}" the end ({end:%H:%M}) is not after the start ({start:%H:%M}).',
            "Use 24-hour times or am/pm, within one day: e.g. `9-17`, `9am-5pm` or `22:00-23:30`.",
        )
    return WorkWeek(tz=tz, days=frozenset(days) or DEFAULT_DAYS, start=start, end=end)


def format_work_hours(week: WorkWeek) -> str:
    """The week as people read it, e.g. `Mon–Fri 08:00–16:00` or `Mon, Tue, Thu 09:00–17:00`."""
    return f"{_format_days(week.days)} {_format_clock(week.start)}–{_format_clock(week.end)}"


def to_dict(week: WorkWeek) -> dict[str, Any]:
    """The week without its zone, JSON-ready: {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}."""
    return {"days": sorted(week.days), "start": _format_clock(week.start), "end": _format_clock(week.end)}


def from_dict(data: Mapping[str, Any], tz: ZoneInfo) -> WorkWeek:
    """The week stored by to_dict, in zone `tz`; missing keys take the defaults. Raises ValueError if malformed."""
    days = data.get("days", sorted(DEFAULT_DAYS))
    if not isinstance(days, list | tuple) or any(isinstance(d, bool) or not isinstance(d, int) for d in days):
        raise ValueError(f"stored working days must be a list of weekday numbers, not {days!r}")
    start = _stored_clock(data.get("start"), DEFAULT_START)
    end = _stored_clock(data.get("end"), DEFAULT_END)
    return WorkWeek(tz=tz, days=frozenset(days), start=start, end=end)


# --- helpers ------------------------------------------------------------------------------------------


def _require_aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"`{name}` must be timezone-aware")
    return moment


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is UTC:  # what the database gives: nothing to check or convert (the sweep asks ~70,000 times)
        return moment
    return _require_aware(moment, name).astimezone(UTC)


def _clock(hour_text: str, minute_text: str | None, half: str | None, typed: str) -> time:
    """A time of day from its parts (`9`, `17:30`, `5pm`); BadInput naming `typed` if impossible."""
    hour, minute = int(hour_text), int(minute_text or 0)
    if half:
        if not 1 <= hour <= 12:
            raise BadInput(f'"{hour_text}{half}m" in "{typed}" is not a time of day.', _HINT)
        hour = hour % 12 + (12 if half == "p" else 0)
    if hour > 23 or minute > 59:
        shown = f"{hour_text}:{minute_text}" if minute_text else hour_text
        raise BadInput(f'"{shown}" in "{typed}" is not a time of day.', _HINT)
    return time(hour, minute)


def _days(token: str) -> frozenset[int] | None:
    """The weekdays a token names (`mon`, `sun-thu`, `weekdays`), or None if it names none."""
    if token in _DAY_SETS:
        return _DAY_SETS[token]
    if token in _DAY_WORDS:
        return frozenset({_DAY_WORDS[token]})
    if (m := _DAY_RANGE_RE.fullmatch(token)) and m.group(1) in _DAY_WORDS and m.group(2) in _DAY_WORDS:
        first, last = _DAY_WORDS[m.group(1)], _DAY_WORDS[m.group(2)]
        # Ranges wrap round the week: "sun-thu" is Sunday to Thursday, "fri-mon" Friday to Monday.
        return frozenset((first + i) % 7 for i in range((last - first) % 7 + 1))
    return None


def _format_days(days: frozenset[int]) -> str:
    """Weekdays in week order, runs of three or more as ranges: `Mon–Fri`, `Sun–Thu`, `Mon, Tue, Thu`."""
    if len(days) == 7:
        return f"{_DAY_NAMES[0]}–{_DAY_NAMES[6]}"
    # Begin on Monday unless Monday continues a run from Sunday (or earlier): then begin at that run's
    # first day, so Sunday-to-Thursday reads "Sun–Thu" rather than "Mon–Thu, Sun".
    first = 0
    while (first - 1) % 7 in days:
        first = (first - 1) % 7
    runs: list[list[int]] = []
    for i in range(7):
        day = (first + i) % 7
        if day not in days:
            continue
        if runs and (runs[-1][-1] + 1) % 7 == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_DAY_NAMES[run[0]]}–{_DAY_NAMES[run[-1]]}")
        else:
            parts.extend(_DAY_NAMES[d] for d in run)
    return ", ".join(parts)


def _format_clock(clock: time) -> str:
    return clock.strftime("%H:%M:%S" if clock.second else "%H:%M")


_STORED_CLOCK_RE: Final = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")


def _stored_clock(value: object, default: time) -> time:
    """A time stored by to_dict (`09:00` or `09:00:30`), or `default` when absent."""
    if value is None:
        return default
    m = _STORED_CLOCK_RE.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"a stored working time must look like '09:00', not {value!r}")
    # time() itself refuses hours above 23 and minutes or seconds above 59 (ValueError).
    return time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
