"""Engines and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session, create_engine

__all__ = [
    "BUSY", "UNWRITABLE", "Database", "RequestScope", "RequestWriters", "Unavailable", "current_scope", "make_engine",
    "request_scope",
]

# Background work (worker, scheduler, CLI) may wait this long for SQLite's write lock.
BACKGROUND_WAIT_MS = 30_000
# How often a SQLite writer tries again for the write lock (seconds).
LOCK_POLL = 0.001
# SQLite's default: background commits copy the write-ahead log back once it holds this many pages.
AUTOCHECKPOINT_PAGES = 1000
# A background writer waits at most this long (seconds) for another process's requests to stop
# writing before it takes the lock anyway: requests first, but background work is never starved.
MAKE_WAY_FOR = 0.025
# Once a request has timed out on a lock, the next ones wait only this long until a write succeeds again:
# a lock held for seconds by another process would otherwise queue every request behind it in turn.
STALLED_WAIT = 0.2
# A PostgreSQL connection idle this long (seconds) is pinged before use (see _ping_when_idle).
IDLE_PING = 1.0
# How often a PostgreSQL request past its budget is cancelled again, until it stops (see _cancelled_after).
CANCEL_REPEAT = 0.05
BUSY, UNWRITABLE = "busy", "unwritable"
# SQLite's result codes and PostgreSQL's SQLSTATEs that mean "not now" or "not at all", not a bug.
_SQLITE_CODES = {"SQLITE_BUSY": BUSY, "SQLITE_LOCKED": BUSY, "SQLITE_READONLY": UNWRITABLE, "SQLITE_FULL": UNWRITABLE}
_PG_STATES = {"55P03": BUSY, "57014": BUSY, "25006": UNWRITABLE, "53100": UNWRITABLE}


class Unavailable(Exception):
    """The database took no write: locked past the request's budget (`busy`), or read-only or full.

    `dropped`: the server dropped the connection (a restart); a new transaction gets a fresh one.
    """

    def __init__(self, reason: str, *, dropped: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.dropped = dropped


@dataclass
class RequestScope:
    """One Slack request: the instant its writes must have the lock by, and whether one committed."""

    deadline: float
    committed: bool = False

    def remaining(self) -> float:
        """Seconds left to wait for a lock (never negative)."""
        return max(0.0, self.deadline - time.monotonic())


class RequestWriters:
    """How many requests are waiting to write, or writing: a count shared by processes.

    The web process counts its requests' write transactions; the worker's background writers wait while
    the count is above zero (up to `make_way_for` seconds), so they write in the gaps between requests. On
    SQLite a request then seldom waits behind a delivery's hold of the one write lock; on PostgreSQL the
    worker (and the database server working for it) leaves the cores to requests while they come. Shared
    memory without a lock (see bot.worker): one process writes it, under its own thread lock, and the
    other only reads it.
    """

    def __init__(self, make_way_for: float = MAKE_WAY_FOR) -> None:
        self.make_way_for = make_way_for
        self._count: Any = multiprocessing.get_context("spawn").RawValue("i", 0)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # A thread lock does not cross processes: each side has its own.
        return {"make_way_for": self.make_way_for, "_count": self._count}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.make_way_for, self._count, self._lock = state["make_way_for"], state["_count"], threading.Lock()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Count a request's write while the block runs."""
        with self._lock:
            self._count.value += 1
        try:
            yield
        finally:
            with self._lock:
                self._count.value -= 1

    def wait_until_idle(self) -> None:
        """Return once no request is writing, or after `make_way_for` seconds."""
        deadline = time.monotonic() + self.make_way_for
        while self._count.value > 0 and time.monotonic() < deadline:
            time.sleep(LOCK_POLL)


_SCOPE: ContextVar[RequestScope | None] = ContextVar("handoff_request_scope", default=None)
# Inside `Database.checkpoint_after()`: this thread's commits leave the write-ahead log to one checkpoint at the end.
_DEFERRED: ContextVar[bool] = ContextVar("handoff_deferred_checkpoint", default=False)


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
    if error.connection_invalidated:
        # The server dropped the connection (a restart, a failover): nothing was written, and the pool
        # connects afresh for the next transaction, so "try again in a moment" is the truth.
        return Unavailable(BUSY, dropped=True)
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
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled PostgreSQL connection before use only when it has sat idle for IDLE_PING seconds.

    SQLAlchemy's pre-ping asks on every checkout, a round trip per transaction (a third of a short
    one's time). A connection used a moment ago is alive unless the server went away in that moment;
    one idle for longer (after a restart of the server, a dropped connection) is asked, and replaced if
    it does not answer.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", float("-inf")) < IDLE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:  # the pool then connects afresh and tries again
            raise DisconnectionError(str(error)) from error


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
        # Straight to the driver: this runs for every transaction, and SQLAlchemy's statement machinery
        # would cost more than SQLite's work here. Its errors are raised as SQLAlchemy's, as they would be.
        try:
            _begin(conn.connection.driver_connection, conn.connection.info, conn.get_execution_options())
        except sqlite3.Error as error:
            raise DBAPIError.instance(None, None, error, sqlite3.Error) from error


