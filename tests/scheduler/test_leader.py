"""Only one scheduler leads; another takes over when the leader goes away."""

from __future__ import annotations

from models.db import Database
from scheduler.leader import Leadership


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
        assert second.acquire() is True
        assert first.acquire() is False
    finally:
        second.release()
        first.release()
        other_db.dispose()
