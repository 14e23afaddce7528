"""Parse what people type into `/delegate` and friends: assignee, title, due date, priority and tags.

Pure: no Slack imports and no clock reads; callers pass `now` (aware UTC) and the requester's zone.

Delegation grammar (tokens are separated by whitespace; Slack's `<...>` forms count as one token):

* Assignee: a leading `<@U123>`, `<@U123|ana>` or `@ana`; later mentions stay in the title.
* Priority: `!low`, `!normal`, `!high`, `!urgent` anywhere (case-insensitive).
* Tags: `#word` anywhere (letters, digits, `-`, `_`; at least one letter, so `#42` stays in the title as
  the issue number it usually is). Slack's `<#C123|name>` channel refs are not tags.
* Due date: a trailing phrase after `by`/`due`/`before`/`until`/`till`/`on`/`at`, or a bare trailing
  `today`/`tonight`/`tomorrow`/`EOD`/`EOW`/`in N units`/`next <weekday>`/`this <weekday>`. Read in the
  requester's zone, returned in UTC. See `parse_when` for the forms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from models.enums import Priority
from models.errors import BadDueDate, BadInput

__all__ = [
    "MAX_DUE_AHEAD",
    "MAX_TITLE_CHARS",
    "Delegation",
    "Mention",
    "parse_delegation",
    "parse_mention",
    "parse_task_ref",
    "parse_when",
    "read_task_ref",
    "warm_up",
]

# Same limit as models.tasks: a sentence or two. (Slack header blocks stop at 150 characters, so a card
# that shows the whole title needs a section block.)
MAX_TITLE_CHARS: Final = 250
# "About two years": 731 days so that "the same day in two years" still fits across a leap day.
MAX_DUE_AHEAD: Final = timedelta(days=731)

_TONIGHT: Final = time(20, 0)
_MAX_TASK_NUMBER: Final = 2**31 - 1  # the task number column is a 32-bit integer

_DATE_EXAMPLES: Final = (
    "Try `by Friday 5pm`, `tomorrow 9am`, `in 3 days`, `by Dec 5` or `by 2026-12-05 14:00`."
)
_DUE_HINT: Final = (
    "Put the due date at the end, e.g. `by Friday 5pm`, `tomorrow 9am`, `in 3 days` or `by Dec 5`."
)
_PRIORITY_HINT: Final = "Use one of `!low`, `!normal`, `!high` or `!urgent`."


@dataclass(frozen=True)
class Mention:
    """Somebody named in the text: by Slack user ID (escaped form) or by plain `@name`."""

    user_id: str | None
    name: str | None


@dataclass(frozen=True)
class Delegation:
    """What a `/delegate` text asks for."""

    title: str
    assignee: Mention | None
    due_at: datetime | None
    priority: Priority
    tags: tuple[str, ...]


# --- tokens -----------------------------------------------------------------------------------------

# A token is a run of non-space characters in which Slack's `<...>` forms are atomic (link labels may
# contain spaces, and nothing inside them should be read as a tag, priority or date).
_TOKEN_RE: Final = re.compile(r"(?:<[^<>]*>|[^\s<]|<)+")
_USER_RE: Final = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^<>]*)?>")
_NAME_RE: Final = re.compile(r"@(\w[\w.\-]{0,79})")
_SPECIAL_NAMES: Final = frozenset({"here", "channel", "everyone"})
_PRIORITY_RE: Final = re.compile(r"!([^\W\d_]+)([.,;:!?)]*)")
_TAG_RE: Final = re.compile(r"#([\w-]+)([.,;:!?)]*)")
_TASK_REF_RE: Final = re.compile(r"(?:[Tt]\s?[-\u2010-\u2015]?\s?|#)?([0-9]+)")
_SEPARATOR_RE: Final = re.compile(r"[-\u2013\u2014:,;|/]+")
_PRIORITIES: Final = {p.value: p for p in Priority}


def parse_mention(token: str) -> Mention | None:
    """Read one token as a person: `<@U123>`, `<@U123|ana>` or `@ana`; None for anything else.

    Channel refs, `<!here>`-style specials and plain `@here`/`@channel`/`@everyone` are not people.
    A trailing `,`, `:` or `;` is ignored (`@ana: please ...`). The `|ana` label of the escaped form is
    only Slack's display hint, so it is dropped: the user ID is what counts.
    """
    token = token.strip().rstrip(",:;")
    if m := _USER_RE.fullmatch(token):
        return Mention(user_id=m.group(1), name=None)
    if m := _NAME_RE.fullmatch(token):
        name = m.group(1).rstrip(".-")  # "@ana." ends a sentence; the dot is not part of the name
        if name and name.lower() not in _SPECIAL_NAMES:
            return Mention(user_id=None, name=name)
    return None


def read_task_ref(token: str) -> str | None:
    """The digits of a token written as a task reference, without leading zeros (`T-0042` gives "42",
    `T-0` gives "0"), whether or not a task could have that number; None when it is no reference."""
    m = _TASK_REF_RE.fullmatch(token.strip().rstrip(".,;:!?"))
    return None if m is None else (m.group(1).lstrip("0") or "0")


def parse_task_ref(token: str) -> int | None:
    """Read a task reference: `T-42`, `t-42`, `T42`, `T 42`, `#42` or `42` give 42; None otherwise.

    `#42` is accepted because callers only ask where a task is expected; in `/delegate` text `#42`
    stays in the title (it is not a tag). Zero, negative and out-of-range numbers give None.
    """
    digits = read_task_ref(token)
    # Length first: int() of thousands of digits is slow, and refused beyond 4,300.
    if digits is None or digits == "0" or len(digits) > len(str(_MAX_TASK_NUMBER)):
        return None
    number = int(digits)
    return number if number <= _MAX_TASK_NUMBER else None


def parse_delegation(
    text: str, *, now: datetime, tz: ZoneInfo, day_end: time = time(17, 0)
) -> Delegation:
    """Split a `/delegate` text into title, assignee, due date, priority and tags.

    Raises BadInput (empty or overlong title, unknown or conflicting priority) and BadDueDate (a date
    phrase after `by`/`due`/`before`/`until` that cannot be read, lies in the past or too far ahead).
    """
    _require_aware(now)
    tokens = _TOKEN_RE.findall(text)

    assignee = parse_mention(tokens[0]) if tokens else None
    if assignee is not None:
        tokens = tokens[1:]

    words: list[str] = []
    priorities: list[Priority] = []
    tags: list[str] = []
    for token in tokens:
        trailing = ""
        if m := _PRIORITY_RE.fullmatch(token):
            priority = _PRIORITIES.get(m.group(1).lower())
            if priority is None:
                raise BadInput(f'"!{m.group(1)}" is not a priority.', _PRIORITY_HINT)
            priorities.append(priority)
            trailing = m.group(2)
        elif (m := _TAG_RE.fullmatch(token)) and any(c.isalpha() for c in m.group(1)):
            tag = m.group(1).lower()
            if tag not in tags:
                tags.append(tag)
            trailing = m.group(2)
        else:
            words.append(token)
            continue
        # Keep punctuation that followed a removed token: "Deploy #ops, then test" -> "Deploy, then test".
        if trailing and words:
            words[-1] += trailing

    if len(set(priorities)) > 1:
        shown = " and ".join(dict.fromkeys(f"!{p.value}" for p in priorities))
        raise BadInput(f"Pick one priority, not {shown}.", _PRIORITY_HINT)

    due_at: datetime | None = None
    found = _find_due(words, now=now, tz=tz, day_end=day_end)
    if found is not None:
        start, due_at, typed = found
        _check_range(due_at, typed, now=now, tz=tz)
        words = words[:start]

    # Drop separators left dangling at either end ("@ana - Fix login", "Write report, by Friday").
    while words and _SEPARATOR_RE.fullmatch(words[0]):
        words = words[1:]
    while words and _SEPARATOR_RE.fullmatch(words[-1]):
        words = words[:-1]
    title = " ".join(words).rstrip(",;:")
    if not title:
        raise BadInput(
            "What should be done?",
            "Add a short description, e.g. `/delegate @ana Reconcile October invoices by Friday`.",
        )
    # Measured as typed: Slack sends a typed `&` as `&amp;`, which is one character to the person.
    typed_length = len(_unescaped(title))
    if typed_length > MAX_TITLE_CHARS:
        raise BadInput(
            f"That description is {typed_length} characters; the limit is {MAX_TITLE_CHARS}.",
            "Keep the title short and put the details in the card's thread.",
        )
    return Delegation(
        title=title,
        assignee=assignee,
        due_at=due_at,
        priority=priorities[0] if priorities else Priority.NORMAL,
        tags=tuple(tags),
    )


def _unescaped(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_when(text: str, *, now: datetime, tz: ZoneInfo, day_end: time = time(17, 0)) -> datetime:
    """Read a due date or snooze time on its own (`Friday 5pm`, `by tomorrow`, `in 2 hours`) as aware UTC.

    Forms: `today`/`tonight`/`tomorrow` [time]; `EOD`, `EOW`; weekdays (`Friday`, `this Friday`, the
    next occurrence, today included while still ahead; `next Friday` = Friday of next week); `Dec 5`,
    `5 Dec`, `Dec 5th 2027`; `12/5` (month/day, or day/month when the first part is over 12);
    `2026-12-05`; `the 5th`; times `5pm`, `5:30 pm`, `17:00`, `noon`, `midnight` (end of that day),
    alone (next occurrence) or with a date; `in 3 days`, `in 2 hours`, `2 weeks from now`. A date
    without a time means `day_end` local; `tonight` means 20:00. Anything else goes to dateparser.

    Raises BadDueDate when the text cannot be read, lies in the past or more than ~2 years ahead.
    """
    _require_aware(now)
    typed = " ".join(text.split())
    if not typed:
        raise BadDueDate("When should it be due?", _DATE_EXAMPLES)
    words = _normalise(typed)
    try:
        due = _read_own(words, now=now, tz=tz, day_end=day_end)
    except _Unreadable:
        due = None
    else:
        if due is None:
            due = _read_with_dateparser(words, now=now, tz=tz, day_end=day_end)
    if due is None:
        raise BadDueDate(f'I couldn\'t read "{typed}" as a date.', _DATE_EXAMPLES)
    _check_range(due, typed, now=now, tz=tz)
    return due


def warm_up() -> None:
    """Import and exercise dateparser once, so the first unusual date a person types is not slow."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    _read_with_dateparser(["tomorrow", "morning"], now=now, tz=ZoneInfo("UTC"), day_end=time(17, 0))


