"""The daily digest of a big team, as the channel reads it through the strict stand-in: a few replies
whatever the size, what needs attention first, everyone's numbers, and `/tasks` commands that list the rest
with the same totals."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from models.enums import Priority, TaskStatus
from models.tables import Task
from scheduler.digest import DIGEST_LIST
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, MIA, RITA, TEAM, Bot

DIGEST = "CDIGEST"
THURSDAY_9_CHICAGO = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
ASSISTANTS = [ANA, *(f"UVA{n:03d}" for n in range(59))]  # 60 people, one holding nothing open


def _big_team(bot: Bot, count: int, at: datetime) -> None:
    """`count` tasks in one statement for 59 of the 60 assistants and the pool; the 60th only finished one."""
    kinds = [
        (TaskStatus.ASSIGNED, at - timedelta(hours=3)),  # overdue
        (TaskStatus.IN_PROGRESS, at + timedelta(hours=4)),  # due today
        (TaskStatus.BLOCKED, None),
        (TaskStatus.OPEN, None),  # unclaimed
        (TaskStatus.ASSIGNED, at + timedelta(days=4)),
        (TaskStatus.DONE, None),  # long ago
        (TaskStatus.CANCELLED, None),
    ]
    for user in ASSISTANTS[1:]:
        bot.slack.add_user(user, user.lower(), real_name=f"Assistant {user}", tz="Europe/London")
    rows = []
    for n in range(1, count + 1):
        status, due = kinds[n % len(kinds)]
        rows.append({
            "team_id": TEAM, "number": n, "title": f"Task {n} <!here> & co", "requester_id": RITA,
            "assignee_id": None if status is TaskStatus.OPEN else ASSISTANTS[1 + n % 59], "tags": [],
            "priority": Priority.HIGH if n % 11 == 0 else Priority.NORMAL, "due_at": due,
            "origin_channel_id": "CGENERAL", "card_channel_id": "CGENERAL", "status": status,
            "created_at": at - timedelta(days=60), "updated_at": at,
            "completed_at": at - timedelta(days=30) if status is TaskStatus.DONE else None, "version": 1,
        })
    rows.append({**rows[-1], "number": count + 1, "assignee_id": ANA, "status": TaskStatus.DONE,
                 "completed_at": at - timedelta(days=30)})
    with bot.handoff.services.db.transaction() as session:
        session.execute(insert(Task), rows)


def _total(answer: dict[str, Any]) -> int:
    found = re.search(r"\((\d+)\)$", answer["text"])
    assert found, answer["text"]
    return int(found.group(1))


def test_a_big_teams_digest_is_a_few_replies_with_commands_for_the_rest(bot: Bot, clock: FakeClock) -> None:
    bot.slack.add_channel(DIGEST, "ops-digest", members=[RITA, MIA])
    bot.tasks("digest here at 9:00", user=MIA, channel=DIGEST)
    _big_team(bot, 2_100, THURSDAY_9_CHICAGO)
    clock.set(THURSDAY_9_CHICAGO)
    report = bot.handoff.scheduler.run("digest")
    assert report is not None and report.digests == 1
    bot.deliver()

    [parent] = [m for m in bot.slack.messages(DIGEST) if "Daily digest" in m["text"]]
    assert parent["text"] == (
        "📋 Daily digest for 2026-11-26: 1500 open · 300 due today · 300 overdue · 300 blocked · "
        "300 unclaimed · 0 done since the last digest (nothing finished yet)"
    )
    replies = bot.slack.messages(DIGEST, thread_ts=parent["ts"])
    assert [r["text"] for r in replies] == [
        "Digest: *⏰ Overdue* (300)", "Digest: *📅 Due today* (300)", "Digest: *⛔ Blocked* (300)",
        "Digest: *⚪ Unclaimed* (300)", "Digest: *👥 Per person*",
    ]
    shown = ["\n".join(e["text"] for b in r["blocks"] for e in [b.get("text"), *b.get("elements", [])] if e)
             for r in replies]
    commands = ["/tasks overdue", "/tasks today", "/tasks blocked", "/tasks pool"]
    for text, command in zip(shown, commands, strict=False):
        assert text.count("\n• ") == DIGEST_LIST
        assert f"…and {300 - DIGEST_LIST} more: `{command}`" in text
        assert "<!here>" not in text  # titles are people's text: escaped
        # The command lists the same tasks: the same total, and the digest's first ones first.
        answer = bot.tasks(command.removeprefix("/tasks "), user=MIA)
        assert _total(answer) == 300
        listed = re.findall(r"\*(T-\d+)\*", "".join(b["text"]["text"] for b in answer["blocks"] if "text" in b))
        assert listed[:DIGEST_LIST] == re.findall(r"\*(T-\d+)\*", text)
    people = shown[-1].splitlines()[1:]
    assert len([line for line in people if line.startswith("• <@")]) == 60
    # Ana finished her one task a month ago: nothing this time, and she is still on it, at zero.
    assert f"• <@{ANA}> · 0 open · 0 overdue · 0 due today · 0 blocked · 0 done" in people
    first = next(line for line in people if line.startswith("• <@"))
    someone = first.split(">")[0].removeprefix("• <@")
    mine = _total(bot.tasks(f"<@{someone}>", user=MIA))
    assert f"· {mine} open ·" in first
