"""Long content and large lists stay valid Slack messages, are never cut mid-entity, and count truly."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from sqlmodel import select

from models.enums import TaskStatus
from models.tables import Task
from tests.factories import make_task
from tests.scenarios.conftest import ANA, GENERAL, TEAM, Bot

TYPED = "Send <acct 4402> & R&D pack"
_ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")


def _slack_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _texts(blocks: Any) -> list[str]:
    """Every mrkdwn text in a block tree."""
    found: list[str] = []
    if isinstance(blocks, dict):
        if blocks.get("type") == "mrkdwn":
            found.append(str(blocks["text"]))
        for value in blocks.values():
            found += _texts(value)
    elif isinstance(blocks, list):
        for value in blocks:
            found += _texts(value)
    return found


def _well_formed(text: str) -> None:
    assert not _ENTITY.search(text), f"bare & in {text[:200]!r}"
    stripped = re.sub(r"<[^<>]*>", "", text)
    assert "<" not in stripped and ">" not in stripped, f"unbalanced <> in {text[:200]!r}"


def test_a_title_with_angle_brackets_and_ampersands_shows_exactly_as_typed_everywhere(bot: Bot) -> None:
    answer = bot.delegate(f"<@UANA> {_slack_escaped(TYPED)} by Friday 5pm")
    bot.deliver()
    assert bot.task(1).title == TYPED
    shown = [answer["text"], *_texts(bot.card(1)["blocks"]), bot.card(1)["text"]]
    shown += [m["text"] for m in bot.slack.dms(ANA)] + _texts([m.get("blocks") for m in bot.slack.dms(ANA)])
    shown += _texts(bot.tasks("@ana")["blocks"]) + _texts(bot.tasks("T-1")["blocks"])
    for text in shown:
        _well_formed(text)
    # What a person reads (Slack turns the entities back into characters) is what was typed.
    for text in (answer["text"], bot.card(1)["text"], bot.slack.dms(ANA)[0]["text"]):
        assert TYPED in html.unescape(text), text


def test_long_titles_notes_and_reasons_keep_every_message_within_slack_limits(bot: Bot) -> None:
    title = ("R&D <ledger> " * 40)[:120].strip()
    bot.delegate(f"<@UANA> {_slack_escaped(title)}")
    bot.deliver()
    ts = bot.task(1).card_ts
    assert ts is not None
    bot.client.click_button(ANA, GENERAL, ts, "task_block")
    modal = bot.slack.open_views[-1]
    reason = "waiting on <the bank> & R&D " * 20
    bot.client.view_submission(ANA, modal, {"reason": {"value": {"type": "plain_text_input", "value": reason[:500]}}})
    report = bot.deliver()
    assert report.dead == 0  # Slack refused nothing
    assert bot.task(1).status is TaskStatus.BLOCKED
    for text in _texts(bot.card(1)["blocks"]):
        _well_formed(text)
    assert html.unescape(bot.card(1)["text"]).startswith(f"T-1: {title}")


def test_a_long_list_pages_and_reports_its_true_count(bot: Bot) -> None:
    now = bot.handoff.services.clock()
    for n in range(60):
        make_task(bot.handoff.services.db, now, team_id=TEAM, assignee_id=ANA, title=f"Invoice batch {n + 1}")
    first = bot.tasks("<@UANA|ana>")
    shown = "\n".join(_texts(first["blocks"]))
    assert first["text"] == "Open tasks of <@UANA> (60)"
    assert shown.count("Invoice batch") == 25
    assert "Showing 1–25 of 60" in shown and "page 2" in shown
    third = bot.tasks("<@UANA|ana> page 3")
    shown = "\n".join(_texts(third["blocks"]))
    assert shown.count("Invoice batch") == 10 and "Showing 51–60 of 60" in shown and "page 4" not in shown
    numbers = [int(n) for n in re.findall(r"Invoice batch (\d+)", "\n".join(
        "\n".join(_texts(bot.tasks(f"<@UANA|ana> page {p}")["blocks"])) for p in (1, 2, 3)
    ))]
    assert sorted(numbers) == list(range(1, 61))  # every task on exactly one page
    assert "not a page number" in bot.tasks("open page ³")["text"]


def test_a_long_history_shows_the_newest_events_first_and_counts_the_older_ones(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    for n in range(30):
        bot.tasks(f"block T-1 waiting for statement {n} & <copy>", user=ANA)
        bot.tasks("unblock T-1", user=ANA)
    detail = bot.tasks("T-1")
    assert len(detail["blocks"]) <= 50
    texts = _texts(detail["blocks"])
    history = "\n".join(t for t in texts if "History" in t or "blocked this" in t or "unblocked" in t)
    assert history.index("unblocked this") < history.index("statement 29")  # newest first
    assert "statement 29" in history and "statement 0 " not in history
    older = next(t for t in texts if "older event" in t)
    shown = sum(1 for t in texts for line in t.split("\n") if line.startswith("<!date^"))
    assert re.search(r"…and (\d+) older events", older)
    assert int(re.search(r"…and (\d+) older", older).group(1)) + shown == 61  # type: ignore[union-attr]
    for text in texts:
        _well_formed(text)
    json.dumps(detail)


def test_too_many_or_too_long_tags_get_a_clear_error_and_no_task(bot: Bot) -> None:
    many = " ".join(f"#tag{n}x" for n in range(11))
    assert "11 tags; a task takes at most 10" in bot.delegate(f"<@UANA> Reconcile {many}")["text"]
    long = "#" + "a" * 41
    assert "a tag takes at most 40" in bot.delegate(f"<@UANA> Reconcile {long}")["text"]
    ten = " ".join(f"#{'t' * 36}{n:02d}" for n in range(10))
    bot.delegate(f"<@UANA> Reconcile {ten}")
    assert bot.deliver().dead == 0
    assert len(bot.task(1).tags) == 10
    with bot.handoff.services.db.read() as session:
        assert len(session.exec(select(Task)).all()) == 1
