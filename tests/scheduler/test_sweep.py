"""The sweep at real sizes: its cost follows what is owed, not what exists; notices to one person are
grouped; one bad workspace or row stops nothing; concurrent runs in real processes send one of each."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlmodel import col, func, select

from bot import render
from models.db import Database
from models.people import Actor, PersonInfo, save_person
from models.tables import Outbox, ProcessedEvent, RecurringTask, Task, TaskEvent, TaskNotice
from models.tasks import change_due, complete_task
from sandbox.blockkit import message_problems
from scheduler import jobs
from scheduler.config import JobConfig
from scheduler.jobs import run_recurring, run_sweep
from tests.factories import TEAM, make_task

CONFIG = JobConfig(managers=frozenset({"UMIA"}))
# Monday 30 November 2026, 14:00 UTC: working time in London (Ana) and Chicago (Mia).
NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
# Long overdue: past its escalation grace, so each owed task is owed an overdue notice and an escalation.
LATE = NOW - timedelta(days=3)


@pytest.fixture
def people(db: Database) -> None:
    with db.transaction() as s:
        for team in (TEAM, "T0002"):
            for user, name, tz in [("URITA", "rita", "America/New_York"), ("UANA", "ana", "Europe/London"),
                                   ("UBEN", "ben", "Europe/London"), ("UMIA", "mia", "America/Chicago")]:
                save_person(s, team_id=team, info=PersonInfo(user_id=user, name=name, tz=tz), now=LATE)


def _bulk(db: Database, total: int, *, owed: int, team: str = TEAM, first: int = 1000) -> None:
    """`total` assigned tasks, `owed` of them overdue since LATE and due a look; the rest due next month."""
    rows: list[dict[str, Any]] = []
    for n in range(total):
        late = n < owed
        rows.append({
            "team_id": team, "number": first + n, "title": f"Invoice {n}", "requester_id": "URITA",
            "assignee_id": ("UANA", "UBEN")[n % 2], "priority": "normal", "tags": [],
            "due_at": LATE if late else NOW + timedelta(days=30), "origin_channel_id": "CGENERAL",
            "card_channel_id": "CGENERAL", "card_ts": f"1.{n}", "card_url": f"https://slack.example/{n}",
            "status": "assigned", "created_at": LATE - timedelta(days=1), "updated_at": LATE - timedelta(days=1),
            "version": 1,
        })
    tasks, notices = Task.__table__, TaskNotice.__table__  # type: ignore[attr-defined]
    with db.transaction() as s:
        ids = s.connection().execute(insert(tasks).returning(tasks.c.id), rows).scalars().all()
        # Not owed: the next look is when its first reminder may come, weeks from now.
        s.connection().execute(insert(notices), [
            {"task_id": task_id, "team_id": team, "version": 1,
             "at": LATE if row["due_at"] == LATE else NOW + timedelta(days=28)}
            for task_id, row in zip(ids, rows, strict=True)
        ])


@contextmanager
def _counted(db: Database) -> Iterator[dict[str, int]]:
    """Counts the statements (other than SQLite's BEGIN and connection PRAGMAs) and commits made meanwhile."""
    seen = {"statements": 0, "commits": 0}

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen["statements"] += not sql.startswith(("BEGIN", "PRAGMA"))

    def commit(*_args: Any) -> None:
        seen["commits"] += 1

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "commit", commit)


def _outbox(db: Database, kind: str) -> list[Outbox]:
    with db.read() as s:
        return list(s.exec(select(Outbox).where(Outbox.kind == kind).order_by(col(Outbox.id))))


@pytest.mark.usefixtures("people")
def test_an_idle_sweep_is_two_indexed_reads_however_many_tasks_exist(db: Database) -> None:
    _bulk(db, 5000, owed=0)
    with _counted(db) as big:
        report = run_sweep(db, NOW, CONFIG)
    assert report.summary() == "reminders=0 overdue=0 escalations=0 nudges=0 created=0 digests=0 morning=0"
    assert big == {"statements": 2, "commits": 0}  # tasks due a look, DMs left owed


