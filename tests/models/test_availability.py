"""Away by command or by Slack status, off hours, and reading `/tasks away …`."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from models.availability import AT_WORK, AWAY, OFF_HOURS, availability, parse_away, status_says_away
from models.errors import DomainError
from models.tables import Person
from models.worktime import WorkWeek

LONDON = WorkWeek(tz=ZoneInfo("Europe/London"))
MANILA = WorkWeek(tz=ZoneInfo("Asia/Manila"))
WED_3PM = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday, 15:00 in London


@pytest.mark.parametrize(
    ("text", "emoji", "away"),
    [
        ("Out of office", "", True),
        ("out of the office till Monday", "", True),
        ("OOO", "", True),
        ("Vacationing in Lisbon", "", True),
        ("On holiday", "", True),
        ("on leave", "", True),
        ("Off sick", "", True),
        ("", ":palm_tree:", True),
        ("", ":face_with_thermometer:", True),
        ("", ":beach_with_umbrella:", True),
        ("", ":airplane:", True),
        ("In a meeting", ":calendar:", False),
        ("Booking holidays for clients", "", True),  # the words are the words
        ("Zoom", "", False),
        ("", "", False),
        ("Moooving house", "", False),  # ooo only as a word
    ],
)
def test_a_slack_status_says_away(text: str, emoji: str, away: bool) -> None:
    assert status_says_away(text, emoji, None, WED_3PM) is away


def test_a_status_ends_at_its_own_expiry() -> None:
    ends = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert status_says_away("OOO", "", ends, WED_3PM)
    assert not status_says_away("OOO", "", ends, ends)


def _person(**values: object) -> Person:
    base: dict[str, object] = {"team_id": "T1", "user_id": "UANA", "name": "ana", "tz": "Europe/London",
                               "refreshed_at": WED_3PM}
    return Person.model_validate({**base, **values})


@pytest.mark.parametrize(
    ("values", "now", "state"),
    [
        ({}, WED_3PM, AT_WORK),
        ({}, datetime(2026, 11, 25, 18, 0, tzinfo=UTC), OFF_HOURS),
        ({"away_until": datetime(2026, 11, 30, 9, 0, tzinfo=UTC), "away_reason": "dentist"}, WED_3PM, AWAY),
        ({"away_until": WED_3PM}, WED_3PM, AT_WORK),  # back at that instant
        ({"status_text": "Out of office"}, datetime(2026, 11, 25, 18, 0, tzinfo=UTC), AWAY),  # away beats off hours
    ],
)
def test_availability(values: dict[str, object], now: datetime, state: str) -> None:
    assert availability(_person(**values), LONDON, now).state == state


@pytest.mark.parametrize(
    ("words", "back", "reason"),
    [
        # Until a date takes that whole date: away all Friday, back at Monday's 09:00 in London.
        ("until Friday", datetime(2026, 11, 30, 9, 0, tzinfo=UTC), ""),
        ("until Friday dentist and errands", datetime(2026, 11, 30, 9, 0, tzinfo=UTC), "dentist and errands"),
        ("until 2026-12-24 — Christmas", datetime(2026, 12, 25, 9, 0, tzinfo=UTC), "Christmas"),
        ("until today", datetime(2026, 11, 26, 9, 0, tzinfo=UTC), ""),
        # For 3 days: Wednesday, Thursday, Friday.
        ("for 3 days", datetime(2026, 11, 30, 9, 0, tzinfo=UTC), ""),
        ("for 1 day sick", datetime(2026, 11, 26, 9, 0, tzinfo=UTC), "sick"),
    ],
)
def test_parse_away(words: str, back: datetime, reason: str) -> None:
    assert parse_away(words.split(), now=WED_3PM, week=LONDON) == (back, reason)


def test_until_a_date_is_read_in_the_persons_own_zone() -> None:
    # 15:00 UTC Wednesday is 23:00 Wednesday in Manila: "until tomorrow" is Thursday there; back Friday 09:00.
    back, _ = parse_away(["until", "tomorrow"], now=WED_3PM, week=MANILA)
    assert back == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("words", "says"),
    [
        ("", "until when"),
        ("tomorrow", "until when"),
        ("until someday", "couldn't read"),
        ("for zero days", "not a number of days"),
        ("for 400 days", "not a number of days"),
        ("until 2026-11-20", "in the past"),
        ("for 2 days " + "x" * 201, "limit is 200"),
    ],
)
def test_parse_away_refused(words: str, says: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_away(words.split(), now=WED_3PM, week=LONDON)
    assert says in caught.value.message.lower()
