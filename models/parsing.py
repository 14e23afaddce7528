"""Parse what people type into `/delegate` and friends: assignee, title, due date, priority and tags.

Pure: no Slack imports and no clock reads; callers pass `now` (aware UTC) and the requester's zone.

Delegation grammar (tokens are separated by whitespace; Slack's `<...>` forms count as one token):

* Assignee: a leading `<@U123>`, `<@U123|ana>` or `@ana`; later mentions stay in the title.
* Priority: `!low`, `!normal`, `!high`, `!urgent` anywhere (case-insensitive).
* Tags: `#word` anywhere (letters, digits, `-`, `_`; at least one letter, so `#42` stays in the title as
  the issue number it usually is). Slack's `<#C123|name>` channel refs are not tags.
* Due date: the longest trailing phrase that reads as a date, after `by`/`due`/`before`/`until`/
  `till`/`on`/`at`, or without a keyword when it starts with a day word (`today`, `tonight`,
  `tomorrow`), a weekday, a time (`5pm`, `17:00`, `noon`), `EOD`/`EOW`/`end of …`, `in …`,
  `this …` or `next …`; calendar dates (`Dec 5`, `12/5`) need a keyword. Words before the phrase
  stay in the title, and so does a keyword-less phrase that is the object of the title ("Prepare
  for Monday"). Read in the requester's zone, returned in UTC. See `parse_when` for the forms.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from models.enums import Priority
from models.errors import BadDueDate, BadInput
from models.localtime import wall_instant

__all__ = [
    "MAX_DUE_AHEAD",
    "WORK_DAYS",
    "MAX_TITLE_CHARS",
    "Delegation",
    "Mention",
    "day_first_for",
    "parse_delegation",
    "check_due_range",
    "parse_mention",
    "parse_tags",
    "parse_task_ref",
    "parse_when",
    "read_task_ref",
]

# Same limit as models.tasks: a sentence or two. (Slack header blocks stop at 150 characters, so a card
# that shows the whole title needs a section block.)
MAX_TITLE_CHARS: Final = 250
# "About two years": 731 days so that "the same day in two years" still fits across a leap day.
MAX_DUE_AHEAD: Final = timedelta(days=731)
# The working week when the caller does not say: Monday to Friday, as in date.weekday().
WORK_DAYS: Final = frozenset({0, 1, 2, 3, 4})

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
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    day_end: time = time(17, 0),
    day_first: bool | None = None,
    work_days: Collection[int] = WORK_DAYS,
) -> Delegation:
    """Split a `/delegate` text into title, assignee, due date, priority and tags.

    `day_first` says whether `12/5` is 12 May (see `day_first_for`); None reads it from `tz`'s region.
    `day_end` and `work_days` (Monday=0) are the requester's working day and week: a date without a
    time means `day_end`, and a week ends on its last working day (see `parse_when`).
    Raises BadInput (empty or overlong title, unknown or conflicting priority) and BadDueDate (a date
    phrase after `by`/`due`/`before`/`until` that cannot be read, with a "did you mean" when a word is
    misspelt; one that lies in the past or too far ahead).
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
    found = _find_due(words, _Context.of(now, tz, day_end, day_first, work_days))
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


