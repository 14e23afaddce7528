"""The outbox's lease: one holder per row, outcomes written only by the holder, queries in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
