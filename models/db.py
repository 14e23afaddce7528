"""Engines and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

__all__ = ["Database", "make_engine"]


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create an engine tuned for `url`: SQLite in WAL mode with foreign keys, or PostgreSQL via psycopg 3."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        # isolation_level=None hands transaction control to the "begin" hook below.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    # pysqlite starts transactions lazily as DEFERRED; a read that later writes then fails with
    # "database is locked" instead of waiting. BEGIN IMMEDIATE takes the write lock up front, so
    # concurrent writers queue on busy_timeout and every read-check-write is serialised. Read-only
    # sessions (Database.read) begin DEFERRED: in WAL mode they never wait for, nor block, a writer.
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


READ_ONLY = "handoff_read_only"


class Database:
    """The store: hands out sessions, one transaction each."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(**{READ_ONLY: True})
        # SQLite has one writer at a time. Threads of this process queue on this lock, which wakes the
        # next one at once, instead of on SQLite's busy handler, which polls with sleeps of up to 100 ms.
        self._write_lock: threading.Lock | None = threading.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    def from_url(cls, url: str) -> Database:
        """Open the database at `url`."""
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session whose work is committed on success and rolled back on any error."""
        lock = self._write_lock or contextlib.nullcontext()
        with lock, Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Yield a session for reading only (a consistent snapshot that takes no write lock)."""
        # Closing (not rolling back) keeps loaded objects usable; the pool ends the transaction on return.
        with Session(self._reader, expire_on_commit=False) as session:
            yield session

    def ping(self) -> bool:
        """Return True when the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