def parse_when(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    day_end: time = time(17, 0),
    day_first: bool | None = None,
    work_days: Collection[int] = WORK_DAYS,
) -> datetime:
    """Read a due date or snooze time on its own (`Friday 5pm`, `by tomorrow`, `in 2 hours`) as aware UTC.

    The forms (the README's table lists them with examples):

    * days: `today`, `tomorrow`/`tmrw`, `the day after tomorrow`, weekdays (`Friday`, `this Friday`: the
      next one, today included while still ahead; `next Friday`: Friday of next week), `Dec 5`,
      `5 Dec`, `Dec 5th 2027`, `2026-12-05`, `the 5th`, and `12/5` or `12/5/27` read day-first or
      month-first by `day_first` (the only valid reading when theirs is impossible: `13/01`);
    * periods, each meaning its last day at `day_end`: `EOW`/`end of week`/`this week` (the last day of
      the work week in `work_days`, Friday for Monday to Friday; on a weekend the coming one),
      `next week` (the one after), `end of month`/`this month`, `next month`, `end of year`;
    * times: `5pm`, `5:30 pm`, `17:00`, `noon`, `midnight` (the end of that day), `EOD` (`day_end`),
      `at 9` (an hour without am/pm: 7-11 morning, 1-6 afternoon, unless a part of the day says),
      and parts of the day: `morning` 09:00, `afternoon` 15:00, `evening` 18:00, `tonight`/`night`
      20:00, `lunch` 12:00;
    * relative: `in 3 days`, `in 2 hours`, `in 2h`, `2 weeks from now` (minutes and hours are
      elapsed time; days and up are calendar steps that end at `day_end`).

    A date and a time may come in either order (`noon tomorrow`, `tomorrow at noon`). A time alone is
    its next occurrence; a date without a time means `day_end` local. Local times become instants by
    `models.localtime`'s DST rule.

    Raises BadDueDate when the text cannot be read (with a "did you mean" for a misspelt word), lies
    in the past or more than ~2 years ahead.
    """
    _require_aware(now)
    typed = " ".join(text.split())
    if not typed:
        raise BadDueDate("When should it be due?", _DATE_EXAMPLES)
    context = _Context.of(now, tz, day_end, day_first, work_days)
    due = _read_safely(_normalise(typed), context)
    if due is None:
        suggestion = _suggest(typed, context)
        if suggestion is not None:
            raise BadDueDate(f'I couldn\'t read "{typed}" as a date. Did you mean "{suggestion}"?', _DATE_EXAMPLES)
        raise BadDueDate(_unreadable_message(typed, _normalise(typed), "a date"), _DATE_EXAMPLES)
    _check_range(due, typed, now=now, tz=tz)
    return due


# --- how to read: the requester's zone, date order and working week ------------------------------------

@dataclass(frozen=True)
class _Context:
    """Everything a phrase is read against."""

    now: datetime
    tz: ZoneInfo
    day_end: time
    day_first: bool
    week_end: int  # the weekday a work week ends on

    @classmethod
    def of(
        cls, now: datetime, tz: ZoneInfo, day_end: time, day_first: bool | None, work_days: Collection[int]
    ) -> _Context:
        order = day_first_for(None, tz) if day_first is None else day_first
        return cls(now=now, tz=tz, day_end=day_end, day_first=order, week_end=_week_end(work_days))


def _week_end(work_days: Collection[int]) -> int:
    """The weekday a work week ends on: the last working day before the longest run of days off.

    Monday to Friday ends on Friday, Sunday to Thursday on Thursday, Monday/Wednesday/Friday on Friday
    (the weekend is the longest gap); a week with no day off ends on Sunday, one with no working day
    is read as Monday to Friday.
    """
    days = frozenset(work_days) & frozenset(range(7)) or WORK_DAYS
    best_start, best_length = 0, 0  # a week without a day off: the run "starts" on Monday
    for start in range(7):
        if start in days or (start - 1) % 7 not in days:
            continue  # not the first day off after a working day
        length = 0
        while length < 7 and (start + length) % 7 not in days:
            length += 1
        if length > best_length:
            best_start, best_length = start, length
    return (best_start - 1) % 7


# --- finding the due phrase ---------------------------------------------------------------------------

# A date after these is the due date; if it looks like a date but cannot be read, say so.
_STRONG_KEYWORDS: Final = frozenset({"by", "due", "before", "until", "till"})
# These introduce a due date only when what follows reads as one ("Turn on lights" is a title).
_WEAK_KEYWORDS: Final = frozenset({"on", "at"})
# A trailing phrase may start with these without a keyword ("Call Bob tomorrow 9am", "Friday 5pm").
# Calendar dates (`Dec 5`, `12/5`) need a keyword, so numbers in titles ("Book room 12/5") stay there.
_BARE_STARTERS: Final = frozenset(
    {"today", "tonight", "tonite", "tomorrow", "tmrw", "tmr", "tomorow", "tommorow", "tommorrow", "eod",
     "eow", "eom", "cob", "end", "in", "next", "this", "coming", "noon", "first"}
)
# A keyword-less phrase right after one of these is the object of the title ("Prepare for Monday",
# "Notes from today"), not its due date.
_NEEDS_OBJECT: Final = frozenset(
    {"for", "about", "from", "with", "of", "to", "the", "a", "an", "after", "during", "since", "per",
     "than", "and", "or", "our", "my", "your", "their", "his", "her", "its", "every", "each", "last"}
)
_PUNCTUATION: Final = ".,;:!?"
_MODIFIERS: Final = frozenset({"this", "next", "coming", "in"})


