"""PostgreSQL connections the server dropped (a restart, a failover) are replaced, not handed out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

import models.db
from models.db import BUSY, Database, Unavailable
from tests.conftest import PG_URL, _pg_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database (a server that drops connections is PostgreSQL's case)."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    yield from _pg_database()


def _drop_connections(url: str) -> int:
    """Terminate every server process serving `url`'s database, as a server restart would."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
            ), {"name": name}).all())
    finally:
        admin.dispose()


def _answer(db: Database) -> int:
    with db.transaction() as session:
        return int(session.execute(text("SELECT 1")).scalar_one())


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database.from_url(pg_url)
    try:
        assert _answer(db) == 1
        assert _drop_connections(pg_url) >= 1
        monkeypatch.setattr(models.db, "IDLE_PING", 0.0)  # as after a second or more of quiet
        assert _answer(db) == 1
    finally:
        db.dispose()


def test_a_connection_used_a_moment_before_the_server_dropped_it_fails_once(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not pinged (it was just used): the one transaction on it fails as "busy" (a request answers "try
    # again in a moment"), nothing written, and the pool replaces every connection older than the
    # failure, so the next one goes through.
    db = Database.from_url(pg_url)
    monkeypatch.setattr(models.db, "IDLE_PING", 3600.0)
    try:
        assert _answer(db) == 1
        assert _drop_connections(pg_url) >= 1
        with pytest.raises(Unavailable) as failed:
            _answer(db)
        assert failed.value.reason == BUSY and failed.value.dropped
        assert _answer(db) == 1
    finally:
        db.dispose()


def test_a_statement_read_again_and_again_stays_prepared(pg_url: str) -> None:
    # psycopg prepares a statement on its fifth run and forgets every prepared one on a ROLLBACK: read
    # transactions that ended in one (closing a session sends it) had the sweep's and the requests'
    # statements parsed and planned afresh on every run.
    db = Database.from_url(pg_url)
    try:
        for i in range(8):
            with db.read() as session:
                assert session.execute(text("SELECT CAST(:n AS integer) + 1"), {"n": i}).scalar_one() == i + 1
        with db.read() as session:
            prepared = session.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
        assert any("+ 1" in statement for statement in prepared), prepared
    finally:
        db.dispose()
