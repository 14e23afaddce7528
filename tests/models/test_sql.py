"""Many rows as one parameter (bulk_insert, bulk_update): every column type stored as a plain insert would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlmodel import col, select

from models.db import Database
from models.enums import TaskStatus
from models.outbox import OUTBOX_PENDING, Pending, enqueue_all
from models.sql import among, bulk_delete, bulk_insert, bulk_update, get_plain, one_of
from models.tables import Outbox, ProcessedEvent, Task, TaskNotice
from models.tasks import NewTask, create_task

NOW = datetime(2026, 11, 25, 15, 0, 0, 123456, tzinfo=UTC)
# Text a JSON document must escape, and a word of each script Slack users type.
AWKWARD = 'quote " backslash \\ newline \n tab \t emoji 🧾 Ünïcode 漢字 <&>'


def test_rows_of_every_type_are_stored_as_given(db: Database) -> None:
    payloads = [{"channel": "C1", "text": AWKWARD, "n": 3, "ok": True, "none": None, "list": [1, "two"]}, {}]
    with db.transaction() as session:
        enqueue_all(session, team_id="T1", now=NOW, items=[
            Pending("k1", "card.post", payloads[0], None), Pending(AWKWARD, "dm", payloads[1], None),
        ])
    with db.read() as session:
        rows = session.exec(select(Outbox).order_by(col(Outbox.id))).all()
    assert [(r.key, r.kind, r.payload, r.task_id) for r in rows] == [
        ("k1", "card.post", payloads[0], None), (AWKWARD, "dm", payloads[1], None),
    ]
    for row in rows:  # the columns given once for all rows
        assert (row.team_id, row.status, row.attempts) == ("T1", OUTBOX_PENDING, 0)
        assert (row.uncertain, row.result) == (False, {})
        assert row.created_at == NOW and row.next_attempt_at == NOW  # to the microsecond, in UTC


def test_conflicts_are_skipped_and_returning_names_only_the_rows_inserted(db: Database) -> None:
    with db.transaction() as session:
        first = bulk_insert(session, ProcessedEvent, [{"event_id": "a"}, {"event_id": "b"}],
                            same={"team_id": "T1", "at": NOW}, ignore_conflicts=True, returning=("event_id",))
        again = bulk_insert(session, ProcessedEvent, [{"event_id": "b"}, {"event_id": "c"}],
                            same={"team_id": "T1", "at": NOW}, ignore_conflicts=True, returning=("event_id",))
        assert bulk_insert(session, ProcessedEvent, [], same={"team_id": "T1", "at": NOW}) == []
    assert sorted(first) == [("a",), ("b",)] and again == [("c",)]
    with db.read() as session:
        assert sorted(session.exec(select(ProcessedEvent.event_id))) == ["a", "b", "c"]


def test_among_matches_exactly_the_values_given_however_many(db: Database) -> None:
    keys = [f"od:{n}:{AWKWARD}" for n in range(600)]  # as many as a sweep asks about at once, and awkward
    with db.transaction() as session:
        bulk_insert(session, ProcessedEvent, [{"event_id": k[:64]} for k in keys[::2]],
                    same={"team_id": "T1", "at": NOW})
    with db.read() as session:
        for wanted in (keys, keys[:1], []):
            condition, param = among(session, "keys", [k[:64] for k in wanted])
            found = session.connection().execute(
                text(f"SELECT event_id FROM processedevent WHERE event_id {condition}").bindparams(param)
            ).scalars().all()
            assert sorted(found) == sorted(k[:64] for k in wanted[::2])


def test_one_of_matches_exactly_the_values_given_however_many(db: Database) -> None:
    keys = [f"od:{n}:{AWKWARD}"[:64] for n in range(600)]
    with db.transaction() as session:
        bulk_insert(session, ProcessedEvent, [{"event_id": k} for k in keys[::2]], same={"team_id": "T1", "at": NOW})
    with db.read() as session:
        for wanted in (keys, keys[:1], []):
            found = session.exec(select(ProcessedEvent.event_id).where(
                one_of(session, col(ProcessedEvent.event_id), wanted))).all()
            assert sorted(found) == sorted(wanted[::2])


def test_an_update_changes_only_the_rows_whose_match_columns_all_agree(db: Database) -> None:
    with db.transaction() as session:
        ids = [create_task(session=session, now=NOW, request=NewTask(
            team_id="T1", requester_id="UR", title=f"Task {n}", origin_channel_id="C1", card_channel_id="C1",
        )).id for n in range(3)]
    later = NOW + timedelta(hours=5)
    with db.transaction() as session:
        bulk_update(session, Task, [
            {"id": ids[0], "version": 1, "title": AWKWARD[:40], "snoozed_until": later},
            {"id": ids[1], "version": 7, "title": "stale", "snoozed_until": later},  # a stale version: left as it is
            {"id": ids[2], "version": 1, "title": "Third", "snoozed_until": None},
        ], match=("id", "version"))
    with db.read() as session:
        tasks = {t.id: t for t in session.exec(select(Task))}
    assert [(tasks[i].title, tasks[i].snoozed_until) for i in ids] == [
        (AWKWARD[:40], later), ("Task 1", None), ("Third", None)]
    assert {t.status for t in tasks.values()} == {TaskStatus.OPEN}


def test_a_delete_removes_only_the_rows_that_agree_on_every_column_given(db: Database) -> None:
    with db.transaction() as session:
        ids = [create_task(session=session, now=NOW, request=NewTask(
            team_id="T1", requester_id="UR", title=f"Task {n}", origin_channel_id="C1", card_channel_id="C1",
        )).id for n in range(40)]
    with db.transaction() as session:
        gone = bulk_delete(session, TaskNotice, [
            {"task_id": task_id, "version": 1 if n % 2 else 2} for n, task_id in enumerate(ids)  # even: stale
        ], returning=("task_id",))
        assert bulk_delete(session, TaskNotice, [], returning=("task_id",)) == []
    assert sorted(task_id for (task_id,) in gone) == ids[1::2]
    with db.read() as session:
        assert sorted(n.task_id for n in session.exec(select(TaskNotice))) == ids[::2]


def test_a_row_read_plain_is_the_row_the_orm_reads(db: Database) -> None:
    with db.transaction() as session:
        created = create_task(session=session, request=NewTask(
            team_id="T1", requester_id="URITA", title=AWKWARD[:60], assignee_id="UANA",
            due_at=NOW + timedelta(days=2), tags=("payroll", "q4"), origin_channel_id="C1", card_channel_id="C1",
        ), now=NOW)
    with db.read() as session:
        plain = get_plain(session, Task, created.id)
        missing = get_plain(session, Task, 999_999)
        orm = session.get(Task, created.id)
        assert orm is not None and plain is not None and missing is None
        assert plain.model_dump() == orm.model_dump()
    assert plain.status is TaskStatus.ASSIGNED and plain.tags == ["payroll", "q4"]
    assert plain.due_at == NOW + timedelta(days=2) and plain.created_at == NOW  # aware, to the microsecond