def _find_due(words: Sequence[str], context: _Context) -> tuple[int, datetime, str] | None:
    """Find the longest trailing date phrase: (index where it starts, due date, the phrase as typed)."""
    best: tuple[int, datetime, str] | None = None
    best_phrase: list[str] = []
    best_bare = False
    for i in range(len(words) - 1, -1, -1):
        head = words[i].lower().strip(_PUNCTUATION)
        keyword = head in _STRONG_KEYWORDS or head in _WEAK_KEYWORDS
        if not keyword and not _starts_bare(words, i):
            continue
        typed = " ".join(words[i + 1 :] if keyword else words[i:])
        # The keyword stays in the phrase read: "at 9" is a time where a bare "9" is not.
        phrase = _normalise(" ".join(words[i:]))
        if not phrase or not typed:
            continue
        if best is not None and phrase == best_phrase:
            # Only a connecting word more: "tomorrow afternoon" -> "by tomorrow afternoon".
            best, best_bare = (i, best[1], typed), not keyword
            continue
        if _only_lowercase_lookalikes(words[i:]):
            if best is not None:
                break
            continue  # "Sort by sun": the sun, not Sunday
        due = _read_safely(phrase, context)
        if due is not None:
            best, best_phrase, best_bare = (i, due, typed), phrase, not keyword
            continue
        if best is not None and best_bare and head not in _STRONG_KEYWORDS:
            between = _normalise(" ".join(words[i : best[0]]))
            if _looks_like_date(between) and all(_looks_like_date([w]) or w in _MODIFIERS for w in between):
                # "Call Bob tomorrow morning 3pm": date words right before the phrase that do not
                # agree with it; taking "3pm" alone would leave "tomorrow morning" unread in the title.
                raise BadDueDate(_unreadable_message(typed, phrase, "a due date"), _DUE_HINT)
        if best is not None and not (head in _STRONG_KEYWORDS and best_bare):
            break  # "Sort mail by vendor by Friday": stop at the first phrase that is not a date
        if head in _STRONG_KEYWORDS:
            between = _normalise(" ".join(words[i + 1 : best[0]])) if best is not None else phrase
            suggestion = _suggest(typed, context)
            if suggestion is not None:
                raise BadDueDate(
                    f'I couldn\'t read "{typed}" as a due date. Did you mean "{suggestion}"?',
                    f"Say `by {suggestion}` if so. {_DUE_HINT}",
                )
            if _looks_like_date(between):
                raise BadDueDate(_unreadable_message(typed, phrase, "a due date"), _DUE_HINT)
        if best is not None:
            break  # "Meet by the lake tomorrow": the lake is the title's
    if best is not None and best_bare and best[0] > 0:
        if words[best[0] - 1].lower().strip(_PUNCTUATION) in _NEEDS_OBJECT:
            return None  # "Prepare for Monday": the date is what the title is about
    return best


def _starts_bare(words: Sequence[str], i: int) -> bool:
    """Whether a keyword-less due phrase may start at `words[i]`: a day word, weekday, time or `in …`."""
    word = words[i].lower().strip(_PUNCTUATION)
    if word in _BARE_STARTERS or word in _WEEKDAYS:
        return True
    if _CLOCKISH_RE.fullmatch(word):
        return True
    ahead = [w.lower() for w in words[i : i + 3]]
    if ahead[:2] == ["day", "after"] or ahead == ["the", "day", "after"]:
        return True  # "the day after tomorrow"
    following = words[i + 1].lower() if i + 1 < len(words) else ""
    return word.isdigit() and len(word) <= 2 and re.fullmatch(r"[ap]\.?m\.?", following) is not None


def _only_lowercase_lookalikes(raw: Sequence[str]) -> bool:
    """Whether a phrase's only date word is a lower-case English word that is also a date ("by sun")."""
    found = False
    for token in raw:
        word = token.strip(_PUNCTUATION)
        lowered = word.lower()
        if lowered in _STRONG_KEYWORDS or lowered in _WEAK_KEYWORDS or lowered in {"this", "next", "coming"}:
            continue
        if lowered in _AMBIGUOUS_WORDS and word == lowered:
            found = True
            continue
        return False
    return found


def _read_safely(phrase: list[str], context: _Context) -> datetime | None:
    try:
        return _read_own(phrase, context)
    except _Unreadable:
        return None


