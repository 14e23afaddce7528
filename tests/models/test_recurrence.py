"""Recurring tasks: reading `every …` phrases, describing rules and computing due instants.

Expected instants are worked out by hand from the zone rules, not from the code under test. New York is
EST (UTC-5) from 1 Nov 2026 to 14 Mar 2027 and EDT (UTC-4) either side; DST also starts there on
8 Mar 2026 and 12 Mar 2028. London is GMT (UTC+0) from 25 Oct 2026 to 28 Mar 2027 and BST (UTC+1)
between 29 Mar and 25 Oct 2026.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from models.errors import BadInput
from models.recurrence import (
    DEFAULT_AT,
    MAX_LOOKBACK,
    WEEKDAYS,
    Recurrence,
    anchored,
    due_between,
    next_occurrence,
    occurrences,
    split_recurrence,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
UTC_ZONE = ZoneInfo("UTC")

# Wednesday 25 November 2026, 15:00 UTC: 10:00 EST in New York, 15:00 GMT in London.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def weekly(*days: int, interval: int = 1, at: time = DEFAULT_AT, anchor: date | None = None) -> Recurrence:
    return Recurrence(freq="weekly", interval=interval, weekdays=days, at=at, anchor=anchor)


def monthly(day: int | None, interval: int = 1, at: time = DEFAULT_AT, anchor: date | None = None) -> Recurrence:
    return Recurrence(freq="monthly", interval=interval, month_day=day, at=at, anchor=anchor)


def daily(interval: int = 1, at: time = DEFAULT_AT, anchor: date | None = None) -> Recurrence:
    return Recurrence(freq="daily", interval=interval, at=at, anchor=anchor)


def first(rule: Recurrence, after: datetime, tz: ZoneInfo, count: int) -> list[datetime]:
    return list(islice(occurrences(rule, after=after, tz=tz), count))


# --- reading the phrase -------------------------------------------------------------------------------

PARSE_CASES = [
    # The brief's example: priority and tag after the schedule stay in place.
    ("Send payroll report every Monday 9am !high #payroll", "Send payroll report !high #payroll", weekly(0)),
    ("Send payroll report every Monday 9am", "Send payroll report", weekly(0)),
    ("@ana Send payroll report every monday at 9:30", "@ana Send payroll report", weekly(0, at=time(9, 30))),
    ("<@U123|ana> Stand-up notes every weekday", "<@U123|ana> Stand-up notes", weekly(*WEEKDAYS)),
    ("Stand-up notes every weekday at 8am", "Stand-up notes", weekly(0, 1, 2, 3, 4, at=time(8, 0))),
    ("Water the plants every day", "Water the plants", daily()),
    ("Close the till every day at 17:00", "Close the till", daily(at=time(17, 0))),
    ("Pay rent every month on the 1st", "Pay rent", monthly(1)),
    ("Invoice run every month on the 15th at 10am", "Invoice run", monthly(15, at=time(10, 0))),
    ("Close the books every month on the last day", "Close the books", monthly(-1)),
    ("Close the books every last day of the month 5 pm", "Close the books", monthly(-1, at=time(17, 0))),
    ("Timesheets every 2 weeks on Friday", "Timesheets", weekly(4, interval=2)),
    ("Timesheets every other Friday", "Timesheets", weekly(4, interval=2)),
    ("Timesheets every second Friday 5:30 p.m.", "Timesheets", weekly(4, interval=2, at=time(17, 30))),
    ("Timesheets every fortnight", "Timesheets", weekly(interval=2)),
    ("Backups every Mon and Thu 9am", "Backups", weekly(0, 3)),
    ("Backups every Thu, Mon & Thursday", "Backups", weekly(0, 3)),  # sorted, de-duplicated
    ("Gym every week on Mon, Wed & Fri 7am", "Gym", weekly(0, 2, 4, at=time(7, 0))),
    ("Check in every week", "Check in", weekly()),
    ("Check in every Mondays noon", "Check in", weekly(0, at=time(12, 0))),
    ("Quarterly review every 3 months on the 1st", "Quarterly review", monthly(1, interval=3)),
    ("Sync every 2nd of the month", "Sync", monthly(2)),  # a day of the month...
    ("Sync every 2nd month", "Sync", monthly(None, interval=2)),  # ...and a step, told apart by "of"
    ("Sync every 15th", "Sync", monthly(15)),
    ("Rotate keys every other day", "Rotate keys", daily(interval=2)),
    ("Rotate keys every 10 days at 06:15", "Rotate keys", daily(interval=10, at=time(6, 15))),
    ("Every Monday 9am !urgent", "!urgent", weekly(0)),
    ("Deploy every Monday !high 9am #ops", "Deploy !high #ops", weekly(0)),  # tokens inside stay too
    ("Pay rent, every month on the 1st #home", "Pay rent, #home", monthly(1)),
    ("Check every box every Friday", "Check every box", weekly(4)),  # the last "every" is the schedule
    ("Fix <https://example.com/every|every link> every Tuesday", "Fix <https://example.com/every|every link>",
     weekly(1)),  # an "every" inside a Slack link is not a token of its own
]


@pytest.mark.parametrize(("text", "rest", "rule"), PARSE_CASES)
def test_phrase_is_read_and_removed(text: str, rest: str, rule: Recurrence) -> None:
    assert split_recurrence(text) == (rest, rule)


NOT_SCHEDULES = [
    "Reconcile October invoices by Friday",
    "Review every PR by Friday",  # "every" starts a title phrase; "by Friday" is for the due-date parser
    "Check every box",
    "Water every sun-loving plant",
    "Log every hour billed by Friday",
    "Sort every January invoice",
    "Do it every",
]


@pytest.mark.parametrize("text", NOT_SCHEDULES)
def test_text_without_a_schedule_is_left_alone(text: str) -> None:
    assert split_recurrence(text) == (text, None)


def test_default_time_is_nine_unless_the_caller_says_otherwise() -> None:
    assert split_recurrence("Report every Monday")[1] == weekly(0, at=time(9, 0))
    assert split_recurrence("Report every Monday", default_at=time(17, 0))[1] == weekly(0, at=time(17, 0))
    # A typed time wins over the caller's default.
    assert split_recurrence("Report every Monday 8am", default_at=time(17, 0))[1] == weekly(0, at=time(8, 0))


ERROR_CASES = [
    # (text, part of the message, part of the hint)
    ("Party every blue moon", '"every blue moon"', "`every Monday 9am`"),
    ("Report every Monday 25pm", '"25pm"', "`17:00`"),
    ("Report every Monday 9:75", '"9:75"', "`17:00`"),
    ("Renew every year", '"every year"', "`every month on the 1st`"),
    ("Stretch every 5 minutes", '"every 5 minutes"', "`every weekday at 8:30am`"),
    ("Renew every year on Jan 5", '"every year on Jan 5"', "`every Monday 9am`"),
    ("Report every Monday at midnight", '"midnight"', "`00:00`"),
    ("Report every 0 weeks", "1 to 52 weeks, not 0", "`every Monday 9am`"),
    ("Report every 53 weeks", "1 to 52 weeks, not 53", "`every Monday 9am`"),
    ("Report every 13 months on the 1st", "1 to 12 months, not 13", "`every Monday 9am`"),
    ("Report every month on the 32nd", '"32nd"', "the 31st"),
    ("Report every Monday 9am and 5pm", '"every Monday 9am and 5pm"', "one recurring task for each time"),
    ("Report every third Thursday", '"every third Thursday"', "`every Monday 9am`"),
    ("Report every Monday at the office", '"every Monday at the office"', "Put the schedule at the end"),
    ("Report every day at 9", '"every day at 9"', "`every weekday at 8:30am`"),
    ("Report every other weekday", '"every other weekday"', "`every other Friday`"),
    ("Report every 9am", '"every 9am"', "`every weekday at 8:30am`"),
]


@pytest.mark.parametrize(("text", "message", "hint"), ERROR_CASES)
def test_unreadable_schedule_is_a_bad_input_that_quotes_it(text: str, message: str, hint: str) -> None:
    with pytest.raises(BadInput) as caught:
        split_recurrence(text)
    assert message in caught.value.message
    assert hint in caught.value.hint


# --- describing ---------------------------------------------------------------------------------------

DESCRIBE_CASES = [
    (weekly(0), "every Monday at 09:00"),
    (weekly(*WEEKDAYS), "every weekday at 09:00"),
    (weekly(4, interval=2, at=time(17, 0)), "every 2 weeks on Friday at 17:00"),
    (weekly(*WEEKDAYS, interval=2), "every 2 weeks on weekdays at 09:00"),
    (weekly(0, 3), "every Monday and Thursday at 09:00"),
    (weekly(0, 2, 4, at=time(7, 5)), "every Monday, Wednesday and Friday at 07:05"),
    (weekly(), "every week at 09:00"),
    (weekly(anchor=date(2026, 11, 26)), "every Thursday at 09:00"),  # the anchor's weekday
    (weekly(interval=3), "every 3 weeks at 09:00"),
    (daily(), "every day at 09:00"),
    (daily(interval=3, at=time(23, 59)), "every 3 days at 23:59"),
    (monthly(1), "every month on the 1st at 09:00"),
    (monthly(-1, at=time(17, 0)), "every month on the last day at 17:00"),
    (monthly(2), "every month on the 2nd at 09:00"),
    (monthly(3), "every month on the 3rd at 09:00"),
    (monthly(11), "every month on the 11th at 09:00"),
    (monthly(12), "every month on the 12th at 09:00"),
    (monthly(13), "every month on the 13th at 09:00"),
    (monthly(21), "every month on the 21st at 09:00"),
    (monthly(22, interval=3), "every 3 months on the 22nd at 09:00"),
    (monthly(31), "every month on the 31st at 09:00"),
    (monthly(None), "every month at 09:00"),
    (monthly(None, anchor=date(2026, 11, 26)), "every month on the 26th at 09:00"),
]


@pytest.mark.parametrize(("rule", "text"), DESCRIBE_CASES)
def test_describe(rule: Recurrence, text: str) -> None:
    assert rule.describe() == text


# --- anchoring ----------------------------------------------------------------------------------------

ANCHOR_CASES = [
    # Wed 25 Nov 10:00 EST: Monday 09:00 is Mon 30 Nov; the weekday rule's next 09:00 is Thu 26 Nov.
    ("every Monday 9am", weekly(0, anchor=date(2026, 11, 30))),
    ("every weekday", weekly(*WEEKDAYS, anchor=date(2026, 11, 26))),
    ("every other Friday", weekly(4, interval=2, anchor=date(2026, 11, 27))),
    # Today's 17:00 is still ahead at 10:00, so today counts.
    ("every day at 5pm", daily(at=time(17, 0), anchor=date(2026, 11, 25))),
    # A bare "every week"/"every month" takes the first occurrence's weekday/day: 09:00 tomorrow.
    ("every week", weekly(3, anchor=date(2026, 11, 26))),
    ("every month", monthly(26, anchor=date(2026, 11, 26))),
    ("every 3 months on the 1st", monthly(1, interval=3, anchor=date(2026, 12, 1))),
    ("every month on the last day", monthly(-1, anchor=date(2026, 11, 30))),
]


@pytest.mark.parametrize(("phrase", "rule"), ANCHOR_CASES)
def test_anchored_fixes_the_first_occurrence(phrase: str, rule: Recurrence) -> None:
    parsed = split_recurrence(f"Task {phrase}")[1]
    assert parsed is not None
    assert anchored(parsed, now=NOW, tz=NEW_YORK) == rule


def test_anchoring_twice_keeps_the_first_anchor() -> None:
    rule = weekly(4, interval=2, anchor=date(2026, 11, 27))
    assert anchored(rule, now=utc(2026, 12, 1, 12), tz=NEW_YORK) == rule


def test_an_unanchored_rule_behaves_as_if_anchored_at_its_next_occurrence() -> None:
    rule = weekly(4, interval=2)
    expected = [utc(2026, 11, 27, 14), utc(2026, 12, 11, 14), utc(2026, 12, 25, 14)]
    assert first(rule, NOW, NEW_YORK, 3) == expected
    assert first(anchored(rule, now=NOW, tz=NEW_YORK), NOW, NEW_YORK, 3) == expected


# --- next occurrences ---------------------------------------------------------------------------------

NEXT_CASES = [
    # Monday 09:00 EST = 14:00 UTC, from Wed 25 Nov.
    (weekly(0), NEW_YORK, NOW, [utc(2026, 11, 30, 14), utc(2026, 12, 7, 14), utc(2026, 12, 14, 14)]),
    # 17:00 EST today is still ahead of 10:00 EST: today first.
    (daily(at=time(17, 0)), NEW_YORK, NOW, [utc(2026, 11, 25, 22), utc(2026, 11, 26, 22)]),
    # Strictly after: exactly 10:00 EST today is not "after" itself.
    (daily(at=time(10, 0)), NEW_YORK, NOW, [utc(2026, 11, 26, 15), utc(2026, 11, 27, 15)]),
    # Weekdays from Friday 27 Nov 10:00 EST skip the weekend: Mon 30 Nov, Tue 1 Dec, 09:00 EST.
    (weekly(*WEEKDAYS), NEW_YORK, utc(2026, 11, 27, 15), [utc(2026, 11, 30, 14), utc(2026, 12, 1, 14)]),
    # Mon and Thu from Wed 25 Nov: Thu 26, Mon 30 Nov, Thu 3 Dec, 09:00 EST.
    (weekly(3, 0), NEW_YORK, NOW, [utc(2026, 11, 26, 14), utc(2026, 11, 30, 14), utc(2026, 12, 3, 14)]),
    # The 31st from Sun 31 Jan 2027 10:00 EST: 28 Feb (EST, 14:00 UTC), 31 Mar and 30 Apr (EDT, 13:00 UTC).
    (monthly(31), NEW_YORK, utc(2027, 1, 31, 15),
     [utc(2027, 2, 28, 14), utc(2027, 3, 31, 13), utc(2027, 4, 30, 13)]),
    # The 30th in a leap February: 29 Feb 2028 09:00 EST; 30 Mar 2028 is EDT (from 12 Mar).
    (monthly(30), NEW_YORK, utc(2028, 1, 31, 15), [utc(2028, 2, 29, 14), utc(2028, 3, 30, 13)]),
    # The last day at 17:00 from 31 Jan 2028 18:00 EST: 29 Feb (leap, EST 22:00 UTC), 31 Mar (EDT 21:00 UTC).
    (monthly(-1, at=time(17, 0)), NEW_YORK, utc(2028, 1, 31, 23),
     [utc(2028, 2, 29, 22), utc(2028, 3, 31, 21), utc(2028, 4, 30, 21)]),
    # The last day in a common year: 28 Feb 2027 17:00 EST = 22:00 UTC.
    (monthly(-1, at=time(17, 0)), NEW_YORK, utc(2027, 2, 1, 12), [utc(2027, 2, 28, 22)]),
    # Every 3 months on the 1st, anchored at 1 Dec: Dec and Mar are EST (14:00 UTC), Jun and Sep EDT (13:00).
    (monthly(1, interval=3, anchor=date(2026, 12, 1)), NEW_YORK, NOW,
     [utc(2026, 12, 1, 14), utc(2027, 3, 1, 14), utc(2027, 6, 1, 13), utc(2027, 9, 1, 13)]),
    # ... and asked from February 2027 it still keeps to Mar/Jun, not the month asked from.
    (monthly(1, interval=3, anchor=date(2026, 12, 1)), NEW_YORK, utc(2027, 2, 10, 12),
     [utc(2027, 3, 1, 14), utc(2027, 6, 1, 13)]),
    # Every other day anchored on Thu 26 Nov: 26, 28, 30 Nov, 09:00 GMT in London.
    (daily(interval=2, anchor=date(2026, 11, 26)), LONDON, NOW,
     [utc(2026, 11, 26, 9), utc(2026, 11, 28, 9), utc(2026, 11, 30, 9)]),
    # Anchored a day later, the other days count: 27 and 29 Nov. Every 3 days from 1 Dec: 1, 4, 7 Dec, and
    # not 28 Nov, which is in step but before the anchor (the first occurrence).
    (daily(interval=2, anchor=date(2026, 11, 27)), LONDON, NOW, [utc(2026, 11, 27, 9), utc(2026, 11, 29, 9)]),
    (daily(interval=3, anchor=date(2026, 12, 1)), LONDON, NOW,
     [utc(2026, 12, 1, 9), utc(2026, 12, 4, 9), utc(2026, 12, 7, 9)]),
]


@pytest.mark.parametrize(("rule", "tz", "after", "expected"), NEXT_CASES)
def test_occurrences(rule: Recurrence, tz: ZoneInfo, after: datetime, expected: list[datetime]) -> None:
    found = first(rule, after, tz, len(expected))
    assert found == expected
    assert all(instant.tzinfo is UTC for instant in found)
    assert next_occurrence(rule, after=after, tz=tz) == expected[0]


def test_payroll_flow_from_text_to_first_due_instant() -> None:
    title, rule = split_recurrence("Send payroll report every Monday 9am")
    assert title == "Send payroll report"
    assert rule is not None
    # Monday 30 Nov 2026 09:00 EST.
    assert next_occurrence(anchored(rule, now=NOW, tz=NEW_YORK), after=NOW, tz=NEW_YORK) == utc(2026, 11, 30, 14)


ALTERNATION_CASES = [
    # Every other Friday 17:00 anchored at Fri 27 Nov: 27 Nov, 11 Dec, 25 Dec, 8 Jan (EST, 22:00 UTC).
    (date(2026, 11, 27), NOW, [utc(2026, 11, 27, 22), utc(2026, 12, 11, 22), utc(2026, 12, 25, 22),
                               utc(2027, 1, 8, 22)]),
    # Asked from the off week (Tue 1 Dec) the next one is 11 Dec, not Fri 4 Dec.
    (date(2026, 11, 27), utc(2026, 12, 1, 12), [utc(2026, 12, 11, 22), utc(2026, 12, 25, 22)]),
    # Asked from exactly 11 Dec 17:00 EST: 25 Dec, not 18 Dec.
    (date(2026, 11, 27), utc(2026, 12, 11, 22), [utc(2026, 12, 25, 22)]),
    # Anchored a week later, the other Fridays count: 4 Dec, 18 Dec, 1 Jan.
    (date(2026, 12, 4), NOW, [utc(2026, 12, 4, 22), utc(2026, 12, 18, 22), utc(2027, 1, 1, 22)]),
    # An anchor long before still fixes the phase: the week of Fri 2 Jan 2026 starts Mon 29 Dec 2025, 47
    # weeks before the week of 27 Nov (odd: off), 48 before that of 4 Dec and 50 before that of 18 Dec.
    (date(2026, 1, 2), NOW, [utc(2026, 12, 4, 22), utc(2026, 12, 18, 22)]),
]


@pytest.mark.parametrize(("anchor", "after", "expected"), ALTERNATION_CASES)
def test_every_other_week_alternates_from_the_anchor(anchor: date, after: datetime, expected: list[datetime]) -> None:
    rule = weekly(4, interval=2, at=time(17, 0), anchor=anchor)
    assert first(rule, after, NEW_YORK, len(expected)) == expected


def test_nothing_falls_due_before_the_anchor() -> None:
    # Mondays and Thursdays anchored on Thu 26 Nov: Mon 23 Nov is in the anchor's week but before it.
    rule = weekly(0, 3, anchor=date(2026, 11, 26))
    assert first(rule, utc(2026, 11, 20, 12), NEW_YORK, 2) == [utc(2026, 11, 26, 14), utc(2026, 11, 30, 14)]
    assert due_between(rule, start=utc(2026, 11, 1, 0), end=utc(2026, 11, 27, 0), tz=NEW_YORK) == [
        utc(2026, 11, 26, 14)
    ]


def test_every_two_weeks_on_two_days_counts_whole_weeks() -> None:
    # Anchored at Thu 26 Nov (the week of Mon 23 Nov counts): Thu 26 Nov, then the week of Mon 7 Dec
    # (Mon 7, Thu 10), then the week of Mon 21 Dec (Mon 21, Thu 24); 09:00 EST = 14:00 UTC.
    rule = weekly(0, 3, interval=2, anchor=date(2026, 11, 26))
    assert first(rule, NOW, NEW_YORK, 5) == [
        utc(2026, 11, 26, 14), utc(2026, 12, 7, 14), utc(2026, 12, 10, 14), utc(2026, 12, 21, 14),
        utc(2026, 12, 24, 14),
    ]


# --- daylight saving time -----------------------------------------------------------------------------

DST_CASES = [
    # New York springs forward Sun 8 Mar 2026: 09:00 is 14:00 UTC (EST) on Sat 7, 13:00 UTC (EDT) from Sun 8.
    (NEW_YORK, time(9, 0), utc(2026, 3, 6, 15), [utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)]),
    # New York falls back Sun 1 Nov 2026: 13:00 UTC (EDT) on Sat 31 Oct, 14:00 UTC (EST) from Sun 1 Nov.
    (NEW_YORK, time(9, 0), utc(2026, 10, 30, 14), [utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)]),
    # London springs forward Sun 29 Mar 2026: 09:00 GMT = 09:00 UTC on Sat 28, 09:00 BST = 08:00 UTC after.
    (LONDON, time(9, 0), utc(2026, 3, 27, 10), [utc(2026, 3, 28, 9), utc(2026, 3, 29, 8), utc(2026, 3, 30, 8)]),
    # London falls back Sun 25 Oct 2026: 08:00 UTC (BST) on Sat 24, 09:00 UTC (GMT) from Sun 25.
    (LONDON, time(9, 0), utc(2026, 10, 23, 10), [utc(2026, 10, 24, 8), utc(2026, 10, 25, 9), utc(2026, 10, 26, 9)]),
    # 02:30 does not exist in New York on 8 Mar 2026: it moves forward to 03:30 EDT = 07:30 UTC; on
    # 9 Mar 02:30 EDT = 06:30 UTC.
    (NEW_YORK, time(2, 30), utc(2026, 3, 7, 12), [utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)]),
    # 01:30 does not exist in London on 29 Mar 2026: 02:30 BST = 01:30 UTC; on 30 Mar 01:30 BST = 00:30 UTC.
    (LONDON, time(1, 30), utc(2026, 3, 28, 12), [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]),
    # 01:30 happens twice in New York on 1 Nov 2026: the first, 01:30 EDT = 05:30 UTC (not 06:30 UTC EST);
    # on 2 Nov 01:30 EST = 06:30 UTC.
    (NEW_YORK, time(1, 30), utc(2026, 10, 31, 12), [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]),
    # 01:30 happens twice in London on 25 Oct 2026: the first, 01:30 BST = 00:30 UTC.
    (LONDON, time(1, 30), utc(2026, 10, 24, 12), [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]),
]


@pytest.mark.parametrize(("tz", "at", "after", "expected"), DST_CASES)
def test_local_time_holds_across_dst(tz: ZoneInfo, at: time, after: datetime, expected: list[datetime]) -> None:
    assert first(daily(at=at), after, tz, len(expected)) == expected


def test_spring_forward_gap_lands_at_half_past_three_local() -> None:
    due = next_occurrence(daily(at=time(2, 30)), after=utc(2026, 3, 7, 12), tz=NEW_YORK)
    local = due.astimezone(NEW_YORK)
    assert (local.date(), local.hour, local.minute) == (date(2026, 3, 8), 3, 30)


def test_weekly_rule_keeps_local_time_across_the_autumn_change() -> None:
    # Mondays 09:00: 26 Oct 2026 is EDT (13:00 UTC), 2 Nov is EST (14:00 UTC).
    assert first(weekly(0), utc(2026, 10, 20, 12), NEW_YORK, 2) == [utc(2026, 10, 26, 13), utc(2026, 11, 2, 14)]


# --- missed runs --------------------------------------------------------------------------------------

DUE_BETWEEN_CASES = [
    # Down from Sun 29 Nov 09:00 EST to Tue 22 Dec 07:00 EST: four Mondays at 09:00 EST.
    (utc(2026, 11, 29, 14), utc(2026, 12, 22, 12),
     [utc(2026, 11, 30, 14), utc(2026, 12, 7, 14), utc(2026, 12, 14, 14), utc(2026, 12, 21, 14)]),
    # (start, end]: an occurrence at `start` is left out, one at `end` is in.
    (utc(2026, 11, 30, 14), utc(2026, 12, 21, 14), [utc(2026, 12, 7, 14), utc(2026, 12, 14, 14),
                                                    utc(2026, 12, 21, 14)]),
    # Nothing due in the window.
    (utc(2026, 12, 1, 12), utc(2026, 12, 6, 12), []),
    # An empty or backwards window.
    (utc(2026, 12, 22, 12), utc(2026, 12, 22, 12), []),
    (utc(2026, 12, 22, 12), utc(2026, 11, 29, 14), []),
]


@pytest.mark.parametrize(("start", "end", "expected"), DUE_BETWEEN_CASES)
def test_due_between(start: datetime, end: datetime, expected: list[datetime]) -> None:
    assert due_between(weekly(0), start=start, end=end, tz=NEW_YORK) == expected


def test_due_between_a_very_long_outage_looks_back_two_years_only() -> None:
    # The window is clipped to (end - 731 days, end] = (24 Nov 2024 10:00 EST, 25 Nov 2026 10:00 EST]:
    # 09:00 EST daily from 25 Nov 2024 to 25 Nov 2026, 731 days (no 29 Feb in between).
    found = due_between(daily(), start=utc(2000, 1, 1, 0), end=NOW, tz=NEW_YORK)
    assert MAX_LOOKBACK == timedelta(days=731)
    assert len(found) == 731
    assert (found[0], found[-1]) == (utc(2024, 11, 25, 14), utc(2026, 11, 25, 14))


def test_due_between_never_loses_the_latest_occurrence_of_the_longest_rule() -> None:
    # Every 12 months on 1 Mar (anchored 2020): within the last two years, 1 Mar 2025 and 1 Mar 2026
    # (both before the US change on the second Sunday of March, so 09:00 EST = 14:00 UTC).
    rule = monthly(1, interval=12, anchor=date(2020, 3, 1))
    found = due_between(rule, start=utc(2010, 1, 1, 0), end=NOW, tz=NEW_YORK)
    assert found == [utc(2025, 3, 1, 14), utc(2026, 3, 1, 14)]


def test_no_occurrence_after_the_end_of_the_calendar() -> None:
    rule = daily()
    assert next_occurrence(rule, after=datetime(9999, 12, 30, 12, tzinfo=UTC), tz=UTC_ZONE) == datetime(
        9999, 12, 31, 9, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="no occurrence"):
        next_occurrence(rule, after=datetime(9999, 12, 31, 12, tzinfo=UTC), tz=UTC_ZONE)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 11, 25, 15, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_occurrence(weekly(0), after=naive, tz=NEW_YORK)
    with pytest.raises(ValueError, match="timezone-aware"):
        due_between(weekly(0), start=naive, end=NOW, tz=NEW_YORK)
    with pytest.raises(ValueError, match="timezone-aware"):
        anchored(weekly(0), now=naive, tz=NEW_YORK)


# --- storage ------------------------------------------------------------------------------------------

ROUND_TRIP_CASES = [
    weekly(0),
    weekly(*WEEKDAYS, at=time(8, 0)),
    weekly(4, interval=2, at=time(17, 0), anchor=date(2026, 11, 27)),
    daily(interval=3, at=time(23, 59), anchor=date(2026, 11, 26)),
    monthly(-1, at=time(17, 0)),
    monthly(31, interval=3, anchor=date(2027, 1, 31)),
    monthly(None),
]


@pytest.mark.parametrize("rule", ROUND_TRIP_CASES)
def test_to_dict_round_trips_through_json(rule: Recurrence) -> None:
    assert Recurrence.from_dict(json.loads(json.dumps(rule.to_dict()))) == rule


def test_to_dict_shape() -> None:
    rule = weekly(4, interval=2, at=time(17, 0), anchor=date(2026, 11, 27))
    assert rule.to_dict() == {
        "freq": "weekly", "interval": 2, "weekdays": [4], "month_day": None, "at": "17:00", "anchor": "2026-11-27",
    }


BAD_DATA: list[Any] = [
    {},
    {"freq": "yearly"},
    {"freq": "weekly", "at": "25:00"},
    {"freq": "weekly", "at": "9am"},
    {"freq": "weekly", "weekdays": [7]},
    {"freq": "weekly", "weekdays": ["mon"]},
    {"freq": "weekly", "weekdays": "0"},
    {"freq": "daily", "weekdays": [1]},
    {"freq": "daily", "interval": 0},
    {"freq": "daily", "interval": True},
    {"freq": "weekly", "interval": 53},
    {"freq": "monthly", "month_day": 32},
    {"freq": "monthly", "month_day": 0},
    {"freq": "weekly", "month_day": 1},
    {"freq": "monthly", "anchor": "2026-13-01"},
    {"freq": "monthly", "anchor": 20261201},
    ["weekly"],
]


@pytest.mark.parametrize("data", BAD_DATA)
def test_from_dict_refuses_what_is_not_a_rule(data: Any) -> None:
    with pytest.raises(ValueError):
        Recurrence.from_dict(data)


def test_weekdays_are_normalised_so_equal_rules_compare_equal() -> None:
    assert weekly(3, 0, 3).weekdays == (0, 3)
    assert weekly(3, 0) == weekly(0, 3)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Recurrence(freq="weekly", at=time(9, 0, 30)),  # stored as HH:MM, so whole minutes only
        lambda: Recurrence(freq="weekly", at=time(9, 0, tzinfo=UTC)),  # the zone comes with the rule's owner
        lambda: Recurrence(freq="weekly", anchor=datetime(2026, 11, 27, 9, 0)),
        lambda: Recurrence(freq="daily", interval=366),
    ],
)
def test_invalid_rules_are_refused(make: Any) -> None:
    with pytest.raises(ValueError):
        make()
