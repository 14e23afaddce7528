"""The outbox: what must be sent to Slack, written in the transaction of the change that causes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, update
from sqlmodel import Session, col, select

from models.sql import bulk_insert, bulk_update, get_plain_many, insert_ignore
from models.tables import OUTBOX_DEAD, OUTBOX_PENDING, OUTBOX_SENT, Outbox

__all__ = [
    "LEASE",
    "OUTBOX_DEAD",
    "OUTBOX_SENT",
    "Pending",
    "Sent",
    "begin_attempt",
    "begin_attempts",
    "enqueue_all",
    "latest_pending_id",
    "newest_id",
    "supersede",
    "enqueue",
    "lease_due",
    "mark_dead",
    "mark_retry",
    "mark_sent",
    "mark_sent_many",
    "pending_count",
    "release",
    "wake_channel",
]

# How long a worker owns a row it took, renewed as each row's attempt begins: longer than one row's
# worst case (three Web API calls at the client's 10 s timeout, plus a lookup's pages of history).
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Pending:
    """One delivery to queue: its unique key, its kind, what it carries, and its task."""

    key: str
    kind: str
    payload: dict[str, Any]
    task_id: int | None = None


def _row(team_id: str, item: Pending, now: datetime) -> dict[str, Any]:
    return {
        "team_id": team_id,
        "key": item.key,
        "kind": item.kind,
        "task_id": item.task_id,
        "payload": item.payload,
        "status": OUTBOX_PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "uncertain": False,
        "result": {},
    }


def enqueue_all(session: Session, *, team_id: str, now: datetime, items: Sequence[Pending]) -> None:
    """Add several deliveries in one statement; any whose key exists already is skipped."""
    rows = [{"key": i.key, "kind": i.kind, "task_id": i.task_id, "payload": i.payload} for i in items]
    same = {k: v for k, v in _row(team_id, Pending("", "", {}), now).items() if k not in rows[0]} if rows else {}
    bulk_insert(session, Outbox, rows, same=same, ignore_conflicts=True)


def enqueue(
    session: Session,
    *,
    team_id: str,
    key: str,
    kind: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    task_id: int | None = None,
    at: datetime | None = None,
) -> bool:
    """Add a delivery (due at `at`, else now) unless one with the same key exists (then nothing happens);
    return True if added."""
    row = _row(team_id, Pending(key, kind, payload or {}, task_id), now)
    if at is not None:
        row["next_attempt_at"] = at
    return insert_ignore(session, Outbox, row)


def lease_due(
    session: Session, *, now: datetime, owner: str, lease: timedelta = LEASE, limit: int = 5,
    through_id: int | None = None,
) -> list[Outbox]:
    """Take up to `limit` due rows (oldest first; only up to `through_id` if given) for `owner` until
    `now + lease`; returns plain copies (see `models.sql.get_plain`).

    A row whose lease ran out is taken again, still marked uncertain if a call was in flight then.
    """
    query = (
        select(Outbox.id)
        .where(Outbox.status == OUTBOX_PENDING, col(Outbox.next_attempt_at) <= now)
        .where(or_(col(Outbox.locked_until).is_(None), col(Outbox.locked_until) < now))
        .order_by(col(Outbox.id))
        .limit(limit)
    )
    if through_id is not None:
        query = query.where(col(Outbox.id) <= through_id)
    if session.get_bind().dialect.name == "postgresql":
        # Another worker's rows are skipped, not waited for. (SQLite's BEGIN IMMEDIATE serialises this.)
        query = query.with_for_update(skip_locked=True)
    ids = [i for i in session.exec(query) if i is not None]
    if not ids:
        return []
    session.execute(
        update(Outbox).where(col(Outbox.id).in_(ids)).values(lease_owner=owner, locked_until=now + lease)
    )
    # Plain rows through Core, not the ORM's loading: this runs for every few messages delivered.
    found = get_plain_many(session, Outbox, ids)
    return [found[row_id] for row_id in sorted(found)]


# Outcome writes run for every message delivered: Core statements built once, with the row, the owner and
# the values as parameters (the ORM's bulk UPDATE would also build its WHERE afresh and look for the row
# among loaded objects each time).
_T: Any = Outbox.__table__  # type: ignore[attr-defined]


def _param(name: str, column: str) -> Any:
    # Named apart from the columns: SQLAlchemy reserves a column's own name for the SET clause.
    return bindparam(f"p_{name}", type_=_T.c[column].type)


def _held(**values: Any) -> Any:
    """An UPDATE of a row that matches only while the given owner still holds its lease (compare-and-set)."""
    return update(_T).where(
        _T.c.id == _param("row", "id"), _T.c.lease_owner == _param("owner", "lease_owner"),
        _T.c.status == OUTBOX_PENDING,
    ).values(**values)


# The statements for many rows compare only the lease's owner, not the status too: every write that ends
# a row (sent, dead, superseded) clears its owner. A status condition there made SQLite walk every pending
# row through `ix_outbox_due` instead of finding each by its id: 66 ms a statement at 20,000 pending.
_BEGIN_MANY = update(_T).where(
    _T.c.id.in_(bindparam("p_rows", expanding=True)), _T.c.lease_owner == _param("owner", "lease_owner"),
).values(
    locked_until=_param("until", "locked_until"), uncertain=True,
    first_attempt_at=func.coalesce(_T.c.first_attempt_at, _param("now", "first_attempt_at")),
).returning(_T.c.id)
_RETRY = _held(
    attempts=_T.c.attempts + 1, next_attempt_at=_param("at", "next_attempt_at"), locked_until=None, lease_owner=None,
    last_error=_param("error", "last_error"), uncertain=_param("uncertain", "uncertain"),
)
_DEAD = _held(
    attempts=_T.c.attempts + 1, status=OUTBOX_DEAD, locked_until=None, lease_owner=None,
    last_error=_param("error", "last_error"), sent_at=_param("now", "sent_at"),
)
_RELEASE = _held(
    next_attempt_at=_param("at", "next_attempt_at"), locked_until=None, lease_owner=None,
    uncertain=_param("uncertain", "uncertain"),
)


def _wrote(session: Session, statement: Any, row_id: int, owner: str, **values: Any) -> bool:
    params = {"p_row": row_id, "p_owner": owner, **{f"p_{name}": value for name, value in values.items()}}
    return bool(session.connection().execute(statement, params).rowcount)


def begin_attempt(session: Session, row_id: int, *, owner: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """Renew `owner`'s lease and mark the row uncertain before calling Slack; False if the lease is lost.

    Committed before the call, so a worker killed mid-call leaves a row that is looked up before it is
    posted again.
    """
    return row_id in begin_attempts(session, [row_id], owner=owner, now=now, lease=lease)


def begin_attempts(
    session: Session, row_ids: Sequence[int], *, owner: str, now: datetime, lease: timedelta = LEASE
) -> set[int]:
    """`begin_attempt` on several of `owner`'s rows in one statement; returns the ids whose lease held."""
    if not row_ids:
        return set()
    params = {"p_rows": list(row_ids), "p_owner": owner, "p_until": now + lease, "p_now": now}
    return {row_id for (row_id,) in session.connection().execute(_BEGIN_MANY, params)}


