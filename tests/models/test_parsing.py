"""The parser for what people type: assignee, title, due date, priority, tags, task refs.

Expected instants are worked out by hand from the zone rules, not from the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from models.enums import Priority
from models.errors import BadDueDate, BadInput
from models.parsing import (
    MAX_TITLE_CHARS,
    Delegation,
    Mention,
    parse_delegation,
    parse_mention,
    parse_task_ref,
    parse_when,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")
SYDNEY = ZoneInfo("Australia/Sydney")

# Wednesday 25 November 2026, 15:00 UTC: 10:00 EST in New York, 15:00 GMT in London,
# 20:30 IST in Kolkata, Thursday 26 November 02:00 AEDT in Sydney.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def delegate(text: str, tz: ZoneInfo = NEW_YORK, now: datetime = NOW) -> Delegation:
    return parse_delegation(text, now=now, tz=tz)


# --- due dates ----------------------------------------------------------------------------------------

DUE_CASES = [
    # New York, Wednesday 10:00 EST (UTC-5)
    (NEW_YORK, "by Friday 5pm", utc(2026, 11, 27, 22, 0)),
    (NEW_YORK, "by Friday", utc(2026, 11, 27, 22, 0)),
    (NEW_YORK, "by friday 5:30 pm", utc(2026, 11, 27, 22, 30)),
    (NEW_YORK, "by 17:00 Friday", utc(2026, 11, 27, 22, 0)),
    (NEW_YORK, "by 5 p.m. Friday", utc(2026, 11, 27, 22, 0)),
    (NEW_YORK, "on Friday at 9am", utc(2026, 11, 27, 14, 0)),
    (NEW_YORK, "tomorrow", utc(2026, 11, 26, 22, 0)),
    (NEW_YORK, "tomorrow 9am", utc(2026, 11, 26, 14, 0)),
    (NEW_YORK, "tmrw 9am", utc(2026, 11, 26, 14, 0)),
    (NEW_YORK, "today 3pm", utc(2026, 11, 25, 20, 0)),
    (NEW_YORK, "tonight", utc(2026, 11, 26, 1, 0)),
    (NEW_YORK, "in 3 days", utc(2026, 11, 28, 22, 0)),
    (NEW_YORK, "in 2 hours", utc(2026, 11, 25, 17, 0)),
    (NEW_YORK, "in 30 minutes", utc(2026, 11, 25, 15, 30)),
    (NEW_YORK, "in 1 week", utc(2026, 12, 2, 22, 0)),
    (NEW_YORK, "in 2 months", utc(2027, 1, 25, 22, 0)),
    (NEW_YORK, "by 2 weeks from now", utc(2026, 12, 9, 22, 0)),
    (NEW_YORK, "by 2026-12-05 14:00", utc(2026, 12, 5, 19, 0)),
    (NEW_YORK, "by 12/5", utc(2026, 12, 5, 22, 0)),
    (NEW_YORK, "by 25/12", utc(2026, 12, 25, 22, 0)),
    (NEW_YORK, "by 12/5/27", utc(2027, 12, 5, 22, 0)),
    (NEW_YORK, "by Dec 5", utc(2026, 12, 5, 22, 0)),
    (NEW_YORK, "by 5th December 2026", utc(2026, 12, 5, 22, 0)),
    (NEW_YORK, "by Fri Dec 4", utc(2026, 12, 4, 22, 0)),
    (NEW_YORK, "by Jan 5", utc(2027, 1, 5, 22, 0)),  # already past this year: next January
    (NEW_YORK, "by Nov 25", utc(2026, 11, 25, 22, 0)),  # today, and 17:00 is still ahead
    (NEW_YORK, "by the 5th", utc(2026, 12, 5, 22, 0)),
    (NEW_YORK, "by EOD", utc(2026, 11, 25, 22, 0)),
    (NEW_YORK, "EOD", utc(2026, 11, 25, 22, 0)),
    (NEW_YORK, "by end of day", utc(2026, 11, 25, 22, 0)),
    (NEW_YORK, "by EOW", utc(2026, 11, 27, 22, 0)),
    (NEW_YORK, "due Monday", utc(2026, 11, 30, 22, 0)),
    (NEW_YORK, "on Monday", utc(2026, 11, 30, 22, 0)),
    (NEW_YORK, "due by Monday", utc(2026, 11, 30, 22, 0)),
    (NEW_YORK, "by noon", utc(2026, 11, 25, 17, 0)),
    (NEW_YORK, "by midnight", utc(2026, 11, 26, 5, 0)),  # the end of today
    (NEW_YORK, "by 9am", utc(2026, 11, 26, 14, 0)),  # a time alone that has passed: tomorrow
    (NEW_YORK, "next Tuesday", utc(2026, 12, 1, 22, 0)),
    (NEW_YORK, "next Thursday", utc(2026, 12, 3, 22, 0)),  # Thursday of next week, not tomorrow
    (NEW_YORK, "this Thursday", utc(2026, 11, 26, 22, 0)),
    (NEW_YORK, "by Wednesday", utc(2026, 11, 25, 22, 0)),  # today counts: 17:00 is still ahead
    (NEW_YORK, "by Wednesday 9am", utc(2026, 12, 2, 14, 0)),  # 09:00 today has passed: next week
    (NEW_YORK, "until Friday", utc(2026, 11, 27, 22, 0)),
    (NEW_YORK, "before Friday 5pm", utc(2026, 11, 27, 22, 0)),
    (NEW_YORK, "by the day after tomorrow", utc(2026, 11, 27, 22, 0)),
    (NEW_YORK, "tomorrow morning", utc(2026, 11, 26, 14, 0)),  # morning: 09:00
    (NEW_YORK, "by tomorrow afternoon", utc(2026, 11, 26, 20, 0)),  # afternoon: 15:00
    # London, Wednesday 15:00 GMT (UTC+0)
    (LONDON, "by Friday 5pm", utc(2026, 11, 27, 17, 0)),
    (LONDON, "today 4pm", utc(2026, 11, 25, 16, 0)),
    (LONDON, "tomorrow 9am", utc(2026, 11, 26, 9, 0)),
    (LONDON, "by EOD", utc(2026, 11, 25, 17, 0)),
    (LONDON, "by noon", utc(2026, 11, 26, 12, 0)),  # noon has passed: tomorrow's
    (LONDON, "in 3 days", utc(2026, 11, 28, 17, 0)),
    # Kolkata, Wednesday 20:30 IST (UTC+5:30)
    (KOLKATA, "tomorrow 9am", utc(2026, 11, 26, 3, 30)),
    (KOLKATA, "by Friday", utc(2026, 11, 27, 11, 30)),
    (KOLKATA, "tonight 11pm", utc(2026, 11, 25, 17, 30)),
    (KOLKATA, "by midnight", utc(2026, 11, 25, 18, 30)),
    (KOLKATA, "in 2 hours", utc(2026, 11, 25, 17, 0)),
    (KOLKATA, "by Wednesday", utc(2026, 12, 2, 11, 30)),  # today's 17:00 has passed
    # Sydney, Thursday 26 November 02:00 AEDT (UTC+11)
    (SYDNEY, "today", utc(2026, 11, 26, 6, 0)),
    (SYDNEY, "tomorrow 9am", utc(2026, 11, 26, 22, 0)),
    (SYDNEY, "by Friday", utc(2026, 11, 27, 6, 0)),
    (SYDNEY, "by EOW", utc(2026, 11, 27, 6, 0)),
    (SYDNEY, "by Thursday", utc(2026, 11, 26, 6, 0)),
    (SYDNEY, "by Wednesday", utc(2026, 12, 2, 6, 0)),
    (SYDNEY, "next Tuesday", utc(2026, 12, 1, 6, 0)),
    (SYDNEY, "by 12/5", utc(2027, 5, 12, 7, 0)),  # day-first by the zone's region: 12 May, 17:00 AEST
]


@pytest.mark.parametrize(("tz", "phrase", "expected"), DUE_CASES, ids=lambda v: str(v))
def test_due_dates_are_read_in_the_requesters_zone(tz: ZoneInfo, phrase: str, expected: datetime) -> None:
    parsed = delegate(f"Send the report {phrase}", tz)
    assert parsed.due_at == expected
    assert parsed.due_at is not None and parsed.due_at.tzinfo == UTC
    assert parsed.title == "Send the report"


@pytest.mark.parametrize(("tz", "phrase", "expected"), DUE_CASES, ids=lambda v: str(v))
def test_parse_when_reads_the_same_phrases(tz: ZoneInfo, phrase: str, expected: datetime) -> None:
    assert parse_when(phrase, now=NOW, tz=tz) == expected


DST_CASES = [
    # New York leaves DST at 02:00 on Sunday 1 Nov 2026; Saturday noon EDT -> 09:00 EST next day.
    (NEW_YORK, utc(2026, 10, 31, 16, 0), "tomorrow 9am", utc(2026, 11, 1, 14, 0)),
    (NEW_YORK, utc(2026, 10, 31, 16, 0), "in 1 day", utc(2026, 11, 1, 22, 0)),
    (NEW_YORK, utc(2026, 10, 31, 16, 0), "in 24 hours", utc(2026, 11, 1, 16, 0)),  # elapsed time
    # 01:30 happens twice that night: the earlier one (EDT) is meant.
    (NEW_YORK, utc(2026, 10, 31, 16, 0), "2026-11-01 1:30am", utc(2026, 11, 1, 5, 30)),
    # New York enters DST at 02:00 on Sunday 14 Mar 2027: 02:30 does not exist and moves to 03:30 EDT.
    (NEW_YORK, utc(2027, 3, 13, 12, 0), "2027-03-14 2:30am", utc(2027, 3, 14, 7, 30)),
    (NEW_YORK, utc(2027, 3, 13, 12, 0), "tomorrow 9am", utc(2027, 3, 14, 13, 0)),
    # London enters BST at 01:00 on Sunday 28 Mar 2027.
    (LONDON, utc(2027, 3, 27, 12, 0), "tomorrow 9am", utc(2027, 3, 28, 8, 0)),
    (LONDON, utc(2027, 3, 27, 12, 0), "tomorrow 1:30am", utc(2027, 3, 28, 1, 30)),  # gap: 02:30 BST
    # Sydney leaves DST at 03:00 on Sunday 4 Apr 2027 (AEDT +11 -> AEST +10).
    (SYDNEY, utc(2027, 4, 2, 0, 0), "Monday", utc(2027, 4, 5, 7, 0)),
    (SYDNEY, utc(2027, 4, 2, 0, 0), "Friday 5pm", utc(2027, 4, 2, 6, 0)),  # still today, AEDT
]


@pytest.mark.parametrize(("tz", "now", "phrase", "expected"), DST_CASES, ids=lambda v: str(v))
def test_dst_changes(tz: ZoneInfo, now: datetime, phrase: str, expected: datetime) -> None:
    assert parse_when(phrase, now=now, tz=tz) == expected


@pytest.mark.parametrize(
    ("now", "phrase", "expected"),
    [
        # Friday 27 Nov, 18:00 in London: 17:00 today has passed, 19:00 has not.
        (utc(2026, 11, 27, 18, 0), "by Friday 5pm", utc(2026, 12, 4, 17, 0)),
        (utc(2026, 11, 27, 18, 0), "by Friday 7pm", utc(2026, 11, 27, 19, 0)),
        (utc(2026, 11, 27, 18, 0), "by Friday", utc(2026, 12, 4, 17, 0)),
    ],
)
def test_weekday_means_next_occurrence(now: datetime, phrase: str, expected: datetime) -> None:
    assert parse_when(phrase, now=now, tz=LONDON) == expected


def test_day_end_is_configurable() -> None:
    assert parse_when("Friday", now=NOW, tz=NEW_YORK, day_end=time(18, 30)) == utc(2026, 11, 27, 23, 30)
    assert parse_when("EOD", now=NOW, tz=NEW_YORK, day_end=time(12, 0)) == utc(2026, 11, 25, 17, 0)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Sort mail by vendor", "Sort mail by vendor"),
        ("Review by 3 people", "Review by 3 people"),
        ("Sort samples by sun exposure", "Sort samples by sun exposure"),
        ("Turn on lights", "Turn on lights"),
        ("Meet at the office", "Meet at the office"),
        ("Fix bug in 2 places", "Fix bug in 2 places"),
        ("Log in", "Log in"),
        ("Do this", "Do this"),
        ("Book room 12/5", "Book room 12/5"),
    ],
)
def test_phrases_that_are_not_dates_stay_in_the_title(text: str, title: str) -> None:
    parsed = delegate(text)
    assert parsed.title == title
    assert parsed.due_at is None


@pytest.mark.parametrize(
    ("text", "title", "expected"),
    [
        ("Sort mail by vendor by Friday", "Sort mail by vendor", utc(2026, 11, 27, 22, 0)),
        ("Reply by email by Friday", "Reply by email", utc(2026, 11, 27, 22, 0)),
        ("Call Bob on Monday by 3pm", "Call Bob", utc(2026, 11, 30, 20, 0)),
        ("Call Bob tomorrow at 3pm", "Call Bob", utc(2026, 11, 26, 20, 0)),
        ("Report on Friday's numbers by Monday", "Report on Friday's numbers", utc(2026, 11, 30, 22, 0)),
        ("Check in on Monday", "Check in", utc(2026, 11, 30, 22, 0)),
        ("Log in tomorrow", "Log in", utc(2026, 11, 26, 22, 0)),
        ("Plan next sprint by next Friday", "Plan next sprint", utc(2026, 12, 4, 22, 0)),
        ("Write report, by Friday.", "Write report", utc(2026, 11, 27, 22, 0)),
        ("Write report by Friday!", "Write report", utc(2026, 11, 27, 22, 0)),
    ],
)
def test_only_the_trailing_date_phrase_is_taken(text: str, title: str, expected: datetime) -> None:
    parsed = delegate(text)
    assert (parsed.title, parsed.due_at) == (title, expected)


@pytest.mark.parametrize(
    ("tz", "text", "quoted"),
    [
        (NEW_YORK, "Review by Fridya 5pm", "Fridya 5pm"),
        (NEW_YORK, "Review by Feb 30", "Feb 30"),
        (NEW_YORK, "Review by 13pm", "13pm"),
        (NEW_YORK, "Review by 5", "5"),  # a day or a time? ask
        (NEW_YORK, "Review by May", "May"),
        (NEW_YORK, "Review by Fri Dec 5", "Fri Dec 5"),  # 5 Dec 2026 is a Saturday
        (NEW_YORK, "Review due 5pm tmrw for Ana", "5pm tmrw for Ana"),
        (NEW_YORK, "Review by yesterday", "yesterday"),
        (NEW_YORK, "Review today 9am", "today 9am"),
        (NEW_YORK, "Review by 2029-01-01", "2029-01-01"),
        (NEW_YORK, "Review in 3 years", "in 3 years"),
        (LONDON, "Review today 3pm", "today 3pm"),  # exactly now is not the future
        (KOLKATA, "Review by EOD", "EOD"),  # 17:00 IST has passed
        (KOLKATA, "Review tonight", "tonight"),  # 20:00 IST has passed
        (KOLKATA, "Review by Nov 25", "Nov 25"),  # today's end has passed; not next year
    ],
)
def test_bad_due_dates(tz: ZoneInfo, text: str, quoted: str) -> None:
    with pytest.raises(BadDueDate) as caught:
        delegate(text, tz)
    assert f'"{quoted}"' in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 11, 28, 10, 0), utc(2026, 12, 4, 17, 0)),  # Saturday: the coming work week's Friday
        (utc(2026, 11, 29, 23, 0), utc(2026, 12, 4, 17, 0)),  # Sunday night
        (utc(2026, 11, 27, 16, 0), utc(2026, 11, 27, 17, 0)),  # Friday before the day's end: today
    ],
)
def test_eow_on_a_weekend_is_the_coming_friday(now: datetime, expected: datetime) -> None:
    assert parse_when("EOW", now=now, tz=LONDON) == expected
    assert delegate("Send it by EOW", LONDON, now).due_at == expected


def test_eow_after_fridays_end_is_in_the_past() -> None:
    # Friday 18:00: this week's end has passed, as EOD has; the weekend rule starts on Saturday.
    with pytest.raises(BadDueDate, match="in the past"):
        parse_when("EOW", now=utc(2026, 11, 27, 18, 0), tz=LONDON)


@pytest.mark.parametrize("text", ["soonish", "", "   ", "by", "Fridya", "5", "last friday", "in 0 hours"])
def test_parse_when_refuses_what_it_cannot_use(text: str) -> None:
    with pytest.raises(BadDueDate) as caught:
        parse_when(text, now=NOW, tz=NEW_YORK)
    assert text.strip() in caught.value.message
    assert "`" in caught.value.hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in an hour", utc(2026, 11, 25, 16, 0)),
        ("in 2h", utc(2026, 11, 25, 17, 0)),
        ("by tomorrow", utc(2026, 11, 26, 22, 0)),
        ("Friday at 5:30pm", utc(2026, 11, 27, 22, 30)),
        ("end of the week", utc(2026, 11, 27, 22, 0)),
        ("2026-12-05", utc(2026, 12, 5, 22, 0)),
        ("December 5th, 2026 at 3pm", utc(2026, 12, 5, 20, 0)),
        ("noon Friday", utc(2026, 11, 27, 17, 0)),
        ("Friday midnight", utc(2026, 11, 28, 5, 0)),
    ],
)
def test_parse_when_forms(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW, tz=NEW_YORK) == expected


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("tomorrow", now=datetime(2026, 11, 25, 15, 0), tz=NEW_YORK)


# --- mentions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("<@U123ABC>", Mention(user_id="U123ABC", name=None)),
        ("<@U123ABC|ana>", Mention(user_id="U123ABC", name=None)),
        ("<@W0ENT42>", Mention(user_id="W0ENT42", name=None)),
        ("<@U123ABC>:", Mention(user_id="U123ABC", name=None)),
        ("@ana", Mention(user_id=None, name="ana")),
        ("@ana.b-c_d", Mention(user_id=None, name="ana.b-c_d")),
        ("@ana,", Mention(user_id=None, name="ana")),
        ("@ana.", Mention(user_id=None, name="ana")),
        ("<#C123|general>", None),
        ("<!here>", None),
        ("<!channel>", None),
        ("@here", None),
        ("@Channel", None),
        ("@everyone", None),
        ("@", None),
        ("ana", None),
        ("ana@example.com", None),
        ("", None),
    ],
)
def test_parse_mention(token: str, expected: Mention | None) -> None:
    assert parse_mention(token) == expected


@pytest.mark.parametrize(
    ("text", "assignee", "title"),
    [
        ("<@U123ABC> Reconcile invoices", Mention("U123ABC", None), "Reconcile invoices"),
        ("<@U123ABC|ana> Reconcile invoices", Mention("U123ABC", None), "Reconcile invoices"),
        ("@ana Reconcile invoices", Mention(None, "ana"), "Reconcile invoices"),
        ("@ana: Reconcile invoices", Mention(None, "ana"), "Reconcile invoices"),
        ("@ana - Reconcile invoices", Mention(None, "ana"), "Reconcile invoices"),
        ("Reconcile invoices", None, "Reconcile invoices"),
        ("Reconcile invoices with <@U999ZZZ>", None, "Reconcile invoices with <@U999ZZZ>"),
        ("@ana ask @bob about it", Mention(None, "ana"), "ask @bob about it"),
        ("<!here> who can fix the build?", None, "<!here> who can fix the build?"),
        ("<!channel> fix the build", None, "<!channel> fix the build"),
        ("<#C123|ops> fix the build", None, "<#C123|ops> fix the build"),
    ],
)
def test_leading_mention_is_the_assignee(text: str, assignee: Mention | None, title: str) -> None:
    parsed = delegate(text)
    assert (parsed.assignee, parsed.title) == (assignee, title)


# --- priority and tags --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "title", "priority", "tags"),
    [
        ("Fix login", "Fix login", Priority.NORMAL, ()),
        ("Fix login !high", "Fix login", Priority.HIGH, ()),
        ("!URGENT Fix login", "Fix login", Priority.URGENT, ()),
        ("Fix !low login", "Fix login", Priority.LOW, ()),
        ("Fix login !normal", "Fix login", Priority.NORMAL, ()),
        ("Fix login !high !High", "Fix login", Priority.HIGH, ()),
        ("Fix it #Ops #ops #front-end #q4_26", "Fix it", Priority.NORMAL, ("ops", "front-end", "q4_26")),
        ("Deploy #ops, then test", "Deploy, then test", Priority.NORMAL, ("ops",)),
        ("Ship it #ops.", "Ship it.", Priority.NORMAL, ("ops",)),
        ("Fix #42 in <#C123|general>", "Fix #42 in <#C123|general>", Priority.NORMAL, ()),
        ("Email me!", "Email me!", Priority.NORMAL, ()),
        ("Use C# for it", "Use C# for it", Priority.NORMAL, ()),
        (
            "<@U123ABC> Reconcile invoices #finance by Friday 5pm !high #Q4",
            "Reconcile invoices",
            Priority.HIGH,
            ("finance", "q4"),
        ),
    ],
)
def test_priority_and_tags(text: str, title: str, priority: Priority, tags: tuple[str, ...]) -> None:
    parsed = delegate(text)
    assert (parsed.title, parsed.priority, parsed.tags) == (title, priority, tags)


def test_tags_and_priority_between_words_of_the_due_phrase() -> None:
    parsed = delegate("Reconcile invoices by #finance Friday !high")
    assert parsed.due_at == utc(2026, 11, 27, 22, 0)
    assert (parsed.title, parsed.tags, parsed.priority) == ("Reconcile invoices", ("finance",), Priority.HIGH)


@pytest.mark.parametrize(("text", "quoted"), [("Fix login !foo", "!foo"), ("Fix login !Asap", "!Asap")])
def test_unknown_priority(text: str, quoted: str) -> None:
    with pytest.raises(BadInput) as caught:
        delegate(text)
    assert f'"{quoted}"' in caught.value.message
    for allowed in ("!low", "!normal", "!high", "!urgent"):
        assert allowed in caught.value.hint


def test_two_different_priorities() -> None:
    with pytest.raises(BadInput) as caught:
        delegate("Fix login !high !low")
    assert "!high" in caught.value.message and "!low" in caught.value.message


# --- titles -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "@ana", "<@U123ABC> !high #ops by Friday", "tomorrow", "#ops"])
def test_empty_title(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        delegate(text)
    assert caught.value.message == "What should be done?"
    assert "/delegate" in caught.value.hint


def test_whitespace_is_normalised() -> None:
    assert delegate("  Fix   the\n login \t page  ").title == "Fix the login page"


def test_title_at_the_limit_is_fine() -> None:
    title = "x" * MAX_TITLE_CHARS
    assert delegate(f"@ana {title} by Friday").title == title


def test_title_over_the_limit() -> None:
    with pytest.raises(BadInput) as caught:
        delegate("y" * (MAX_TITLE_CHARS + 1))
    assert str(MAX_TITLE_CHARS) in caught.value.message
    assert str(MAX_TITLE_CHARS + 1) in caught.value.message


# --- task references ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("T-42", 42),
        ("t-42", 42),
        ("T42", 42),
        ("42", 42),
        ("#42", 42),
        (" T-42 ", 42),
        ("T-0042", 42),
        ("T\u201342", 42),  # an en dash from autocorrect
        ("T-42,", 42),
        ("T-1", 1),
        ("T-0", None),
        ("0", None),
        ("-3", None),
        ("T-", None),
        ("T-4x2", None),
        ("T-42-1", None),
        ("X-42", None),
        ("abc", None),
        ("", None),
        ("99999999999", None),
    ],
)
def test_parse_task_ref(token: str, expected: int | None) -> None:
    assert parse_task_ref(token) == expected