# --- finding the due phrase ---------------------------------------------------------------------------

# A date after these is the due date; if it looks like a date but cannot be read, say so.
_STRONG_KEYWORDS: Final = frozenset({"by", "due", "before", "until", "till"})
# These introduce a due date only when what follows reads as one ("Turn on lights" is a title).
_WEAK_KEYWORDS: Final = frozenset({"on", "at"})
# A trailing phrase may start with these without a keyword ("Call Bob tomorrow 9am").
_BARE_STARTERS: Final = frozenset(
    {"today", "tonight", "tomorrow", "tmrw", "tmr", "eod", "eow", "cob", "end", "in", "next", "this"}
)


def _find_due(
    words: Sequence[str], *, now: datetime, tz: ZoneInfo, day_end: time
) -> tuple[int, datetime, str] | None:
    """Find the longest trailing date phrase: (index where it starts, due date, the phrase as typed)."""
    best: tuple[int, datetime, str] | None = None
    best_phrase: list[str] = []
    for i in range(len(words) - 1, -1, -1):
        head = words[i].lower().strip(".,;:!?")
        if head in _STRONG_KEYWORDS or head in _WEAK_KEYWORDS:
            start = i + 1
        elif head in _BARE_STARTERS:
            start = i
        else:
            continue
        typed = " ".join(words[start:])
        phrase = _normalise(typed)
        if not phrase:
            continue
        if best is not None and phrase == best_phrase:
            best = (i, best[1], typed)  # only a connecting word more: "tomorrow afternoon" -> "by ..."
            continue
        try:
            due = _read_own(phrase, now=now, tz=tz, day_end=day_end)
        except _Unreadable:
            due = None
        else:
            # dateparser is the fallback for the shortest phrase only: once a date has been found, a
            # longer phrase must be one of our own forms, so title words are never eaten by accident.
            if due is None and best is None and _looks_like_date(phrase):
                due = _read_with_dateparser(phrase, now=now, tz=tz, day_end=day_end)
        if due is not None:
            best, best_phrase = (i, due, typed), phrase
            continue
        if best is not None:
            break  # "Sort mail by vendor by Friday": stop at the first phrase that is not a date
        if head in _STRONG_KEYWORDS and _looks_like_date(phrase):
            raise BadDueDate(f'I couldn\'t read "{typed}" as a due date.', _DUE_HINT)
    return best