def _unreadable_message(typed: str, phrase: list[str], what: str) -> str:
    """Why a phrase was not read; a lone number (`by 5`) is asked about, as it could be a day or a time."""
    if len(phrase) == 1 and phrase[0].isdigit() and 1 <= int(phrase[0]) <= 31:
        number = int(phrase[0])
        choices = [f"`{number}pm`"] if number <= 12 else []
        if number <= 23:
            choices.append(f"`at {number}:00`")
        day = f"`the {_ordinal(number)}`"
        if not choices:
            return f'Is "{typed}" a day or a time? For a day, say {day}.'
        return f'Is "{typed}" a day or a time? Say {", ".join(choices)} or {day}.'
    return f'I couldn\'t read "{typed}" as {what}.'


def _ordinal(number: int) -> str:
    suffix = "th" if 11 <= number % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _suggest(typed: str, context: _Context) -> str | None:
    """`typed` with misspelt date words corrected ("Fridayy" -> "Friday"), if that then reads as a date."""
    corrected: list[str] = []
    changed = False
    for token in typed.split():
        word = token.strip(_PUNCTUATION).lower()
        if len(word) >= 4 and word.isalpha() and word not in _VOCABULARY:
            close = difflib.get_close_matches(word, _VOCABULARY, n=1, cutoff=0.75)
            if close:
                corrected.append(close[0].capitalize() if token[:1].isupper() else close[0])
                changed = True
                continue
        corrected.append(token.strip(_PUNCTUATION))
    if not changed:
        return None
    suggestion = " ".join(corrected)
    if _read_safely(_normalise(suggestion), context) is None:
        return None
    return suggestion


def check_due_range(due: datetime, typed: str, *, now: datetime, tz: ZoneInfo) -> None:
    """BadDueDate, with `typed` quoted, for a due time that is not ahead of `now` or more than two years ahead."""
    _check_range(due, typed, now=now, tz=tz)


def parse_tags(text: str) -> tuple[str, ...]:
    """Tags typed on their own (`#payroll #client-acme`, or `payroll, client-acme`), lowercased, each once."""
    tags: list[str] = []
    for word in re.split(r"[\s,;]+", text.strip()):
        name = word.lstrip("#").lower()
        if not name:
            continue
        if not re.fullmatch(r"[\w-]+", name) or not any(c.isalpha() for c in name):
            raise BadInput(
                f'"{word[:50]}" is not a tag: use letters, digits, - and _.', "e.g. #payroll #client-acme"
            )
        if name not in tags:
            tags.append(name)
    return tuple(tags)


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


# --- day-first or month-first -------------------------------------------------------------------------