@pytest.mark.usefixtures("people")
def test_sweep_statements_follow_the_owed_tasks_not_the_total(db: Database) -> None:
    _bulk(db, 5000, owed=40)
    with _counted(db) as big:
        report = run_sweep(db, NOW, CONFIG, batch=15)
    assert (report.overdue, report.escalations) == (40, 40)
    # The workspace's managers, 40 tasks written 15 to a transaction, then the DMs to 4 people: each is
    # owed a queued row per batch and lists 10 or more tasks, more than a batch of 15 holds, so one
    # transaction each (a DM's transaction is sized by the rows and items it takes off the queue).
    assert big["commits"] == 1 + 3 + 4

    _bulk(db, 40, owed=40, team="T0002")  # the same 40 owed, in a workspace of 40 tasks
    with _counted(db) as small:
        assert run_sweep(db, NOW, CONFIG, batch=15).overdue == 40
    assert big == small

    # Each handled task has moved on: the same instant again is two reads, and no key is written twice.
    with _counted(db) as again:
        assert run_sweep(db, NOW, CONFIG).overdue == 0
    assert again == {"statements": 2, "commits": 0}
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(TaskEvent).where(
            col(TaskEvent.once_key).startswith("od:"))).one() == 80
        assert s.exec(select(func.count()).select_from(ProcessedEvent)).one() == 0  # no second record of them
        upcoming = s.exec(select(func.min(TaskNotice.at)).join(Task).where(Task.due_at == LATE)).one()
    assert upcoming is not None and upcoming > NOW  # tomorrow's escalation


@pytest.mark.usefixtures("people")
def test_a_notice_claimed_before_events_carried_their_keys_is_not_sent_again(db: Database) -> None:
    _bulk(db, 2, owed=2)
    with db.read() as s:
        first, second = s.exec(select(Task).order_by(col(Task.number))).all()
    with db.transaction() as s:  # as revision 0008 left it: T-1000's overdue notice sent, its key apart
        s.add(ProcessedEvent(team_id=TEAM, event_id=f"od:{first.id}:{int(LATE.timestamp())}", at=LATE))
    report = run_sweep(db, NOW, CONFIG)
    assert (report.overdue, report.escalations) == (1, 2)
    with db.read() as s:
        overdue = s.exec(select(TaskEvent.task_id).where(TaskEvent.kind == "overdue")).all()
    assert overdue == [second.id]


