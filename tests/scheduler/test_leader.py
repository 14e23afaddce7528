"""Only one scheduler leads; another takes over when the leader goes away."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from models.db import Database
from scheduler.leader import Leadership
from tests.conftest import PG_URL, _pg_database

ROOT = Path(__file__).resolve().parents[2]
IDLE_TIMEOUT_MS = 300


def test_one_leader_and_a_takeover_when_it_dies(db: Database, db_url: str) -> None:
    other_db = Database.from_url(db_url)  # a second process's own connections
    first, second = Leadership(db), Leadership(other_db)
    try:
        assert first.acquire() is True
        assert first.acquire() is True  # already leading: still true, nothing taken twice
        assert second.acquire() is False
        # The leader dies: its lock session (PostgreSQL) or lock file handle (SQLite) goes with it.
        if first._connection is not None:
            first._connection.invalidate()
            first._connection = None
        else:
            assert first._file is not None
            first._file.close()
            first._file = None
        # The server ends the dead session (and frees its lock) on its own time: wait for it, with a deadline.
        deadline = time.monotonic() + 10
        while not second.acquire() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second.held
        assert first.acquire() is False
    finally:
        second.release()
        first.release()
        other_db.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database (advisory locks are PostgreSQL's; SQLite leads by a file lock)."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    yield from _pg_database()


_SECOND_PROCESS = """
import sys
from models.db import Database
from scheduler.leader import Leadership
db = Database.from_url(sys.argv[1])
print(Leadership(db).acquire())
"""


def test_the_leader_keeps_its_lock_past_idle_in_transaction_timeout(pg_url: str) -> None:
    admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{pg_url.rsplit("/", 1)[1]}" SET idle_in_transaction_session_timeout = '
                          f"'{IDLE_TIMEOUT_MS}ms'"))
    db = Database.from_url(pg_url)
    leader = Leadership(db)
    try:
        assert leader.acquire() and leader.held
        assert leader._connection is not None
        pid = leader._connection.execute(text("SELECT pg_backend_pid()")).scalar()

        def session() -> Any:
            with admin.connect() as conn:
                return conn.execute(
                    text("SELECT state, now() - state_change > make_interval(secs => :s) FROM pg_stat_activity "
                         "WHERE pid = :pid"), {"pid": pid, "s": 2 * IDLE_TIMEOUT_MS / 1000},
                ).first()

        # Wait (for the database server, a real other process) until the session has sat twice the timeout.
        deadline = time.monotonic() + 10
        while (row := session()) is not None and not row[1] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert row is not None and row[0] == "idle", f"the lock's session: {row}"
        assert leader.held
        second = subprocess.run([sys.executable, "-c", _SECOND_PROCESS, pg_url], capture_output=True, text=True,
                                timeout=60, cwd=ROOT)
        assert second.stdout.strip() == "False", second.stderr
    finally:
        leader.release()
        db.dispose()
        admin.dispose()
