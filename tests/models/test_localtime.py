"""The one DST rule (models.localtime), and that parsing, working hours, recurrence and jobs all follow it.

Expected instants are worked out by hand from the zone rules, not from the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.localtime import local_instant, wall_instant
from models.parsing import parse_when
from models.recurrence import Recurrence, next_occurrence
from models.tables import DigestSubscription
from models.worktime import WorkWeek
from scheduler.digest import digest_owed

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


CASES = [
    # New York springs forward at 02:00 EST on Sun 14 Mar 2027 (to 03:00 EDT): 02:30 is read with EST
    # (UTC-5), the offset before the gap, so it is 07:30 UTC = 03:30 EDT, a whole gap later.
    (NEW_YORK, date(2027, 3, 14), time(2, 30), utc(2027, 3, 14, 7, 30)),
    (NEW_YORK, date(2027, 3, 14), time(2, 0), utc(2027, 3, 14, 7, 0)),  # the gap's start: 03:00 EDT
    (NEW_YORK, date(2027, 3, 14), time(1, 59), utc(2027, 3, 14, 6, 59)),  # just before: EST
    (NEW_YORK, date(2027, 3, 14), time(3, 0), utc(2027, 3, 14, 7, 0)),  # just after: EDT
    # New York falls back at 02:00 EDT on Sun 1 Nov 2026: 01:30 happens twice; the first (EDT) counts.
    (NEW_YORK, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),
    (NEW_YORK, date(2026, 11, 1), time(1, 30, fold=1), utc(2026, 11, 1, 5, 30)),  # a stray fold=1 too
    (NEW_YORK, date(2026, 11, 1), time(2, 30), utc(2026, 11, 1, 7, 30)),  # after the fold: EST
    # London springs forward at 01:00 GMT on Sun 28 Mar 2027: 01:30 GMT = 01:30 UTC = 02:30 BST.
    (LONDON, date(2027, 3, 28), time(1, 30), utc(2027, 3, 28, 1, 30)),
    # London falls back at 02:00 BST on Sun 31 Oct 2027: the first 01:30 is BST = 00:30 UTC.
    (LONDON, date(2027, 10, 31), time(1, 30), utc(2027, 10, 31, 0, 30)),
    # Sydney springs forward at 02:00 AEST on Sun 3 Oct 2027: 02:30 AEST = 16:30 UTC Sat = 03:30 AEDT.
    (SYDNEY, date(2027, 10, 3), time(2, 30), utc(2027, 10, 2, 16, 30)),
    # Sydney falls back at 03:00 AEDT on Sun 4 Apr 2027: the first 02:30 is AEDT = 15:30 UTC Sat.
    (SYDNEY, date(2027, 4, 4), time(2, 30), utc(2027, 4, 3, 15, 30)),
    # Lord Howe's gap is 30 minutes (02:00 -> 02:30 on Sun 4 Oct 2026, +10:30 -> +11): 02:15 moves by 30
    # minutes, not an hour, to 02:45 = 15:45 UTC.
    (LORD_HOWE, date(2026, 10, 4), time(2, 15), utc(2026, 10, 3, 15, 45)),
]


@pytest.mark.parametrize(("tz", "day", "clock", "expected"), CASES, ids=lambda v: str(v))
def test_gap_moves_forward_by_its_length_and_a_fold_takes_the_first(
    tz: ZoneInfo, day: date, clock: time, expected: datetime
) -> None:
    assert local_instant(day, clock, tz) == expected
    assert local_instant(day, clock, tz).tzinfo is UTC
    assert wall_instant(datetime.combine(day, clock), tz) == expected


def test_a_time_in_the_gap_keeps_its_distance_from_the_gap_start() -> None:
    # 02:30 is 30 minutes after 02:00 on any night; on the change night it is still 30 minutes after
    # the gap's start (02:00 EST = 03:00 EDT), which is what calendars do with a 02:30 meeting.
    start = local_instant(date(2027, 3, 14), time(2, 0), NEW_YORK)
    assert local_instant(date(2027, 3, 14), time(2, 30), NEW_YORK) - start == timedelta(minutes=30)


def test_an_aware_wall_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="naive"):
        wall_instant(datetime(2027, 3, 14, 2, 30, tzinfo=NEW_YORK), NEW_YORK)


GAP_AND_FOLD = [
    # (zone, local date, local time, `now` the day before, the instant every module must give)
    (NEW_YORK, date(2027, 3, 14), time(2, 30), utc(2027, 3, 13, 12), utc(2027, 3, 14, 7, 30)),
    (NEW_YORK, date(2026, 11, 1), time(1, 30), utc(2026, 10, 31, 12), utc(2026, 11, 1, 5, 30)),
    (LONDON, date(2027, 3, 28), time(1, 30), utc(2027, 3, 27, 12), utc(2027, 3, 28, 1, 30)),
    (LONDON, date(2027, 10, 31), time(1, 30), utc(2027, 10, 30, 12), utc(2027, 10, 31, 0, 30)),
    (SYDNEY, date(2027, 10, 3), time(2, 30), utc(2027, 10, 2, 0), utc(2027, 10, 2, 16, 30)),
    (SYDNEY, date(2027, 4, 4), time(2, 30), utc(2027, 4, 3, 0), utc(2027, 4, 3, 15, 30)),
]


@pytest.mark.parametrize(("tz", "day", "clock", "now", "expected"), GAP_AND_FOLD, ids=lambda v: str(v))
def test_parsing_hours_recurrence_and_jobs_agree(
    tz: ZoneInfo, day: date, clock: time, now: datetime, expected: datetime
) -> None:
    # Parsing: the typed date and time.
    typed = f"{day.isoformat()} {clock.strftime('%H:%M')}"
    assert parse_when(typed, now=now, tz=tz) == expected
    # Working hours: a day that starts at that time.
    week = WorkWeek(tz=tz, days=frozenset(range(7)), start=clock, end=time(12, 0))
    assert week.day_start(day) == expected
    assert week.next_start(now) == expected
    # Recurrence: a daily rule at that time.
    assert next_occurrence(Recurrence(freq="daily", at=clock), after=now, tz=tz) == expected
    # Jobs: a digest at that time is owed from that instant, not a second before.
    subscription = DigestSubscription(
        team_id="T1", channel_id="C1", user_id="U1", tz=tz.key, at=clock.strftime("%H:%M"),
        hours={}, active=True, created_at=now,
    )
    assert digest_owed(subscription, week, expected) == day
    assert digest_owed(subscription, week, expected - timedelta(seconds=1)) is None
