"""Working-hours rules: working time, next starts, shifting notifications, parsing and storing weeks.

Expected instants are worked out by hand from the zone rules, not from the code under test. 2026 changes:

* New York: EST (UTC-5) / EDT (UTC-4). Sun 8 March 02:00 EST -> 03:00 EDT (07:00 UTC);
  Sun 1 November 02:00 EDT -> 01:00 EST (06:00 UTC).
* London: GMT (UTC+0) / BST (UTC+1). Sun 29 March 01:00 GMT -> 02:00 BST (01:00 UTC);
  Sun 25 October 02:00 BST -> 01:00 GMT (01:00 UTC).
* Kolkata: IST (UTC+5:30) all year.
* Sydney: AEST (UTC+10) / AEDT (UTC+11). Sun 4 October 02:00 AEST -> 03:00 AEDT (Sat 3 October 16:00 UTC).

Weekdays used: March 2026 — Fri 6, Sun 8, Mon 9, Tue 10, Fri 27, Sun 29, Mon 30. October — Fri 2, Sat 3,
Sun 4, Mon 5, Fri 23, Sat 24, Sun 25, Mon 26, Fri 30. November — Sun 1, Mon 2, Fri 20, Sat 21, Mon 23,
Tue 24, Wed 25, Thu 26, Fri 27, Sat 28, Sun 29, Mon 30. December — Fri 4.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from models.errors import BadInput
from models.worktime import (
    DEFAULT_DAYS,
    WorkWeek,
    format_work_hours,
    from_dict,
    parse_work_hours,
    to_dict,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")
SYDNEY = ZoneInfo("Australia/Sydney")

ALL_DAYS = frozenset(range(7))
SUN_THU = frozenset({6, 0, 1, 2, 3})


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def nine_to_five(tz: ZoneInfo) -> WorkWeek:
    return WorkWeek(tz=tz)


# --- construction ---------------------------------------------------------------------------------------


def test_defaults_are_monday_to_friday_nine_to_five() -> None:
    week = WorkWeek(tz=NEW_YORK)
    assert week.days == frozenset({0, 1, 2, 3, 4}) == DEFAULT_DAYS
    assert (week.start, week.end) == (time(9, 0), time(17, 0))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": time(17, 0), "end": time(9, 0)},  # end before start
        {"start": time(9, 0), "end": time(9, 0)},  # empty day
        {"days": frozenset()},
        {"days": frozenset({7})},
        {"days": frozenset({-1})},
        {"start": time(9, 0, 0, 500)},  # not whole seconds
        {"start": time(9, 0, tzinfo=UTC)},  # not a local time
    ],
)
def test_invalid_weeks_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        WorkWeek(tz=NEW_YORK, **kwargs)


def test_days_given_as_a_set_are_stored_frozen() -> None:
    week = WorkWeek(tz=NEW_YORK, days={0, 1})  # type: ignore[arg-type]
    assert isinstance(week.days, frozenset)
    assert hash(week) == hash(WorkWeek(tz=NEW_YORK, days=frozenset({0, 1})))


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.local(datetime(2026, 11, 25, 9, 0)),
        lambda w: w.is_working_time(datetime(2026, 11, 25, 15, 0)),
        lambda w: w.next_start(datetime(2026, 11, 25, 15, 0)),
        lambda w: w.shift_into_hours(utc(2026, 11, 25, 3), deadline=datetime(2026, 11, 26, 9, 0)),
        lambda w: w.add_working_time(datetime(2026, 11, 25, 15, 0), hours(1)),
        lambda w: w.working_time_between(utc(2026, 11, 25), datetime(2026, 11, 26, 0, 0)),
    ],
)
def test_naive_datetimes_are_refused(call: Any) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(nine_to_five(NEW_YORK))


# --- local readings ---------------------------------------------------------------------------------------

LOCAL_CASES = [
    # 05:30 UTC on 1 Nov is 01:30 EDT (UTC-4), the first of the two 01:30s.
    (NEW_YORK, utc(2026, 11, 1, 5, 30), datetime(2026, 11, 1, 1, 30), 0),
    # 06:30 UTC is 01:30 EST (UTC-5), the second 01:30.
    (NEW_YORK, utc(2026, 11, 1, 6, 30), datetime(2026, 11, 1, 1, 30), 1),
    # 20:00 UTC + 5:30 = 01:30 the next day in Kolkata.
    (KOLKATA, utc(2026, 3, 8, 20, 0), datetime(2026, 3, 9, 1, 30), 0),
    # 23:00 UTC on 3 Oct + 11 (AEDT, after the change at 16:00 UTC) = 10:00 on Sunday 4 Oct.
    (SYDNEY, utc(2026, 10, 3, 23, 0), datetime(2026, 10, 4, 10, 0), 0),
    # 15:00 UTC on 3 Oct + 10 (AEST, before the change) = 01:00 on Sunday 4 Oct.
    (SYDNEY, utc(2026, 10, 3, 15, 0), datetime(2026, 10, 4, 1, 0), 0),
]


@pytest.mark.parametrize(("tz", "moment", "wall", "fold"), LOCAL_CASES)
def test_local_and_local_date(tz: ZoneInfo, moment: datetime, wall: datetime, fold: int) -> None:
    week = nine_to_five(tz)
    local = week.local(moment)
    assert local.tzinfo is tz
    assert (local.replace(tzinfo=None), local.fold) == (wall, fold)
    assert week.local_date(moment) == wall.date()


# --- a day's working period -----------------------------------------------------------------------------

DAY_CASES = [
    # New York around the March change: 09:00/17:00 EST = 14:00/22:00 UTC; EDT = 13:00/21:00 UTC.
    (NEW_YORK, ALL_DAYS, date(2026, 3, 6), utc(2026, 3, 6, 14), utc(2026, 3, 6, 22)),
    (NEW_YORK, ALL_DAYS, date(2026, 3, 8), utc(2026, 3, 8, 13), utc(2026, 3, 8, 21)),  # change day: EDT by 9:00
    (NEW_YORK, ALL_DAYS, date(2026, 3, 9), utc(2026, 3, 9, 13), utc(2026, 3, 9, 21)),
    # ... and November: EDT before, EST from the change day on.
    (NEW_YORK, ALL_DAYS, date(2026, 10, 30), utc(2026, 10, 30, 13), utc(2026, 10, 30, 21)),
    (NEW_YORK, ALL_DAYS, date(2026, 11, 1), utc(2026, 11, 1, 14), utc(2026, 11, 1, 22)),
    (NEW_YORK, ALL_DAYS, date(2026, 11, 2), utc(2026, 11, 2, 14), utc(2026, 11, 2, 22)),
    # London: GMT = UTC before 29 March, BST = UTC+1 after; back to GMT from 25 October.
    (LONDON, ALL_DAYS, date(2026, 3, 27), utc(2026, 3, 27, 9), utc(2026, 3, 27, 17)),
    (LONDON, ALL_DAYS, date(2026, 3, 29), utc(2026, 3, 29, 8), utc(2026, 3, 29, 16)),
    (LONDON, ALL_DAYS, date(2026, 3, 30), utc(2026, 3, 30, 8), utc(2026, 3, 30, 16)),
    (LONDON, ALL_DAYS, date(2026, 10, 23), utc(2026, 10, 23, 8), utc(2026, 10, 23, 16)),
    (LONDON, ALL_DAYS, date(2026, 10, 25), utc(2026, 10, 25, 9), utc(2026, 10, 25, 17)),
    (LONDON, ALL_DAYS, date(2026, 10, 26), utc(2026, 10, 26, 9), utc(2026, 10, 26, 17)),
    # Kolkata: 09:00 - 5:30 = 03:30 UTC, 17:00 - 5:30 = 11:30 UTC.
    (KOLKATA, ALL_DAYS, date(2026, 3, 9), utc(2026, 3, 9, 3, 30), utc(2026, 3, 9, 11, 30)),
    # Sydney: 09:00 AEST (UTC+10) on Fri 2 Oct is 23:00 UTC the day before; 17:00 AEST = 07:00 UTC.
    (SYDNEY, ALL_DAYS, date(2026, 10, 2), utc(2026, 10, 1, 23), utc(2026, 10, 2, 7)),
    # Mon 5 Oct in AEDT (UTC+11): 09:00 = 22:00 UTC Sun 4 Oct, 17:00 = 06:00 UTC.
    (SYDNEY, ALL_DAYS, date(2026, 10, 5), utc(2026, 10, 4, 22), utc(2026, 10, 5, 6)),
]


@pytest.mark.parametrize(("tz", "days", "day", "start", "end"), DAY_CASES)
def test_day_start_and_end_are_local_nine_and_five(
    tz: ZoneInfo, days: frozenset[int], day: date, start: datetime, end: datetime
) -> None:
    week = WorkWeek(tz=tz, days=days)
    assert week.day_start(day) == start
    assert week.day_end(day) == end
    assert week.day_start(day).tzinfo is UTC


DST_EDGE_CASES = [
    # Starting inside the spring gap (02:00-03:00 EST->EDT): 02:30 moves forward by the gap to 03:30 EDT
    # = 07:30 UTC (the one rule of models.localtime). 04:00 EDT = 08:00 UTC.
    (NEW_YORK, time(2, 30), time(4, 0), date(2026, 3, 8), utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8)),
    # Ambiguous start on the fall-back night: the first 01:30 is EDT = 05:30 UTC. 03:00 EST = 08:00 UTC.
    (NEW_YORK, time(1, 30), time(3, 0), date(2026, 11, 1), utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8)),
    # Ambiguous end: the first 01:30 (EDT) = 05:30 UTC, so the second 01:00-01:30 (EST) is not worked.
    # 00:00 EDT = 04:00 UTC.
    (NEW_YORK, time(0, 0), time(1, 30), date(2026, 11, 1), utc(2026, 11, 1, 4), utc(2026, 11, 1, 5, 30)),
    # London gap 01:00-02:00 GMT: 01:30 moves to 02:30 BST = 01:30 UTC; 03:00 BST = 02:00 UTC.
    (LONDON, time(1, 30), time(3, 0), date(2026, 3, 29), utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2)),
    # London fold 01:00-02:00: the first 01:30 is BST = 00:30 UTC; 02:30 GMT = 02:30 UTC.
    (LONDON, time(1, 30), time(2, 30), date(2026, 10, 25), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30)),
    # Sydney gap 02:00-03:00 AEST: 02:00 moves to 03:00 AEDT = 16:00 UTC on 3 Oct, 02:30 to 03:30 AEDT.
    (SYDNEY, time(2, 0), time(2, 30), date(2026, 10, 4), utc(2026, 10, 3, 16), utc(2026, 10, 3, 16, 30)),
    # A fold=1 time behaves like fold=0: still the first 01:30 (EDT) = 05:30 UTC.
    (NEW_YORK, time(1, 30, fold=1), time(3, 0), date(2026, 11, 1), utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8)),
]


@pytest.mark.parametrize(("tz", "start_at", "end_at", "day", "start", "end"), DST_EDGE_CASES)
def test_nonexistent_times_move_forward_and_ambiguous_ones_take_the_first(
    tz: ZoneInfo, start_at: time, end_at: time, day: date, start: datetime, end: datetime
) -> None:
    week = WorkWeek(tz=tz, days=ALL_DAYS, start=start_at, end=end_at)
    assert week.day_start(day) == start
    assert week.day_end(day) == end


# --- working time ---------------------------------------------------------------------------------------

WORKING_TIME_CASES = [
    # New York, Monday 2 Nov (EST): 14:00-22:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 2, 14, 0), True),
    (nine_to_five(NEW_YORK), utc(2026, 11, 2, 13, 59, 59), False),
    (nine_to_five(NEW_YORK), utc(2026, 11, 2, 21, 59, 59), True),
    (nine_to_five(NEW_YORK), utc(2026, 11, 2, 22, 0), False),  # 17:00 itself is after hours
    (nine_to_five(NEW_YORK), utc(2026, 11, 7, 15, 0), False),  # Saturday 10:00 EST
    (nine_to_five(NEW_YORK), utc(2026, 11, 1, 15, 0), False),  # Sunday 10:00 EST, the change day
    # Kolkata, Monday 9 March: 03:30-11:30 UTC.
    (nine_to_five(KOLKATA), utc(2026, 3, 9, 3, 30), True),
    (nine_to_five(KOLKATA), utc(2026, 3, 9, 3, 29), False),
    (nine_to_five(KOLKATA), utc(2026, 3, 9, 11, 29), True),
    (nine_to_five(KOLKATA), utc(2026, 3, 9, 11, 30), False),
    # Sydney, Monday 5 Oct (AEDT): 22:00 UTC Sunday to 06:00 UTC Monday.
    (nine_to_five(SYDNEY), utc(2026, 10, 4, 22, 0), True),
    (nine_to_five(SYDNEY), utc(2026, 10, 4, 21, 59), False),
    (nine_to_five(SYDNEY), utc(2026, 10, 5, 5, 59), True),
    # London, Monday 30 March (BST): 08:00-16:00 UTC; 16:30 UTC is 17:30 BST.
    (nine_to_five(LONDON), utc(2026, 3, 30, 8, 0), True),
    (nine_to_five(LONDON), utc(2026, 3, 30, 16, 30), False),
    # Sunday-to-Thursday in Kolkata: Sunday 29 Nov 10:00 IST (04:30 UTC) works, Friday 27 Nov does not.
    (WorkWeek(tz=KOLKATA, days=SUN_THU), utc(2026, 11, 29, 4, 30), True),
    (WorkWeek(tz=KOLKATA, days=SUN_THU), utc(2026, 11, 27, 4, 30), False),
    # 00:00-01:30 every day in New York on 1 Nov works 04:00-05:30 UTC (ends at the first 01:30, EDT):
    # 05:15 UTC is 01:15 EDT (working); 06:15 UTC is the second 01:15 (EST), after the end.
    (WorkWeek(tz=NEW_YORK, days=ALL_DAYS, start=time(0), end=time(1, 30)), utc(2026, 11, 1, 5, 15), True),
    (WorkWeek(tz=NEW_YORK, days=ALL_DAYS, start=time(0), end=time(1, 30)), utc(2026, 11, 1, 6, 15), False),
    # 02:00-02:30 every day in Sydney lies wholly in the 4 Oct gap and moves with it to 03:00-03:30 AEDT:
    # 16:00 UTC on 3 Oct is the change itself (03:00 AEDT), 16:30 UTC the moved end.
    (WorkWeek(tz=SYDNEY, days=ALL_DAYS, start=time(2), end=time(2, 30)), utc(2026, 10, 3, 16, 0), True),
    (WorkWeek(tz=SYDNEY, days=ALL_DAYS, start=time(2), end=time(2, 30)), utc(2026, 10, 3, 16, 30), False),
    # 02:30-03:15 in New York on 8 Mar: the start moves to 03:30 EDT, after the end (03:15 EDT), so
    # nothing is worked that night; 07:20 UTC (03:20 EDT) is not working time.
    (WorkWeek(tz=NEW_YORK, days=ALL_DAYS, start=time(2, 30), end=time(3, 15)), utc(2026, 3, 8, 7, 20), False),
    # The next night works normally: 02:00 AEDT on 5 Oct = 15:00 UTC on 4 Oct.
    (WorkWeek(tz=SYDNEY, days=ALL_DAYS, start=time(2), end=time(2, 30)), utc(2026, 10, 4, 15, 0), True),
]


@pytest.mark.parametrize(("week", "moment", "expected"), WORKING_TIME_CASES)
def test_is_working_time(week: WorkWeek, moment: datetime, expected: bool) -> None:
    assert week.is_working_time(moment) is expected


def test_is_working_time_reads_any_zone() -> None:
    # 09:30 EST given as a New York time is 14:30 UTC, inside Monday 2 Nov's hours.
    moment = datetime(2026, 11, 2, 9, 30, tzinfo=NEW_YORK)
    assert nine_to_five(NEW_YORK).is_working_time(moment)
    # The same instant is 14:30 in London (GMT): also working time there.
    assert nine_to_five(LONDON).is_working_time(moment)
    # And 20:00 in Kolkata: not.
    assert not nine_to_five(KOLKATA).is_working_time(moment)


NEXT_START_CASES = [
    # Friday 6 March 17:00 EST (22:00 UTC) -> Monday 9 March 09:00 EDT = 13:00 UTC (across the change).
    (nine_to_five(NEW_YORK), utc(2026, 3, 6, 22), utc(2026, 3, 9, 13)),
    # Exactly a start: that start.
    (nine_to_five(NEW_YORK), utc(2026, 3, 9, 13), utc(2026, 3, 9, 13)),
    # One second into Monday's hours: Tuesday's start, 09:00 EDT = 13:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 3, 9, 13, 0, 1), utc(2026, 3, 10, 13)),
    # Friday 30 Oct 17:00 EDT (21:00 UTC) -> Monday 2 Nov 09:00 EST = 14:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 10, 30, 21), utc(2026, 11, 2, 14)),
    # London Saturday 24 Oct 12:00 UTC -> Monday 26 Oct 09:00 GMT = 09:00 UTC.
    (nine_to_five(LONDON), utc(2026, 10, 24, 12), utc(2026, 10, 26, 9)),
    # London Saturday 28 March 12:00 UTC -> Monday 30 March 09:00 BST = 08:00 UTC.
    (nine_to_five(LONDON), utc(2026, 3, 28, 12), utc(2026, 3, 30, 8)),
    # Sydney Saturday 3 Oct 00:00 UTC (10:00 AEST) -> Monday 5 Oct 09:00 AEDT = 22:00 UTC Sunday.
    (nine_to_five(SYDNEY), utc(2026, 10, 3, 0), utc(2026, 10, 4, 22)),
    # Kolkata Tuesday 10 March 01:00 UTC (06:30 IST) -> 09:00 IST = 03:30 UTC the same day.
    (nine_to_five(KOLKATA), utc(2026, 3, 10, 1), utc(2026, 3, 10, 3, 30)),
    # Sunday-to-Thursday: Thursday 26 Nov 19:00 IST (13:30 UTC) -> Sunday 29 Nov 09:00 IST = 03:30 UTC.
    (WorkWeek(tz=KOLKATA, days=SUN_THU), utc(2026, 11, 26, 13, 30), utc(2026, 11, 29, 3, 30)),
    # 02:00-02:30 every day in Sydney: 4 Oct's period moved with the gap to 03:00 AEDT, so from 15:00 UTC
    # on 3 Oct (01:00 AEST on 4 Oct) the next start is 16:00 UTC; after it, 5 Oct 02:00 AEDT = 15:00 UTC.
    (WorkWeek(tz=SYDNEY, days=ALL_DAYS, start=time(2), end=time(2, 30)), utc(2026, 10, 3, 15), utc(2026, 10, 3, 16)),
    (WorkWeek(tz=SYDNEY, days=ALL_DAYS, start=time(2), end=time(2, 30)), utc(2026, 10, 3, 16, 1), utc(2026, 10, 4, 15)),
    # 02:30-03:15 in New York: 8 Mar's period is empty, so from 06:00 UTC on 8 Mar the next start is
    # 9 Mar 02:30 EDT = 06:30 UTC.
    (
        WorkWeek(tz=NEW_YORK, days=ALL_DAYS, start=time(2, 30), end=time(3, 15)),
        utc(2026, 3, 8, 6),
        utc(2026, 3, 9, 6, 30),
    ),
]


@pytest.mark.parametrize(("week", "moment", "expected"), NEXT_START_CASES)
def test_next_start(week: WorkWeek, moment: datetime, expected: datetime) -> None:
    result = week.next_start(moment)
    assert result == expected
    assert result.tzinfo is UTC


# --- shifting notifications into hours ----------------------------------------------------------------------

SHIFT_CASES = [
    # A 3 a.m. reminder: Wednesday 25 Nov 03:00 EST = 08:00 UTC -> 09:00 EST = 14:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 25, 8), None, utc(2026, 11, 25, 14)),
    # In hours already (10:00 EST): unchanged.
    (nine_to_five(NEW_YORK), utc(2026, 11, 25, 15), None, utc(2026, 11, 25, 15)),
    # Saturday 28 Nov 10:00 EST with no deadline -> Monday 30 Nov 09:00 EST = 14:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 28, 15), None, utc(2026, 11, 30, 14)),
    # Same, due Monday 17:00 EST (22:00 UTC): Monday's start is before the deadline, so Monday 14:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 28, 15), utc(2026, 11, 30, 22), utc(2026, 11, 30, 14)),
    # Due Sunday 29 Nov 15:00 EST (20:00 UTC): Monday's start would be too late, so kept at Saturday 15:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 28, 15), utc(2026, 11, 29, 20), utc(2026, 11, 28, 15)),
    # Due exactly at the next start (Monday 09:00 EST = 14:00 UTC): a reminder at the due time is too late,
    # so the planned 08:00 EST (13:00 UTC) stands.
    (nine_to_five(NEW_YORK), utc(2026, 11, 30, 13), utc(2026, 11, 30, 14), utc(2026, 11, 30, 13)),
    # Planned after its deadline and out of hours: left as planned.
    (nine_to_five(NEW_YORK), utc(2026, 11, 28, 15), utc(2026, 11, 28, 12), utc(2026, 11, 28, 15)),
    # In hours, the deadline does not matter.
    (nine_to_five(NEW_YORK), utc(2026, 11, 25, 15), utc(2026, 11, 25, 15, 30), utc(2026, 11, 25, 15)),
    # Kolkata 3 a.m. Thursday 26 Nov IST = 21:30 UTC Wednesday -> 09:00 IST = 03:30 UTC Thursday.
    (nine_to_five(KOLKATA), utc(2026, 11, 25, 21, 30), None, utc(2026, 11, 26, 3, 30)),
    # London Sunday 29 March 07:00 BST (06:00 UTC) -> Monday 30 March 09:00 BST = 08:00 UTC.
    (nine_to_five(LONDON), utc(2026, 3, 29, 6), None, utc(2026, 3, 30, 8)),
    # Sydney Sunday 4 Oct 03:00 AEDT (16:00 UTC on 3 Oct), just after the change -> Monday 09:00 AEDT = 22:00 UTC.
    (nine_to_five(SYDNEY), utc(2026, 10, 3, 16), None, utc(2026, 10, 4, 22)),
    # New York Sunday 1 Nov 01:30 EST (second one, 06:30 UTC) -> Monday 2 Nov 09:00 EST = 14:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 1, 6, 30), None, utc(2026, 11, 2, 14)),
]


@pytest.mark.parametrize(("week", "moment", "deadline", "expected"), SHIFT_CASES)
def test_shift_into_hours(week: WorkWeek, moment: datetime, deadline: datetime | None, expected: datetime) -> None:
    assert week.shift_into_hours(moment, deadline=deadline) == expected


def test_shift_into_hours_returns_utc() -> None:
    # 03:00 EST given in New York's zone -> 09:00 EST = 14:00 UTC, expressed in UTC; and kept moments too.
    week = nine_to_five(NEW_YORK)
    shifted = week.shift_into_hours(datetime(2026, 11, 25, 3, 0, tzinfo=NEW_YORK))
    kept = week.shift_into_hours(datetime(2026, 11, 25, 10, 0, tzinfo=NEW_YORK))
    assert (shifted, shifted.tzinfo) == (utc(2026, 11, 25, 14), UTC)
    assert (kept, kept.tzinfo) == (utc(2026, 11, 25, 15), UTC)


# --- adding and measuring working time --------------------------------------------------------------------

ADD_CASES = [
    # Friday 20 Nov 16:00 EST (21:00 UTC) + 4h: 1h on Friday, 3h from Monday 23 Nov 09:00 EST -> 12:00 EST = 17:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 20, 21), hours(4), utc(2026, 11, 23, 17)),
    # Across the March change: Friday 6 March 16:00 EST (21:00 UTC) + 4h -> Monday 9 March 12:00 EDT = 16:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 3, 6, 21), hours(4), utc(2026, 3, 9, 16)),
    # Across the November change: Friday 30 Oct 16:00 EDT (20:00 UTC) + 4h -> Monday 2 Nov 12:00 EST = 17:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 10, 30, 20), hours(4), utc(2026, 11, 2, 17)),
    # London: Friday 27 March 16:00 GMT (16:00 UTC) + 4h -> Monday 30 March 12:00 BST = 11:00 UTC.
    (nine_to_five(LONDON), utc(2026, 3, 27, 16), hours(4), utc(2026, 3, 30, 11)),
    # London: Friday 23 Oct 16:00 BST (15:00 UTC) + 4h -> Monday 26 Oct 12:00 GMT = 12:00 UTC.
    (nine_to_five(LONDON), utc(2026, 10, 23, 15), hours(4), utc(2026, 10, 26, 12)),
    # Sydney: Friday 2 Oct 16:00 AEST (06:00 UTC) + 4h -> Monday 5 Oct 12:00 AEDT = 01:00 UTC.
    (nine_to_five(SYDNEY), utc(2026, 10, 2, 6), hours(4), utc(2026, 10, 5, 1)),
    # Kolkata: Friday 6 March 16:00 IST (10:30 UTC) + 4h -> Monday 9 March 12:00 IST = 06:30 UTC.
    (nine_to_five(KOLKATA), utc(2026, 3, 6, 10, 30), hours(4), utc(2026, 3, 9, 6, 30)),
    # Starting on a Saturday: counting begins Monday 23 Nov 09:00 EST; +2h -> 11:00 EST = 16:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 21, 15), hours(2), utc(2026, 11, 23, 16)),
    # Starting at night: Monday 23 Nov 21:00 EST (02:00 UTC Tue) + 1h -> Tuesday 10:00 EST = 15:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 24, 2), hours(1), utc(2026, 11, 24, 15)),
    # Running out exactly at the end of a day lands on that end: Friday 13:00 EST + 4h -> 17:00 EST = 22:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 20, 18), hours(4), utc(2026, 11, 20, 22)),
    # Several days: Monday 23 Nov 09:00 EST (14:00 UTC) + 20h = Mon 8 + Tue 8 + Wed 4 -> Wed 13:00 EST = 18:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 23, 14), hours(20), utc(2026, 11, 25, 18)),
    # Two full weeks: Monday 23 Nov 09:00 EST + 80h -> Friday 4 Dec 17:00 EST = 22:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 23, 14), hours(80), utc(2026, 12, 4, 22)),
    # Minutes and seconds: Monday 09:00 EST + 1h 2m 3s -> 10:02:03 EST = 15:02:03 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 23, 14), timedelta(hours=1, minutes=2, seconds=3),
     utc(2026, 11, 23, 15, 2, 3)),
    # Zero in hours: unchanged. Zero out of hours: the next start (Saturday -> Monday 14:00 UTC).
    (nine_to_five(NEW_YORK), utc(2026, 11, 23, 15, 30), timedelta(0), utc(2026, 11, 23, 15, 30)),
    (nine_to_five(NEW_YORK), utc(2026, 11, 21, 15), timedelta(0), utc(2026, 11, 23, 14)),
    # Zero exactly at a day's end is out of hours: Friday 17:00 EST -> Monday 09:00 EST = 14:00 UTC.
    (nine_to_five(NEW_YORK), utc(2026, 11, 20, 22), timedelta(0), utc(2026, 11, 23, 14)),
    # Sunday-to-Thursday 10:00-18:00 in Kolkata: Thursday 26 Nov 17:00 IST (11:30 UTC) + 3h = 1h Thursday,
    # then Sunday 29 Nov 10:00 IST + 2h -> 12:00 IST = 06:30 UTC.
    (WorkWeek(tz=KOLKATA, days=SUN_THU, start=time(10), end=time(18)), utc(2026, 11, 26, 11, 30), hours(3),
     utc(2026, 11, 29, 6, 30)),
    # A change inside working hours: 00:00-04:00 every day in New York; Sunday 8 March lasts 00:00 EST
    # (05:00 UTC) to 04:00 EDT (08:00 UTC) = 3h. From 00:00 EST + 4h: 3h then Monday 9 March 00:00 EDT
    # (04:00 UTC) + 1h = 05:00 UTC.
    (WorkWeek(tz=NEW_YORK, days=ALL_DAYS, start=time(0), end=time(4)), utc(2026, 3, 8, 5), hours(4),
     utc(2026, 3, 9, 5)),
]


@pytest.mark.parametrize(("week", "start", "amount", "expected"), ADD_CASES)
def test_add_working_time(week: WorkWeek, start: datetime, amount: timedelta, expected: datetime) -> None:
    result = week.add_working_time(start, amount)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(("week", "start", "amount", "expected"), [c for c in ADD_CASES if c[2]])
def test_added_working_time_measures_back(
    week: WorkWeek, start: datetime, amount: timedelta, expected: datetime
) -> None:
    # The two operations agree: exactly `amount` of working time lies between start and the result.
    assert week.working_time_between(start, expected) == amount


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError):
        nine_to_five(NEW_YORK).add_working_time(utc(2026, 11, 23, 14), timedelta(seconds=-1))


def test_add_working_time_over_a_long_span_stays_exact() -> None:
    # 52 full weeks of 40h from Monday 5 Jan 2026 09:00 EST (14:00 UTC), crossing both changes, end on
    # Friday 1 Jan 2027 17:00 EST = 22:00 UTC (364 days later, minus the Saturday and Sunday).
    week = nine_to_five(NEW_YORK)
    assert week.add_working_time(utc(2026, 1, 5, 14), hours(40 * 52)) == utc(2027, 1, 1, 22)


BETWEEN_CASES = [
    # Friday 20 Nov 16:00 EST (21:00 UTC) to Monday 23 Nov 12:00 EST (17:00 UTC): 1h + 3h.
    (nine_to_five(NEW_YORK), utc(2026, 11, 20, 21), utc(2026, 11, 23, 17), hours(4)),
    # Backwards or empty: nothing.
    (nine_to_five(NEW_YORK), utc(2026, 11, 23, 17), utc(2026, 11, 20, 21), timedelta(0)),
    (nine_to_five(NEW_YORK), utc(2026, 11, 23, 15), utc(2026, 11, 23, 15), timedelta(0)),
    # A whole week, midnight UTC to midnight UTC: five 8-hour days.
    (nine_to_five(NEW_YORK), utc(2026, 11, 23), utc(2026, 11, 30), hours(40)),
    # A weekend only: nothing (Saturday 00:00 EST to Monday 08:00 EST).
    (nine_to_five(NEW_YORK), utc(2026, 11, 21, 5), utc(2026, 11, 23, 13), timedelta(0)),
    # Inside one day: Kolkata Monday 9 March 10:30 IST (05:00 UTC) to 15:30 IST (10:00 UTC).
    (nine_to_five(KOLKATA), utc(2026, 3, 9, 5), utc(2026, 3, 9, 10), hours(5)),
    # Changes inside working hours, 00:00-04:00 every day: the change day's period is shorter or longer.
    # New York 8 March: 00:00 EST (05:00 UTC) to 04:00 EDT (08:00 UTC) = 3h.
    (WorkWeek(tz=NEW_YORK, days=ALL_DAYS, start=time(0), end=time(4)), utc(2026, 3, 8), utc(2026, 3, 9), hours(3)),
    # New York 1 Nov: 00:00 EDT (04:00 UTC) to 04:00 EST (09:00 UTC) = 5h.
    (WorkWeek(tz=NEW_YORK, days=ALL_DAYS, start=time(0), end=time(4)), utc(2026, 11, 1), utc(2026, 11, 2), hours(5)),
    # London 29 March, 00:00-03:00: 00:00 GMT (00:00 UTC) to 03:00 BST (02:00 UTC) = 2h.
    (WorkWeek(tz=LONDON, days=ALL_DAYS, start=time(0), end=time(3)), utc(2026, 3, 29), utc(2026, 3, 29, 12), hours(2)),
    # London 25 Oct, 00:00-03:00: 00:00 BST (23:00 UTC on 24 Oct) to 03:00 GMT (03:00 UTC) = 4h.
    (WorkWeek(tz=LONDON, days=ALL_DAYS, start=time(0), end=time(3)), utc(2026, 10, 24, 23), utc(2026, 10, 25, 12),
     hours(4)),
    # Sydney 4 Oct, 00:00-04:00: 00:00 AEST (14:00 UTC on 3 Oct) to 04:00 AEDT (17:00 UTC on 3 Oct) = 3h.
    (WorkWeek(tz=SYDNEY, days=ALL_DAYS, start=time(0), end=time(4)), utc(2026, 10, 3, 12), utc(2026, 10, 3, 20),
     hours(3)),
    # Sunday-to-Thursday in Kolkata, Friday 27 Nov 00:00 IST to Monday 30 Nov 00:00 IST: only Sunday, 8h.
    (WorkWeek(tz=KOLKATA, days=SUN_THU), utc(2026, 11, 26, 18, 30), utc(2026, 11, 29, 18, 30), hours(8)),
]


@pytest.mark.parametrize(("week", "a", "b", "expected"), BETWEEN_CASES)
def test_working_time_between(week: WorkWeek, a: datetime, b: datetime, expected: timedelta) -> None:
    assert week.working_time_between(a, b) == expected


# --- working days -----------------------------------------------------------------------------------------

NEXT_DAY_CASES = [
    (DEFAULT_DAYS, date(2026, 11, 20), date(2026, 11, 23)),  # Friday -> Monday
    (DEFAULT_DAYS, date(2026, 11, 21), date(2026, 11, 23)),  # Saturday -> Monday
    (DEFAULT_DAYS, date(2026, 11, 23), date(2026, 11, 24)),  # Monday -> Tuesday (strictly after)
    (SUN_THU, date(2026, 11, 26), date(2026, 11, 29)),  # Thursday -> Sunday
    (frozenset({2}), date(2026, 11, 25), date(2026, 12, 2)),  # Wednesday only: a week later
]


@pytest.mark.parametrize(("days", "day", "expected"), NEXT_DAY_CASES)
def test_next_working_day(days: frozenset[int], day: date, expected: date) -> None:
    assert WorkWeek(tz=NEW_YORK, days=days).next_working_day(day) == expected


WORKING_DAYS_CASES = [
    (DEFAULT_DAYS, date(2026, 11, 23), date(2026, 11, 30), 5),  # Mon to next Mon
    (DEFAULT_DAYS, date(2026, 11, 23), date(2026, 11, 27), 4),  # Mon..Thu (the Friday is excluded)
    (DEFAULT_DAYS, date(2026, 11, 21), date(2026, 11, 23), 0),  # Sat, Sun
    (DEFAULT_DAYS, date(2026, 11, 2), date(2026, 11, 30), 20),  # four weeks
    (DEFAULT_DAYS, date(2026, 11, 20), date(2026, 11, 24), 2),  # Fri, (Sat, Sun), Mon
    (DEFAULT_DAYS, date(2026, 11, 30), date(2026, 11, 23), 0),  # backwards
    (SUN_THU, date(2026, 11, 27), date(2026, 11, 30), 1),  # Fri, Sat, Sun -> only Sunday
    (SUN_THU, date(2026, 11, 26), date(2026, 12, 11), 11),  # Thu 26 Nov .. Thu 10 Dec: 1 + 5 + 5
]


@pytest.mark.parametrize(("days", "a", "b", "expected"), WORKING_DAYS_CASES)
def test_working_days_between(days: frozenset[int], a: date, b: date, expected: int) -> None:
    week = WorkWeek(tz=NEW_YORK, days=days)
    assert week.working_days_between(a, b) == expected
    assert week.is_working_day(a) is (a.weekday() in days)


# --- parsing --------------------------------------------------------------------------------------------

PARSE_CASES = [
    ("8:00-16:00 mon-fri", DEFAULT_DAYS, time(8), time(16)),
    ("9-17", DEFAULT_DAYS, time(9), time(17)),
    ("08:30-17:30 mon,tue,thu", frozenset({0, 1, 3}), time(8, 30), time(17, 30)),
    ("9am-5pm weekdays", DEFAULT_DAYS, time(9), time(17)),
    ("10:00-18:00 sun-thu", SUN_THU, time(10), time(18)),
    ("mon-sat 9-13", frozenset({0, 1, 2, 3, 4, 5}), time(9), time(13)),
    ("Mon–Fri 08:00–16:00", DEFAULT_DAYS, time(8), time(16)),  # what format_work_hours writes
    ("9 a.m. to 5:30 p.m. Mon, Wed, Fri", frozenset({0, 2, 4}), time(9), time(17, 30)),
    ("every day 12am-12pm", ALL_DAYS, time(0), time(12)),
    ("fri-mon 7-15", frozenset({4, 5, 6, 0}), time(7), time(15)),
    ("  9-17   WEEKENDS ", frozenset({5, 6}), time(9), time(17)),
    ("12pm-11:59pm daily", ALL_DAYS, time(12), time(23, 59)),
    ("from 9 to 17 on Monday and Thursday", frozenset({0, 3}), time(9), time(17)),
    ("9-17, mon - wed", frozenset({0, 1, 2}), time(9), time(17)),
    ("0:00-23:59 sunday", frozenset({6}), time(0), time(23, 59)),
]


@pytest.mark.parametrize(("text", "days", "start", "end"), PARSE_CASES)
def test_parse_work_hours(text: str, days: frozenset[int], start: time, end: time) -> None:
    assert parse_work_hours(text, LONDON) == WorkWeek(tz=LONDON, days=days, start=start, end=end)


PARSE_ERROR_CASES = [
    "mon-fri",  # no time range
    "9-17 funday",
    "17-9",  # end before start
    "9-5",  # a bare 5 is 05:00, not 5 pm
    "9-9",
    "25-26",
    "9:60-17",
    "13pm-5pm",
    "0am-5pm",
    "9-17 10-12",  # two ranges
    "9-17 mon-",
    "nine to five",
    "9:00-17:00 mon-xyz",
    "9",
]


@pytest.mark.parametrize("text", PARSE_ERROR_CASES)
def test_parse_errors_quote_the_input_and_give_an_example(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_work_hours(text, LONDON)
    assert f'"{text}"' in caught.value.message
    assert "`" in caught.value.hint and "9" in caught.value.hint


@pytest.mark.parametrize("text", ["", "   "])
def test_parse_refuses_empty_text(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_work_hours(text, LONDON)
    assert "`9:00-17:00 mon-fri`" in caught.value.hint


def test_parse_refuses_overlong_text_without_echoing_all_of_it() -> None:
    text = "9-17 " + "mon " * 100
    with pytest.raises(BadInput) as caught:
        parse_work_hours(text, LONDON)
    assert '"9-17 mon' in caught.value.message
    assert len(caught.value.message) < 100


# --- formatting and storing -------------------------------------------------------------------------------

FORMAT_CASES = [
    (DEFAULT_DAYS, time(9), time(17), "Mon–Fri 09:00–17:00"),
    (DEFAULT_DAYS, time(8), time(16), "Mon–Fri 08:00–16:00"),
    (SUN_THU, time(10), time(18), "Sun–Thu 10:00–18:00"),
    (frozenset({0, 1, 3}), time(8, 30), time(17, 30), "Mon, Tue, Thu 08:30–17:30"),
    (ALL_DAYS, time(0), time(23, 59), "Mon–Sun 00:00–23:59"),
    (frozenset({5, 6}), time(9), time(13), "Sat, Sun 09:00–13:00"),
    (frozenset({0, 1, 2, 4}), time(9), time(17), "Mon–Wed, Fri 09:00–17:00"),
    (frozenset({5, 6, 0}), time(9), time(17), "Sat–Mon 09:00–17:00"),
    (frozenset({6}), time(9), time(17), "Sun 09:00–17:00"),
    (frozenset({0, 2, 4, 6}), time(9), time(17), "Sun, Mon, Wed, Fri 09:00–17:00"),
]


@pytest.mark.parametrize(("days", "start", "end", "expected"), FORMAT_CASES)
def test_format_work_hours(days: frozenset[int], start: time, end: time, expected: str) -> None:
    week = WorkWeek(tz=SYDNEY, days=days, start=start, end=end)
    assert format_work_hours(week) == expected
    # What we write reads back as the same week.
    assert parse_work_hours(expected, SYDNEY) == week


def test_to_dict_is_plain_json() -> None:
    week = WorkWeek(tz=NEW_YORK, days=SUN_THU, start=time(8, 30), end=time(16, 45))
    stored = to_dict(week)
    assert stored == {"days": [0, 1, 2, 3, 6], "start": "08:30", "end": "16:45"}
    assert json.loads(json.dumps(stored)) == stored
    assert to_dict(WorkWeek(tz=NEW_YORK)) == {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}


@pytest.mark.parametrize(
    "week",
    [
        WorkWeek(tz=NEW_YORK),
        WorkWeek(tz=KOLKATA, days=SUN_THU, start=time(10), end=time(18)),
        WorkWeek(tz=SYDNEY, days=frozenset({2}), start=time(0), end=time(23, 59, 30)),
        WorkWeek(tz=LONDON, days=ALL_DAYS, start=time(7, 15), end=time(7, 16)),
    ],
)
def test_to_dict_from_dict_round_trip(week: WorkWeek) -> None:
    assert from_dict(json.loads(json.dumps(to_dict(week))), week.tz) == week


def test_from_dict_fills_missing_keys_with_defaults() -> None:
    assert from_dict({}, KOLKATA) == WorkWeek(tz=KOLKATA)
    assert from_dict({"days": [6, 0]}, KOLKATA) == WorkWeek(tz=KOLKATA, days=frozenset({6, 0}))
    assert from_dict({"start": "07:00"}, KOLKATA) == WorkWeek(tz=KOLKATA, start=time(7))


@pytest.mark.parametrize(
    "data",
    [
        {"days": []},
        {"days": [7]},
        {"days": "mon-fri"},
        {"days": [True]},
        {"days": ["0"]},
        {"start": "9am"},
        {"start": "9:00"},
        {"start": 9},
        {"start": "24:00"},
        {"end": "17:60"},
        {"start": "18:00", "end": "17:00"},
    ],
)
def test_from_dict_refuses_malformed_data(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        from_dict(data, NEW_YORK)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Pacific/Apia", "America/Santiago",
                                  "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu"])
def test_the_periods_after_any_moment_are_those_a_walk_from_weeks_before_finds(zone: str) -> None:
    # The period tables are found by a moment's UTC date alone (no zone arithmetic per call): in zones a
    # day off UTC, across DST changes and across Samoa's skipped day (30 December 2011), the periods from
    # any moment on must be those a walk from a week earlier gives.
    for start in (datetime(2011, 12, 20, tzinfo=UTC), datetime(2026, 3, 25, tzinfo=UTC),
                  datetime(2026, 10, 20, tzinfo=UTC)):
        week = WorkWeek(ZoneInfo(zone), days=frozenset(range(7)), start=time(0, 30), end=time(23, 45))
        walked = list(islice(week._walk(start.date() - timedelta(days=7), None), 60))
        for hour in range(0, 24 * 21, 5):
            moment = start + timedelta(hours=hour, minutes=7)
            expected = [period for period in walked if period[1] > moment][:4]
            assert list(islice(week._periods(moment), 4)) == expected, moment
            assert week.shift_into_hours(moment) == (moment if expected[0][0] <= moment else expected[0][0])
