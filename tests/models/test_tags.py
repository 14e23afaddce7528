"""`/tasks #tag` in SQL: the tag rows written with each task, filtered, sorted, paged and counted by the
database, and the migration that copies the tags of tasks made before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, text
from sqlmodel import select

from migrations import upgrade
from models.db import Database, make_engine
from models.enums import Priority, TaskStatus
from models.people import Actor
from models.queries import active_tasks
from models.tables import Task, TaskTag
from models.tasks import complete_task
from tests.factories import TEAM, make_task

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_a_tag_lists_only_its_open_tasks_most_pressing_first_a_page_at_a_time(db: Database) -> None:
    later = make_task(db, NOW, title="Payroll later", tags=("payroll", "q4"), due_at=NOW + timedelta(days=3))
    make_task(db, NOW, title="Untagged")
    make_task(db, NOW, title="Other tag", tags=("bookkeeping",))
    urgent = make_task(db, NOW, title="Payroll urgent", tags=("payroll",), priority=Priority.URGENT)
    sooner = make_task(db, NOW, title="Payroll sooner", tags=("payroll",), due_at=NOW + timedelta(days=1))
    done = make_task(db, NOW, title="Payroll done", tags=("payroll",))
    make_task(db, NOW, title="Elsewhere", tags=("payroll",), team_id="T0002")
    with db.transaction() as s:
        complete_task(session=s, team_id=TEAM, number=done.number, actor=Actor("UANA"), now=NOW)
    with db.read() as s:
        first = active_tasks(s, team_id=TEAM, tag="PayRoll", limit=2)
        second = active_tasks(s, team_id=TEAM, tag="payroll", offset=2, limit=2)
        assert active_tasks(s, team_id=TEAM, tag="q4").total == 1
        assert active_tasks(s, team_id=TEAM, tag="payroll", assignee_id="UBEN").total == 0
    assert [t.number for t in first.tasks] == [urgent.number, sooner.number] and first.total == 3
    assert [t.number for t in second.tasks] == [later.number] and second.total == 3


def test_a_tag_at_volume_loads_one_page_of_tasks(db: Database) -> None:
    rows: list[dict[str, Any]] = [{
        "team_id": TEAM, "number": n, "title": f"Task {n}", "requester_id": "URITA", "assignee_id": "UANA",
        "priority": Priority.NORMAL, "tags": ["payroll"] if n % 3 == 0 else [], "due_at": None,
        "origin_channel_id": "CGENERAL", "card_channel_id": "CGENERAL", "status": TaskStatus.ASSIGNED,
        "created_at": NOW, "updated_at": NOW, "version": 1,
    } for n in range(1, 3_001)]
    with db.transaction() as s:
        s.execute(insert(Task), rows)
        ids = s.exec(select(Task.id, Task.number)).all()
        s.execute(insert(TaskTag), [{"task_id": i, "team_id": TEAM, "tag": "payroll"} for i, n in ids if n % 3 == 0])
    loaded = []
    listener = lambda target, _context: loaded.append(target)  # noqa: E731
    event.listen(Task, "load", listener)
    try:
        with db.read() as s:
            page = active_tasks(s, team_id=TEAM, tag="payroll", offset=25, limit=25)
    finally:
        event.remove(Task, "load", listener)
    assert page.total == 1_000 and [t.number for t in page.tasks] == list(range(78, 78 + 75, 3))
    assert len(loaded) == 25


@pytest.mark.empty_database
def test_the_migration_copies_the_tags_of_existing_tasks(db_url: str) -> None:
    upgrade(db_url, "0004")
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            for number, tags in [(1, '["payroll", "q4", "payroll"]'), (2, "[]"), (3, '["bookkeeping"]')]:
                conn.execute(text(
                    "INSERT INTO task (team_id, number, title, requester_id, assignee_id, priority, tags, "
                    "origin_channel_id, card_channel_id, status, created_at, updated_at, version) VALUES "
                    "('T1', :n, 'A task', 'URITA', 'UANA', 'normal', :tags, 'C1', 'C1', 'assigned', "
                    "'2026-11-25 10:00:00', '2026-11-25 10:00:00', 1)"
                ), {"n": number, "tags": tags})
        upgrade(db_url)
        with engine.connect() as conn:
            copied = conn.execute(text(
                "SELECT t.number, g.team_id, g.tag FROM tasktag g JOIN task t ON t.id = g.task_id ORDER BY 1, 3"
            )).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in copied] == [(1, "T1", "payroll"), (1, "T1", "q4"), (3, "T1", "bookkeeping")]