def _check_range(due: datetime, typed: str, *, now: datetime, tz: ZoneInfo) -> None:
    """Refuse due dates that are not ahead of `now` or too far ahead."""
    shown = due.astimezone(tz).strftime("%a %d %b %Y %H:%M")
    if due <= now:
        raise BadDueDate(
            f'"{typed}" is in the past ({shown}).', "Pick a time in the future, e.g. `tomorrow 9am`."
        )
    if due - now > MAX_DUE_AHEAD:
        raise BadDueDate(
            f'"{typed}" is more than two years away ({shown}).', "Pick a date within the next two years."
        )


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware")


# --- the built-in date grammar ------------------------------------------------------------------------


class _Unreadable(Exception):
    """A phrase in one of our forms whose values are impossible (`Feb 30`, `13pm`, `Fri Dec 5` on a Sat)."""


_WEEKDAYS: Final = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}
_MONTHS: Final = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
# Unit -> (kind, multiplier). Minutes and hours are real elapsed time; days and up are calendar steps.
_UNITS: Final = {
    "m": ("minutes", 1), "min": ("minutes", 1), "mins": ("minutes", 1), "minute": ("minutes", 1),
    "minutes": ("minutes", 1), "h": ("minutes", 60), "hr": ("minutes", 60), "hrs": ("minutes", 60),
    "hour": ("minutes", 60), "hours": ("minutes", 60), "d": ("days", 1), "day": ("days", 1),
    "days": ("days", 1), "w": ("days", 7), "wk": ("days", 7), "wks": ("days", 7), "week": ("days", 7),
    "weeks": ("days", 7), "fortnight": ("days", 14), "fortnights": ("days", 14), "mo": ("months", 1),
    "mos": ("months", 1), "month": ("months", 1), "months": ("months", 1), "year": ("months", 12),
    "years": ("months", 12), "yr": ("months", 12), "yrs": ("months", 12),
}
_NUMBER_WORDS: Final = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}
_DAY_WORDS: Final = {"today": 0, "tonight": 0, "tomorrow": 1, "overmorrow": 2}

