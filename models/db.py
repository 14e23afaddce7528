"""Engines and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, create_engine

__all__ = [
    "BUSY", "UNWRITABLE", "Database", "RequestScope", "Unavailable", "current_scope", "make_engine", "request_scope",
]

# Background work (worker, scheduler, CLI) may wait this long for SQLite's write lock.
BACKGROUND_WAIT_MS = 30_000
# How often a SQLite writer tries again for the write lock (seconds).
LOCK_POLL = 0.001
# SQLite's default: background commits copy the write-ahead log back once it holds this many pages.
AUTOCHECKPOINT_PAGES = 1000
# Once a request has timed out on a lock, the next ones wait only this long until a write succeeds again:
# a lock held for seconds by another process would otherwise queue every request behind it in turn.
STALLED_WAIT = 0.2
# How often a PostgreSQL request past its budget is cancelled again, until it stops (see _cancelled_after).
CANCEL_REPEAT = 0.05
BUSY, UNWRITABLE = "busy", "unwritable"
# SQLite's result codes and PostgreSQL's SQLSTATEs that mean "not now" or "not at all", not a bug.
_SQLITE_CODES = {"SQLITE_BUSY": BUSY, "SQLITE_LOCKED": BUSY, "SQLITE_READONLY": UNWRITABLE, "SQLITE_FULL": UNWRITABLE}
_PG_STATES = {"55P03": BUSY, "57014": BUSY, "25006": UNWRITABLE, "53100": UNWRITABLE}


class Unavailable(Exception):
    """The database took no write: locked past the request's budget (`busy`), or read-only or full."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class RequestScope:
    """One Slack request: the instant its writes must have the lock by, and whether one committed."""

    deadline: float
    committed: bool = False

    def remaining(self) -> float:
        """Seconds left to wait for a lock (never negative)."""
        return max(0.0, self.deadline - time.monotonic())


_SCOPE: ContextVar[RequestScope | None] = ContextVar("handoff_request_scope", default=None)


@contextmanager
def request_scope(budget: float) -> Iterator[RequestScope]:
    """Run a request: its transactions wait at most `budget` seconds in all for a lock, then fail `busy`."""
    scope = RequestScope(time.monotonic() + budget)
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def current_scope() -> RequestScope | None:
    """The request being handled on this thread, if any."""
    return _SCOPE.get()


def _unavailable(error: DBAPIError) -> Unavailable | None:
    orig = error.orig
    reason = _SQLITE_CODES.get(getattr(orig, "sqlite_errorname", "")) or _PG_STATES.get(getattr(orig, "sqlstate", ""))
    return Unavailable(reason) if reason else None


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
        cur.close()

    # pysqlite starts transactions lazily as DEFERRED; a read that later writes then fails with
    # "database is locked" instead of waiting. BEGIN IMMEDIATE takes the write lock up front, so
    # every read-check-write is serialised. Read-only sessions (Database.read) begin DEFERRED: in WAL
    # mode they never wait for, nor block, a writer.
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A request waits only what is left of its budget; background work waits long.
        scope = _SCOPE.get()
        wait = BACKGROUND_WAIT_MS / 1000 if scope is None else scope.remaining()
        if conn.get_execution_options().get(READ_ONLY, False):
            _pragma(conn, "busy_timeout", int(wait * 1000))
            conn.exec_driver_sql("BEGIN")
            return
        # A request's commit never copies the write-ahead log back into the database (a checkpoint
        # after a big sweep takes a few hundred milliseconds): background work's commits do that.
        _pragma(conn, "wal_autocheckpoint", 0 if scope is not None else AUTOCHECKPOINT_PAGES)
        # Writers wait for the lock by trying again every millisecond, not on SQLite's busy handler:
        # that one sleeps up to 100 ms between tries, so another process's writer (the sweep) that
        # frees the lock for a few milliseconds between its batches would be missed, again and again.
        _pragma(conn, "busy_timeout", 0)
        deadline = time.monotonic() + wait
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if getattr(error.orig, "sqlite_errorname", "") != "SQLITE_BUSY" or time.monotonic() >= deadline:
                    raise
            time.sleep(LOCK_POLL)


def _pragma(conn: Any, name: str, value: int) -> None:
    # Pragmas are per connection, and pooled connections serve requests and background work, reads and
    # writes: each is set when it changes.
    info = conn.connection.info
    if info.get(name) != value:
        conn.exec_driver_sql(f"PRAGMA {name}={value}")
        info[name] = value


READ_ONLY = "handoff_read_only"


class Database:
    """The store: hands out sessions, one transaction each."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(**{READ_ONLY: True})
        # SQLite has one writer at a time. Threads of this process queue on this lock, which wakes the
        # next one at once, rather than each trying SQLite's lock again every millisecond.
        self._write_lock: threading.Lock | None = threading.Lock() if engine.dialect.name == "sqlite" else None
        self._stalled = False  # a request timed out on a lock, and no write has succeeded since

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
        """Yield a session whose work is committed on success and rolled back on any error.

        Inside a `request_scope`, waiting for a lock past the scope's budget raises `Unavailable("busy")`,
        as does a read-only or full database (`unwritable`) anywhere; nothing is written then.
        """
        scope = _SCOPE.get()
        if scope is not None and self._stalled:
            scope.deadline = min(scope.deadline, time.monotonic() + STALLED_WAIT)
        if self._write_lock is not None and not self._write_lock.acquire(
            timeout=-1 if scope is None else scope.remaining()
        ):
            self._stalled = True
            raise Unavailable(BUSY)
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                bounded = (
                    self._cancelled_after(session, scope.remaining())
                    if scope is not None and self.dialect == "postgresql" else contextlib.nullcontext()
                )
                try:
                    with bounded:
                        yield session
                        session.commit()
                except BaseException:
                    session.rollback()
                    raise
            self._stalled = False
            if scope is not None:
                scope.committed = True
        except DBAPIError as error:
            unavailable = _unavailable(error)
            if unavailable is None:
                raise
            self._stalled = self._stalled or (scope is not None and unavailable.reason == BUSY)
            raise unavailable from error
        finally:
            if self._write_lock is not None:
                self._write_lock.release()

    @staticmethod
    @contextmanager
    def _cancelled_after(session: Session, seconds: float) -> Iterator[None]:
        # lock_timeout counts each lock wait afresh (a row lock, then a table lock, is twice the budget);
        # cancelling the statement under way when the budget runs out bounds the whole transaction.
        raw: Any = session.connection().connection.dbapi_connection
        guard = threading.Lock()
        finished = threading.Event()

        def cancel_until_finished() -> None:
            if finished.wait(seconds):
                return
            # A cancel that lands between two statements is ignored by the server: repeat it.
            while True:
                with guard:  # never once the connection went back to the pool, to serve someone else
                    if finished.is_set():
                        return
                    raw.cancel()
                if finished.wait(CANCEL_REPEAT):
                    return

        threading.Thread(target=cancel_until_finished, name="request-budget", daemon=True).start()
        try:
            yield
        finally:
            with guard:
                finished.set()

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
