"""bench.sweep: what the scheduler's sweep costs over many tasks, and how long a writer waits behind it.

    .venv/bin/python -m bench.sweep --tasks 1000000            # SQLite file in a temp dir
    .venv/bin/python -m bench.sweep --database-url postgresql://postgres@127.0.0.1:5432/test_x

Prints: the idle sweep (nothing owed) and a sweep with --owed of the tasks overdue (queuing only, no
delivery), each with its time and statement count, and the write waits of another process that
commits a small transaction in a loop during the owed sweep (what a `/delegate` would wait).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert, update
from sqlmodel import col, select

from migrations import upgrade
from models.db import Database
from models.people import PersonInfo, save_person
from models.sql import insert_ignore
from models.tables import ProcessedEvent, Task
from scheduler.config import JobConfig
from scheduler.jobs import run_sweep

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # a Monday afternoon in London
TEAM = "T0001"
PEOPLE = [f"U{n:05d}" for n in range(200)]


def _fill(db: Database, tasks: int) -> None:
    """`tasks` tasks, nine in ten done (a year of work), the rest assigned and due next month."""
    with db.transaction() as s:
        for user in [*PEOPLE, "URITA", "UMIA"]:
            save_person(s, team_id=TEAM, info=PersonInfo(user_id=user, name=user.lower(), tz="Europe/London"), now=NOW)
    step = 20_000
    for start in range(0, tasks, step):
        rows: list[dict[str, Any]] = []
        for n in range(start, min(start + step, tasks)):
            finished = n % 10 != 0
            rows.append({
                "team_id": TEAM, "number": n + 1, "title": f"Task {n}", "requester_id": "URITA",
                "assignee_id": PEOPLE[n % len(PEOPLE)], "priority": "normal", "tags": [],
                "due_at": NOW + timedelta(days=30), "origin_channel_id": "CGENERAL", "card_channel_id": "CGENERAL",
                "card_ts": f"1.{n}", "card_url": None, "status": "done" if finished else "assigned",
                "created_at": NOW - timedelta(days=5), "updated_at": NOW - timedelta(days=5),
                "completed_at": NOW - timedelta(days=4) if finished else None,
                "next_notice_at": None if finished else NOW + timedelta(days=28), "version": 1,
            })
        with db.transaction() as s:
            s.connection().execute(insert(Task.__table__), rows)  # type: ignore[attr-defined]


def _make_overdue(db: Database, owed: int) -> None:
    """`owed` of the open tasks overdue since three days, and due a look."""
    late = NOW - timedelta(days=3)
    with db.transaction() as s:
        ids = select(Task.id).where(Task.status == "assigned").order_by(col(Task.id)).limit(owed).scalar_subquery()
        s.execute(update(Task).where(col(Task.id).in_(ids)).values(due_at=late, next_notice_at=late))


def _writer(url: str, ready: Any, stop: Any, out: Any) -> None:
    """Another process committing small write transactions in a loop; reports each wait in ms."""
    db = Database.from_url(url)
    waits: list[float] = []
    ready.set()
    n = 0
    while not stop.is_set():
        started = time.perf_counter()
        with db.transaction() as s:
            insert_ignore(s, ProcessedEvent, {"team_id": "TBENCH", "event_id": f"w{n}", "at": NOW})
        waits.append((time.perf_counter() - started) * 1000)
        n += 1
        time.sleep(0.005)  # about the pace of a busy workspace's requests
    out.put(waits)
    db.dispose()


def _timed(db: Database, config: JobConfig) -> tuple[float, int, Any]:
    seen = {"n": 0}

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen["n"] += not sql.startswith("BEGIN")

    event.listen(db.engine, "before_cursor_execute", count)
    started = time.perf_counter()
    report = run_sweep(db, NOW, config)
    elapsed = time.perf_counter() - started
    event.remove(db.engine, "before_cursor_execute", count)
    return elapsed, seen["n"], report


def main(argv: list[str] | None = None) -> int:
    """Build the tasks, run the sweeps, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--owed", type=float, default=0.01, help="fraction of the tasks overdue (default 0.01)")
    parser.add_argument("--database-url", help="default: a SQLite file in a temp dir")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        db = Database.from_url(url)
        config = JobConfig(managers=frozenset({"UMIA"}))
        owed = int(args.tasks * args.owed)
        started = time.perf_counter()
        _fill(db, args.tasks)
        print(f"built {args.tasks:,} tasks in {time.perf_counter() - started:.1f} s ({db.dialect})")
        cold = _timed(db, config)
        idle = min((_timed(db, config) for _ in range(5)), key=lambda run: run[0])  # warm: statements compiled
        _make_overdue(db, owed)
        spawn = multiprocessing.get_context("spawn")
        ready, stop, out = spawn.Event(), spawn.Event(), spawn.Queue()
        writer = spawn.Process(target=_writer, args=(url, ready, stop, out))
        writer.start()
        ready.wait(60)
        time.sleep(0.5)  # let the writer reach its loop
        busy = _timed(db, config)
        stop.set()
        waits = sorted(out.get(timeout=60))
        writer.join(30)
        # The same writer alone for as long, for comparison: on a shared machine it waits too.
        ready, stop, out = spawn.Event(), spawn.Event(), spawn.Queue()
        alone = spawn.Process(target=_writer, args=(url, ready, stop, out))
        alone.start()
        ready.wait(60)
        time.sleep(0.5 + busy[0])
        stop.set()
        baseline = sorted(out.get(timeout=60))
        alone.join(30)
        db.dispose()
    print(f"{'measure':<44} {'time':>10} {'statements':>11}")
    print(f"{'idle sweep over ' + format(args.tasks, ',') + ' tasks':<44} {idle[0] * 1000:>8.1f} ms {idle[1]:>11}"
          f"   (first in the process: {cold[0] * 1000:.1f} ms)")
    label = f"sweep with {owed:,} overdue (queuing)"
    print(f"{label:<44} {busy[0] * 1000:>8.1f} ms {busy[1]:>11}   {busy[2].summary()}")
    for label, series in (("writer beside the sweep", waits), ("the same writer alone", baseline)):
        if series:
            p99 = series[min(len(series) - 1, int(len(series) * 0.99))]
            over = sum(1 for w in series if w > 50)
            print(f"{label + ':':<25} {len(series)} commits, p50 {statistics.median(series):.1f} ms, "
                  f"p99 {p99:.1f} ms, max {series[-1]:.1f} ms, {over} over 50 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