_FILLERS: Final = frozenset({"at", "on", "by", "before", "until", "till", "due", "the", "of", "@"})
_SYNONYMS: Final = (
    (re.compile(r"(\d)\s*([ap])\.?m\b\.?"), r"\1\2m"),  # "5 p.m." / "5 pm" -> "5pm"
    (re.compile(r"\b12\s*(noon|midnight)\b"), r"\1"),
    (re.compile(r"\bmid-?day\b"), "noon"),
    (re.compile(r"\b(?:end|close) of (?:the )?(?:business |work(?:ing)? )?(?:day|business)\b"), "eod"),
    (re.compile(r"\b(?:cob|eob)\b"), "eod"),
    (re.compile(r"\bend of (?:the )?(?:work(?:ing)? )?week\b"), "eow"),
    (re.compile(r"\b(?:the )?day after tomorrow\b"), "overmorrow"),
    (re.compile(r"\b(?:tmrw|tmr|tomorow|tommorow|tommorrow)\b"), "tomorrow"),
)
_CLOCK_RE: Final = re.compile(r"(\d{1,2})(?:([:.])(\d{2}))?(am|pm|a|p)?")
_CLOCKISH_RE: Final = re.compile(r"\d{1,2}(?:[:.]\d{2})?(?:am|pm|a|p)|\d{1,2}:\d{2}")
_ISO_RE: Final = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_SLASH_RE: Final = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?")
_DAY_RE: Final = re.compile(r"(\d{1,2})(st|nd|rd|th)?")
_ORDINAL_RE: Final = re.compile(r"(\d{1,2})(?:st|nd|rd|th)")
_YEAR_RE: Final = re.compile(r"\d{4}")
_COMPACT_RE: Final = re.compile(r"(\d{1,6})([a-z]+)")