@pytest.mark.usefixtures("people")
def test_a_task_changed_after_it_was_planned_gets_no_notice_from_the_old_plan(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bulk(db, 4, owed=4)  # T-1000 … T-1003, overdue
    real_plan = jobs._plan

    def plan_then_change_two(session: Any, *args: Any) -> Any:
        planned = real_plan(session, *args)
        with db.transaction() as s:  # while the sweep holds its plan, Ana finishes T-1000, Rita moves T-1001
            complete_task(session=s, team_id=TEAM, number=1000, actor=Actor("UANA"), now=NOW)
            change_due(session=s, team_id=TEAM, number=1001, actor=Actor("URITA"), due_at=NOW + timedelta(days=7),
                       now=NOW)
        return planned

    monkeypatch.setattr(jobs, "_plan", plan_then_change_two)
    assert run_sweep(db, NOW, CONFIG, batch=2).overdue == 2
    with db.read() as s:
        done, moved = s.exec(select(Task).where(col(Task.number).in_([1000, 1001])).order_by(col(Task.number)))
        kinds = s.exec(select(TaskEvent.kind).where(TaskEvent.task_id == done.id)).all()
        assert kinds == ["done"] and s.get(TaskNotice, done.id) is None
        # T-1001 kept the instant its change set (look again now), not the one planned from its old due time.
        assert s.exec(select(TaskEvent.kind).where(TaskEvent.task_id == moved.id)).all() == ["due_changed"]
        again = s.get(TaskNotice, moved.id)
        assert again is not None and (again.at, again.version) == (NOW, 2)
    # Two overdue lines, T-1000's "done" and T-1001's new due time.
    assert len(_outbox(db, "thread.note")) == 2 + 2


@pytest.mark.usefixtures("people")
def test_notices_to_one_person_are_one_dm_while_each_card_gets_its_own_line(db: Database) -> None:
    _bulk(db, 15, owed=15)  # 8 for Ana, 7 for Ben
    make_task(db, LATE - timedelta(days=1), assignee_id="UANA", due_at=NOW + timedelta(hours=20))
    report = run_sweep(db, NOW, CONFIG, batch=4)  # however many batches the pass takes
    assert (report.overdue, report.escalations, report.reminders) == (15, 15, 1)
    grouped = {row.payload["user"]: row.payload["items"] for row in _outbox(db, "notices")}
    assert sorted(grouped) == ["UANA", "UBEN", "UMIA", "URITA"]
    assert [i["kind"] for i in grouped["UANA"]].count("overdue") == 8  # and her reminder, in the same DM
    assert [i["kind"] for i in grouped["UANA"]].count("reminder") == 1
    assert len(grouped["UBEN"]) == 7
    assert len(grouped["UMIA"]) == 15 and {i["kind"] for i in grouped["UMIA"]} == {"escalated"}
    assert [row.payload["user"] for row in _outbox(db, "dm") if row.created_at == NOW] == []  # none single
    # Each card gets its line, which refreshes the card once posted (no row of its own for that).
    assert len(_outbox(db, "thread.note")) == 15 and _outbox(db, "card.update") == []

    # The next morning (09:00 in London, the assignees' zone): one new escalation each, again in one DM.
    assert run_sweep(db, NOW + timedelta(hours=19), CONFIG).escalations == 15
    mia = [row for row in _outbox(db, "notices") if row.payload["user"] == "UMIA"]
    assert len(mia) == 2 and len(_outbox(db, "thread.note")) == 15


@pytest.mark.usefixtures("people")
def test_chunks_swept_side_by_side_queue_each_notice_once_and_one_dm_per_person(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 95 owed tasks in chunks of 10: on PostgreSQL two chunks at a time, each on its own thread and
    # connection; on SQLite one after the other. Either way each task is owed what it would be alone.
    monkeypatch.setattr(jobs, "PLAN_CHUNK", 10)
    _bulk(db, 200, owed=95)
    threads: set[str] = set()

    def statement(*_args: Any) -> None:
        threads.add(threading.current_thread().name)

    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        report = run_sweep(db, NOW, CONFIG, batch=4)
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
    assert (report.overdue, report.escalations) == (95, 95)
    counts = {row.payload["user"]: row.payload["counts"] for row in _outbox(db, "notices")}
    assert counts == {"UANA": {"overdue": 48}, "UBEN": {"overdue": 47}, "URITA": {"escalated": 95},
                      "UMIA": {"escalated": 95}}
    assert len(_outbox(db, "thread.note")) == 95
    with db.read() as s:
        assert s.exec(select(func.count()).select_from(TaskEvent).where(
            col(TaskEvent.once_key).startswith("esc:"))).one() == 95
        assert s.exec(select(func.count()).select_from(TaskNotice).where(col(TaskNotice.at) <= NOW)).one() == 0
    side_by_side = {name for name in threads if name.startswith("sweep-chunk")}
    assert len(side_by_side) == (jobs.CHUNKS_AT_ONCE if db.dialect == "postgresql" else 0)


@pytest.mark.usefixtures("people")
def test_dms_a_stopped_pass_left_owed_go_with_the_next_run_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bulk(db, 6, owed=6)

    def stopped(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("killed before its DMs")

    monkeypatch.setattr(jobs, "send_owed_dms", stopped)
    assert run_sweep(db, NOW, CONFIG, batch=2).overdue == 6
    assert _outbox(db, "notices") == [] and len(_outbox(db, "thread.note")) == 6
    monkeypatch.undo()
    assert run_sweep(db, NOW + timedelta(minutes=1), CONFIG).overdue == 0
    assert run_sweep(db, NOW + timedelta(minutes=2), CONFIG).overdue == 0
    assert sorted(row.payload["user"] for row in _outbox(db, "notices")) == ["UANA", "UBEN", "UMIA", "URITA"]


@pytest.mark.usefixtures("people")
def test_a_single_notice_stays_the_usual_dm_about_its_task(db: Database) -> None:
    task = make_task(db, LATE - timedelta(days=1), assignee_id="UANA", due_at=NOW - timedelta(minutes=5))
    assert run_sweep(db, NOW, CONFIG).overdue == 1
    dms = [(row.payload["user"], row.task_id) for row in _outbox(db, "dm") if row.created_at == NOW]
    assert dms == [("UANA", task.id)]
    assert _outbox(db, "notices") == []


def test_a_grouped_dm_of_hundreds_of_notices_stays_inside_slacks_limits() -> None:
    title = "Reconcile the <October> invoices & receipts " * 10
    items = [
        {"kind": kind, "event_id": n, "ref": f"T-{n}", "title": title, "url": f"https://slack.example/{n}",
         "due": LATE.isoformat(), "assignee": "UANA", "requester": "URITA"}
        for n in range(300) for kind in ("overdue", "escalated")
    ]
    text, blocks = render.grouped_notices({"user": "UMIA", "items": items})
    assert message_problems(blocks) == [] and len(blocks) <= render.MESSAGE_BLOCKS
    assert text == "⏰ 300 of your tasks are overdue · 🚨 300 tasks are still overdue"
    assert "…and 560 more." in blocks[-1]["elements"][0]["text"]
    one = render.grouped_notices({"user": "UANA", "items": items[:1] + items[3:4]})[0]
    assert one == "⏰ 1 of your tasks is overdue · 🚨 1 task is still overdue"
    # A big pass's DM carries a capped list of each kind and the counts of all.
    text, blocks = render.grouped_notices({"user": "UMIA", "items": items[:100:2], "counts": {"overdue": 3000}})
    assert text == "⏰ 3000 of your tasks are overdue"
    assert "…and 2960 more." in blocks[-1]["elements"][0]["text"]


@pytest.mark.usefixtures("people")
def test_one_failing_workspace_or_task_stops_none_of_the_others(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bulk(db, 3, owed=3, team="T0002")
    _bulk(db, 4, owed=4)
    real_managers, real_owed = jobs._managers, jobs._due_notices
    broken = make_task(db, LATE - timedelta(days=1), due_at=LATE)

    def managers(session: Any, team_id: str, now: datetime, config: JobConfig) -> list[str]:
        if team_id == "T0002":
            raise RuntimeError("a damaged workspace")
        return real_managers(session, team_id, now, config)

    def owed(task: Task, *args: Any) -> Any:
        if task.id == broken.id:
            raise ValueError("a damaged row")
        return real_owed(task, *args)

    monkeypatch.setattr(jobs, "_managers", managers)
    monkeypatch.setattr(jobs, "_due_notices", owed)
    assert run_sweep(db, NOW, CONFIG).overdue == 4
    with db.read() as s:
        retry = s.get(TaskNotice, broken.id)
        assert retry is not None and retry.at == NOW + jobs.RETRY_FAILED


def test_a_recurring_task_in_a_zone_tzdata_does_not_know_is_skipped_and_the_rest_made(db: Database) -> None:
    with db.transaction() as s:
        for tz in ("Mars/Olympus_Mons", "Europe/London"):
            s.add(RecurringTask(
                team_id=TEAM, requester_id="URITA", assignee_id="UANA", title=f"Report ({tz})",
                origin_channel_id="CGENERAL", card_channel_id="CGENERAL", rule={"freq": "daily"}, tz=tz,
                next_at=NOW + timedelta(hours=2), created_at=LATE,
            ))
    assert run_recurring(db, NOW, CONFIG).created == 1
    with db.read() as s:
        assert [t.title for t in s.exec(select(Task))] == ["Report (Europe/London)"]


def _sweep_in_a_process(url: str, barrier: Any) -> None:
    database = Database.from_url(url)
    try:
        barrier.wait(timeout=60)
        run_sweep(database, NOW, CONFIG, batch=20)
    finally:
        database.dispose()


@pytest.mark.usefixtures("people")
def test_two_sweeps_in_real_processes_send_one_of_everything(db: Database, db_url: str) -> None:
    _bulk(db, 400, owed=200)
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(3)
    workers = [spawn.Process(target=_sweep_in_a_process, args=(db_url, barrier)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    with db.read() as s:
        kinds = s.exec(select(TaskEvent.kind, func.count()).group_by(col(TaskEvent.kind))).all()
    assert sorted(kinds) == [("escalated", 200), ("overdue", 200)]
    assert len(_outbox(db, "thread.note")) == 200
    # Mia hears of each escalation once, in at most one DM per process.
    mia = [row.payload for row in _outbox(db, "notices") if row.payload["user"] == "UMIA"]
    singles = [row.payload["event_id"] for row in _outbox(db, "dm") if row.payload["user"] == "UMIA"]
    assert sum(p["counts"]["escalated"] for p in mia) + len(singles) == 200
    listed = [item["event_id"] for p in mia for item in p["items"]] + singles
    assert len(listed) == len(set(listed)) and 1 <= len(mia) + len(singles) <= 3