# Where `12/5` is 5 December: the United States and the places that follow its usage, plus the
# languages that write the month before the day (Japanese, Korean, Chinese: 12/24). Everywhere else
# writes the day first (`24/12`).
_MONTH_FIRST_REGIONS: Final = frozenset({"US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "VI", "UM"})
_MONTH_FIRST_LANGUAGES: Final = frozenset({"ja", "ko", "zh"})
# The same by time zone, for people whose locale is unknown: the zones of those regions.
_MONTH_FIRST_ZONE_PREFIXES: Final = (
    "America/New_York", "America/Detroit", "America/Kentucky/", "America/Louisville", "America/Indiana/",
    "America/Indianapolis", "America/Fort_Wayne", "America/Chicago", "America/Menominee",
    "America/North_Dakota/", "America/Denver", "America/Boise", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "America/Juneau", "America/Sitka", "America/Metlakatla", "America/Yakutat",
    "America/Nome", "America/Adak", "America/Puerto_Rico", "America/St_Thomas", "Pacific/Honolulu",
    "Pacific/Guam", "Pacific/Saipan", "Pacific/Pago_Pago", "Pacific/Majuro", "Pacific/Kwajalein",
    "Pacific/Palau", "Pacific/Chuuk", "Pacific/Pohnpei", "Pacific/Kosrae", "US/", "Navajo", "EST5EDT",
    "CST6CDT", "MST7MDT", "PST8PDT", "Asia/Manila", "Asia/Tokyo", "Japan", "Asia/Seoul", "ROK",
    "Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi", "PRC", "Asia/Taipei", "ROC",
)
# No locale and a zone that names no region (UTC, Etc/…): Slack's default locale, en-US.
_REGIONLESS_ZONES: Final = ("UTC", "Etc/", "GMT", "Universal", "Zulu")


def day_first_for(locale: str | None, tz: ZoneInfo | str) -> bool:
    """Whether `12/5` means 12 May for someone with this Slack `locale` (e.g. `en-GB`) and zone.

    The locale decides when known: month-first for US-style regions (`en-US`, `es-US`) and for
    Japanese, Korean and Chinese; day-first for every other locale (`en-GB`, `en-IN`, `fr-FR`, `es-LA`).
    Without a locale the zone's region decides the same way (America/New_York month-first,
    Europe/London day-first), and a zone with no region (UTC) is read as Slack's default, en-US.
    """
    if locale:
        language, _, region = locale.replace("_", "-").partition("-")
        if language.lower() in _MONTH_FIRST_LANGUAGES:
            return False
        return region.upper() not in _MONTH_FIRST_REGIONS
    name = tz if isinstance(tz, str) else tz.key
    if name.startswith(_MONTH_FIRST_ZONE_PREFIXES) or name.startswith(_REGIONLESS_ZONES):
        return False
    return True


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
# "yesterday" reads, so that it is refused as in the past rather than as unreadable.
_DAY_WORDS: Final = {"yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1, "overmorrow": 2}
# Parts of the day: the time each stands for, and the range an explicit time must fall in to agree
# ("tomorrow morning 10am" agrees; "tomorrow morning 3pm" is a question). Minutes after midnight.
_PARTS_OF_DAY: Final = {
    "morning": (9 * 60, 0, 12 * 60),
    "afternoon": (15 * 60, 12 * 60, 18 * 60),
    "evening": (18 * 60, 16 * 60, 24 * 60),
    "night": (20 * 60, 18 * 60, 24 * 60),
    "tonight": (20 * 60, 18 * 60, 24 * 60),
}

_FILLERS: Final = frozenset({"at", "on", "by", "before", "until", "till", "due", "the", "of", "@"})
_SYNONYMS: Final = (
    (re.compile(r"(\d)\s*([ap])\.?m\b\.?"), r"\1\2m"),  # "5 p.m." / "5 pm" -> "5pm"
    (re.compile(r"\b12\s*(noon|midnight)\b"), r"\1"),
    (re.compile(r"\b(?:mid-?day|lunch-?time|lunch)\b"), "noon"),
    (re.compile(r"\bend of (?:the )?next (week|month)\b"), r"next \1"),
    (re.compile(r"\bnext (?:wk|wks)\b"), "next week"),
    (re.compile(r"\b(?:end|close) of (?:the )?(?:business |work(?:ing)? )?(?:day|business|today)\b"), "eod"),
    (re.compile(r"\b(?:cob|eob)\b"), "eod"),
    (re.compile(r"\b(?:end of (?:the |this )?(?:work(?:ing)? )?week|this week)\b"), "eow"),
    (re.compile(r"\b(?:end of (?:the |this )?month|this month)\b"), "eom"),
    (re.compile(r"\bend of (?:the |this )?year\b"), "eoy"),
    (re.compile(r"\b(?:the )?day after tomorrow\b"), "overmorrow"),
    (re.compile(r"\b(?:tmrw|tmr|tomorow|tommorow|tommorrow)\b"), "tomorrow"),
    (re.compile(r"\btonite\b"), "tonight"),
    (re.compile(r"\bfirst thing(?: in the morning)?\b"), "morning"),
    (re.compile(r"\bthis (morning|afternoon|evening)\b"), r"today \1"),
    (re.compile(r"\bin the (morning|afternoon|evening)\b"), r"\1"),
    (re.compile(r"\bat night\b"), "night"),
    (re.compile(r"\bhalf an hour\b"), "30 minutes"),
    (re.compile(r"\ba couple (?:of )?(minutes|hours|days|weeks|months)\b"), r"2 \1"),
    # "at 9", "@ 9", "9 o'clock": an hour without am/pm, read by `_bare_hour`.
    (re.compile(r"\b(\d{1,2}) o'?clock\b"), r"@\1"),
    (re.compile(r"(?:\bat\s+|@\s*)(\d{1,2})(?![\w:./@])"), r"@\1"),
)
_BARE_HOUR_RE: Final = re.compile(r"@(\d{1,2})")
_CLOCK_RE: Final = re.compile(r"(\d{1,2})(?:([:.])(\d{2}))?(am|pm|a|p)?")
_CLOCKISH_RE: Final = re.compile(r"\d{1,2}(?:[:.]\d{2})?(?:am|pm|a|p)|\d{1,2}:\d{2}")
_ISO_RE: Final = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_SLASH_RE: Final = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?")
_DAY_RE: Final = re.compile(r"(\d{1,2})(st|nd|rd|th)?")
_ORDINAL_RE: Final = re.compile(r"(\d{1,2})(?:st|nd|rd|th)")
_YEAR_RE: Final = re.compile(r"\d{4}")
_COMPACT_RE: Final = re.compile(r"(\d{1,6})([a-z]+)")
_BLOCKED: Final = "\x00"  # stands for "this"/"next" cut off from its noun ("Check this by Friday")

# Words that make a phrase "look like a date". A few month/day abbreviations are also English words
# ("Sort by sun exposure"), so they count only next to a number or on their own.
_AMBIGUOUS_WORDS: Final = frozenset({"may", "mar", "sat", "sun", "wed"})
_DATE_WORDS: Final = (
    frozenset(_WEEKDAYS) | frozenset(_MONTHS) | frozenset(_DAY_WORDS) | frozenset(_PARTS_OF_DAY)
    | {"eod", "eow", "eom", "eoy", "noon", "midnight", "yesterday"}
) - _AMBIGUOUS_WORDS
# What a misspelt word may have been meant as ("Fridayy" -> "friday").
_VOCABULARY: Final = sorted(
    frozenset(_WEEKDAYS) | frozenset(_MONTHS) | frozenset(_DAY_WORDS) | frozenset(_PARTS_OF_DAY)
     | {"noon", "midnight", "week", "month", "next", "this", "hours", "minutes", "days", "weeks", "months"}
)


def _normalise(typed: str) -> list[str]:
    """Lower-case a phrase, fold synonyms ("end of day" -> "eod") and drop connecting words."""
    text = typed.lower().replace(",", " ")
    for pattern, replacement in _SYNONYMS:
        text = pattern.sub(replacement, text)
    words = [w.strip(".;:!?()") for w in text.split()]
    kept: list[str] = []
    for word in words:
        if not word:
            continue
        if word in _FILLERS:
            # "this by Friday": a modifier cut off from its noun makes the phrase unreadable, so the
            # title keeps "this" ("Check this by Friday").
            if kept and kept[-1] in ("this", "next", "coming"):
                kept[-1] = _BLOCKED
            continue
        kept.append(word)
    return kept


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


def _bare_hour(hour: int, part: str | None) -> int:
    """Minutes for an hour typed without am/pm (`at 9`, `at 3`), as a working day reads it.

    With a part of the day, that part decides (`tonight at 9` is 21:00, `morning at 9` 09:00). Alone,
    7 to 11 are the morning and 1 to 6 the afternoon (`at 3` is 15:00), 12 is noon and 13 to 23 are
    already unambiguous.
    """
    if hour > 23 or hour == 0:
        raise _Unreadable(str(hour))
    if hour >= 13:
        return hour * 60
    if part is None:
        return (hour + 12) * 60 if hour <= 6 else hour * 60
    if part == "morning":
        return hour % 12 * 60
    return (hour % 12 + 12) * 60


def _read_own(words: list[str], context: _Context) -> datetime | None:
    """Read a normalised phrase with the built-in grammar; None when it is none of its forms.

    A phrase is at most one date part, one part of the day and one time, in any order.
    """
    now, tz, day_end = context.now, context.tz, context.day_end
    clocks: list[tuple[int, int | None]] = []  # (index, minutes); None for an hour without am/pm
    for i, word in enumerate(words):
        if _BARE_HOUR_RE.fullmatch(word):
            clocks.append((i, None))
        elif (c := _clock(word, day_end)) is not None:
            clocks.append((i, c))
    parts = [i for i, w in enumerate(words) if w in _PARTS_OF_DAY]
    if len(clocks) > 1 or len(parts) > 1:
        return None
    taken = {i for i, _ in clocks} | set(parts)
    rest = [w for i, w in enumerate(words) if i not in taken]
    part = words[parts[0]] if parts else None
    if part == "tonight":
        rest = ["today", *rest]
    clock = _resolve_clock(words, clocks, part)
    today = now.astimezone(tz).date()

    relative = _relative(rest)
    if relative is not None:
        amount, kind = relative
        if kind == "minutes":
            # Elapsed time, so "in 2 hours" is two real hours even across a DST change.
            if clock is not None or part is not None:
                return None
            return (now + timedelta(minutes=amount)).astimezone(UTC)
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
    else:
        period = _period_end(rest, today, context.week_end)
        if period is not None:
            return _at(period, _end_minutes(day_end) if clock is None else clock, tz)
        found = _days(rest, today, context.day_first)
        if found is None:
            return None
        days = found
    if clock is None:
        clock = _end_minutes(day_end)
    # The first candidate still ahead wins; if none is, report the first (it is in the past).
    for day in days:
        due = _at(day, clock, tz)
        if due > now:
            return due
    return _at(days[0], clock, tz)


def _resolve_clock(words: list[str], clocks: list[tuple[int, int | None]], part: str | None) -> int | None:
    """The time of day a phrase names: its time, else its part of the day; None when it has neither."""
    if not clocks:
        return None if part is None else _PARTS_OF_DAY[part][0]
    index, minutes = clocks[0]
    if minutes is None:
        m = _BARE_HOUR_RE.fullmatch(words[index])
        assert m is not None
        minutes = _bare_hour(int(m.group(1)), part)
    if part is not None:
        _default, low, high = _PARTS_OF_DAY[part]
        if not low <= minutes < high and not (minutes == high == 24 * 60):
            raise _Unreadable(" ".join(words))  # "tomorrow morning 3pm": which did they mean?
    return minutes


def _period_end(rest: list[str], today: date, week_end: int) -> date | None:
    """The last day of a named period: `eow`, `next week`, `eom`, `next month`, `eoy`; None otherwise.

    A work week ends on `week_end` (Friday for Monday-to-Friday). `eow` (and `this week`) is the next
    such day, today included: on a Saturday or Sunday this week's work is over, so it is the coming
    Friday, the end of the work week people then mean. `next week` is the one after that.
    """
    if rest in (["eow"], ["next", "week"]):
        end = today + timedelta(days=(week_end - today.weekday()) % 7)
        return end if rest == ["eow"] else end + timedelta(days=7)
    if rest in (["eom"], ["next", "month"]):
        first_next = _add_months(today.replace(day=1), 1 if rest == ["eom"] else 2)
        return first_next - timedelta(days=1)
    if rest == ["eoy"]:
        return date(today.year, 12, 31)
    return None


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


def _days(rest: list[str], today: date, day_first: bool) -> list[date] | None:
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
        days = _calendar_day(rest[1:], today, day_first)
        if days is None:
            return None
        if days[0].weekday() != _WEEKDAYS[rest[0]]:
            raise _Unreadable(" ".join(rest))
        return days
    return _calendar_day(rest, today, day_first)


def _calendar_day(rest: list[str], today: date, day_first: bool) -> list[date] | None:
    """Read `2026-12-05`, `12/5`, `Dec 5`, `5th December 2026`, `5th`; None when it is none of them."""
    if len(rest) == 1:
        word = rest[0]
        if m := _ISO_RE.fullmatch(word):
            return [_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), word)]
        if m := _SLASH_RE.fullmatch(word):
            month, day = _day_and_month(int(m.group(1)), int(m.group(2)), day_first, word)
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


def _day_and_month(first: int, second: int, day_first: bool, typed: str) -> tuple[int, int]:
    """(month, day) of `first/second` in the person's order; the only valid reading when theirs is not.

    `13/01` from a month-first (en-US) person can only be 13 January, so that is what it means; the
    confirmation then says "Wed 13 Jan" in words, so a misread shows at once.
    """
    month, day = (second, first) if day_first else (first, second)
    if month > 12 and day <= 12:
        month, day = day, month
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise _Unreadable(typed)
    return month, day


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
    """Local `day` plus `minutes` of wall-clock time in `tz`, as aware UTC, by the one DST rule.

    `models.localtime`: a time in a spring-forward gap moves forward by the gap (02:30 -> 03:30), an
    ambiguous one in an autumn fold is its first occurrence.
    """
    try:
        local = datetime.combine(day, time()) + timedelta(minutes=minutes)
    except OverflowError:
        raise _Unreadable(str(day)) from None
    return wall_instant(local, tz)


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
        if _ORDINAL_RE.fullmatch(word) or _BARE_HOUR_RE.fullmatch(word):
            return True
        if word == "next" and (following in _WEEKDAYS or following in ("week", "month", "year")):
            return True
        if (word.isdigit() and following in _UNITS) or (word == "in" and following.isdigit()):
            return True
    return False
