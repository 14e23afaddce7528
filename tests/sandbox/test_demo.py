"""The tour's rendering of Slack's `<!date^…>` for one reader."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sandbox.demo import slack_date

# Friday 4 December 2026, 22:00 UTC: 17:00 in New York, 22:00 in London, 09:00 on Saturday in Sydney.
STAMP = int(datetime(2026, 12, 4, 22, 0, tzinfo=UTC).timestamp())
FRIDAY_NOON = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("template", "zone", "now", "shown"),
    [
        ("{date_short_pretty} at {time}", "America/New_York", FRIDAY_NOON, "today at 5:00 PM"),
        ("{date_short_pretty} at {time}", "Australia/Sydney", FRIDAY_NOON, "tomorrow at 9:00 AM"),
        ("{date_short_pretty} at {time}", "Europe/London", MONDAY, "Dec 4, 2026 at 10:00 PM"),
        ("{date_long}", "America/Chicago", FRIDAY_NOON, "Friday, December 4th, 2026"),
        ("{date_num} {time_secs}", "Asia/Kolkata", FRIDAY_NOON, "2026-12-05 3:30:00 AM"),
        ("{date_pretty}", "Europe/London", datetime(2026, 12, 5, 9, tzinfo=UTC), "yesterday"),
        ("{ago}", "UTC", datetime(2026, 12, 4, 19, 0, tzinfo=UTC), "in 3 hours"),
        ("due {nonsense}", "UTC", FRIDAY_NOON, "due {nonsense}"),
    ],
)
def test_slack_date_reads_as_the_reader_sees_it(template: str, zone: str, now: datetime, shown: str) -> None:
    assert slack_date(STAMP, template, ZoneInfo(zone), now) == shown