# Words that make a phrase "look like a date". A few month/day abbreviations are also English words
# ("Sort by sun exposure"), so they count only next to a number or on their own.
_AMBIGUOUS_WORDS: Final = frozenset({"may", "mar", "sat", "sun", "wed"})
_DATE_WORDS: Final = (
    frozenset(_WEEKDAYS) | frozenset(_MONTHS) | frozenset(_DAY_WORDS)
    | {"eod", "eow", "noon", "midnight", "yesterday", "morning", "afternoon", "evening"}
) - _AMBIGUOUS_WORDS
_TIME_WORDS: Final = frozenset({"noon", "midnight", "morning", "afternoon", "evening", "night", "o'clock"})


def _normalise(typed: str) -> list[str]:
    """Lower-case a phrase, fold synonyms ("end of day" -> "eod") and drop connecting words."""
    text = typed.lower().replace(",", " ")
    for pattern, replacement in _SYNONYMS:
        text = pattern.sub(replacement, text)
    words = (w.strip(".;:!?()") for w in text.split())
    return [w for w in words if w and w not in _FILLERS]


def _clock(word: str, day_end: time) -> int | None:
    """Minutes after local midnight for a time word (1440 = `midnight`, the end of that day)."""
    if word == "noon":
        return 720
    if word == "midnight":
        return 1440
    if word == "eod":
        return _end_minutes(day_end)
    m = _CLOCK_RE.fullmatch(word)
    if m is None:
        return None
    hour, separator, minutes, ampm = int(m.group(1)), m.group(2), m.group(3), m.group(4)
    if ampm is None and (minutes is None or separator == "."):
        return None  # a bare "5" or "12.5" is not a time (a day? a version?); refuse to guess
    minute = int(minutes or 0)
    if minute > 59:
        raise _Unreadable(word)
    if ampm is None:
        if hour > 23:
            raise _Unreadable(word)
        return hour * 60 + minute
    if not 1 <= hour <= 12:
        raise _Unreadable(word)
    return (hour % 12 + (12 if ampm.startswith("p") else 0)) * 60 + minute


def _read_own(words: list[str], *, now: datetime, tz: ZoneInfo, day_end: time) -> datetime | None:
    """Read a normalised phrase with the built-in grammar; None when it is none of its forms."""
    clocks = [(i, c) for i, w in enumerate(words) if (c := _clock(w, day_end)) is not None]
    if len(clocks) > 1:
        return None
    clock = clocks[0][1] if clocks else None
    rest = [w for i, w in enumerate(words) if not clocks or i != clocks[0][0]]
    today = now.astimezone(tz).date()

    relative = _relative(rest)
    if relative is not None:
        amount, kind = relative
        if kind == "minutes":
            # Elapsed time, so "in 2 hours" is two real hours even across a DST change.
            return None if clock is not None else (now + timedelta(minutes=amount)).astimezone(UTC)
        try:
            day = today + timedelta(days=amount) if kind == "days" else _add_months(today, amount)
        except OverflowError:
            raise _Unreadable(" ".join(words)) from None
        return _at(day, _end_minutes(day_end) if clock is None else clock, tz)

    if not rest:
        if clock is None:
            return None
        if words == ["eod"]:
            return _at(today, clock, tz)  # EOD is today's end, even when that has passed
        # A time alone is its next occurrence: "by 9am" typed in the evening means tomorrow morning.
        days = [today, today + timedelta(days=1)]
    elif rest == ["eow"]:
        if clock is not None:
            return None
        return _at(today + timedelta(days=4 - today.weekday()), _end_minutes(day_end), tz)
    else:
        found = _days(rest, today)
        if found is None:
            return None
        days = found
    if clock is None:
        clock = _end_minutes(_TONIGHT if rest == ["tonight"] else day_end)
    # The first candidate still ahead wins; if none is, report the first (it is in the past).
    for day in days:
        due = _at(day, clock, tz)
        if due > now:
            return due
    return _at(days[0], clock, tz)


