"""The daily digest against real databases: what needs attention, capped; everyone's numbers; and a cost
in statements and loaded rows that does not grow with the number of tasks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import event, insert
from sqlmodel import col, select

from bot.render import digest_headline, digest_section
from models.db import Database
from models.enums import Priority, TaskStatus, WorkspaceRole
from models.people import Actor
from models.schedule import set_digest
from models.tables import DigestSubscription, Outbox, Task
from models.tasks import block_task, complete_task
from sandbox.blockkit import message_refusal
from scheduler.config import JobConfig
from scheduler.digest import DIGEST_LIST, DIGEST_PEOPLE, run_digests, run_each_digest
from tests.factories import TEAM, make_task

CONFIG = JobConfig(managers=frozenset({"UMIA"}))
TUESDAY = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DIGEST_AT = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # Wednesday 09:00 in New York
LATE = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # overdue at the digest
TONIGHT = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # 15:00 in New York: due today


def _subscribe(db: Database) -> None:
    with db.transaction() as s:
        set_digest(session=s, team_id=TEAM, channel_id="CDIGEST", actor=Actor("UMIA", WorkspaceRole.MANAGER),
                   at=time(9, 0), tz="America/New_York", hours={}, now=datetime(2026, 1, 5, tzinfo=UTC))


def _queued(db: Database) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The newest digest's parent payload and its replies' sections, in order."""
    with db.transaction() as s:
        rows = s.exec(select(Outbox).where(col(Outbox.kind).startswith("digest.")).order_by(col(Outbox.id))).all()
    parent = [r for r in rows if r.kind == "digest.post"][-1]
    replies = [r.payload["section"] for r in rows if r.payload.get("parent") == parent.key]
    return parent.payload, replies


def _assert_slack_takes(parent: dict[str, Any], sections: list[dict[str, Any]]) -> None:
    for text, blocks in [digest_headline(parent), *map(digest_section, sections)]:
        assert message_refusal(text, blocks) is None, text


def test_the_digest_lists_what_needs_attention_capped_and_counts_everyone(db: Database) -> None:
    _subscribe(db)
    late = [make_task(db, TUESDAY, title=f"Late {i}", due_at=LATE + timedelta(minutes=i)) for i in range(12)]
    urgent = make_task(db, TUESDAY, title="Urgent and late", due_at=LATE + timedelta(hours=1), priority=Priority.URGENT)
    make_task(db, TUESDAY, assignee_id="UBEN", title="Tonight", due_at=TONIGHT)
    stuck = make_task(db, TUESDAY, assignee_id="UBEN", title="Waiting for the bank")
    for i in range(3):
        make_task(db, TUESDAY, assignee_id=None, title=f"Pool {i}")
    old = make_task(db, TUESDAY - timedelta(days=10), assignee_id="UCAL", title="Long done")
    finished = make_task(db, TUESDAY, title="Finished")
    with db.transaction() as s:
        block_task(session=s, team_id=TEAM, number=stuck.number, actor=Actor("UBEN"), reason="bank", now=TUESDAY)
        complete_task(session=s, team_id=TEAM, number=old.number, actor=Actor("UCAL"), now=TUESDAY - timedelta(days=9))
        earlier = DIGEST_AT - timedelta(hours=4)
        complete_task(session=s, team_id=TEAM, number=finished.number, actor=Actor("UANA"), now=earlier)

    with db.transaction() as s:
        assert run_digests(s, DIGEST_AT, CONFIG).digests == 1
    parent, sections = _queued(db)
    assert parent["headline"] == {
        "open": 18, "due_today": 1, "overdue": 13, "blocked": 1, "unclaimed": 3, "done": 1, "on_time_rate": 100,
    }
    lists = {s["group"]: s for s in sections if s["kind"] == "list"}
    assert list(lists) == ["overdue", "due_today", "blocked", "unclaimed", "done"]
    overdue = lists["overdue"]
    assert (overdue["total"], overdue["more"], len(overdue["items"])) == (13, "/tasks overdue", DIGEST_LIST)
    # Most pressing first: priority, then the earliest due.
    assert [i["ref"] for i in overdue["items"]] == [urgent.ref, *(t.ref for t in late[:DIGEST_LIST - 1])]
    assert [i["title"] for i in lists["blocked"]["items"]] == ["Waiting for the bank"]
    assert [i["title"] for i in lists["done"]["items"]] == ["Finished"]  # not what was done before the last one
    [people] = [s for s in sections if s["kind"] == "people"]
    assert people["rows"] == [
        {"user_id": "UANA", "open": 13, "overdue": 13, "due_today": 0, "blocked": 0, "done": 1},
        {"user_id": "UBEN", "open": 2, "overdue": 0, "due_today": 1, "blocked": 1, "done": 0},
        {"user_id": "UCAL", "open": 0, "overdue": 0, "due_today": 0, "blocked": 0, "done": 0},  # still on it
    ]
    _assert_slack_takes(parent, sections)
    text, blocks = digest_section(overdue)
    assert "…and 3 more: `/tasks overdue`" in blocks[-1]["elements"][0]["text"]