def _begin(raw: sqlite3.Connection, info: dict[str, Any], options: Any) -> None:
    # A request waits only what is left of its budget; background work waits long.
    scope = _SCOPE.get()
    wait = BACKGROUND_WAIT_MS / 1000 if scope is None else scope.remaining()
    if options.get(READ_ONLY, False):
        _pragma(raw, info, "busy_timeout", int(wait * 1000))
        raw.execute("BEGIN")
        return
    # A request's commit never copies the write-ahead log back into the database (a checkpoint
    # after a big sweep takes a few hundred milliseconds): background work's commits do that, or a
    # job's batches leave it to one checkpoint when the job ends (pages the batches all touch, like an
    # index's, are then copied back once, not once per thousand pages logged).
    deferred = scope is not None or _DEFERRED.get()
    _pragma(raw, info, "wal_autocheckpoint", 0 if deferred else AUTOCHECKPOINT_PAGES)
    # Writers wait for the lock by trying again every millisecond, not on SQLite's busy handler:
    # that one sleeps up to 100 ms between tries, so another process's writer (the sweep) that
    # frees the lock for a few milliseconds between its batches would be missed, again and again.
    _pragma(raw, info, "busy_timeout", 0)
    deadline = time.monotonic() + wait
    while True:
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorname != "SQLITE_BUSY" or time.monotonic() >= deadline:
                raise
        time.sleep(LOCK_POLL)


def _pragma(raw: sqlite3.Connection, info: dict[str, Any], name: str, value: int) -> None:
    # Pragmas are per connection, and pooled connections serve requests and background work, reads and
    # writes: each is set when it changes.
    if info.get(name) != value:
        raw.execute(f"PRAGMA {name}={value}")
        info[name] = value


READ_ONLY = "handoff_read_only"
_APART = "handoff_apart"


def apart(session: Session) -> Callable[[Executable, dict[str, Any]], Sequence[Row[Any]]]:
    """How to run a statement whose row locks must not last until `session` commits.

    On PostgreSQL (a session of `Database.transaction`), each statement runs on a connection of its own
    and commits at once: e.g. taking the workspace's next task number, whose row every create in the
    workspace waits for, is held for that statement instead of the whole create. What it did stays
    done if the session then rolls back. Elsewhere (SQLite, whose one writer serialises writes anyway),
    in the session's own transaction.
    """
    run: Callable[[Executable, dict[str, Any]], Sequence[Row[Any]]] | None = session.info.get(_APART)
    if run is not None:
        return run
    return lambda statement, params: session.connection().execute(statement, params).all()


class _Canceller:
    """One thread that cancels the statement under way of each PostgreSQL request past its budget.

    A request's transaction is watched from its start until it ends; one thread for them all, started on
    first use, costs a dictionary entry per request instead of a thread each.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._watched: dict[int, tuple[float, Any]] = {}  # token -> (when to cancel, DB-API connection)
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, raw: Any, deadline: float) -> int:
        """Cancel `raw`'s statement at `deadline` (monotonic), and every CANCEL_REPEAT after, until `done`."""
        with self._changed:
            token = next(self._tokens)
            self._watched[token] = (deadline, raw)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="request-budget", daemon=True)
                self._thread.start()
            self._changed.notify()
        return token

    def done(self, token: int) -> None:
        """The transaction ended: never cancel its connection again (the pool may hand it to someone else)."""
        with self._changed:
            del self._watched[token]

    def _run(self) -> None:
        with self._changed:
            while True:
                if not self._watched:
                    self._changed.wait()
                    continue
                token, (deadline, raw) = min(self._watched.items(), key=lambda item: item[1][0])
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                # A cancel that lands between two statements is ignored by the server: repeat it. Done
                # under the condition, so `done` cannot return (and the connection go back) meanwhile.
                with contextlib.suppress(Exception):
                    raw.cancel()
                self._watched[token] = (time.monotonic() + CANCEL_REPEAT, raw)


