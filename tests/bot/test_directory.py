"""Reading Slack user objects into what the directory caches."""

from __future__ import annotations

from bot.directory import info_from_slack


def test_info_from_slack_reads_the_locale() -> None:
    assert info_from_slack({"id": "U1", "name": "ana", "tz": "Europe/London", "locale": "en-GB"}).locale == "en-GB"
    assert info_from_slack({"id": "U1", "name": "ana"}).locale == ""
