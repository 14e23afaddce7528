"""Shared fixtures: databases (SQLite file, and PostgreSQL when TEST_DATABASE_URL is set) and a clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

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


def _pg_database() -> Iterator[str]:
    name = f"handoff_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, and a new PostgreSQL database when configured."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/handoff.db"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    yield from _pg_database()


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