def mark_sent(
    session: Session, row_id: int, *, owner: str, now: datetime, result: dict[str, Any] | None = None
) -> bool:
    """Record that Slack confirmed the delivery (it is never sent again); False if the lease is lost."""
    return row_id in mark_sent_many(session, [Sent(row_id, owner, now, result or {})])


@dataclass(frozen=True)
class Sent:
    """A delivery Slack confirmed, to record with `mark_sent_many`: the row, its lease's owner, when, and
    what Slack answered."""

    row_id: int
    owner: str
    at: datetime
    result: dict[str, Any]


def mark_sent_many(session: Session, sent: Sequence[Sent]) -> set[int]:
    """`mark_sent` for many rows in one statement (each a compare-and-set on its owner); returns the ids
    recorded (a row whose lease was lost is not)."""
    rows = [{"id": s.row_id, "lease_owner": s.owner, "sent_at": s.at, "result": s.result} for s in sent]
    return {row_id for (row_id,) in bulk_update(
        session, Outbox, rows, match=("id", "lease_owner"), returning=("id",), increment=("attempts",),
        same={"status": OUTBOX_SENT, "locked_until": None, "lease_owner": None},
    )}


def mark_retry(
    session: Session,
    row_id: int,
    *,
    owner: str,
    now: datetime,
    delay: timedelta,
    error: str,
    uncertain: bool,
) -> bool:
    """Schedule another attempt after `delay`; `uncertain` says Slack may have acted on some attempt."""
    return _wrote(session, _RETRY, row_id, owner, at=now + delay, error=error[:500], uncertain=uncertain)


