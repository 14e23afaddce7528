"""Due dates through the signed `/delegate` boundary: questions instead of guesses, times kept, the
requester's locale deciding `24/12` against `12/24`, and `by EOW` on a weekend.

The clock is Wednesday 25 November 2026, 15:00 UTC (10:00 in New York, 15:00 in London).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from models.tables import Outbox, Person, Task
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, RITA, TEAM, Bot


def _stored(bot: Bot) -> tuple[list[Task], list[Outbox]]:
    with bot.handoff.services.db.transaction() as session:
        return list(session.exec(select(Task))), list(session.exec(select(Outbox)))


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Send the report by Fridayy", 'Did you mean "Friday"?'),
        ("Send the report by Fridya 5pm", 'Did you mean "Friday 5pm"?'),
        ("Send the report due tomorow morningg", 'Did you mean "tomorrow morning"?'),
        ("Send the report by 5", 'Is "5" a day or a time?'),
        ("Send the report by tomorrow morning 3pm", 'couldn\'t read "tomorrow morning 3pm"'),
    ],
)
def test_a_near_date_gets_a_question_and_nothing_is_stored(bot: Bot, text: str, question: str) -> None:
    answer = bot.delegate(text)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("⚠️ ")
    assert question in answer["text"]
    bot.deliver()
    tasks, outbox = _stored(bot)
    assert tasks == [] and outbox == []
    assert bot.slack.calls_to("chat.postMessage") == []


def test_the_corrected_phrase_then_works(bot: Bot) -> None:
    assert "Did you mean" in bot.delegate("Send the report by Fridayy")["text"]
    assert bot.delegate("Send the report by Friday")["text"].startswith("✅ Created *T-1*")
    task = bot.task(1)
    assert (task.title, task.due_at) == ("Send the report", datetime(2026, 11, 27, 22, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "title", "due"),
    [
        # 09:00 EST is 14:00 UTC; before the fix this was 17:00 and "at 9" vanished from the title too.
        ("Send the report by tomorrow at 9", "Send the report", datetime(2026, 11, 26, 14, 0, tzinfo=UTC)),
        ("Send the report Friday 5pm", "Send the report", datetime(2026, 11, 27, 22, 0, tzinfo=UTC)),
        ("Check this by Friday", "Check this", datetime(2026, 11, 27, 22, 0, tzinfo=UTC)),
        ("Call the bank noon tomorrow", "Call the bank", datetime(2026, 11, 26, 17, 0, tzinfo=UTC)),
        ("Prepare for Monday", "Prepare for Monday", None),
    ],
)
def test_typed_times_and_title_words_are_kept(bot: Bot, text: str, title: str, due: datetime | None) -> None:
    assert bot.delegate(text)["text"].startswith("✅ Created *T-1*")
    task = bot.task(1)
    assert (task.title, task.due_at) == (title, due)


@pytest.mark.parametrize(
    ("user", "typed", "due"),
    [
        # Ana is in London with Slack locale en-GB: day first. 17:00 GMT = 17:00 UTC.
        (ANA, "24/12", datetime(2026, 12, 24, 17, 0, tzinfo=UTC)),
        (ANA, "12/5", datetime(2027, 5, 12, 16, 0, tzinfo=UTC)),  # 12 May, 17:00 BST
        # Rita is in New York with en-US: month first. 17:00 EST = 22:00 UTC.
        (RITA, "12/24", datetime(2026, 12, 24, 22, 0, tzinfo=UTC)),
        (RITA, "12/5", datetime(2026, 12, 5, 22, 0, tzinfo=UTC)),
        # 13/01 cannot be month-first: the only valid reading, 13 January, is used.
        (RITA, "13/01", datetime(2027, 1, 13, 22, 0, tzinfo=UTC)),
        (ANA, "12/24", datetime(2026, 12, 24, 17, 0, tzinfo=UTC)),
    ],
)
def test_day_first_or_month_first_by_the_requesters_locale(bot: Bot, user: str, typed: str, due: datetime) -> None:
    assert bot.delegate(f"Pay the invoice by {typed}", user=user)["text"].startswith("✅ Created *T-1*")
    assert bot.task(1).due_at == due


def test_the_locale_is_asked_for_and_stored(bot: Bot) -> None:
    bot.delegate("Pay the invoice by 24/12", user=ANA)
    # People are read from the member list in the background and one by one when unknown or stale.
    calls = bot.slack.calls_to("users.list") + bot.slack.calls_to("users.info")
    assert calls and all(str(call.params.get("include_locale")).lower() in {"1", "true"} for call in calls)
    with bot.handoff.services.db.transaction() as session:
        person = session.exec(select(Person).where(Person.team_id == TEAM, Person.user_id == ANA)).one()
    assert person.locale == "en-GB"


def test_without_a_locale_the_zone_decides(bot: Bot) -> None:
    # A Sydney person whose locale Slack did not give: Australia writes the day first.
    bot.slack.add_user("USYD", "chen", tz="Australia/Sydney", locale="")
    bot.slack.add_channel("CSYD", "sydney", members=["USYD"])
    assert bot.delegate("Pay the invoice by 12/5", user="USYD", channel="CSYD")["text"].startswith("✅ Created *T-1*")
    # 12 May 2027, 17:00 AEST (UTC+10) = 07:00 UTC.
    assert bot.task(1).due_at == datetime(2027, 5, 12, 7, 0, tzinfo=UTC)


def test_by_eow_on_a_weekend_is_the_coming_friday(bot: Bot, clock: FakeClock) -> None:
    clock.set(datetime(2026, 11, 28, 15, 0, tzinfo=UTC))  # Saturday 10:00 in New York
    answer = bot.delegate("Send the report by EOW")
    assert answer["text"].startswith("✅ Created *T-1*"), answer["text"]
    assert bot.task(1).due_at == datetime(2026, 12, 4, 22, 0, tzinfo=UTC)  # Friday 4 Dec, 17:00 EST


def test_dates_follow_the_requesters_working_week_and_hours(bot: Bot) -> None:
    # Ana (London) works 10:00-18:00, Sunday to Thursday.
    assert "Got it" in bot.tasks("hours 10:00-18:00 sun-thu", user=ANA)["text"]
    assert bot.delegate("Pay the invoice by EOW", user=ANA)["text"].startswith("✅ Created *T-1*")
    assert bot.task(1).due_at == datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # Thursday, 18:00 GMT
    assert bot.delegate("File the receipts by Dec 5", user=ANA)["text"].startswith("✅ Created *T-2*")
    assert bot.task(2).due_at == datetime(2026, 12, 5, 18, 0, tzinfo=UTC)
