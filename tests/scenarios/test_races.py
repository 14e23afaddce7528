"""Races between real processes on one database (a SQLite file, and PostgreSQL).

Threads of one process queue on `Database`'s in-process lock, so they never race in the database; these
tests start several spawned processes together behind a barrier, round after round, so each protection
(BEGIN IMMEDIATE on SQLite, FOR UPDATE, the atomic number counter, the once-keys' unique key) is what
keeps the outcome right.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from typing import Any

from sqlmodel import col, select

from migrations import upgrade
from models.db import Database
from models.errors import Conflict
from models.people import Actor, PersonInfo, save_person
from models.tables import Outbox, Task, TaskEvent
from models.tasks import claim_task, create_task
from scheduler.config import JobConfig
from scheduler.jobs import run_all
from tests.factories import TEAM, make_task, new_task

PROCESSES = 4
ROUNDS = 8
START = 30.0  # seconds a process may take to reach the barrier (spawning imports the app)
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
SPAWN = multiprocessing.get_context("spawn")

Racer = Callable[[Database, Barrier, int], list[str]]


def _child(racer: Racer, url: str, barrier: Barrier, results: Any, index: int) -> None:
    database = Database.from_url(url)
    try:
        with database.read() as session:  # connected before the start, so every process begins at once
            session.exec(select(Task.id).limit(1)).first()
        results.put((index, racer(database, barrier, index)))
    except BaseException as exc:
        results.put((index, [f"crashed: {exc!r}"]))
    finally:
        database.dispose()


def race(racer: Racer, url: str) -> list[list[str]]:
    """What `racer` returned in each of PROCESSES processes started together on the database at `url`."""
    barrier = SPAWN.Barrier(PROCESSES)
    results = SPAWN.Queue()
    processes = [SPAWN.Process(target=_child, args=(racer, url, barrier, results, i)) for i in range(PROCESSES)]
    for process in processes:
        process.start()
    try:
        gathered = dict(results.get(timeout=START + 60) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    return [gathered[i] for i in range(PROCESSES)]


def _outcome(action: Callable[[], object]) -> str:
    try:
        action()
    except Conflict as exc:
        return f"conflict: {exc.message}"
    except Exception as exc:  # a lost race must be a friendly conflict, never "database is locked"
        return f"error: {exc!r}"
    return "ok"


# -- first claim wins --------------------------------------------------------------------------------


def _claim_every_task(database: Database, barrier: Barrier, index: int) -> list[str]:
    outcomes = []
    for number in range(1, ROUNDS + 1):
        barrier.wait(timeout=START)

        def claim(number: int = number) -> None:
            with database.transaction() as session:
                claim_task(session=session, team_id=TEAM, number=number, actor=Actor(f"UCLAIM{index}"), now=NOW)

        outcomes.append(_outcome(claim))
    return outcomes


def test_the_first_claim_wins_among_processes(db_url: str) -> None:
    upgrade(db_url)
    database = Database.from_url(db_url)
    try:
        for _ in range(ROUNDS):
            make_task(database, NOW, assignee_id=None)
        outcomes = race(_claim_every_task, db_url)
        with database.read() as session:
            tasks = {t.number: t for t in session.exec(select(Task))}
            claims = Counter(e.task_id for e in session.exec(select(TaskEvent).where(TaskEvent.kind == "claimed")))
    finally:
        database.dispose()
    for number in range(1, ROUNDS + 1):
        seen = [mine[number - 1] for mine in outcomes]
        assert seen.count("ok") == 1, (number, seen)
        winner = f"UCLAIM{seen.index('ok')}"
        assert tasks[number].assignee_id == winner
        lost = f"conflict: T-{number} already belongs to <@{winner}> (assigned and not started)."
        assert all(o == lost for o in seen if o != "ok"), seen
        assert claims[tasks[number].id] == 1, f"T-{number} was claimed {claims[tasks[number].id]} times"


# -- task numbers ------------------------------------------------------------------------------------


def _create_tasks(database: Database, barrier: Barrier, index: int) -> list[str]:
    outcomes = []
    for _ in range(ROUNDS):
        barrier.wait(timeout=START)

        def create() -> None:
            with database.transaction() as session:
                create_task(session=session, request=new_task(title=f"From process {index}"), now=NOW)

        outcomes.append(_outcome(create))
    return outcomes


def test_task_numbers_stay_unique_and_gapless_when_processes_create_at_once(db_url: str) -> None:
    upgrade(db_url)  # no workspace row yet: the first round also races to create the counter
    outcomes = race(_create_tasks, db_url)
    assert all(o == "ok" for mine in outcomes for o in mine), outcomes
    database = Database.from_url(db_url)
    try:
        with database.read() as session:
            numbers = sorted(session.exec(select(Task.number)))
    finally:
        database.dispose()
    assert numbers == list(range(1, PROCESSES * ROUNDS + 1))


# -- once-keys of the scheduler's notices -----------------------------------------------------------

DUE = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # Friday 17:00 in New York
SWEEP_AT = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # Ana's 24-hour reminder is owed (14:00 in London)
# No HANDOFF_MANAGERS: seeding them would make the sweeps queue behind one another on PostgreSQL, and
# then the once-keys would never be raced.
CONFIG = JobConfig()


def _sweep(database: Database, barrier: Barrier, index: int) -> list[str]:
    barrier.wait(timeout=START)

    def sweep() -> None:
        run_all(database, SWEEP_AT, CONFIG, only="reminders")

    return [_outcome(sweep)]


def test_processes_sweeping_at_the_same_instant_send_each_notice_once(db_url: str) -> None:
    upgrade(db_url)
    database = Database.from_url(db_url)
    tasks = 60  # enough that the sweeps overlap however the processes are scheduled
    try:
        with database.transaction() as session:
            for user, tz in (("URITA", "America/New_York"), ("UANA", "Europe/London"), ("UMIA", "America/Chicago")):
                save_person(session, team_id=TEAM, info=PersonInfo(user_id=user, name=user.lower(), tz=tz), now=NOW)
        for _ in range(tasks):
            make_task(database, NOW, due_at=DUE)
        outcomes = race(_sweep, db_url)
        with database.read() as session:
            events = {e.id: e.task_id for e in session.exec(select(TaskEvent).where(TaskEvent.kind == "reminder"))}
            reminders = Counter(events.values())
            # Notices owed to one person in a pass go as one DM that counts them; a single one is a plain DM.
            told = Counter[str]()
            for row in session.exec(select(Outbox).where(col(Outbox.kind).in_(["dm", "notices"]))):
                if row.kind == "notices":
                    told[row.payload["user"]] += sum(row.payload["counts"].values())
                elif row.payload["event_id"] in events:
                    told[row.payload["user"]] += 1
    finally:
        database.dispose()
    assert outcomes == [["ok"]] * PROCESSES
    assert len(reminders) == tasks and set(reminders.values()) == {1}, reminders
    assert told == {"UANA": tasks}, told