def mark_dead(session: Session, row_id: int, *, owner: str, now: datetime, error: str) -> bool:
    """Give up on a delivery Slack refuses for good (kept for inspection, never retried)."""
    return _wrote(session, _DEAD, row_id, owner, error=error[:500], now=now)


def release(session: Session, row_id: int, *, owner: str, at: datetime, uncertain: bool) -> bool:
    """Give the row back without counting an attempt (it waits for its card), due again at `at`."""
    return _wrote(session, _RELEASE, row_id, owner, at=at, uncertain=uncertain)


def wake_channel(session: Session, *, team_id: str, channel_id: str, now: datetime) -> int:
    """Make deliveries waiting on `channel_id` (e.g. until the bot is invited) due now; return how many."""
    result = session.execute(
        update(Outbox)
        .where(
            col(Outbox.team_id) == team_id,
            col(Outbox.status) == OUTBOX_PENDING,
            col(Outbox.next_attempt_at) > now,
            col(Outbox.payload)["channel"].as_string() == channel_id,
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def pending_count(session: Session) -> int:
    """How many deliveries are still waiting (a COUNT, whatever the backlog)."""
    return int(session.exec(select(func.count()).select_from(Outbox).where(Outbox.status == OUTBOX_PENDING)).one())


def supersede(session: Session, *, task_id: int, kind: str, through_id: int, now: datetime) -> None:
    """Mark pending rows of `kind` for `task_id` up to `through_id` as sent: one delivery covered them all."""
    session.execute(
        update(Outbox)
        .where(
            col(Outbox.task_id) == task_id,
            col(Outbox.kind) == kind,
            col(Outbox.status) == OUTBOX_PENDING,
            col(Outbox.id) <= through_id,
        )
        .values(status=OUTBOX_SENT, sent_at=now, locked_until=None, lease_owner=None)
    )


def supersede_keyed(session: Session, *, key_prefix: str, kind: str, through_id: int, now: datetime) -> None:
    """Mark pending rows of `kind` whose key starts with `key_prefix`, up to `through_id`, as sent."""
    session.execute(
        update(Outbox)
        .where(
            col(Outbox.key).startswith(key_prefix, autoescape=True),
            col(Outbox.kind) == kind,
            col(Outbox.status) == OUTBOX_PENDING,
            col(Outbox.id) <= through_id,
        )
        .values(status=OUTBOX_SENT, sent_at=now, locked_until=None, lease_owner=None)
    )


def newest_id(session: Session) -> int:
    """The id of the newest outbox row (0 when there is none): what was queued up to now."""
    newest = session.exec(select(func.max(Outbox.id))).one()
    return int(newest or 0)


def latest_pending_id(session: Session, *, task_id: int, kind: str) -> int | None:
    """The newest pending row of `kind` for `task_id`."""
    return session.exec(
        select(func.max(Outbox.id)).where(
            Outbox.task_id == task_id, Outbox.kind == kind, Outbox.status == OUTBOX_PENDING
        )
    ).one()
