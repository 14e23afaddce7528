"""The outbox's lease: one holder per row, outcomes written only by the holder, queries in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from models import outbox
from models.db import Database
from models.tables import Outbox

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def _queue(db: Database, *keys: str, channel: str = "C1", team: str = "T1") -> None:
    with db.transaction() as session:
        for key in keys:
            outbox.enqueue(session, team_id=team, key=key, kind="notice", now=NOW, payload={"channel": channel})


def _lease(db: Database, owner: str, at: datetime = NOW, limit: int = 5) -> list[Outbox]:
    with db.transaction() as session:
        return outbox.lease_due(session, now=at, owner=owner, lease=LEASE, limit=limit)


def _row(db: Database, key: str) -> Outbox:
    with db.read() as session:
        return session.exec(select(Outbox).where(Outbox.key == key)).one()


def test_a_leased_row_is_stored_as_leased_and_not_taken_again(db: Database) -> None:
    _queue(db, "a", "b")
    taken = _lease(db, "one")
    assert [row.key for row in taken] == ["a", "b"]
    stored = _row(db, "a")
    assert stored.lease_owner == "one" and stored.locked_until == NOW + LEASE
    assert _lease(db, "two", NOW + LEASE - timedelta(seconds=1)) == []


def test_only_the_lease_holder_records_an_outcome(db: Database) -> None:
    _queue(db, "a")
    (row,) = _lease(db, "one")
    assert row.id is not None
    later = NOW + LEASE + timedelta(seconds=1)
    (again,) = _lease(db, "two", later)  # the first holder's lease ran out mid-call
    with db.transaction() as session:
        assert not outbox.mark_sent(session, row.id, owner="one", now=later)
        assert not outbox.mark_retry(session, row.id, owner="one", now=later, delay=LEASE, error="x", uncertain=False)
        assert not outbox.mark_dead(session, row.id, owner="one", now=later, error="x")
        assert not outbox.begin_attempt(session, row.id, owner="one", now=later, lease=LEASE)
    assert _row(db, "a").status == "pending" and _row(db, "a").lease_owner == "two"
    with db.transaction() as session:
        assert outbox.mark_sent(session, row.id, owner="two", now=later, result={"ts": "1.2"})
    stored = _row(db, "a")
    assert stored.status == "sent" and stored.result == {"ts": "1.2"} and stored.attempts == 1
    with db.transaction() as session:
        assert not outbox.mark_retry(session, row.id, owner="two", now=later, delay=LEASE, error="x", uncertain=True)
    assert _row(db, "a").status == "sent"


def test_an_attempt_is_uncertain_until_its_outcome_and_remembers_when_it_began(db: Database) -> None:
    _queue(db, "a")
    (row,) = _lease(db, "one")
    assert row.id is not None
    with db.transaction() as session:
        assert outbox.begin_attempt(session, row.id, owner="one", now=NOW, lease=LEASE)
    began = _row(db, "a")
    assert began.uncertain and began.first_attempt_at == NOW
    with db.transaction() as session:
        # Slack said 429: it did not act, so the row is certain again.
        assert outbox.mark_retry(
            session, row.id, owner="one", now=NOW, delay=LEASE, error="ratelimited", uncertain=False
        )
    assert not _row(db, "a").uncertain
    later = NOW + timedelta(minutes=5)
    (row,) = _lease(db, "two", later)
    with db.transaction() as session:
        assert outbox.begin_attempt(session, row.id, owner="two", now=later, lease=LEASE)
    # A worker killed here leaves the row uncertain, its lease running out; the first attempt stays.
    (taken,) = _lease(db, "three", later + LEASE + timedelta(seconds=1))
    assert taken.uncertain and taken.first_attempt_at == NOW


def test_waking_a_channel_touches_only_its_waiting_rows(db: Database) -> None:
    _queue(db, "c1-a", "c1-b", channel="C1")
    _queue(db, "c2", channel="C2")
    _queue(db, "other-team", channel="C1", team="T2")
    for key in ("c1-a", "c2", "other-team"):
        with db.transaction() as session:
            row = session.exec(select(Outbox).where(Outbox.key == key)).one()
            row.next_attempt_at = NOW + timedelta(minutes=10)
            session.add(row)
    with db.transaction() as session:
        assert outbox.wake_channel(session, team_id="T1", channel_id="C1", now=NOW) == 1
    assert _row(db, "c1-a").next_attempt_at == NOW
    assert _row(db, "c2").next_attempt_at == NOW + timedelta(minutes=10)
    assert _row(db, "other-team").next_attempt_at == NOW + timedelta(minutes=10)


def test_pending_count_counts_only_pending_rows(db: Database) -> None:
    _queue(db, "a", "b", "c")
    (row, *_) = _lease(db, "one", limit=1)
    assert row.id is not None
    with db.transaction() as session:
        assert outbox.mark_sent(session, row.id, owner="one", now=NOW)
        assert outbox.pending_count(session) == 2


def test_outcomes_for_many_rows_are_one_compare_and_set_each_found_by_id(db: Database) -> None:
    # The statements that begin and record many rows at once find each row through the primary key,
    # whatever the backlog: a status condition once made SQLite walk every pending row (66 ms a
    # statement at 20,000), PostgreSQL hash-joined a scan of the whole table, and SQLite, given the ids
    # as a list too, scanned all the rows given for each row changed.
    with db.transaction() as session:
        outbox.enqueue_all(session, team_id="T1", now=NOW, items=[
            outbox.Pending(f"k{n}", "notice", {"channel": "C1"}) for n in range(5000)])
    taken = _lease(db, "one", limit=8)
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("UPDATE outbox"):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.transaction() as session:
            ids = [row.id for row in taken if row.id is not None]
            assert outbox.begin_attempts(session, [*ids, 999_999], owner="one", now=NOW) == set(ids)
            assert outbox.begin_attempts(session, ids, owner="two", now=NOW) == set()  # not its lease
            sent = [outbox.Sent(row_id, "one", NOW, {"ts": f"1.{row_id}"}) for row_id in ids[:5]]
            assert outbox.mark_sent_many(session, [*sent, outbox.Sent(ids[5], "two", NOW, {})]) == set(ids[:5])
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert [_row(db, f"k{n}").status for n in range(8)] == [outbox.OUTBOX_SENT] * 5 + [outbox.OUTBOX_PENDING] * 3
    assert _row(db, "k0").result == {"ts": f"1.{ids[0]}"} and _row(db, "k0").attempts == 1
    with db.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        if db.dialect == "postgresql":
            raw.execute("ANALYZE outbox")
        for statement, parameters in statements:
            cursor = raw.cursor()
            if db.dialect == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = " / ".join(str(row[-1]) for row in cursor.fetchall())
                assert "outbox USING INTEGER PRIMARY KEY" in plan and "ix_outbox" not in plan, plan
                if "json_each" in statement:
                    # The rows given are the outer loop, each found by id: not the other way round, which
                    # scans all the rows given for every row changed.
                    assert plan.index("SCAN json_each") < plan.index("SEARCH outbox"), plan
                    assert plan.count("json_each") == 1, plan
            else:
                cursor.execute("EXPLAIN " + statement, parameters)
                plan = " / ".join(str(row[0]) for row in cursor.fetchall())
                assert "outbox_pkey" in plan and "Seq Scan on outbox" not in plan, plan
