"""Recurring tasks: read an `every …` phrase from `/delegate` text and work out when each instance is due.

Pure: no Slack imports and no clock reads; callers pass `now`/`after` (aware) and the requester's zone.

Schedule grammar (the last `every` in the text starts it; it runs to the end of the text, except that
`!priority` and `#tag` tokens inside or after it stay where they are for the `/delegate` parser):

* `every day`, `every 2 days`, `every other day`
* `every Monday`, `every Mon and Thu`, `every Mondays`, `every weekday` (Monday to Friday)
* `every week`, `every 2 weeks on Friday`, `every other Friday`, `every second Friday`, `every fortnight`
* `every month`, `every month on the 15th`, `every 3 months on the 1st`, `every month on the last day`,
  `every 15th of the month`, `every last day of the month`
* an optional time of day anywhere in the phrase: `9am`, `9:30`, `5:30 pm`, `17:00`, `noon`, after
  `at`/`by` or bare. Without one the task is due at `DEFAULT_AT` (09:00) local, or the caller's default.

Decisions:

* "every weekday" is a weekly rule on Monday..Friday (`weekdays=(0, 1, 2, 3, 4)`), not a daily rule, so
  every rule with chosen weekdays has one shape.
* A month day the month lacks (the 29th to 31st) falls on that month's last day: "every month on the
  31st" is due Feb 28 (Feb 29 in leap years) and Apr 30, never skipped and never spilled into the next
  month. `month_day=-1` is "the last day" outright.
* Intervals count from `anchor`, the first occurrence's local date: days from that day, weeks from the
  Monday of its week, months from its month; nothing falls due before it. `anchored` fixes it (and
  fills in the weekday or month day of a bare "every week"/"every month") when a rule is created. A
  rule without an anchor is treated as anchored at its first occurrence after the instant asked about.
* Times are wall-clock in the rule's zone: 09:00 stays 09:00 across DST changes. A time skipped by a
  spring-forward change moves forward by the gap (02:30 -> 03:30); a repeated one takes its first
  occurrence (fold=0): the one rule of `models.localtime`.
* "midnight" is refused as ambiguous (which day's?); `00:00` and `23:59` are not.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from models.errors import BadInput
from models.localtime import local_instant

__all__ = [
    "DEFAULT_AT",
    "MAX_INTERVAL",
    "parse_schedule",
    "MAX_LOOKBACK",
    "WEEKDAYS",
    "Freq",
    "Recurrence",
    "anchored",
    "due_between",
    "next_occurrence",
    "occurrences",
    "split_recurrence",
]

Freq = Literal["daily", "weekly", "monthly"]

DEFAULT_AT: Final = time(9, 0)
# The longest step each frequency allows: about a year, so a rule always falls due within a year.
MAX_INTERVAL: Final[Mapping[Freq, int]] = {"daily": 365, "weekly": 52, "monthly": 12}
# `due_between` looks at most this far back from `end`. It is longer than the longest step (366 days),
# so the latest occurrence in the window is always found, and it bounds the work after a long outage.
MAX_LOOKBACK: Final = timedelta(days=731)
WEEKDAYS: Final = (0, 1, 2, 3, 4)  # Monday..Friday: what "every weekday" means

_FREQS: Final[dict[str, Freq]] = {"daily": "daily", "weekly": "weekly", "monthly": "monthly"}
_DAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_EXAMPLES: Final = (
    "Put the schedule at the end, e.g. `every Monday 9am`, `every weekday at 8:30am`, `every other Friday`, "
    "`every month on the 1st` or `every month on the last day 5pm`."
)


@dataclass(frozen=True)
class Recurrence:
    """When a recurring task falls due: a daily, weekly or monthly rule at a local time of day."""

    freq: Freq
    interval: int = 1  # every N days/weeks/months
    weekdays: tuple[int, ...] = ()  # weekly only; Monday=0. Empty: the anchor's weekday
    month_day: int | None = None  # monthly only; 1..31 or -1 for the last day. None: the anchor's day
    at: time = DEFAULT_AT  # local time of day the task is due
    anchor: date | None = None  # the first occurrence's local date: which days/weeks/months count

    def __post_init__(self) -> None:
        """Validate the fields, and sort and de-duplicate `weekdays` so equal rules compare equal."""
        if self.freq not in _FREQS:
            raise ValueError(f"freq must be daily, weekly or monthly, not {self.freq!r}")
        limit = MAX_INTERVAL[self.freq]
        if not _is_int(self.interval) or not 1 <= self.interval <= limit:
            raise ValueError(f"interval for {self.freq} must be 1..{limit}, not {self.interval!r}")
        if not isinstance(self.weekdays, tuple) or any(not _is_int(d) or not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError(f"weekdays must be a tuple of 0 (Monday) .. 6 (Sunday), not {self.weekdays!r}")
        weekdays = tuple(sorted(set(self.weekdays)))
        if weekdays and self.freq != "weekly":
            raise ValueError("weekdays are only for weekly rules")
        object.__setattr__(self, "weekdays", weekdays)  # frozen: the one normalisation, done once here
        if self.month_day is not None:
            if self.freq != "monthly":
                raise ValueError("month_day is only for monthly rules")
            if not _is_int(self.month_day) or not (1 <= self.month_day <= 31 or self.month_day == -1):
                raise ValueError(f"month_day must be 1..31 or -1, not {self.month_day!r}")
        if not isinstance(self.at, time) or self.at.tzinfo is not None or self.at.second or self.at.microsecond:
            raise ValueError(f"at must be a naive time in whole minutes, not {self.at!r}")
        if self.anchor is not None and (isinstance(self.anchor, datetime) or not isinstance(self.anchor, date)):
            raise ValueError(f"anchor must be a date, not {self.anchor!r}")

    def describe(self) -> str:
        """The rule in words: "every Monday at 09:00", "every 2 weeks on Friday at 17:00"."""
        days = self.weekdays or ((self.anchor.weekday(),) if self.anchor and self.freq == "weekly" else ())
        month_day = self.month_day
        if month_day is None and self.anchor is not None and self.freq == "monthly":
            month_day = self.anchor.day
        if self.freq == "daily":
            head = "every day" if self.interval == 1 else f"every {self.interval} days"
        elif self.freq == "weekly":
            if self.interval == 1:
                head = f"every {_day_list(days)}" if days else "every week"
            else:
                head = f"every {self.interval} weeks"
                if days:
                    head += " on weekdays" if days == WEEKDAYS else f" on {_day_list(days)}"
        else:
            head = "every month" if self.interval == 1 else f"every {self.interval} months"
            if month_day == -1:
                head += " on the last day"
            elif month_day is not None:
                head += f" on the {_ordinal(month_day)}"
        return f"{head} at {self.at:%H:%M}"

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON-serialisable data (for a JSON column); `from_dict` reads it back."""
        return {
            "freq": self.freq,
            "interval": self.interval,
            "weekdays": list(self.weekdays),
            "month_day": self.month_day,
            "at": f"{self.at:%H:%M}",
            "anchor": self.anchor.isoformat() if self.anchor else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recurrence:
        """Read what `to_dict` wrote; ValueError when the data is not a rule."""
        if not isinstance(data, dict) or data.get("freq") not in _FREQS:
            raise ValueError(f"not a recurrence: {data!r}")
        weekdays = data.get("weekdays") or []
        at = data.get("at", f"{DEFAULT_AT:%H:%M}")
        anchor = data.get("anchor")
        if not isinstance(weekdays, list) or not isinstance(at, str) or not isinstance(anchor, str | None):
            raise ValueError(f"not a recurrence: {data!r}")
        if not re.fullmatch(r"\d{2}:\d{2}", at):
            raise ValueError(f"not a time of day: {at!r}")
        return cls(
            freq=_FREQS[data["freq"]],
            interval=data.get("interval", 1),
            weekdays=tuple(weekdays),
            month_day=data.get("month_day"),
            at=time.fromisoformat(at),
            anchor=date.fromisoformat(anchor) if anchor else None,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _day_list(days: Sequence[int]) -> str:
    """ "weekday" for Monday..Friday, else "Monday", "Monday and Thursday", "Monday, Wednesday and Friday"."""
    if tuple(days) == WEEKDAYS:
        return "weekday"
    names = [_DAY_NAMES[d] for d in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- reading the phrase -------------------------------------------------------------------------------

# Tokens as the `/delegate` parser sees them: Slack's `<...>` forms are atomic, so an "every" inside a
# link label is never read.
_TOKEN_RE: Final = re.compile(r"(?:<[^<>]*>|[^\s<]|<)+")
# `!high` and `#payroll` belong to the `/delegate` parser even when typed after the schedule.
_KEPT_RE: Final = re.compile(r"![^\W\d_]+[.,;:!?)]*|#[\w-]*[^\W\d_][\w-]*[.,;:!?)]*")
_STRIP: Final = ".,;:!?()"

_WEEKDAY_WORDS: Final = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}
_NUMBER_WORDS: Final = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}
# Ordinal words give a step ("every third month"); before a weekday only "second" does (= fortnightly):
# "every first Monday" means a day of the month, which these rules cannot say.
_ORDINAL_WORDS: Final = {"other": 2, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_UNITS: Final[dict[str, tuple[Freq, int]]] = {
    "day": ("daily", 1), "days": ("daily", 1), "week": ("weekly", 1), "weeks": ("weekly", 1),
    "fortnight": ("weekly", 2), "fortnights": ("weekly", 2), "month": ("monthly", 1), "months": ("monthly", 1),
}
_MONTH_NAMES: Final = frozenset(
    {"january", "february", "march", "april", "june", "july", "august", "september", "october", "november",
     "december", "jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
)
# Periods people may ask for that these rules cannot express: refused with a specific message.
_UNSUPPORTED: Final = frozenset(
    {"year", "years", "yearly", "annually", "quarter", "quarters", "hour", "hours", "minute", "minutes",
     "weekend", "weekends", "morning", "mornings", "afternoon", "afternoons", "evening", "evenings", "night",
     "nights", "moon", "moons", "season", "seasons"}
) | _MONTH_NAMES
# "of" stays: "every 2nd of the month" (a day) differs from "every 2nd month" (a step) only by it.
_FILLERS: Final = frozenset({"at", "on", "by", "the", "and", "@", "single"})

_CLOCK_RE: Final = re.compile(r"(\d{1,2})(?:([:.])(\d{2}))?(am|pm|a|p)?")
_CLOCKISH_RE: Final = re.compile(r"\d{1,2}(?:[:.]\d{2})?(?:am|pm|a|p)|\d{1,2}:\d{2}")
_ORDINAL_RE: Final = re.compile(r"([0-9]{1,3})(?:st|nd|rd|th)")
_COUNT_RE: Final = re.compile(r"[0-9]{1,6}")  # ASCII digits only, and short: int() of anything else may fail
_AMPM_RE: Final = re.compile(r"(\d)\s*([ap])\.?m\b\.?")  # "5 p.m." / "5 pm" -> "5pm"


class _Unreadable(Exception):
    """A schedule phrase that cannot be read; `message`/`hint` replace the generic ones when given."""

    def __init__(self, message: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_schedule(text: str, *, default_at: time = DEFAULT_AT) -> Recurrence:
    """Read a schedule typed on its own (`every Monday 9am`, or just `weekday 8:30am`); BadInput if unreadable."""
    words = [m.group() for m in _TOKEN_RE.finditer(text)]
    if words and words[0].lower().strip(_STRIP) == "every":
        words = words[1:]
    try:
        return _read(words, default_at)
    except _Unreadable as problem:
        shown = " ".join(words)[:100]
        raise BadInput(problem.message or f'I couldn\'t read "every {shown}" as a schedule.',
                       problem.hint or _EXAMPLES) from None


def split_recurrence(text: str, *, default_at: time = DEFAULT_AT) -> tuple[str, Recurrence | None]:
    """Take the `every …` schedule out of a `/delegate` text: (the text without it, the rule or None).

    The schedule starts at the last `every` and runs to the end; `!priority` and `#tag` tokens in it
    stay in the text. When what follows `every` is not schedule-like ("Review every PR by Friday") the
    text is returned whole with None; when it is ("every blue moon", "every Monday 25pm") BadInput says
    what could not be read. Without a time of day the rule is due at `default_at` local. The rule is not
    anchored yet: pass it through `anchored` with the creation instant.
    """
    tokens = list(_TOKEN_RE.finditer(text))
    starts = [i for i, m in enumerate(tokens) if m.group().lower().strip(_STRIP) == "every"]
    if not starts:
        return text, None
    start = starts[-1]
    phrase: list[str] = []
    kept: list[str] = []
    for m in tokens[start + 1 :]:
        (kept if _KEPT_RE.fullmatch(m.group()) else phrase).append(m.group())
    typed = " ".join([tokens[start].group().strip(_STRIP), *phrase])
    try:
        rule = _read(phrase, default_at)
    except _Unreadable as problem:
        if not _looks_like_schedule(phrase):
            return text, None  # "every" belongs to the title: "Review every PR by Friday"
        message = problem.message or f'I couldn\'t read "{typed}" as a schedule.'
        raise BadInput(message, problem.hint or _EXAMPLES) from None
    rest = text[: tokens[start].start()].rstrip()
    return " ".join([rest, *kept]) if rest else " ".join(kept), rule


def _normalise(phrase: Sequence[str]) -> list[str]:
    """Lower-case the words, join "5 pm" into "5pm", split lists ("Mon,Thu") and drop connecting words."""
    text = _AMPM_RE.sub(r"\1\2m", " ".join(phrase).lower()).replace(",", " ").replace("&", " ")
    words = (w.strip(_STRIP) for w in text.split())
    return [w for w in words if w and w not in _FILLERS]


def _read(phrase: Sequence[str], default_at: time) -> Recurrence:
    """Read the words after `every` as a rule; _Unreadable when they are none of the forms."""
    words = _normalise(phrase)
    typed = "every " + " ".join(phrase)
    clocks = [(i, c) for i, w in enumerate(words) if (c := _clock(w)) is not None]
    if len(clocks) > 1:
        raise _Unreadable(
            f'"{typed}" has {len(clocks)} times of day; a schedule has one.',
            "Set up one recurring task for each time, e.g. `every weekday 9am`.",
        )
    at = clocks[0][1] if clocks else default_at
    rest = [w for i, w in enumerate(words) if not clocks or i != clocks[0][0]]
    if any(w in _UNSUPPORTED for w in rest):
        raise _Unreadable(f'I can\'t repeat a task "{typed}": a schedule goes by days, weeks or months.')

    # "every 15th (of the month)", "every last day (of the month)": before the step, which "2nd" also is.
    if rest[-2:] == ["of", "month"]:
        return _rule("monthly", 1, at=at, month_day=_month_day(rest[:-2]))
    if rest and (rest[0] == "last" or (len(rest) == 1 and _ORDINAL_RE.fullmatch(rest[0]))):
        return _rule("monthly", 1, at=at, month_day=_month_day(rest))

    step, explicit = 1, False
    if rest and (_COUNT_RE.fullmatch(rest[0]) or rest[0] in _NUMBER_WORDS or rest[0] in _ORDINAL_WORDS):
        head = rest[0]
        step = int(head) if _COUNT_RE.fullmatch(head) else _NUMBER_WORDS.get(head) or _ORDINAL_WORDS[head]
        explicit, rest = True, rest[1:]
        if head in _ORDINAL_WORDS and step != 2 and rest and _weekday(rest[0]) is not None:
            # "every third Thursday" usually means a weekday of the month, which these rules cannot say.
            raise _Unreadable(f'I can\'t do "{typed}" yet: a weekday of the month is not a schedule I know.')
    if not rest:
        raise _Unreadable()

    unit = _UNITS.get(rest[0])
    if unit is not None:
        freq, multiple = unit
        step *= multiple
        if freq == "daily":
            if rest[1:]:
                raise _Unreadable()
            return _rule(freq, step, at=at)
        if freq == "weekly":
            return _rule(freq, step, at=at, weekdays=_weekday_list(rest[1:]))
        return _rule(freq, step, at=at, month_day=_month_day(rest[1:]))
    if rest in (["weekday"], ["weekdays"]):
        if explicit:
            raise _Unreadable()  # "every other weekday" is not every weekday of every other week
        return _rule("weekly", 1, at=at, weekdays=WEEKDAYS)
    if _weekday(rest[0]) is not None:
        return _rule("weekly", step, at=at, weekdays=_weekday_list(rest))  # "every other Friday"
    raise _Unreadable()


def _rule(
    freq: Freq, step: int, *, at: time, weekdays: tuple[int, ...] = (), month_day: int | None = None
) -> Recurrence:
    """Build the rule, turning an out-of-range step into a message rather than a ValueError."""
    limit = MAX_INTERVAL[freq]
    if not 1 <= step <= limit:
        unit = {"daily": "days", "weekly": "weeks", "monthly": "months"}[freq]
        raise _Unreadable(f"Repeat every 1 to {limit} {unit}, not {step}.")
    return Recurrence(freq=freq, interval=step, weekdays=weekdays, month_day=month_day, at=at)


def _weekday(word: str) -> int | None:
    """Monday=0 for "monday", "mon", "mondays"; None for anything else."""
    if word in _WEEKDAY_WORDS:
        return _WEEKDAY_WORDS[word]
    return _WEEKDAY_WORDS.get(word[:-1]) if word.endswith("s") and len(word) > 4 else None


def _weekday_list(words: Sequence[str]) -> tuple[int, ...]:
    """Weekdays from "friday", "mon thu" or "weekdays" (fillers already gone); empty words give ()."""
    days: set[int] = set()
    for word in words:
        day = _weekday(word)
        if word in ("weekday", "weekdays"):
            days.update(WEEKDAYS)
        elif day is None:
            raise _Unreadable()
        else:
            days.add(day)
    return tuple(sorted(days))


def _month_day(words: Sequence[str]) -> int | None:
    """The day of the month from "15th", "15", "last day", "last"; None for no words."""
    if not words:
        return None
    if list(words) in (["last"], ["last", "day"]):
        return -1
    if len(words) != 1 or not (m := re.fullmatch(r"([0-9]{1,3})(?:st|nd|rd|th)?", words[0])):
        raise _Unreadable()
    day = int(m.group(1))
    if not 1 <= day <= 31:
        raise _Unreadable(f'A month has no "{words[0]}" day.', "Use the 1st to the 31st, or `the last day`.")
    return day


def _clock(word: str) -> time | None:
    """A time of day: `9am`, `9:30`, `5:30pm`, `17:00`, `noon`; None when the word is not one."""
    if word == "noon":
        return time(12, 0)
    if word == "midnight":
        raise _Unreadable(
            '"midnight" could be the start or the end of the day.', "Say `00:00` or `23:59` instead."
        )
    m = _CLOCK_RE.fullmatch(word)
    if m is None:
        return None
    hour, separator, minutes, ampm = int(m.group(1)), m.group(2), m.group(3), m.group(4)
    if ampm is None and (minutes is None or separator == "."):
        return None  # a bare "9" could be a time, a day or a count: refuse to guess
    minute = int(minutes or 0)
    bad = _Unreadable(f'I couldn\'t read "{word}" as a time of day.', "Use `9am`, `5:30pm` or `17:00`.")
    if minute > 59 or (ampm is None and hour > 23) or (ampm is not None and not 1 <= hour <= 12):
        raise bad
    if ampm is not None:
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
    return time(hour, minute)


def _looks_like_schedule(phrase: Sequence[str]) -> bool:
    """Whether the words after `every` were meant as a schedule (so failing to read them is an error).

    Only the first two words count (after a step like "2" or "other"): "every Monday at the office" is a
    schedule typed wrong, but "Review every PR by Friday" is a title with a due date.
    """
    words = [w.lower().strip(_STRIP) for w in phrase]
    if words and (_COUNT_RE.fullmatch(words[0]) or words[0] in _NUMBER_WORDS or words[0] in _ORDINAL_WORDS):
        words = words[1:]
    for i, word in enumerate(words[:2]):
        if word in _UNITS or word in ("weekday", "weekdays", "midnight", "noon"):
            return True
        # Periods we cannot schedule count only where they end the phrase or a time/day follows, so that
        # "every 5 minutes" is refused with a reason but "Log every hour billed by Friday" stays a title.
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in _UNSUPPORTED and (not following or following in _FILLERS | {"of"} or _clock_like(following)):
            return True
        # "sat", "sun" and "wed" are English words too ("Water every sun-loving plant" is not a schedule).
        if _weekday(word) is not None and word not in ("sat", "sun", "wed"):
            return True
        if _clock_like(word) or _ORDINAL_RE.fullmatch(word):
            return True
    return False


def _clock_like(word: str) -> bool:
    return bool(_CLOCKISH_RE.fullmatch(word))


# --- occurrences -------------------------------------------------------------------------------------


def anchored(rule: Recurrence, *, now: datetime, tz: ZoneInfo) -> Recurrence:
    """The rule with its anchor fixed to its first occurrence after `now` (local date in `tz`).

    A bare "every week" also gets that day's weekday, and "every month" that day of the month, so the
    stored rule says exactly what it does. A rule that already has an anchor is returned unchanged, so
    anchoring twice never shifts which weeks or months count.
    """
    _require_aware(now)
    if rule.anchor is not None:
        return rule
    # With no anchor yet, any matching day may be the first: ignore the step, and let a bare
    # "every week"/"every month" match every day.
    if (rule.freq == "weekly" and not rule.weekdays) or (rule.freq == "monthly" and rule.month_day is None):
        probe = Recurrence(freq="daily", at=rule.at)
    else:
        probe = replace(rule, interval=1)
    from_day = now.astimezone(tz).date() - timedelta(days=1)
    first = next((day for day, instant in _instants(probe, from_day, tz) if instant > now), None)
    if first is None:
        raise ValueError("the rule has no occurrence before the end of the calendar")
    weekdays = rule.weekdays or ((first.weekday(),) if rule.freq == "weekly" else ())
    month_day = rule.month_day if rule.month_day is not None or rule.freq != "monthly" else first.day
    return replace(rule, weekdays=weekdays, month_day=month_day, anchor=first)


def occurrences(rule: Recurrence, *, after: datetime, tz: ZoneInfo) -> Iterator[datetime]:
    """The rule's due instants strictly after `after`, in order, as aware UTC (local times in `tz`)."""
    _require_aware(after)
    rule = anchored(rule, now=after, tz=tz)
    # A day before `after`'s local date too: cheap insurance against any zone oddity at midnight.
    from_day = after.astimezone(tz).date() - timedelta(days=1)
    for _, instant in _instants(rule, from_day, tz):
        if instant > after:
            yield instant


def next_occurrence(rule: Recurrence, *, after: datetime, tz: ZoneInfo) -> datetime:
    """The rule's first due instant strictly after `after`, as aware UTC."""
    for instant in occurrences(rule, after=after, tz=tz):
        return instant
    raise ValueError("the rule has no occurrence before the end of the calendar")


def due_between(rule: Recurrence, *, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """The rule's due instants in (start, end], oldest first, looking back at most `MAX_LOOKBACK` from end.

    The window is clipped so that a long outage costs at most two years of steps; MAX_LOOKBACK is
    longer than any rule's step, so the latest occurrence (the one the scheduler creates) is never lost.
    """
    _require_aware(start)
    _require_aware(end)
    found: list[datetime] = []
    if end <= start:
        return found
    for instant in occurrences(rule, after=max(start, end - MAX_LOOKBACK), tz=tz):
        if instant > end:
            break
        found.append(instant)
    return found


def _instants(rule: Recurrence, from_day: date, tz: ZoneInfo) -> Iterator[tuple[date, datetime]]:
    """(local date, UTC instant) of each matching day on or after `from_day`; stops at the calendar's end."""
    days = _days(rule, from_day)
    while True:
        try:
            day = next(days)
            instant = local_instant(day, rule.at, tz)
        except (StopIteration, OverflowError):
            return
        yield day, instant


def _days(rule: Recurrence, from_day: date) -> Iterator[date]:
    """The matching local dates on or after `from_day`, in order, by jumping straight from one to the next.

    May raise OverflowError near year 9999; `_instants` ends the sequence there.
    """
    anchor = rule.anchor or from_day
    from_day = max(from_day, anchor)  # the anchor is the first occurrence: nothing comes before it
    step = rule.interval
    if rule.freq == "daily":
        day = from_day + timedelta(days=(anchor - from_day).days % step)
        while True:
            yield day
            day += timedelta(days=step)
    elif rule.freq == "weekly":
        weekdays = rule.weekdays or (anchor.weekday(),)
        anchor_monday = anchor - timedelta(days=anchor.weekday())
        monday = from_day - timedelta(days=from_day.weekday())
        weeks = (monday - anchor_monday).days // 7
        monday += timedelta(weeks=-weeks % step)  # forward to the first week that counts
        while True:
            for weekday in weekdays:
                day = monday + timedelta(days=weekday)
                if day >= from_day:
                    yield day
            monday += timedelta(weeks=step)
    else:
        wanted = rule.month_day if rule.month_day is not None else anchor.day
        month = from_day.year * 12 + from_day.month - 1
        month += (anchor.year * 12 + anchor.month - 1 - month) % step
        while True:
            year, index = divmod(month, 12)
            if year > date.max.year:
                raise OverflowError("past the end of the calendar")
            last = calendar.monthrange(year, index + 1)[1]
            # A day the month lacks (the 31st in April) falls on its last day: the documented choice.
            day = date(year, index + 1, last if wanted == -1 else min(wanted, last))
            if day >= from_day:
                yield day
            month += step


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
