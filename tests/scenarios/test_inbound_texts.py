"""Hostile and unusual text, property-based, through the signed HTTP boundary.

Unicode of every kind, right-to-left text, ZWJ emoji, control characters, mrkdwn, Slack's mention and
broadcast syntax and 4,000-character strings, typed into `/delegate` and `/tasks`: the bot never answers
5xx nor logs a traceback, never sends a live broadcast to Slack, and stores titles exactly as typed.
"""

from __future__ import annotations

import json
import logging
import re
import string
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scenarios.conftest import ANA, GENERAL, RITA, Bot

BROADCASTS = ("<!channel", "<!here", "<!everyone", "<!subteam")
# What Slack itself puts in command text for a typed @channel, @here, a user or group mention, a channel
# or a link: these arrive raw, everything else typed arrives with `&`, `<`, `>` escaped.
SLACK_TOKENS = [
    "<!channel>", "<!here>", "<!everyone>", "<!subteam^S1>", "<!subteam^S1|@finance>", f"<@{ANA}>", "<@UBEN|ben>",
    f"<#{GENERAL}>", f"<#{GENERAL}|general>", "<https://example.com|click here>",
]
# A link's `&` arrives escaped inside Slack's token; the person typed a plain `&`.
LINK = ("<https://example.com/?a=1&amp;b=2>", "<https://example.com/?a=1&b=2>")
TYPED_PIECES = [
    "*bold*", "_it_", "~gone~", "`code`", "```block```", "> quote", "&", "&amp;", "&lt;", "<", ">", "<acct>",
    "a < b > c", "R&D", "<!channel>", "@here", "שלום עולם", "مرحبا بالعالم", "\u202eevil\u202c", "\u200f", "\u200b",
    "👩\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "👍🏽", "\x07", "\x1b[31m", "\t", "\r\n", "\u2028", "Ω≈ç√∫", "ﷺ",
    "Z\u0351\u0352\u0353a\u0300\u0301l\u0302g\u0303o", "\ufeff", "\U0001f600" * 3,
]
# No ASCII letters or digits (nor # ! @ that start tags, priorities and names) in the random part, so the
# title reads as typed whatever the date reader learns; the words around it are fixed.
RANDOM = st.text(
    st.characters(
        exclude_categories=("Cs", "Nd"), exclude_characters="\x00#!@" + string.ascii_letters + string.digits
    ),
    max_size=40,
)


def slack_escape(typed: str) -> str:
    """What Slack sends for typed text."""
    return typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def typed_text(draw: st.DrawFn) -> tuple[str, str]:
    """(what Slack sends, what the person meant): pieces typed, Slack's own tokens, maybe very long."""
    parts = draw(st.lists(st.one_of(
        RANDOM.map(lambda t: (slack_escape(t), t)),
        st.sampled_from(TYPED_PIECES).map(lambda t: (slack_escape(t), t)),
        st.sampled_from(SLACK_TOKENS).map(lambda t: (t, t)),
        st.just(LINK),
    ), max_size=8))
    if draw(st.integers(0, 9)) == 0:  # now and then, a 4,000-character text
        filler = draw(st.sampled_from(["x", "é", "&", "👩\u200d💻", "ש", " a"]))
        parts.append((slack_escape(filler * 4000)[:4000], (filler * 4000)[:4000]))
    sent = " ".join(s for s, _ in parts)
    meant = " ".join(m for _, m in parts)
    return sent, meant


@dataclass
class Tally:
    created: int = 0
    refused: int = 0
    seen: list[str] = field(default_factory=list)


def _check_answer(response_status: int, body: str) -> None:
    assert response_status < 500, body
    assert "Traceback" not in body
    assert not any(b in body for b in BROADCASTS), body


def _sent_since(bot: Bot, start: int) -> str:
    return json.dumps([c.params for c in bot.slack.calls[start:]], ensure_ascii=False)


def _no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad][:5]


BOUNDED = settings(
    max_examples=400, deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def test_delegate_stores_any_title_as_typed_and_sends_no_broadcast(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    tally = Tally()

    @BOUNDED
    @given(typed_text())
    def delegate(text: tuple[str, str]) -> None:
        sent, meant = text
        start = len(bot.slack.calls)
        response = bot.client.command(RITA, "/delegate", f"<@{ANA}> Send {sent} pack", channel_id=GENERAL)
        _check_answer(response.status, response.body)
        answer = response.json()["text"]
        title = " ".join(f"Send {meant} pack".split())
        if len(title) <= 250:
            tally.created += 1
            found = re.search(r"\bT-(\d+)\b", answer)
            assert found is not None, answer
            number = int(found.group(1))
            assert bot.task(number).title == title
        else:
            tally.refused += 1
            assert answer.startswith("⚠️") and "250" in answer, answer
        bot.deliver()
        sent_out = _sent_since(bot, start)
        assert not any(b in sent_out for b in BROADCASTS), sent_out[:2000]

    delegate()
    assert tally.created + tally.refused == 400
    assert tally.created >= 200 and tally.refused >= 20, tally
    _no_tracebacks(caplog)


@pytest.mark.parametrize("template", ["due T-1 {}", "hours {}", "{}", "snooze T-1 {}", "recurring pause {}"])
def test_tasks_answers_any_text_without_error_or_broadcast(
    bot: Bot, caplog: pytest.LogCaptureFixture, template: str
) -> None:
    caplog.set_level(logging.WARNING)
    bot.delegate(f"<@{ANA}> Pay the invoices")
    bot.deliver()

    @settings(BOUNDED, max_examples=40)
    @given(typed_text())
    def tasks(text: tuple[str, str]) -> None:
        start = len(bot.slack.calls)
        response = bot.client.command(ANA, "/tasks", template.format(text[0]), channel_id=GENERAL)
        _check_answer(response.status, response.body)
        bot.deliver()
        assert not any(b in _sent_since(bot, start) for b in BROADCASTS)

    tasks()
    _no_tracebacks(caplog)
