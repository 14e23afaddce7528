"""How due dates are read as people type them: a table of phrases, each with the instant it must give
in New York, London, Kolkata and Sydney at one fixed `now`, the title it must leave, or the question it
must ask; and a table of phrases typed near a DST change.

`now` is Wednesday 25 November 2026, 15:00 UTC: 10:00 EST in New York, 15:00 GMT in London, 20:30 IST in
Kolkata, and already Thursday 26 November 02:00 AEDT in Sydney. Each zone reads `12/5` by its region (no
locale given): month-first in New York, day-first in London, Kolkata and Sydney. A date without a time
means 17:00 local. Expected local times were worked out by hand; outside DST changes a local wall time
names one instant, so the test turns it into UTC with zoneinfo directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from models.errors import BadDueDate, BadInput
from models.parsing import day_first_for, parse_delegation, parse_when

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")
SYDNEY = ZoneInfo("Australia/Sydney")
ZONES = (NEW_YORK, LONDON, KOLKATA, SYDNEY)
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
TITLE = "Send the report"
PAST = "in the past"
FAR = "more than two years away"

# An expectation is a local "YYYY-MM-DD HH:MM", None (no due date), or a question/refusal: "?" and
# the words the answer must contain.
Expect = str | None
Row = tuple[str, str, Expect, Expect, Expect, Expect]


def due(phrase: str, *expected: Expect) -> Row:
    """`Send the report <phrase>`: the title stays "Send the report"; one expectation, or one per zone."""
    ny, ldn, kol, syd = expected * 4 if len(expected) == 1 else expected
    return (f"{TITLE} {phrase}", TITLE, ny, ldn, kol, syd)


def titled(text: str, title: str, *expected: Expect) -> Row:
    """A whole `/delegate` text and the title it must leave."""
    ny, ldn, kol, syd = expected * 4 if len(expected) == 1 else expected
    return (text, title, ny, ldn, kol, syd)


def ask(phrase: str, words: str) -> Row:
    """A phrase that must get a question (or a refusal) containing `words`, in every zone."""
    return (f"{TITLE} {phrase}", TITLE, "?" + words, "?" + words, "?" + words, "?" + words)


PHRASES: list[Row] = [
    # --- days, with and without "by"/"due" ------------------------------------------------------------
    due("tomorrow", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-27 17:00"),
    due("by tomorrow", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-27 17:00"),
    due("due tomorrow", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-27 17:00"),
    due("tmrw", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-27 17:00"),
    due("by tmr", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-27 17:00"),
    due("today", "2026-11-25 17:00", "2026-11-25 17:00", "?" + PAST, "2026-11-26 17:00"),
    due("by today", "2026-11-25 17:00", "2026-11-25 17:00", "?" + PAST, "2026-11-26 17:00"),
    due("tonight", "2026-11-25 20:00", "2026-11-25 20:00", "?" + PAST, "2026-11-26 20:00"),
    due("by tonight", "2026-11-25 20:00", "2026-11-25 20:00", "?" + PAST, "2026-11-26 20:00"),
    due("tonight at 9", "2026-11-25 21:00", "2026-11-25 21:00", "2026-11-25 21:00", "2026-11-26 21:00"),
    due("tonight 11pm", "2026-11-25 23:00", "2026-11-25 23:00", "2026-11-25 23:00", "2026-11-26 23:00"),
    due("the day after tomorrow", "2026-11-27 17:00", "2026-11-27 17:00", "2026-11-27 17:00", "2026-11-28 17:00"),
    due("by the day after tomorrow", "2026-11-27 17:00", "2026-11-27 17:00", "2026-11-27 17:00",
        "2026-11-28 17:00"),
    # --- time words attach to any date ------------------------------------------------------------------
    due("tomorrow at 9", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-27 09:00"),
    due("by tomorrow at 9", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-27 09:00"),
    due("tomorrow at 9am", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-27 09:00"),
    due("tomorrow 9am", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-27 09:00"),
    due("tomorrow at 3", "2026-11-26 15:00", "2026-11-26 15:00", "2026-11-26 15:00", "2026-11-27 15:00"),
    due("tomorrow at 15:30", "2026-11-26 15:30", "2026-11-26 15:30", "2026-11-26 15:30", "2026-11-27 15:30"),
    due("tomorrow at noon", "2026-11-26 12:00", "2026-11-26 12:00", "2026-11-26 12:00", "2026-11-27 12:00"),
    due("noon tomorrow", "2026-11-26 12:00", "2026-11-26 12:00", "2026-11-26 12:00", "2026-11-27 12:00"),
    due("3pm tomorrow", "2026-11-26 15:00", "2026-11-26 15:00", "2026-11-26 15:00", "2026-11-27 15:00"),
    due("by 3pm tomorrow", "2026-11-26 15:00", "2026-11-26 15:00", "2026-11-26 15:00", "2026-11-27 15:00"),
    due("tomorrow morning", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-27 09:00"),
    due("tomorrow afternoon", "2026-11-26 15:00", "2026-11-26 15:00", "2026-11-26 15:00", "2026-11-27 15:00"),
    due("tomorrow evening", "2026-11-26 18:00", "2026-11-26 18:00", "2026-11-26 18:00", "2026-11-27 18:00"),
    due("tomorrow night", "2026-11-26 20:00", "2026-11-26 20:00", "2026-11-26 20:00", "2026-11-27 20:00"),
    due("tomorrow evening at 7", "2026-11-26 19:00", "2026-11-26 19:00", "2026-11-26 19:00", "2026-11-27 19:00"),
    due("tomorrow morning at 10", "2026-11-26 10:00", "2026-11-26 10:00", "2026-11-26 10:00", "2026-11-27 10:00"),
    due("first thing tomorrow", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-27 09:00"),
    due("tomorrow eod", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-27 17:00"),
    due("EOD tomorrow", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-27 17:00"),
    due("end of day tomorrow", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-27 17:00"),
    due("tomorrow by noon", "2026-11-26 12:00", "2026-11-26 12:00", "2026-11-26 12:00", "2026-11-27 12:00"),
    due("tomorrow at 5:30pm", "2026-11-26 17:30", "2026-11-26 17:30", "2026-11-26 17:30", "2026-11-27 17:30"),
    due("tomorrow at lunch", "2026-11-26 12:00", "2026-11-26 12:00", "2026-11-26 12:00", "2026-11-27 12:00"),
    due("tomorrow at 9 o'clock", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-26 09:00", "2026-11-27 09:00"),
    # --- end of day, week, month ---------------------------------------------------------------------------
    due("EOD", "2026-11-25 17:00", "2026-11-25 17:00", "?" + PAST, "2026-11-26 17:00"),
    due("by EOD", "2026-11-25 17:00", "2026-11-25 17:00", "?" + PAST, "2026-11-26 17:00"),
    due("by end of day", "2026-11-25 17:00", "2026-11-25 17:00", "?" + PAST, "2026-11-26 17:00"),
    due("by the end of the day", "2026-11-25 17:00", "2026-11-25 17:00", "?" + PAST, "2026-11-26 17:00"),
    due("COB", "2026-11-25 17:00", "2026-11-25 17:00", "?" + PAST, "2026-11-26 17:00"),
    due("by close of business", "2026-11-25 17:00", "2026-11-25 17:00", "?" + PAST, "2026-11-26 17:00"),
    due("EOW", "2026-11-27 17:00"),
    due("by EOW", "2026-11-27 17:00"),
    due("by end of week", "2026-11-27 17:00"),
    due("by the end of the week", "2026-11-27 17:00"),
    due("this week", "2026-11-27 17:00"),
    due("by end of this week", "2026-11-27 17:00"),
    due("EOW 3pm", "2026-11-27 15:00"),
    due("next week", "2026-12-04 17:00"),
    due("by next week", "2026-12-04 17:00"),
    due("by end of next week", "2026-12-04 17:00"),
    due("by next wk", "2026-12-04 17:00"),
    due("end of month", "2026-11-30 17:00"),
    due("by the end of the month", "2026-11-30 17:00"),
    due("this month", "2026-11-30 17:00"),
    due("next month", "2026-12-31 17:00"),
    due("by end of next month", "2026-12-31 17:00"),
    due("by end of year", "2026-12-31 17:00"),
    # --- weekdays (Wednesday in three zones, Thursday in Sydney) ------------------------------------------
    due("Friday", "2026-11-27 17:00"),
    due("by Friday", "2026-11-27 17:00"),
    due("due Friday", "2026-11-27 17:00"),
    due("Friday 5pm", "2026-11-27 17:00"),
    due("by Friday 5pm", "2026-11-27 17:00"),
    due("Friday at 5", "2026-11-27 17:00"),
    due("Friday at 9", "2026-11-27 09:00"),
    due("Friday morning", "2026-11-27 09:00"),
    due("Friday afternoon", "2026-11-27 15:00"),
    due("Friday noon", "2026-11-27 12:00"),
    due("noon Friday", "2026-11-27 12:00"),
    due("Friday eod", "2026-11-27 17:00"),
    due("on Friday", "2026-11-27 17:00"),
    due("on Friday at 9am", "2026-11-27 09:00"),
    due("by Fri", "2026-11-27 17:00"),
    due("Friday by noon", "2026-11-27 12:00"),
    due("Friday 17:00", "2026-11-27 17:00"),
    due("Monday", "2026-11-30 17:00"),
    due("Monday morning", "2026-11-30 09:00"),
    due("by Monday 10am", "2026-11-30 10:00"),
    due("Mon 9am", "2026-11-30 09:00"),
    due("next Monday", "2026-11-30 17:00"),
    due("next Friday", "2026-12-04 17:00"),
    due("this Friday", "2026-11-27 17:00"),
    due("coming Friday", "2026-11-27 17:00"),
    due("Wednesday", "2026-11-25 17:00", "2026-11-25 17:00", "2026-12-02 17:00", "2026-12-02 17:00"),
    due("Wednesday 9am", "2026-12-02 09:00"),
    due("Thursday", "2026-11-26 17:00"),
    due("next Thursday", "2026-12-03 17:00"),
    due("Thursday night", "2026-11-26 20:00"),
    due("Saturday", "2026-11-28 17:00"),
    due("by Sun", "2026-11-29 17:00"),
    due("by Sunday noon", "2026-11-29 12:00"),
    due("Tuesday at 2:30pm", "2026-12-01 14:30"),
    # --- a time alone is its next occurrence ---------------------------------------------------------------
    due("5pm", "2026-11-25 17:00", "2026-11-25 17:00", "2026-11-26 17:00", "2026-11-26 17:00"),
    due("by 5pm", "2026-11-25 17:00", "2026-11-25 17:00", "2026-11-26 17:00", "2026-11-26 17:00"),
    due("at 5pm", "2026-11-25 17:00", "2026-11-25 17:00", "2026-11-26 17:00", "2026-11-26 17:00"),
    due("5 pm", "2026-11-25 17:00", "2026-11-25 17:00", "2026-11-26 17:00", "2026-11-26 17:00"),
    due("by noon", "2026-11-25 12:00", "2026-11-26 12:00", "2026-11-26 12:00", "2026-11-26 12:00"),
    due("by lunch", "2026-11-25 12:00", "2026-11-26 12:00", "2026-11-26 12:00", "2026-11-26 12:00"),
    due("by 9am", "2026-11-26 09:00"),
    due("at 9", "2026-11-26 09:00"),
    due("in the morning", "2026-11-26 09:00"),
    due("by 8am", "2026-11-26 08:00"),
    due("at 3", "2026-11-25 15:00", "2026-11-26 15:00", "2026-11-26 15:00", "2026-11-26 15:00"),
    due("by 17:30", "2026-11-25 17:30", "2026-11-25 17:30", "2026-11-26 17:30", "2026-11-26 17:30"),
    due("by 5:30 p.m.", "2026-11-25 17:30", "2026-11-25 17:30", "2026-11-26 17:30", "2026-11-26 17:30"),
    due("by 11pm", "2026-11-25 23:00", "2026-11-25 23:00", "2026-11-25 23:00", "2026-11-26 23:00"),
    due("by midnight", "2026-11-26 00:00", "2026-11-26 00:00", "2026-11-26 00:00", "2026-11-27 00:00"),
    due("this morning", "?" + PAST, "?" + PAST, "?" + PAST, "2026-11-26 09:00"),
    due("this afternoon", "2026-11-25 15:00", "?" + PAST, "?" + PAST, "2026-11-26 15:00"),
    due("this evening", "2026-11-25 18:00", "2026-11-25 18:00", "?" + PAST, "2026-11-26 18:00"),
    # --- relative ----------------------------------------------------------------------------------------
    due("in 3 days", "2026-11-28 17:00", "2026-11-28 17:00", "2026-11-28 17:00", "2026-11-29 17:00"),
    due("in 5 days", "2026-11-30 17:00", "2026-11-30 17:00", "2026-11-30 17:00", "2026-12-01 17:00"),
    due("in two days", "2026-11-27 17:00", "2026-11-27 17:00", "2026-11-27 17:00", "2026-11-28 17:00"),
    due("in a couple of days", "2026-11-27 17:00", "2026-11-27 17:00", "2026-11-27 17:00", "2026-11-28 17:00"),
    due("in 3 days at 9am", "2026-11-28 09:00", "2026-11-28 09:00", "2026-11-28 09:00", "2026-11-29 09:00"),
    due("in a week", "2026-12-02 17:00", "2026-12-02 17:00", "2026-12-02 17:00", "2026-12-03 17:00"),
    due("in 2 weeks", "2026-12-09 17:00", "2026-12-09 17:00", "2026-12-09 17:00", "2026-12-10 17:00"),
    due("in a fortnight", "2026-12-09 17:00", "2026-12-09 17:00", "2026-12-09 17:00", "2026-12-10 17:00"),
    due("by 2 weeks from now", "2026-12-09 17:00", "2026-12-09 17:00", "2026-12-09 17:00", "2026-12-10 17:00"),
    due("in 1 month", "2026-12-25 17:00", "2026-12-25 17:00", "2026-12-25 17:00", "2026-12-26 17:00"),
    # Hours and minutes are elapsed time from 15:00 UTC.
    due("in 2 hours", "2026-11-25 12:00", "2026-11-25 17:00", "2026-11-25 22:30", "2026-11-26 04:00"),
    due("in 2h", "2026-11-25 12:00", "2026-11-25 17:00", "2026-11-25 22:30", "2026-11-26 04:00"),
    due("in 30 minutes", "2026-11-25 10:30", "2026-11-25 15:30", "2026-11-25 21:00", "2026-11-26 02:30"),
    due("in half an hour", "2026-11-25 10:30", "2026-11-25 15:30", "2026-11-25 21:00", "2026-11-26 02:30"),
    due("in an hour", "2026-11-25 11:00", "2026-11-25 16:00", "2026-11-25 21:30", "2026-11-26 03:00"),
    due("in 90 mins", "2026-11-25 11:30", "2026-11-25 16:30", "2026-11-25 22:00", "2026-11-26 03:30"),
    # --- calendar dates; New York reads month-first, the others day-first ------------------------------------
    due("by Dec 5", "2026-12-05 17:00"),
    due("by 5 Dec", "2026-12-05 17:00"),
    due("by December 5th", "2026-12-05 17:00"),
    due("by 5th December 2026", "2026-12-05 17:00"),
    due("by Dec 5 2027", "2027-12-05 17:00"),
    due("by 2026-12-05", "2026-12-05 17:00"),
    due("by 2026-12-05 14:00", "2026-12-05 14:00"),
    due("due 2027-03-01", "2027-03-01 17:00"),
    due("on Dec 5 at 3pm", "2026-12-05 15:00"),
    due("by 5 Dec 9am", "2026-12-05 09:00"),
    due("by December 5th, 2026 at 3pm", "2026-12-05 15:00"),
    due("by Fri Dec 4", "2026-12-04 17:00"),
    due("by Jan 5", "2027-01-05 17:00"),
    due("by Feb 29", "2028-02-29 17:00"),  # the next Feb 29 is in 2028
    due("by Nov 25", "2026-11-25 17:00", "2026-11-25 17:00", "?" + PAST, "2027-11-25 17:00"),
    due("by the 5th", "2026-12-05 17:00"),
    due("by the 30th", "2026-11-30 17:00"),
    due("by 12/5", "2026-12-05 17:00", "2027-05-12 17:00", "2027-05-12 17:00", "2027-05-12 17:00"),
    due("by 3/4", "2027-03-04 17:00", "2027-04-03 17:00", "2027-04-03 17:00", "2027-04-03 17:00"),
    due("by 12/5/27", "2027-12-05 17:00", "2027-05-12 17:00", "2027-05-12 17:00", "2027-05-12 17:00"),
    due("by 24/12", "2026-12-24 17:00"),  # only one reading is a date
    due("by 12/24", "2026-12-24 17:00"),
    due("by 13/01", "2027-01-13 17:00"),
    due("by 01/13", "2027-01-13 17:00"),
    due("by 25/12/2026", "2026-12-25 17:00"),
    # --- questions rather than guesses ------------------------------------------------------------------
    ask("by Fridayy", 'Did you mean "Friday"?'),
    ask("by Fridya 5pm", 'Did you mean "Friday 5pm"?'),
    ask("by tomorow morningg", 'Did you mean "tomorrow morning"?'),
    ask("by Mondey", 'Did you mean "Monday"?'),
    ask("by Decmber 5", 'Did you mean "December 5"?'),
    ask("by tomorroww", 'Did you mean "tomorrow"?'),
    ask("by next Fridayy", 'Did you mean "next Friday"?'),
    ask("by 5", 'Is "5" a day or a time?'),
    ask("by Feb 30", 'couldn\'t read "Feb 30"'),
    ask("by 13pm", 'couldn\'t read "13pm"'),
    ask("by 31/31", 'couldn\'t read "31/31"'),
    ask("by May", 'couldn\'t read "May"'),
    ask("by Fri Dec 5", 'couldn\'t read "Fri Dec 5"'),  # 5 Dec 2026 is a Saturday
    ask("by tomorrow morning 3pm", 'couldn\'t read "tomorrow morning 3pm"'),
    ask("by tonight at 25", 'couldn\'t read "tonight at 25"'),
    ask("due 5pm tmrw for Ana", 'couldn\'t read "5pm tmrw for Ana"'),
    ask("by 2029-01-01", FAR),
    ask("in 3 years", FAR),
    ask("by yesterday", PAST),
    # --- title words are never eaten ---------------------------------------------------------------------
    titled("Check this by Friday", "Check this", "2026-11-27 17:00"),
    titled("Plan next sprint by next Friday", "Plan next sprint", "2026-12-04 17:00"),
    titled("Order March supplies by Friday", "Order March supplies", "2026-11-27 17:00"),
    titled("Send may report by Sun", "Send may report", "2026-11-29 17:00"),
    titled("Review the end result by Monday", "Review the end result", "2026-11-30 17:00"),
    titled("Read this week's notes by Friday", "Read this week's notes", "2026-11-27 17:00"),
    titled("Sort mail by vendor by Friday", "Sort mail by vendor", "2026-11-27 17:00"),
    titled("Meet by the lake tomorrow", "Meet by the lake", "2026-11-26 17:00", "2026-11-26 17:00",
           "2026-11-26 17:00", "2026-11-27 17:00"),
    titled("Call Bob at 5 tomorrow", "Call Bob", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-26 17:00",
           "2026-11-27 17:00"),
    titled("Log in tomorrow", "Log in", "2026-11-26 17:00", "2026-11-26 17:00", "2026-11-26 17:00",
           "2026-11-27 17:00"),
    titled("Send Monday report 5pm", "Send Monday report", "2026-11-25 17:00", "2026-11-25 17:00",
           "2026-11-26 17:00", "2026-11-26 17:00"),
    titled("Sort by sun", "Sort by sun", None),
    titled("Prepare for Monday", "Prepare for Monday", None),
    titled("Notes from today", "Notes from today", None),
    titled("Say good morning", "Say good morning", None),
    titled("Fix this next", "Fix this next", None),
    titled("Book room 12/5", "Book room 12/5", None),
    titled("Turn on lights", "Turn on lights", None),
    titled("Fix bug in 2 places", "Fix bug in 2 places", None),
    titled("Book the March sun trip", "Book the March sun trip", None),
]


def _instant(expected: str, tz: ZoneInfo) -> datetime:
    return datetime.strptime(expected, "%Y-%m-%d %H:%M").replace(tzinfo=tz).astimezone(UTC)


CASES = [
    pytest.param(text, title, tz, expected, id=f"{tz.key}: {text}")
    for text, title, *per_zone in PHRASES
    for tz, expected in zip(ZONES, per_zone, strict=True)
]


def test_the_table_is_large_enough() -> None:
    assert len(PHRASES) >= 150
    assert len({text for text, *_ in PHRASES}) == len(PHRASES), "each phrase once"


@pytest.mark.parametrize(("text", "title", "tz", "expected"), CASES)
def test_phrase(text: str, title: str, tz: ZoneInfo, expected: Expect) -> None:
    if expected is not None and expected.startswith("?"):
        with pytest.raises(BadDueDate) as caught:
            parse_delegation(text, now=NOW, tz=tz)
        assert expected[1:] in caught.value.message
        assert caught.value.hint
        return
    parsed = parse_delegation(text, now=NOW, tz=tz)
    assert parsed.title == title
    assert parsed.due_at == (None if expected is None else _instant(expected, tz))


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        pytest.param(text.removeprefix(f"{TITLE} "), tz, expected, id=f"{tz.key}: {text}")
        for text, title, *per_zone in PHRASES
        if title == TITLE
        for tz, expected in zip(ZONES, per_zone, strict=True)
        if expected is not None and not expected.startswith("?")
    ],
)
def test_the_same_phrase_alone(text: str, tz: ZoneInfo, expected: str) -> None:
    """`/tasks due T-1 …`, the modal's due field and snoozes read phrases alone, the same way."""
    assert parse_when(text, now=NOW, tz=tz) == _instant(expected, tz)


