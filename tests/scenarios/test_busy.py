"""The database held by another process: every Slack request is still answered inside Slack's 3 seconds."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from bot.gate import LOCK_BUDGET
from migrations import upgrade
from models.db import AUTOCHECKPOINT_PAGES, Database, RequestWriters, Unavailable, request_scope
from models.notices import claim_once
from models.tables import Outbox, ProcessedEvent, Task
from tests.scenarios.conftest import Bot

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

SLACK_DEADLINE = 3.0
HOLD_SECONDS = 10

# Another process takes the write lock and keeps it until its stdin closes (at most HOLD_SECONDS).
_HOLDER = """
import select, sys
url, hold = sys.argv[1], float(sys.argv[2])
if url.startswith("sqlite"):
    import sqlite3
    db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
else:
    import psycopg
    db = psycopg.connect(url)
    db.execute("LOCK TABLE task IN EXCLUSIVE MODE")
print("locked", flush=True)
select.select([sys.stdin], [], [], hold)
db.rollback()
"""


@contextmanager
def locked_by_another_process(db_url: str) -> Iterator[None]:
    """The database's write lock held by a separate process for up to HOLD_SECONDS."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, db_url, str(HOLD_SECONDS)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=HOLD_SECONDS + 5)


def _counts(bot: Bot) -> tuple[int, int]:
    with bot.handoff.services.db.read() as session:
        return (session.exec(select(func.count()).select_from(Task)).one(),
                session.exec(select(func.count()).select_from(Outbox)).one())


def test_while_another_process_holds_the_lock_every_delegate_is_answered_busy_in_time(
    bot: Bot, db_url: str
) -> None:
    assert "Created *T-1*" in bot.delegate("<@UANA> Warm up by Friday")["text"]
    before = _counts(bot)

    def delegate(n: int) -> tuple[float, str]:
        started = time.monotonic()
        answer = bot.delegate(f"<@UANA> Reconcile invoices batch {n} by Friday")
        return time.monotonic() - started, answer["text"]

    with locked_by_another_process(db_url), ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(delegate, range(5)))
    # A bound on Slack's deadline, not a speed figure: past 3 s Slack shows the person "didn't respond".
    assert [latency < SLACK_DEADLINE for latency, _ in answers] == [True] * 5, answers
    assert all("I'm busy right now; try again in a moment. Nothing was changed." in text for _, text in answers)
    assert _counts(bot) == before  # no task, no card nor DM queued
    # On PostgreSQL each refused create had reserved its number apart (models.db.apart), and leaves it unused.
    created = "Created *T-7*" if db_url.startswith("postgresql") else "Created *T-2*"
    assert created in bot.delegate("<@UANA> Reconcile invoices by Friday")["text"]