def _bulk(db: Database, count: int, first: int, at: datetime) -> None:
    """`count` tasks in one statement, spread over 20 assistants, in every state and every kind of due time
    that the digest at `at` sorts into."""
    statuses = [TaskStatus.OPEN, TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED, TaskStatus.DONE,
                TaskStatus.CANCELLED]
    dues = [None, at - timedelta(hours=2), at + timedelta(hours=6), at + timedelta(days=3)]
    rows = []
    for n in range(first, first + count):
        status = statuses[n % len(statuses)]
        done = status is TaskStatus.DONE
        rows.append({
            "team_id": TEAM, "number": n, "title": f"Task {n}", "requester_id": "URITA",
            "assignee_id": None if status is TaskStatus.OPEN else f"UA{n % 20:02d}", "priority": Priority.NORMAL,
            "tags": [], "due_at": dues[n % len(dues)], "origin_channel_id": "CGENERAL",
            "card_channel_id": "CGENERAL", "status": status, "created_at": TUESDAY, "updated_at": TUESDAY,
            # Most were finished long ago; one in ten since the last digest.
            "completed_at": (at - timedelta(hours=1 if n % 10 == 4 else 24 * 30)) if done else None,
            "version": 1,
        })
    with db.transaction() as s:
        s.execute(insert(Task), rows)


@contextmanager
def _counting(db: Database) -> Iterator[dict[str, int]]:
    """Counts SQL statements sent and Task rows loaded as objects while the block runs."""
    seen = {"statements": 0, "tasks_loaded": 0}

    def statement(*_: Any) -> None:
        seen["statements"] += 1

    def loaded(*_: Any) -> None:
        seen["tasks_loaded"] += 1

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(Task, "load", loaded)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(Task, "load", loaded)


def _digest_on(db: Database, day: datetime) -> dict[str, int]:
    with _counting(db) as seen, db.transaction() as s:
        assert run_digests(s, day, CONFIG).digests == 1
    return seen


def test_statements_and_rows_loaded_do_not_grow_with_the_number_of_tasks(db: Database) -> None:
    _subscribe(db)
    _bulk(db, 50, first=1, at=DIGEST_AT)
    small = _digest_on(db, DIGEST_AT)
    thursday = DIGEST_AT + timedelta(days=1)  # the next digest
    _bulk(db, 4_950, first=51, at=thursday)
    large = _digest_on(db, thursday)
    assert large["statements"] == small["statements"]
    # Only what it shows: the capped lists of the four kinds of attention and of what was done.
    assert large["tasks_loaded"] <= 5 * DIGEST_LIST
    parent, sections = _queued(db)
    assert parent["headline"]["open"] == sum(1 for n in range(1, 5_001) if n % 6 < 4)
    assert len(sections) <= 6  # a few replies, not one per task
    [people] = [s for s in sections if s["kind"] == "people"]
    assert len(people["rows"]) == 20
    _assert_slack_takes(parent, sections)


def test_a_team_larger_than_a_reply_is_counted_over_parts_with_nobody_twice(db: Database) -> None:
    _subscribe(db)
    rows = [{
        "team_id": TEAM, "number": n, "title": f"Task {n}", "requester_id": "URITA", "assignee_id": f"U{n:04d}",
        "priority": Priority.NORMAL, "tags": [], "due_at": LATE if n % 2 else None, "origin_channel_id": "CGENERAL",
        "card_channel_id": "CGENERAL", "status": TaskStatus.ASSIGNED, "created_at": TUESDAY, "updated_at": TUESDAY,
        "version": 1,
    } for n in range(1, 2 * DIGEST_PEOPLE + 51)]
    with db.transaction() as s:
        s.execute(insert(Task), rows)
        assert run_digests(s, DIGEST_AT, CONFIG).digests == 1
    parent, sections = _queued(db)
    parts = [s for s in sections if s["kind"] == "people"]
    assert [(p["part"], p["parts"]) for p in parts] == [(1, 3), (2, 3), (3, 3)]
    users = [row["user_id"] for p in parts for row in p["rows"]]
    assert sorted(users) == sorted(r["assignee_id"] for r in rows)
    assert all(row["overdue"] for row in parts[0]["rows"])  # 125 are late: they come first
    _assert_slack_takes(parent, sections)


def test_a_subscription_in_a_zone_this_machine_does_not_know_stops_no_other_digest(db: Database) -> None:
    _subscribe(db)
    with db.transaction() as s:
        s.add(DigestSubscription(team_id="TOTHER", channel_id="CMARS", user_id="UMIA", tz="Mars/Olympus_Mons",
                                 at="09:00", created_at=datetime(2026, 1, 5, tzinfo=UTC)))
    make_task(db, TUESDAY, due_at=LATE)
    assert run_each_digest(db, DIGEST_AT, CONFIG).digests == 1
    parent, _ = _queued(db)
    assert parent["channel"] == "CDIGEST"