def _relative(rest: list[str]) -> tuple[int, str] | None:
    """Read `in 3 days`, `in an hour`, `in 2h`, `2 weeks from now` as (amount, kind)."""
    words = list(rest)
    marked = False
    if words[:1] == ["in"]:
        words, marked = words[1:], True
    if words[-2:] in (["from", "now"], ["from", "today"]):
        words, marked = words[:-2], True
    if not marked:
        return None
    if len(words) == 1 and (m := _COMPACT_RE.fullmatch(words[0])):
        count, unit = m.group(1), m.group(2)
    elif len(words) == 2:
        count, unit = words
    else:
        return None
    if unit not in _UNITS:
        return None
    if count.isdigit() and len(count) <= 6:
        amount = int(count)
    elif count in _NUMBER_WORDS:
        amount = _NUMBER_WORDS[count]
    else:
        return None
    kind, multiplier = _UNITS[unit]
    return amount * multiplier, kind


def _days(rest: list[str], today: date) -> list[date] | None:
    """Candidate local dates for the date part of a phrase, best first; None when it is not a date."""
    if len(rest) == 1 and rest[0] in _DAY_WORDS:
        return [today + timedelta(days=_DAY_WORDS[rest[0]])]
    if (len(rest) == 1 and rest[0] in _WEEKDAYS) or (len(rest) == 2 and rest[0] in ("this", "coming")):
        weekday = _WEEKDAYS.get(rest[-1])
        if weekday is None:
            return None
        # The next occurrence; today counts while the time is still ahead (the caller checks that).
        day = today + timedelta(days=(weekday - today.weekday()) % 7)
        return [day, day + timedelta(days=7)]
    if len(rest) == 2 and rest[0] == "next" and rest[1] in _WEEKDAYS:
        # "next Friday" is Friday of next week (Monday-Sunday), so it always differs from "Friday".
        return [today + timedelta(days=7 - today.weekday() + _WEEKDAYS[rest[1]])]
    if len(rest) >= 2 and rest[0] in _WEEKDAYS:
        # "Friday Dec 5": the weekday must agree with the date.
        days = _calendar_day(rest[1:], today)
        if days is None:
            return None
        if days[0].weekday() != _WEEKDAYS[rest[0]]:
            raise _Unreadable(" ".join(rest))
        return days
    return _calendar_day(rest, today)


def _calendar_day(rest: list[str], today: date) -> list[date] | None:
    """Read `2026-12-05`, `12/5`, `Dec 5`, `5th December 2026`, `5th`; None when it is none of them."""
    if len(rest) == 1:
        word = rest[0]
        if m := _ISO_RE.fullmatch(word):
            return [_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), word)]
        if m := _SLASH_RE.fullmatch(word):
            first, second = int(m.group(1)), int(m.group(2))
            # Month/day as in "12/5"; day/month only when the first part cannot be a month ("25/12").
            month, day = (second, first) if first > 12 and second <= 12 else (first, second)
            if m.group(3):
                given = int(m.group(3))
                return [_date(given + 2000 if given < 100 else given, month, day, word)]
            return [_yearly(month, day, today, word)]
        if m := _ORDINAL_RE.fullmatch(word):
            return [_monthly(int(m.group(1)), today, word)]
        return None
    year: int | None = None
    parts = rest
    if len(parts) == 3 and _YEAR_RE.fullmatch(parts[2]):
        year, parts = int(parts[2]), parts[:2]
    if len(parts) != 2:
        return None
    if parts[0] in _MONTHS and (m := _DAY_RE.fullmatch(parts[1])):
        month = _MONTHS[parts[0]]
    elif parts[1] in _MONTHS and (m := _DAY_RE.fullmatch(parts[0])):
        month = _MONTHS[parts[1]]
    else:
        return None
    typed = " ".join(rest)
    day = int(m.group(1))
    return [_date(year, month, day, typed) if year is not None else _yearly(month, day, today, typed)]


