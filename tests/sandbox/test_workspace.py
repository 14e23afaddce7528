"""The sandbox workspace's clock: fast-forwarding stops on the quarter-hour, so things arrive on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sandbox.workspace import next_step, workspace

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("now", "step"),
    [
        (datetime(2026, 11, 30, 14, 0, tzinfo=UTC), datetime(2026, 11, 30, 14, 15, tzinfo=UTC)),
        (datetime(2026, 11, 30, 14, 7, 30, 5, tzinfo=UTC), datetime(2026, 11, 30, 14, 15, tzinfo=UTC)),
        (datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC), datetime(2026, 11, 30, 15, 0, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 50, tzinfo=UTC), datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_steps_end_on_the_quarter_hour(now: datetime, step: datetime) -> None:
    assert next_step(now) == step


def test_a_digest_arrives_at_its_minute_when_the_clock_is_moved_from_an_odd_time() -> None:
    # Monday 30 November 2026, 08:07 in Chicago: Mia asks for the digest at 8:30, then skips to 9:00.
    start = datetime(2026, 11, 30, 8, 7, tzinfo=CHICAGO)
    with workspace(start, live=True) as ws:
        answer = ws.client.command("UMIA", "/tasks", "digest here at 8:30", channel_id="CDIGEST")
        assert answer.status == 200
        ws.fast_forward(datetime(2026, 11, 30, 9, 0, tzinfo=CHICAGO))
        digests = [m for m in ws.slack.snapshot("UMIA")["messages"]["CDIGEST"] if "Daily digest" in m["text"]]
        assert len(digests) == 1
        posted = datetime.fromtimestamp(float(digests[0]["ts"]), CHICAGO)
        # It went out at 8:30 (plus the moment the step took), not at the next step of the clock's own pace.
        half_past_eight = datetime(2026, 11, 30, 8, 30, tzinfo=CHICAGO)
        assert half_past_eight <= posted < half_past_eight + timedelta(seconds=10)
