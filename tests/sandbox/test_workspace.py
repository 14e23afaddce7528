"""The sandbox workspace's clock: fast-forwarding stops on the quarter-hour, so things arrive on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.contract import CONTRACT_ENV
from sandbox.workspace import next_step, seeded_standin, workspace

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


def test_the_sandbox_runs_strict_even_without_the_contract_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CONTRACT_ENV, str(tmp_path))  # a real install has no ../shared beside it
    slack = seeded_standin()
    try:
        assert slack.strict
        assert slack.contract.source == "slack_sdk WebClient signatures"
        web = WebClient(token=slack.token, base_url=slack.api_url)
        menu = {"type": "overflow", "action_id": "more", "options": [
            {"text": {"type": "plain_text", "text": f"o{i}"}, "value": str(i)} for i in range(6)
        ]}
        with pytest.raises(SlackApiError) as refused:
            web.chat_postMessage(channel="#general", text="x", blocks=[{"type": "actions", "elements": [menu]}])
        assert refused.value.response["error"] == "invalid_blocks"
        with pytest.raises(SlackApiError) as unknown:
            web.chat_postMessage(channel="#general", text="x", colour="red")
        assert unknown.value.response["error"] == "invalid_arguments"
    finally:
        slack.stop()