def _date(year: int, month: int, day: int, typed: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise _Unreadable(typed) from None


def _yearly(month: int, day: int, today: date, typed: str) -> date:
    """The next `month`/`day` on or after today (so Feb 29 waits for a leap year)."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise _Unreadable(typed)
    for year in range(today.year, today.year + 5):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise _Unreadable(typed)  # "Feb 30" never comes


def _monthly(day: int, today: date, typed: str) -> date:
    """The next day-of-month `day` on or after today, skipping months too short for it."""
    if not 1 <= day <= 31:
        raise _Unreadable(typed)
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise _Unreadable(typed)


def _add_months(day: date, months: int) -> date:
    """`day` plus whole months, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    if year > date.max.year - 1:
        raise _Unreadable(f"{months} months")
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def _end_minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _at(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """Local `day` plus `minutes` of wall-clock time in `tz`, as aware UTC.

    zoneinfo with fold=0 resolves a time in a spring-forward gap with the offset from before the gap,
    which lands the instant after it (02:30 in a skipped hour becomes 03:30), and an ambiguous time in
    an autumn fold as its earlier occurrence; both are what a deadline should do.
    """
    try:
        local = datetime.combine(day, time()) + timedelta(minutes=minutes)
    except OverflowError:
        raise _Unreadable(str(day)) from None
    return local.replace(tzinfo=tz).astimezone(UTC)


def _looks_like_date(words: list[str]) -> bool:
    """Whether a phrase was probably meant as a date (so failing to read it deserves an error)."""
    has_digit = any(c.isdigit() for w in words for c in w)
    if len(words) == 1 and words[0].isdigit():
        return True  # "by 5": a date or a time, but which? Ask rather than put it in the title.
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in _DATE_WORDS or (word in _AMBIGUOUS_WORDS and (has_digit or len(words) == 1)):
            return True
        if _CLOCKISH_RE.fullmatch(word) or _ISO_RE.fullmatch(word) or _SLASH_RE.fullmatch(word):
            return True
        if _ORDINAL_RE.fullmatch(word):
            return True
        if word == "next" and (following in _WEEKDAYS or following in ("week", "month", "year")):
            return True
        if (word.isdigit() and following in _UNITS) or (word == "in" and following.isdigit()):
            return True
    return False


def _read_with_dateparser(
    words: list[str], *, now: datetime, tz: ZoneInfo, day_end: time
) -> datetime | None:
    """Fallback for forms the grammar above lacks ("tomorrow morning"); None when unreadable or vague.

    dateparser gets the local wall time as its base and returns naive local time, which is then
    placed in `tz` by `_at` (zoneinfo handles DST gaps and folds; dateparser's own conversion does not
    promise to). Results vaguer than a day ("5" -> a month, "next week") are refused rather than
    guessed, and without a time word the day's end is used, as for our own forms.
    """
    if not words or (len(words) == 1 and words[0].isdigit()):
        return None  # dateparser reads a bare "5" as some day in some month
    from dateparser.date import DateDataParser  # imported late: it costs ~0.1 s and is rarely needed

    parser = DateDataParser(
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": now.astimezone(tz).replace(tzinfo=None),
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    try:
        data = parser.get_date_data(" ".join(words))
    except Exception:  # a fallback reader must never turn a typo into a crash
        return None
    found = data.date_obj
    if found is None or data.period not in ("day", "time"):
        return None
    has_time = any(w in _TIME_WORDS or _CLOCKISH_RE.fullmatch(w) for w in words)
    minutes = found.hour * 60 + found.minute if has_time else _end_minutes(day_end)
    try:
        return _at(found.date(), minutes, tz)
    except _Unreadable:
        return None