class Database:
    """The store: hands out sessions, one transaction each."""

    def __init__(self, engine: Engine, *, writers: RequestWriters | None = None) -> None:
        self.engine = engine
        # Requests count their writes here; background writers make way for them.
        self.writers = writers
        self._reader = engine.execution_options(**{READ_ONLY: True})
        # SQLite has one writer at a time. Threads of this process queue on this lock, which wakes the
        # next one at once, rather than each trying SQLite's lock again every millisecond.
        self._write_lock: threading.Lock | None = threading.Lock() if engine.dialect.name == "sqlite" else None
        self._stalled = False  # a request timed out on a lock, and no write has succeeded since
        self._canceller = _Canceller()

    @classmethod
    def from_url(cls, url: str, *, writers: RequestWriters | None = None) -> Database:
        """Open the database at `url`; on SQLite, `writers` is shared with the other processes that write."""
        return cls(make_engine(url), writers=writers)

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
        if self.writers is None:
            counted: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        elif scope is None:
            self.writers.wait_until_idle()
            counted = contextlib.nullcontext()
        else:
            counted = self.writers.writing()
        with counted:
            yield from self._transaction(scope)

    def _transaction(self, scope: RequestScope | None) -> Iterator[Session]:
        if scope is not None and self._stalled:
            scope.deadline = min(scope.deadline, time.monotonic() + STALLED_WAIT)
        if self._write_lock is not None and not self._write_lock.acquire(
            timeout=-1 if scope is None else scope.remaining()
        ):
            self._stalled = True
            raise Unavailable(BUSY)
        try:
            info = {_APART: self._apart} if self.dialect == "postgresql" else {}
            with Session(self.engine, expire_on_commit=False, info=info) as session:
                bounded = (
                    self._cancelled_after(session.connection().connection.dbapi_connection, scope.remaining())
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

    @contextmanager
    def _cancelled_after(self, raw: Any, seconds: float) -> Iterator[None]:
        # lock_timeout counts each lock wait afresh (a row lock, then a table lock, is twice the budget);
        # cancelling the statement under way when the budget runs out bounds the whole transaction.
        token = self._canceller.watch(raw, time.monotonic() + seconds)
        try:
            yield
        finally:
            self._canceller.done(token)

    def _apart(self, statement: Executable, params: dict[str, Any]) -> Sequence[Row[Any]]:
        """PostgreSQL: run one statement on a connection of its own, committed at once (within the
        request's budget, as its transaction is). See `apart`."""
        scope = _SCOPE.get()
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            raw: Any = conn.connection.dbapi_connection
            bounded = (
                self._cancelled_after(raw, scope.remaining()) if scope is not None else contextlib.nullcontext()
            )
            with bounded:
                return conn.execute(statement, params).all()

    @contextmanager
    def checkpoint_after(self) -> Iterator[None]:
        """Run a job of many write transactions with one SQLite checkpoint at its end, not one per
        AUTOCHECKPOINT_PAGES logged (nothing changes on PostgreSQL)."""
        token = _DEFERRED.set(True)
        try:
            yield
        finally:
            _DEFERRED.reset(token)
            if self.dialect == "sqlite":
                # PASSIVE: copies what it can without waiting for, or blocking, anyone.
                # On the driver's connection: SQLAlchemy would begin a transaction first, inside which
                # SQLite does not checkpoint.
                with self.engine.connect() as conn:
                    raw: Any = conn.connection.driver_connection
                    raw.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Yield a session for reading only (a consistent snapshot that takes no write lock)."""
        # Closing (not rolling back) keeps loaded objects usable; the pool ends the transaction on return.
        with Session(self._reader, expire_on_commit=False) as session:
            yield session
            if self.dialect == "postgresql" and session.in_transaction():
                # Ended by COMMIT, not the ROLLBACK closing sends: psycopg forgets the connection's prepared
                # statements on every ROLLBACK, so the ones run most (the sweep's, a request's) were parsed
                # and planned afresh each time. On the driver's connection, so that SQLAlchemy's commits
                # stay the write transactions (its rollback on close then finds nothing to end); nothing
                # was written, so this commit flushes nothing.
                session.connection().connection.dbapi_connection.commit()  # type: ignore[union-attr]

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
