"""The one-leader rule: only one process runs the jobs at a time, and another takes over when it dies."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import zlib
from typing import IO

from sqlalchemy import Connection, text

from models.db import Database

__all__ = ["Leadership"]

log = logging.getLogger(__name__)

# One fixed advisory-lock id for "the Handoff scheduler" (a CRC keeps it readable and stable).
LOCK_ID = zlib.crc32(b"handoff-scheduler")


class Leadership:
    """A lock held for as long as this process lives: a PostgreSQL advisory lock, or a file lock for SQLite.

    Both are released by the operating system or the database when the holder dies, so a standby
    process acquires it on its next try. The jobs' own unique keys still prevent double messages even if
    two processes ever ran at once.

    The PostgreSQL session is in autocommit: it never sits "idle in transaction" (which
    idle_in_transaction_session_timeout would end, and the lock with it), and it is used under a lock,
    because the scheduler's threads all ask through this one connection.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: Connection | None = None
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        """Whether this process leads now (checks that the PostgreSQL session is still alive)."""
        with self._lock:
            return self._held()

    def _held(self) -> bool:
        if self._file is not None:
            return True
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            return True
        except Exception:
            log.warning("lost the scheduler lock's database session")
            self._connection.invalidate()  # a dead session must not go back to the pool
            self._connection = None
            return False

    def acquire(self) -> bool:
        """Try to become the leader without waiting; True when this process leads."""
        with self._lock:
            return self._acquire()

    def _acquire(self) -> bool:
        if self._held():
            return True
        if self.db.dialect == "postgresql":
            connection = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": LOCK_ID}).scalar())
            if got:
                self._connection = connection
            else:
                connection.close()
            return got
        return self._acquire_file()

    def _acquire_file(self) -> bool:
        path = self._lock_path()
        handle = open(path, "ab")  # noqa: SIM115 (held open for the life of the lock)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def _lock_path(self) -> str:
        database = self.db.engine.url.database or "handoff.db"
        return os.path.abspath(database) + ".scheduler.lock"

    def release(self) -> None:
        """Give up leadership."""
        with self._lock:
            self._release()

    def _release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
                self._connection.close()
            except Exception:
                log.warning("could not release the scheduler lock cleanly")
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
