"""Shared fixtures: databases (SQLite file, and PostgreSQL when TEST_DATABASE_URL is set) and a clock."""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from migrations import upgrade
from models.db import Database

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


class FakeClock:
    """A clock the test sets and moves; nothing in the code under test reads the real time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta's keyword arguments (hours=1, minutes=5, …)."""
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> None:
        """Jump to `moment`."""
        self.now = moment


@pytest.fixture
def clock() -> FakeClock:
    """Wednesday 25 November 2026, 15:00 UTC (10:00 in New York)."""
    return FakeClock(datetime(2026, 11, 25, 15, 0, tzinfo=UTC))


def _admin() -> Engine:
    return create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")


def _pg_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of `template` when given), dropped afterwards."""
    name = f"handoff_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class _Schemas:
    """Databases migrated to the head once per test session, copied for each test that wants one migrated:
    a copy costs a few milliseconds (SQLite) or a template copy (PostgreSQL), the migrations 0.15-0.3 s."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._pg: str | None = None

    def sqlite(self) -> Path:
        if self._sqlite is None:
            path = self.folder / "migrated.db"
            upgrade(f"sqlite:///{path}")
            with sqlite3.connect(path) as conn:  # everything in the file itself, none in its write-ahead log
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._sqlite = path
        return self._sqlite

    def postgresql(self) -> str:
        if self._pg is None:
            url = next(self._pg_made)
            upgrade(url)
            self._pg = url.rsplit("/", 1)[1]
        return self._pg

    def __enter__(self) -> _Schemas:
        self._pg_made = _pg_database() if PG_URL else iter(())
        return self

    def __exit__(self, *_: object) -> None:
        if self._pg is not None:
            next(self._pg_made, None)  # drops it


@pytest.fixture(scope="session")
def _schemas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Schemas]:
    with _Schemas(tmp_path_factory.mktemp("schemas")) as schemas:
        yield schemas


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str], _schemas: _Schemas) -> Iterator[str]:
    """A fresh database URL: a SQLite file, and a new PostgreSQL database when configured.

    Migrated to the head (a copy of a database migrated once per session), or empty for a test marked
    `empty_database` (one that runs the migrations itself).
    """
    empty = request.node.get_closest_marker("empty_database") is not None
    if request.param == "sqlite":
        path = Path(tmp_path) / "handoff.db"
        if not empty:
            shutil.copyfile(_schemas.sqlite(), path)
        yield f"sqlite:///{path}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    yield from _pg_database(None if empty else _schemas.postgresql())


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database."""
    upgrade(db_url)
    database = Database.from_url(db_url)
    yield database
    database.dispose()


# In CI (HANDOFF_NO_SKIPS=1) every test must run: a skip there means a database, a browser or a
# dependency is missing, and the run would pass by proving nothing. It is reported as a failure.
NO_SKIPS = os.environ.get("HANDOFF_NO_SKIPS") == "1"


def _no_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but HANDOFF_NO_SKIPS=1 requires every test to run: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A skipped test fails when HANDOFF_NO_SKIPS=1."""
    report = yield
    _no_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A module skipped as it is collected (e.g. a missing import) fails when HANDOFF_NO_SKIPS=1."""
    report = yield
    _no_skip(report)
    return report