# --- near DST changes: expected instants in UTC, worked out from the zone rules ----------------------------

DST_PHRASES = [
    # New York springs forward at 02:00 EST on Sun 14 Mar 2027. Sat 13 Mar 12:00 UTC is 07:00 EST.
    (NEW_YORK, datetime(2027, 3, 13, 12, 0, tzinfo=UTC), "tomorrow 2:30am", datetime(2027, 3, 14, 7, 30, tzinfo=UTC)),
    (NEW_YORK, datetime(2027, 3, 13, 12, 0, tzinfo=UTC), "tomorrow at 9", datetime(2027, 3, 14, 13, 0, tzinfo=UTC)),
    (NEW_YORK, datetime(2027, 3, 13, 12, 0, tzinfo=UTC), "in 24 hours", datetime(2027, 3, 14, 12, 0, tzinfo=UTC)),
    (NEW_YORK, datetime(2027, 3, 13, 12, 0, tzinfo=UTC), "in 1 day", datetime(2027, 3, 14, 21, 0, tzinfo=UTC)),
    (NEW_YORK, datetime(2027, 3, 13, 12, 0, tzinfo=UTC), "by 3/14 2:15am", datetime(2027, 3, 14, 7, 15, tzinfo=UTC)),
    # New York falls back at 02:00 EDT on Sun 1 Nov 2026: the first 01:30 (EDT, UTC-4) is meant.
    (NEW_YORK, datetime(2026, 10, 31, 16, 0, tzinfo=UTC), "tomorrow 1:30am", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    (NEW_YORK, datetime(2026, 10, 31, 16, 0, tzinfo=UTC), "tomorrow morning", datetime(2026, 11, 1, 14, 0, tzinfo=UTC)),
    (NEW_YORK, datetime(2026, 10, 31, 16, 0, tzinfo=UTC), "in 24 hours", datetime(2026, 11, 1, 16, 0, tzinfo=UTC)),
    # London springs forward at 01:00 GMT on Sun 28 Mar 2027: 01:30 is read as GMT = 02:30 BST.
    (LONDON, datetime(2027, 3, 27, 12, 0, tzinfo=UTC), "tomorrow 1:30am", datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),
    (LONDON, datetime(2027, 3, 27, 12, 0, tzinfo=UTC), "tomorrow at 9", datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),
    (LONDON, datetime(2027, 3, 27, 12, 0, tzinfo=UTC), "by 28/3 1:00am", datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),
    # London falls back at 02:00 BST on Sun 31 Oct 2027: the first 01:30 is BST = 00:30 UTC.
    (LONDON, datetime(2027, 10, 30, 12, 0, tzinfo=UTC), "tomorrow 1:30am", datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
    (LONDON, datetime(2027, 10, 30, 12, 0, tzinfo=UTC), "Monday", datetime(2027, 11, 1, 17, 0, tzinfo=UTC)),
    # Sydney springs forward at 02:00 AEST on Sun 3 Oct 2027 (Sat 2 Oct 00:00 UTC is 10:00 AEST).
    (SYDNEY, datetime(2027, 10, 2, 0, 0, tzinfo=UTC), "tomorrow 2:30am", datetime(2027, 10, 2, 16, 30, tzinfo=UTC)),
    (SYDNEY, datetime(2027, 10, 2, 0, 0, tzinfo=UTC), "tomorrow morning", datetime(2027, 10, 2, 22, 0, tzinfo=UTC)),
    (SYDNEY, datetime(2027, 10, 2, 0, 0, tzinfo=UTC), "EOW", datetime(2027, 10, 8, 6, 0, tzinfo=UTC)),  # Sat
    # Sydney falls back at 03:00 AEDT on Sun 4 Apr 2027 (Sat 3 Apr 00:00 UTC is 11:00 AEDT).
    (SYDNEY, datetime(2027, 4, 3, 0, 0, tzinfo=UTC), "tomorrow 2:30am", datetime(2027, 4, 3, 15, 30, tzinfo=UTC)),
    (SYDNEY, datetime(2027, 4, 3, 0, 0, tzinfo=UTC), "Monday", datetime(2027, 4, 5, 7, 0, tzinfo=UTC)),
    # Kolkata has no DST: the same night is plain IST (UTC+5:30).
    (KOLKATA, datetime(2027, 3, 13, 12, 0, tzinfo=UTC), "tomorrow 2:30am", datetime(2027, 3, 13, 21, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("tz", "now", "phrase", "expected"), DST_PHRASES, ids=lambda v: str(v))
def test_phrase_near_a_dst_change(tz: ZoneInfo, now: datetime, phrase: str, expected: datetime) -> None:
    assert parse_when(phrase, now=now, tz=tz) == expected
    assert parse_delegation(f"{TITLE} {phrase}", now=now, tz=tz).due_at == expected


# --- the reading order ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "zone", "day_first"),
    [
        ("en-GB", "Europe/London", True),
        ("en-US", "America/New_York", False),
        ("en-US", "Europe/London", False),  # the locale wins over the zone
        ("en-GB", "America/New_York", True),
        ("en-IN", "Asia/Kolkata", True),
        ("en-AU", "Australia/Sydney", True),
        ("es-LA", "America/Mexico_City", True),
        ("es-US", "America/Los_Angeles", False),
        ("ja-JP", "Asia/Tokyo", False),
        ("zh-TW", "Asia/Taipei", False),
        ("fr-FR", "Europe/Paris", True),
        (None, "America/New_York", False),
        (None, "America/Indiana/Indianapolis", False),
        (None, "Pacific/Honolulu", False),
        (None, "Europe/London", True),
        (None, "Asia/Kolkata", True),
        (None, "Australia/Sydney", True),
        (None, "America/Sao_Paulo", True),
        (None, "UTC", False),  # no region: Slack's default locale, en-US
        ("", "Europe/Berlin", True),
    ],
)
def test_day_first_for(locale: str | None, zone: str, day_first: bool) -> None:
    assert day_first_for(locale, zone) is day_first
    assert day_first_for(locale, ZoneInfo(zone)) is day_first


def test_an_explicit_order_overrides_the_zone() -> None:
    # A New York requester whose Slack locale is en-GB.
    parsed = parse_delegation("Pay by 12/5", now=NOW, tz=NEW_YORK, day_first=True)
    assert parsed.due_at == _instant("2027-05-12 17:00", NEW_YORK)


def test_an_empty_title_is_still_refused_when_the_text_is_only_a_date() -> None:
    with pytest.raises(BadInput, match="What should be done"):
        parse_delegation("tomorrow at 9", now=NOW, tz=LONDON)


# --- the requester's working week and day ----------------------------------------------------------------

SUN_THU = frozenset({6, 0, 1, 2, 3})


@pytest.mark.parametrize(
    ("work_days", "now", "phrase", "expected"),
    [
        # Sunday to Thursday: the week ends on Thursday; on Friday or Saturday the coming Thursday.
        (SUN_THU, NOW, "EOW", "2026-11-26 17:00"),  # Wednesday -> Thursday 26
        (SUN_THU, datetime(2026, 11, 27, 10, 0, tzinfo=UTC), "EOW", "2026-12-03 17:00"),  # Friday
        (SUN_THU, datetime(2026, 11, 29, 10, 0, tzinfo=UTC), "this week", "2026-12-03 17:00"),  # Sunday
        (SUN_THU, NOW, "next week", "2026-12-03 17:00"),
        # Monday, Wednesday and Friday: the weekend is the longest gap, so Friday.
        (frozenset({0, 2, 4}), NOW, "EOW", "2026-11-27 17:00"),
        # Every day: the calendar week, ending on Sunday.
        (frozenset(range(7)), NOW, "EOW", "2026-11-29 17:00"),
        (frozenset(range(7)), NOW, "next week", "2026-12-06 17:00"),
        # No working days at all is read as Monday to Friday.
        (frozenset(), NOW, "EOW", "2026-11-27 17:00"),
    ],
)
def test_a_week_ends_on_the_requesters_last_working_day(
    work_days: frozenset[int], now: datetime, phrase: str, expected: str
) -> None:
    assert parse_when(phrase, now=now, tz=LONDON, work_days=work_days) == _instant(expected, LONDON)


def test_a_date_without_a_time_ends_with_the_requesters_day() -> None:
    parsed = parse_delegation("Send it by Friday", now=NOW, tz=LONDON, day_end=time(16, 0))
    assert parsed.due_at == _instant("2026-11-27 16:00", LONDON)