# Another process writes in short transactions as a job's batches do: 40 ms holding the lock, 1.5 ms free.
_BATCHES = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
print("writing", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    db.execute("BEGIN IMMEDIATE")
    time.sleep(0.04)
    db.execute("COMMIT")
    time.sleep(0.0015)
"""


def test_a_request_gets_the_sqlite_lock_between_another_processs_short_transactions(tmp_path: Path) -> None:
    # SQLite's own busy handler sleeps up to 100 ms between tries and mostly misses a 1.5 ms gap: about a
    # third of these requests ran out of their 2 s budget that way. Trying every millisecond finds each gap.
    url = f"sqlite:///{tmp_path}/handoff.db"
    upgrade(url)
    db = Database.from_url(url)
    writer = subprocess.Popen([sys.executable, "-c", _BATCHES, f"{tmp_path}/handoff.db", "30"],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    try:
        assert writer.stdout.readline().strip() == "writing"
        outcomes = []
        for n in range(10):
            try:
                with request_scope(LOCK_BUDGET), db.transaction() as session:
                    claim_once(session, team_id="T1", key=f"request-{n}", now=NOW)
                outcomes.append("committed")
            except Unavailable as error:
                outcomes.append(error.reason)
    finally:
        writer.kill()
        writer.wait(timeout=5)
        db.dispose()
    assert outcomes == ["committed"] * 10


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database in `tmp_path/handoff.db` (checkpoints are SQLite's)."""
    url = f"sqlite:///{tmp_path}/handoff.db"
    upgrade(url)
    db = Database.from_url(url)
    yield db
    db.dispose()


def test_a_requests_commit_leaves_sqlite_checkpoints_to_background_work(sqlite_db: Database) -> None:
    def autocheckpoint() -> int:
        with sqlite_db.transaction() as session:
            return int(session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())

    with request_scope(LOCK_BUDGET):
        assert autocheckpoint() == 0  # a checkpoint after a big job can take a request hundreds of ms
    assert autocheckpoint() == AUTOCHECKPOINT_PAGES


def test_a_jobs_batches_leave_sqlite_one_checkpoint_at_its_end(sqlite_db: Database, tmp_path: Path) -> None:
    db = sqlite_db

    def write() -> int:
        with db.transaction() as session:
            session.execute(text("CREATE TABLE IF NOT EXISTS filler (x BLOB)"))
            session.execute(text("INSERT INTO filler VALUES (randomblob(200000))"))
            return int(session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())

    def wal() -> tuple[int, int]:
        with db.engine.connect() as conn:
            raw: Any = conn.connection.driver_connection
            _busy, logged, copied = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return logged, copied

    with db.checkpoint_after():
        # Each batch's commit leaves the log alone: more than AUTOCHECKPOINT_PAGES pile up.
        assert [write() for _ in range(25)] == [0] * 25
        assert (tmp_path / "handoff.db-wal").stat().st_size > AUTOCHECKPOINT_PAGES * 4096
    logged, copied = wal()
    assert logged == copied > AUTOCHECKPOINT_PAGES  # copied back at the end, once
    assert write() == AUTOCHECKPOINT_PAGES  # and afterwards commits checkpoint as usual


def _background_write(url: str, writers: RequestWriters, conn: Connection) -> None:
    """In a process of its own, as the worker: one background transaction once told to go."""
    db = Database.from_url(url, writers=writers)
    with db.transaction() as session:  # connect (and, on SQLite, set WAL up) before timing anything
        session.execute(text("SELECT 1"))
    conn.send("ready")
    conn.recv()
    started = time.monotonic()
    with db.transaction() as session:
        claim_once(session, team_id="T1", key="background", now=NOW)
    conn.send(time.monotonic() - started)
    db.dispose()


@contextmanager
def _worker_writing(url: str, writers: RequestWriters) -> Iterator[tuple[Connection, BaseProcess]]:
    here, there = multiprocessing.get_context("spawn").Pipe()
    child = multiprocessing.get_context("spawn").Process(target=_background_write, args=(url, writers, there))
    child.start()
    try:
        assert here.poll(60) and here.recv() == "ready"
        yield here, child
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()


def _written(db: Database) -> bool:
    with db.read() as session:
        return session.exec(select(func.count()).select_from(ProcessedEvent)
                            .where(ProcessedEvent.event_id == "background")).one() == 1


def test_background_writes_wait_while_another_processs_requests_write(db_url: str) -> None:
    # Without making way, the worker's write went in at once, and on SQLite the request behind it waited.
    upgrade(db_url)
    db, writers = Database.from_url(db_url), RequestWriters(make_way_for=30.0)
    try:
        with _worker_writing(db_url, writers) as (conn, _child):
            with writers.writing():  # a request of the web process, waiting for the lock or writing
                conn.send("go")
                assert not conn.poll(0.5) and not _written(db)
            assert conn.poll(10), "the background write never went in once the request was done"
            assert conn.recv() < 10
        assert _written(db)
    finally:
        db.dispose()


def test_background_writes_are_not_starved_by_requests_that_never_stop(db_url: str) -> None:
    upgrade(db_url)
    db, writers = Database.from_url(db_url), RequestWriters(make_way_for=0.2)
    try:
        with writers.writing(), _worker_writing(db_url, writers) as (conn, _child):
            conn.send("go")
            assert conn.poll(10)
            assert 0.2 <= conn.recv() < 10
        assert _written(db)
    finally:
        db.dispose()
