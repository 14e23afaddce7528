"""The Slack gateway: delivers outbox rows to the Web API, retrying until Slack confirms each once."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from bot import render
from models import outbox
from models.db import Database, Unavailable
from models.notices import shown_of
from models.notify import Rules, comment_wanted, dm_wanted, muted_for, notice_wanted, quiet_holds
from models.sql import get_plain, get_plain_many, set_plain
from models.tables import OUTBOX_DEAD, OUTBOX_PENDING, OUTBOX_SENT, Outbox, Task, TaskEvent

__all__ = ["Delivery", "DeliveryReport", "Wakeup"]

log = logging.getLogger(__name__)

METADATA_TYPE = "handoff_delivery"
# While the bot is not in a card's channel we keep trying at this pace (and at once when invited).
WAIT_FOR_INVITE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(minutes=5)
# Rows leased at once: few, so a slow row does not keep many others waiting under an idle lease.
LEASE_BATCH = 5
# A lane begins the attempts on up to this many of its rows in one transaction (with the outcomes of the
# rows before): one transaction per row made each message wait its turn for the write lock.
ATTEMPTS_AT_ONCE = 8
# ... and records what it sent at least this often (seconds): a card's place is stored soon after it is
# posted, and a row's call starts soon after its attempt began (and its lease was renewed).
RECORD_EVERY = 0.25
# Rows that read other rows' outcomes as stored (a refresh updates the DM copies recorded as sent; a digest
# reply needs its parent's ts) begin a group of their own, once the outcomes before them are recorded.
_READS_OUTCOMES = frozenset({"card.update", "digest.reply"})


def _reads_outcomes(row: Outbox) -> bool:
    # A thread line that refreshes its card too (the sweep's overdue line) reads as a refresh does.
    return row.kind in _READS_OUTCOMES or (row.kind == "thread.note" and bool(row.payload.get("refresh_card")))
# Rows the background loop takes in one pass (leased LEASE_BATCH per lane at a time, as lanes free up).
LOOP_PASS = 250
# A lookup for an earlier post reads back to its first attempt, less this for clocks that disagree.
LOOKUP_MARGIN = timedelta(minutes=5)
# Slack may have acted on a request that timed out or failed with 5xx; those are "uncertain".
_CHANNEL_PROBLEMS = {"not_in_channel", "channel_not_found", "is_archived"}
# A result may carry task fields learnt on the way (the card's place, its link) to the outcome write.
_TASK_FIELDS = "task_fields"
_AUTH_PROBLEMS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


class Wakeup(Protocol):
    """What `kick()` sets and the delivery loop waits on (a threading.Event, or the worker's pipe wake-up)."""

    def set(self) -> None: ...
    def clear(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class _Retry(Exception):
    def __init__(self, delay: timedelta, error: str, *, uncertain: bool = False) -> None:
        super().__init__(error)
        self.delay = delay
        self.error = error
        self.uncertain = uncertain


class _Dead(Exception):
    pass


@dataclass
class _Outcome:
    """What became of one attempt: the outbox write to make (under the lease) and task fields learnt."""

    row: Outbox
    write: Callable[..., bool]
    values: dict[str, Any]
    task_fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Step:
    """One lane's write of the moment: outcomes to record, attempts to begin, or a card's place."""

    done: list[_Outcome] = field(default_factory=list)
    begin: list[Outbox] = field(default_factory=list)
    owner: str = ""
    task_fields: tuple[int | None, dict[str, str]] | None = None
    began: set[int] = field(default_factory=set)  # the ids in `begin` whose lease still held
    finished: bool = False
    error: BaseException | None = None


@dataclass
class _Lease:
    """Rows taken under one owner token, with the tasks and events their messages show, read with them.

    A message shows its task as it was when leased. A change made after that queues a card refresh, which
    comes later in the same lane and reads the task afresh, as does whatever needs the card's place when
    the lease's copy has none yet.
    """

    owner: str
    tasks: dict[int, Task] = field(default_factory=dict)
    events: dict[int, TaskEvent] = field(default_factory=dict)

    @classmethod
    def read(cls, session: Session, owner: str, rows: Sequence[Outbox]) -> _Lease:
        """What `rows` show, in two queries."""
        task_ids = sorted({row.task_id for row in rows if row.task_id is not None})
        event_ids = sorted({int(row.payload["event_id"]) for row in rows if "event_id" in row.payload})
        return cls(owner, get_plain_many(session, Task, task_ids), get_plain_many(session, TaskEvent, event_ids))


class _GroupCommit:
    """The lanes' writes in as few transactions as there can be (a group commit).

    A lane that must write waits while another lane's transaction is being written, joining the next one
    with every lane that arrived meanwhile; one of them writes it for all. Each write is still committed
    before its lane goes on: an attempt begins (is marked uncertain) before its Slack call, and an outcome
    is recorded no later than the lane's next begin. On SQLite, with one writer at a time, this is what
    lets delivery keep up: four lanes' rows cost one lock hold, not four. A lane also begins several of
    its rows at once (`ATTEMPTS_AT_ONCE`), so one lane's rows share transactions too.
    """

    def __init__(self, write: Callable[[list[_Step]], None]) -> None:
        self._write = write
        self._ready = threading.Condition()
        self._gathered: list[_Step] = []
        self._writing = False

    def commit(self, step: _Step) -> None:
        """Write `step` (with whatever else is gathered by then); raises what the transaction raised."""
        with self._ready:
            self._gathered.append(step)
            while self._writing and not step.finished:
                self._ready.wait()
            if not step.finished:
                steps, self._gathered, self._writing = self._gathered, [], True
        if not step.finished:
            try:
                self._write(steps)
            except BaseException as error:
                for each in steps:
                    each.error = error
            finally:
                with self._ready:
                    for each in steps:
                        each.finished = True
                    self._writing = False
                    self._ready.notify_all()
        if step.error is not None:
            raise step.error


@cache
def _task_update(names: tuple[str, ...]) -> Any:
    """UPDATE task SET <names> WHERE id: parameters `p_id` and `p_<name>` (apart from the columns' own names,
    which SQLAlchemy keeps for the SET clause)."""
    table: Any = Task.__table__  # type: ignore[attr-defined]
    values = {name: bindparam(f"p_{name}", type_=table.c[name].type) for name in names}
    return update(table).where(table.c.id == bindparam("p_id")).values(**values)


def _message_link(workspace_url: str, channel: str, ts: str) -> str:
    """Slack's link to a top-level message: the workspace's address, then `archives/<channel>/p<ts, no dot>`."""
    return f"{workspace_url}archives/{channel}/p{ts.replace('.', '')}"


def _in_thread(link: str, channel: str, thread_ts: str) -> str:
    """A reply's link, as Slack makes it: the reply's own, opening its thread (as chat.getPermalink answers)."""
    return link if "thread_ts=" in link else f"{link}?thread_ts={thread_ts}&cid={channel}"


class _Wait(Exception):
    """Not yet deliverable (its card is not posted yet); look again at `until` if given."""

    def __init__(self, until: datetime | None = None) -> None:
        super().__init__("waiting")
        self.until = until


@dataclass
class DeliveryReport:
    """What one pass did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    waiting: int = 0

    @property
    def touched(self) -> int:
        """Rows that changed state in the pass."""
        return self.sent + self.retried + self.dead

    def add(self, other: DeliveryReport) -> None:
        """Count `other`'s rows in this report too."""
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.waiting += other.waiting


def _lanes(rows: Sequence[Outbox], card_channels: dict[int | None, str]) -> dict[str, list[Outbox]]:
    """`rows` grouped into lanes, each delivered in order: one per card channel, other channel or person.

    A task's rows (its card, refreshes, thread lines and DMs, which wait for the card) share its card's lane.
    """
    lanes: dict[str, list[Outbox]] = {}
    for row in rows:
        key = card_channels.get(row.task_id) or row.payload.get("channel") or row.payload.get("user") or row.kind
        lanes.setdefault(str(key), []).append(row)
    return lanes


def _attempts_at_once(rows: list[Outbox]) -> tuple[list[Outbox], list[Outbox]]:
    """The first rows of a lane whose attempts begin together, and the rest."""
    size = 1
    while size < min(len(rows), ATTEMPTS_AT_ONCE) and not _reads_outcomes(rows[size]):
        size += 1
    return rows[:size], rows[size:]


class _Streams:
    """Lanes delivered as their rows come, without waiting for each other.

    Rows of one lane are sent in the order added, by one thread at a time; different lanes go side by
    side on the pool's threads. `add` never blocks on a lane, so a slow channel holds up only itself.
    """

    def __init__(self, pool: ThreadPoolExecutor, deliver: Callable[[Sequence[Outbox], _Lease], DeliveryReport]) -> None:
        self._pool = pool
        self._deliver = deliver
        self._changed = threading.Condition()
        self._queued: dict[str, deque[tuple[Sequence[Outbox], _Lease]]] = {}
        self._unfinished = 0
        self.report = DeliveryReport()
        self.error: BaseException | None = None

    def add(self, key: str, rows: Sequence[Outbox], lease: _Lease) -> None:
        """Queue `rows` (taken under `lease`) after whatever `key`'s lane has queued."""
        with self._changed:
            self._unfinished += 1
            if key in self._queued:
                self._queued[key].append((rows, lease))
                return
            self._queued[key] = deque([(rows, lease)])
        self._pool.submit(self._run, key)

    def _run(self, key: str) -> None:
        while True:
            with self._changed:
                lane = self._queued[key]
                if not lane:
                    del self._queued[key]
                    return
                rows, lease = lane[0]
            try:
                done = self._deliver(rows, lease)
            except BaseException as error:  # recorded and raised by wait(), once every lane has stopped
                done = DeliveryReport()
                with self._changed:
                    self.error = self.error or error
            with self._changed:
                lane.popleft()
                self.report.add(done)
                self._unfinished -= 1
                self._changed.notify_all()

    def wait(self, at_most: int = 0) -> None:
        """Until no more than `at_most` of the added groups of rows are unfinished."""
        with self._changed:
            while self._unfinished > at_most:
                self._changed.wait()


class Delivery:
    """Takes due outbox rows under a lease and sends them; safe to run in several processes."""

    def __init__(
        self,
        db: Database,
        client: WebClient,
        *,
        clock: Callable[[], datetime],
        poll_interval: float = 2.0,
        wake: Wakeup | None = None,
        lease: timedelta = outbox.LEASE,
        max_backoff: timedelta = MAX_BACKOFF,
        lanes: int = 1,
    ) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.poll_interval = poll_interval
        self.lease = lease
        self.max_backoff = max_backoff
        # Channels and people are served side by side, up to `lanes` at once, each in its own order.
        self.lanes = lanes
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # A threading.Event, or the pipe the web process writes to when it kicks the worker process.
        self._wake: Wakeup = wake if wake is not None else threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writes = _GroupCommit(self._write_steps)
        # The workspace's address (auth.test), for links to messages; "" once known to be unusable.
        self._url: str | None = None
        self._url_lock = threading.Lock()
        # Builds one person's Home tab, (team_id, user_id) -> view; set by the app factory (bot/home.py).
        self.home_view: Callable[[str, str], dict[str, Any]] | None = None
        # A person's notification choices as they stand, (team_id, user_id, now) -> Rules; set likewise.
        self.rules: Callable[[str, str, datetime], Rules] | None = None

    # -- running ---------------------------------------------------------------------------------

    def kick(self) -> None:
        """Ask the background loop to look at the outbox now (called after a commit)."""
        self._wake.set()

    def start(self) -> None:
        """Deliver in a background thread until `stop()`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="outbox-delivery", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread, letting the current pass finish."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                report = self.deliver_due(limit=LOOP_PASS)
            except Exception:
                log.exception("outbox pass failed")
                report = DeliveryReport()
            if report.touched == 0:
                self._wake.wait(self.poll_interval)

    def drain(self, *, rounds: int = 20, through_id: int | None = None) -> DeliveryReport:
        """Deliver until nothing due is left (or `rounds` passes), only rows up to `through_id` if given;
        returns the totals."""
        total = DeliveryReport()
        for _ in range(rounds):
            report = self.deliver_due(through_id=through_id)
            total.sent += report.sent
            total.retried += report.retried
            total.dead += report.dead
            total.waiting = report.waiting
            if report.touched == 0:
                break
        return total

    def deliver_due(self, limit: int = 25, *, through_id: int | None = None) -> DeliveryReport:
        """One pass over up to `limit` due rows (up to `through_id` if given), leased a few at a time:
        send each, record its outcome."""
        report = DeliveryReport()
        streams = _Streams(self._lane_pool(), self._deliver_lane) if self.lanes > 1 else None
        taken = 0
        while taken < limit and not self._stop.is_set():
            owner = uuid.uuid4().hex  # this lease's token: only its holder may write the rows' outcomes
            batch = min(LEASE_BATCH * self.lanes, limit - taken)
            with self.db.transaction() as session:
                rows = outbox.lease_due(
                    session, now=self.clock(), owner=owner, lease=self.lease, limit=batch, through_id=through_id
                )
                lease = _Lease.read(session, owner, rows)
            if streams is None:
                report.add(self._deliver_lane(rows, lease))
            else:
                channels: dict[int | None, str] = {i: t.card_channel_id for i, t in lease.tasks.items()}
                for key, lane in _lanes(rows, channels).items():
                    streams.add(key, lane, lease)
                # Lease more as soon as the lanes have fewer rows queued than one lease brings: they
                # never wait for each other, and never run dry while rows are due.
                streams.wait(at_most=batch)
            taken += len(rows)
            if len(rows) < batch:
                break
        if streams is not None:
            streams.wait()
            report.add(streams.report)
            if streams.error is not None:
                raise streams.error
        return report

    def _lane_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.lanes, thread_name_prefix="outbox-lane")
            return self._pool

    def _deliver_lane(self, rows: Sequence[Outbox], lease: _Lease) -> DeliveryReport:
        """Send `rows` in order. Attempts begin a few rows at a time, each time with the outcomes of the
        rows sent since the last; a row is sent only once its attempt began (it is then looked up, not
        posted blindly, if this worker dies before its outcome is recorded)."""
        report = DeliveryReport()
        done: list[_Outcome] = []
        left = list(rows)
        while left:
            chunk, left = _attempts_at_once(left)
            began = self._commit(done, begin=chunk, owner=lease.owner)
            done = []
            since = time.monotonic()
            for n, row in enumerate(chunk):
                if row.id in began:
                    done.append(self._deliver_one(row, lease, report))
                if time.monotonic() - since > RECORD_EVERY:
                    # The rest began already: beginning them again renews their lease, right before their calls.
                    left = [r for r in chunk[n + 1:] if r.id in began] + left
                    break
        self._commit(done, begin=[], owner=lease.owner)
        return report

    # -- one row ---------------------------------------------------------------------------------

    def _deliver_one(self, row: Outbox, lease: _Lease, report: DeliveryReport) -> _Outcome:
        """Send a row whose attempt has begun; returns the outcome to record."""
        assert row.id is not None
        try:
            result = self._send(row, lease)
        except _Wait as wait:
            report.waiting += 1
            # Not an attempt: look again once the card may exist.
            soon = self.clock() + timedelta(seconds=1)
            at = max(soon, wait.until) if wait.until is not None else soon
            # `row.uncertain` keeps what earlier attempts left; the stored flag was set for this one only.
            return _Outcome(row, outbox.release, {"at": at, "uncertain": row.uncertain})
        except _Retry as retry:
            report.retried += 1
            log.warning("delivery %s failed (%s); retrying in %s", row.key, retry.error, retry.delay)
            return _Outcome(row, outbox.mark_retry, {
                "now": self.clock(), "delay": retry.delay, "error": retry.error,
                "uncertain": row.uncertain or retry.uncertain,
            })
        except _Dead as dead:
            report.dead += 1
            log.error("delivery %s refused by Slack: %s", row.key, dead)
            return _Outcome(row, outbox.mark_dead, {"now": self.clock(), "error": str(dead)})
        except Exception as exc:
            # A bug or a database error mid-row: retried after a back-off rather than left under its lease;
            # uncertain, since Slack may have acted.
            report.retried += 1
            log.exception("delivery %s failed unexpectedly", row.key)
            return _Outcome(row, outbox.mark_retry, {
                "now": self.clock(), "delay": self._backoff(row), "error": f"{type(exc).__name__}: {exc}",
                "uncertain": True,
            })
        report.sent += 1
        fields = result.pop(_TASK_FIELDS, None) or {}
        return _Outcome(row, outbox.mark_sent, {"now": self.clock(), "result": result}, task_fields=fields)

    def _commit(self, done: list[_Outcome], *, begin: list[Outbox], owner: str) -> set[int]:
        """Record the outcomes `done` and begin the attempts on `begin`, in one transaction (shared with
        the other lanes' writes of the moment, see `_GroupCommit`).

        Returns the ids of `begin` whose lease is still held; a lost lease is logged, not recorded.
        """
        if not done and not begin:
            return set()
        step = _Step(done=done, begin=begin, owner=owner)
        self._writes.commit(step)
        for row in begin:
            if row.id not in step.began:
                self._lost(row, "begin_attempt")
        return step.began

    def _write_steps(self, steps: list[_Step]) -> None:
        try:
            self._write_steps_once(steps)
        except Unavailable as failed:
            if not failed.dropped:
                raise
            # The server dropped the connection (a restart): nothing was written, or, if it went at the
            # commit, every write is a compare-and-set on the lease that is safe to make again. Once more
            # on a fresh connection, rather than leave the lanes' rows leased until the lease runs out.
            log.warning("database connection dropped while recording deliveries; writing them again")
            self._write_steps_once(steps)

    def _write_steps_once(self, steps: list[_Step]) -> None:
        # A statement per kind of write for the whole group, not one per row: the outcomes most rows have
        # (sent) and the attempts begun. Every write is a compare-and-set on the row's lease, so the
        # order of rows inside the one transaction does not matter.
        with self.db.transaction() as session:
            sent: dict[int, tuple[_Step, _Outcome]] = {}
            for step in steps:
                if step.task_fields is not None:
                    self._set_task(session, *step.task_fields)
                for done in step.done:
                    assert done.row.id is not None
                    if done.task_fields:
                        self._set_task(session, done.row.task_id, done.task_fields)
                    if done.write is outbox.mark_sent:
                        sent[done.row.id] = (step, done)
                    elif not done.write(session, done.row.id, owner=step.owner, **done.values):
                        self._lost(done.row, done.write.__name__)
            recorded = outbox.mark_sent_many(session, [
                outbox.Sent(row_id, step.owner, done.values["now"], done.values["result"])
                for row_id, (step, done) in sent.items()
            ])
            for row_id in sent.keys() - recorded:
                self._lost(sent[row_id][1].row, "mark_sent")
            now = self.clock()
            owners: dict[str, list[int]] = {}
            for step in steps:
                owners.setdefault(step.owner, []).extend(row.id for row in step.begin if row.id is not None)
            began = set().union(*(
                outbox.begin_attempts(session, ids, owner=owner, now=now, lease=self.lease)
                for owner, ids in owners.items() if ids
            ))
            for step in steps:
                step.began = {row.id for row in step.begin if row.id in began}

    @staticmethod
    def _lost(row: Outbox, what: str) -> None:
        log.warning("lease on delivery %s lost to another worker; %s not recorded", row.key, what)

    def _send(self, row: Outbox, lease: _Lease) -> dict[str, Any]:
        handler: Callable[[Outbox, _Lease], dict[str, Any]] | None = {
            "card.post": self._card_post,
            "card.update": self._card_update,
            "thread.note": self._thread_note,
            "source.note": self._source_note,
            "home.publish": self._home_publish,
            "comments": self._comments,
            "dm": self._dm,
            "confirm": self._confirm,
            "ephemeral": self._ephemeral,
            "notice": self._notice,
            "digest.post": self._digest_post,
            "digest.reply": self._digest_reply,
            "morning": self._morning,
            "notices": self._notices,
        }.get(row.kind)
        if handler is None:
            raise _Dead(f"unknown outbox kind {row.kind!r}")
        return handler(row, lease)

    def _task(self, row: Outbox, lease: _Lease | None = None) -> Task:
        """The row's task: the copy read with `lease` if given, else as stored now."""
        if lease is not None and row.task_id in lease.tasks:
            return lease.tasks[row.task_id]
        with self.db.read() as session:
            task = get_plain(session, Task, row.task_id)
        if task is None:
            raise _Dead("task is gone")
        return task

    def _event(self, event_id: int, lease: _Lease | None = None) -> TaskEvent:
        if lease is not None and event_id in lease.events:
            return lease.events[event_id]  # events never change
        with self.db.read() as session:
            event = get_plain(session, TaskEvent, event_id)
        if event is None:
            raise _Dead("event is gone")
        return event

    def _card_ready(self, row: Outbox, lease: _Lease | None = None) -> Task:
        """The row's task once its card is in Slack (as leased if the lease's copy knows the card's place,
        else as stored now); waits while the card is still on its way."""
        task = self._task(row, lease)
        if task.card_ts is None and lease is not None:
            task = self._task(row)
        if task.card_ts is None:
            card = self._card_row(task)
            if card is None or self._card_blocked(card):
                raise _Retry(WAIT_FOR_INVITE, "card not posted yet")
            raise _Wait(card.next_attempt_at)
        return task

    def _card_row(self, task: Task) -> Outbox | None:
        with self.db.read() as session:
            return session.exec(select(Outbox).where(Outbox.key == f"card.post:{task.id}")).first()

    @staticmethod
    def _card_blocked(card: Outbox) -> bool:
        """The card cannot go out until someone acts: Slack refused it, or the bot is not in its channel.

        A 429, a 5xx or a timeout is not that: the card is retried soon, so dependants wait for it.
        """
        return card.status != OUTBOX_PENDING or card.last_error in _CHANNEL_PROBLEMS

    def _card_post(self, row: Outbox, lease: _Lease) -> dict[str, Any]:
        task = self._task(row, lease)
        channel, ts = task.card_channel_id, task.card_ts
        result: dict[str, Any] = {"channel": channel, "ts": ts}
        source_url = self._source_link(task) if task.source_ts is not None and task.source_url is None else None
        if source_url is not None:
            set_plain(task, source_url=source_url)  # so the card shows it; saved with the outcome below
        if ts is None:
            try:
                result = self._post(
                    row, channel=channel, text=render.card_fallback(task), blocks=render.card(task, self.clock()),
                    thread_ts=task.card_thread_ts,
                )
            except _Retry as retry:
                if retry.error in _CHANNEL_PROBLEMS and row.attempts == 0:
                    self._tell_requester_to_invite(task, retry.error)
                raise
        # The place and the link are saved with the row's outcome, so the task's DM, next in this lane,
        # sees them. A ✋ on the card may arrive any moment now, and waits only briefly
        # (`tasks.card_on_its_way`) for its place: when the link takes a round trip, the place is saved first.
        fields = {"card_channel_id": result["channel"], "card_ts": result["ts"]}
        if source_url is not None:
            fields["source_url"] = source_url
        composed = self._composed_permalink(result["channel"], result["ts"]) if task.card_url is None else None
        if composed is not None and task.card_thread_ts:
            composed = _in_thread(composed, result["channel"], task.card_thread_ts)
        if composed is not None:
            fields["card_url"] = composed
        elif ts is None:
            self._writes.commit(_Step(task_fields=(task.id, dict(fields))))
        if task.card_url is None and composed is None:
            try:
                url = self._permalink(result["channel"], result["ts"])
            except _Retry as retry:
                # The card is up: not worth posting it again for its link, which its DM fetches instead.
                log.warning("permalink for %s not fetched (%s); its DM will ask", task.ref, retry.error)
                url = None
            if url and task.card_thread_ts:
                url = _in_thread(url, result["channel"], task.card_thread_ts)
            if url:
                fields["card_url"] = url
        # The lease's later rows (the task's DM) see the card's place and link as saved with the outcome.
        set_plain(task, **fields)
        # The task may have changed while the card was on its way; a refresh is queued by then.
        return {**result, _TASK_FIELDS: fields}

    @staticmethod
    def _set_task(session: Session, task_id: int | None, fields: dict[str, str]) -> None:
        # Core, with the statement built once per set of fields: the ORM's bulk UPDATE would look for the
        # task among loaded objects too, and building the statement cost more than running it.
        params = {f"p_{name}": value for name, value in fields.items()}
        session.connection().execute(_task_update(tuple(sorted(fields))), {"p_id": task_id, **params})

    def _card_update(self, row: Outbox, _lease: _Lease) -> dict[str, Any]:
        return self._refresh_card(row)

    def _refresh_card(self, row: Outbox) -> dict[str, Any]:
        """Show the row's task on its card (and its DM copies) as stored now; older queued refreshes are
        then covered."""
        # The newest queued refresh is read before the task: a change committed after the task is read
        # queues a refresh newer than `newest`, which this render does not cover and so does not supersede.
        assert row.task_id is not None
        with self.db.read() as session:
            newest = outbox.latest_pending_id(session, task_id=row.task_id, kind="card.update") or row.id
        task = self._card_ready(row)  # as stored now, never as leased: this refresh shows the latest state
        assert task.id is not None and task.card_ts is not None
        now = self.clock()
        self._call(
            "chat_update", channel=task.card_channel_id, ts=task.card_ts,
            text=render.card_fallback(task), blocks=render.card(task, now),
        )
        self._update_dm_copies(task, now)
        assert newest is not None
        with self.db.transaction() as session:
            # This render shows the latest state, so every older queued refresh is covered by it.
            outbox.supersede(session, task_id=task.id, kind="card.update", through_id=newest, now=self.clock())
        return {"ts": task.card_ts}

    def _update_dm_copies(self, task: Task, now: datetime) -> None:
        """Refresh the "delegated to you" DMs that carry a copy of the card, so none shows a stale state."""
        assert task.id is not None
        with self.db.read() as session:
            sent = session.exec(
                select(Outbox).where(
                    Outbox.task_id == task.id, Outbox.kind == "dm", Outbox.status == OUTBOX_SENT
                )
            ).all()
            copies = [(dict(r.payload), dict(r.result)) for r in sent if r.result.get("ts")]
        for payload, result in copies:
            event = self._event(int(payload["event_id"]))
            if not render.dm_carries_card(event, payload["user"]):
                continue
            text, blocks = render.dm_for_event(task, event, payload["user"], now)
            try:
                self._call("chat_update", channel=result["channel"], ts=result["ts"], text=text, blocks=blocks)
            except _Dead as gone:
                # The person deleted the DM, or Slack refuses this copy: the card itself is still right.
                log.warning("DM copy of %s in %s not updated: %s", task.ref, result["channel"], gone)

    def _thread_note(self, row: Outbox, lease: _Lease) -> dict[str, Any]:
        task = self._card_ready(row, lease)
        event = self._event(int(row.payload["event_id"]), lease)
        line = render.thread_line(event)
        # A card that is itself a reply (a mention in a thread) keeps its history in that thread.
        thread = task.card_thread_ts or task.card_ts
        posted = self._post(row, channel=task.card_channel_id, thread_ts=thread, text=line, blocks=None)
        if row.payload.get("refresh_card"):
            try:
                self._refresh_card(row)
            except _Retry as retry:
                # The line is in Slack: the next attempt finds it there (uncertain) and only refreshes the card.
                raise _Retry(retry.delay, retry.error, uncertain=True) from retry
            except _Dead as refused:
                # The card is gone or refused for good; the line, which was the notice, is delivered.
                log.warning("card of %s not refreshed after its thread line: %s", task.ref, refused)
        return posted

    def _comments(self, row: Outbox, lease: _Lease) -> dict[str, Any]:
        """One DM with the comments others left in a task's thread over a few minutes."""
        task = self._task(row)
        user = str(row.payload["user"])
        start, end = (datetime.fromisoformat(str(row.payload[k])) for k in ("from", "to"))
        with self.db.read() as session:
            comments = list(session.exec(
                select(TaskEvent).where(
                    TaskEvent.task_id == task.id, TaskEvent.kind == "comment", TaskEvent.actor_id != user,
                    col(TaskEvent.at) >= start, col(TaskEvent.at) < end,
                ).order_by(col(TaskEvent.id))
            ))
        if not comments:
            return {"skipped": "no comments"}
        rules = self._rules_of(row, user)
        if not comment_wanted(rules, [str(c.detail.get("text") or "") for c in comments], recipient=user, task=task):
            return {"skipped": f"notify {rules.mode}"}
        text, blocks = render.comments_dm(task, comments)
        return self._post(row, channel=user, text=text, blocks=blocks)

    def _home_publish(self, row: Outbox, _lease: _Lease) -> dict[str, Any]:
        """Publish one person's Home tab as it stands now; older queued refreshes are then covered."""
        if self.home_view is None:
            raise _Dead("no Home tab in this process")
        user, team = str(row.payload["user"]), row.team_id
        with self.db.read() as session:
            newest = outbox.newest_id(session)  # read before the view: a change after this queues a newer one
        self._call("views_publish", backoff_from=row, user_id=user, view=self.home_view(team, user))
        with self.db.transaction() as session:
            outbox.supersede_keyed(session, key_prefix=f"home:{user}:", kind="home.publish", through_id=newest,
                                   now=self.clock())
        return {"user": user}

    def _source_link(self, task: Task) -> str | None:
        """The link to the message `task` was made from; None when Slack gives none (the card goes up without)."""
        assert task.source_channel_id is not None and task.source_ts is not None
        thread = task.source_thread_ts
        try:
            if thread and thread != task.source_ts:
                # A reply's link is its thread's: composed as Slack composes it, else Slack is asked.
                base = self._workspace_url()
                if base:
                    link = _message_link(base, task.source_channel_id, task.source_ts)
                    return _in_thread(link, task.source_channel_id, thread)
                answer = self._call("chat_getPermalink", channel=task.source_channel_id, message_ts=task.source_ts)
                return str(answer.get("permalink") or "") or None
            return self._permalink(task.source_channel_id, task.source_ts)
        except _Retry as retry:
            # Not worth holding the card back for: it goes up now, and says where it came from without a link.
            log.warning("no link to the source of %s (%s)", task.ref, retry.error)
        except _Dead as refused:
            log.warning("no link to the source of %s: %s", task.ref, refused)
        return None

    def _source_note(self, row: Outbox, lease: _Lease) -> dict[str, Any]:
        """The line in the source message's thread: made into T-42 (linking the card), or done."""
        task = self._card_ready(row, lease)
        if task.card_url is None:
            task = self._task(row)
        event = self._event(int(row.payload["event_id"]), lease)
        try:
            return self._post(
                row, channel=row.payload["channel"], thread_ts=row.payload["thread_ts"],
                text=render.source_line(task, event), blocks=None,
            )
        except _Retry as retry:
            if retry.error in _CHANNEL_PROBLEMS:
                # The source is where the bot can't write (a channel it's not in, someone else's DM): the
                # line is a courtesy and the card holds the link, so it is skipped rather than waited for.
                log.info("no line in the source thread of %s: %s", task.ref, retry.error)
                return {"skipped": retry.error}
            raise

    def _dm(self, row: Outbox, lease: _Lease) -> dict[str, Any]:
        task = self._task(row, lease)
        if task.card_url is None:
            task = self._task(row)  # the lease's copy may predate the card's link
        fields: dict[str, str] = {}
        if task.card_url is None and task.card_ts is not None:
            # The card is up but its link could not be fetched then: fetched now, so the DM links to it.
            url = self._permalink(task.card_channel_id, task.card_ts)
            if url:
                fields["card_url"] = url
                set_plain(task, card_url=url)
        elif task.card_url is None:
            card = self._card_row(task)
            if card is not None and not self._card_blocked(card):
                raise _Wait(card.next_attempt_at)  # so that the DM can link to the card
        event = self._event(int(row.payload["event_id"]), lease)
        rules = self._rules_of(row, row.payload["user"], hold=quiet_holds([event.kind]))
        if not dm_wanted(rules, event.kind, event.detail, recipient=row.payload["user"], task=task):
            return {"skipped": f"notify {rules.mode}", _TASK_FIELDS: fields}
        text, blocks = render.dm_for_event(task, event, row.payload["user"], self.clock())
        return {**self._post(row, channel=row.payload["user"], text=text, blocks=blocks), _TASK_FIELDS: fields}

    def _rules_of(self, row: Outbox, user: str, *, hold: bool = True) -> Rules:
        """The recipient's choices; with `hold`, waits (not an attempt) while it is their quiet hours."""
        rules = self.rules(row.team_id, user, self.clock()) if self.rules is not None else Rules()
        if hold and rules.quiet_until is not None:
            raise _Wait(rules.quiet_until)
        return rules

    def _confirm(self, row: Outbox, lease: _Lease) -> dict[str, Any]:
        # Only rows queued by versions before the command's own answer became the confirmation.
        task = self._task(row, lease)
        return self._reply(row, text=render.confirmation(task, UTC), blocks=None)

    def _ephemeral(self, row: Outbox, _lease: _Lease) -> dict[str, Any]:
        return self._reply(row, text=row.payload["text"], blocks=row.payload.get("blocks"))

    def _notice(self, row: Outbox, _lease: _Lease) -> dict[str, Any]:
        return self._post(row, channel=row.payload["user"], text=row.payload["text"], blocks=row.payload.get("blocks"))

    def _digest_post(self, row: Outbox, _lease: _Lease) -> dict[str, Any]:
        text, blocks = render.digest_headline(row.payload)
        return self._post(row, channel=row.payload["channel"], text=text, blocks=blocks)

    def _digest_reply(self, row: Outbox, _lease: _Lease) -> dict[str, Any]:
        with self.db.transaction() as session:
            parent = session.exec(select(Outbox).where(Outbox.key == row.payload["parent"])).first()
            if parent is None:
                raise _Dead("digest parent is gone")
            status, result = parent.status, dict(parent.result)
        if status == OUTBOX_DEAD:
            raise _Dead("the digest's parent message was refused")
        if status == OUTBOX_PENDING or "ts" not in result:
            raise _Wait()  # replies go in the parent's thread, so it must be posted first
        text, blocks = render.digest_section(row.payload["section"])
        return self._post(row, channel=result["channel"], thread_ts=result["ts"], text=text, blocks=blocks)

    def _morning(self, row: Outbox, _lease: _Lease) -> dict[str, Any]:
        text, blocks = render.morning_queue(row.payload)
        return self._post(row, channel=row.payload["user"], text=text, blocks=blocks)

    # -- Slack calls -----------------------------------------------------------------------------

    def _reply(self, row: Outbox, *, text: str, blocks: list[dict[str, Any]] | None) -> dict[str, Any]:
        """An ephemeral reply: through the command's response URL when there is one, else postEphemeral."""
        url = row.payload.get("response_url")
        # A new ephemeral, unless the row asks to replace the command's first answer.
        body: dict[str, Any] = {
            "response_type": "ephemeral",
            "text": text,
            "replace_original": bool(row.payload.get("replace_original", False)),
        }
        if blocks:
            body["blocks"] = blocks
        if url:
            try:
                response = WebhookClient(url, timeout=10).send_dict(body)
            except OSError as exc:
                raise _Retry(self._backoff(row), f"response_url: {exc}", uncertain=True) from exc
            if response.status_code == 200:
                return {"via": "response_url"}
            if response.status_code == 429 or response.status_code >= 500:
                raise _Retry(self._backoff(row), f"response_url HTTP {response.status_code}")
            # An expired response URL (Slack allows 30 minutes): fall back to postEphemeral.
        kwargs: dict[str, Any] = {"channel": row.payload["channel"], "user": row.payload["user"], "text": text}
        if blocks:
            kwargs["blocks"] = blocks
        if row.payload.get("thread_ts"):
            kwargs["thread_ts"] = row.payload["thread_ts"]
        try:
            result = self._call("chat_postEphemeral", **kwargs)
        except _Retry as retry:
            if retry.error in _CHANNEL_PROBLEMS | {"user_not_in_channel"}:
                # An ephemeral needs the bot in the channel; a DM always reaches the person.
                return self._post(row, channel=row.payload["user"], text=text, blocks=blocks)
            raise
        return {"via": "postEphemeral", "ts": result.get("message_ts")}

    def _post(
        self,
        row: Outbox,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        """chat.postMessage, tagged with the row's key so that an uncertain earlier try is found, not repeated."""
        if row.uncertain:
            found = self._find_posted(row, channel=channel, thread_ts=thread_ts)
            if found is not None:
                return found
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "metadata": {"event_type": METADATA_TYPE, "event_payload": {"key": row.key}},
            "unfurl_links": False,
        }
        if blocks:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        result = self._call("chat_postMessage", backoff_from=row, **kwargs)
        return {"channel": result["channel"], "ts": result["ts"]}

    def _find_posted(self, row: Outbox, *, channel: str, thread_ts: str | None) -> dict[str, Any] | None:
        """Look for a message this row already posted (after a timeout, a 5xx or a kill), back to its first try."""
        if not channel.startswith(("C", "G", "D")):
            opened = self._call("conversations_open", users=channel)
            channel = opened["channel"]["id"]
        since = (row.first_attempt_at or row.created_at) - LOOKUP_MARGIN
        method = "conversations_replies" if thread_ts else "conversations_history"
        # Only messages since the first attempt, page by page: a busy channel has more than one page.
        query: dict[str, Any] = {
            "channel": channel, "include_all_metadata": True, "limit": 200, "oldest": f"{since.timestamp():.6f}"
        }
        if thread_ts:
            query["ts"] = thread_ts
        while True:
            page = self._call(method, **query)
            for message in page.get("messages") or []:
                meta = message.get("metadata") or {}
                if meta.get("event_type") == METADATA_TYPE and (meta.get("event_payload") or {}).get("key") == row.key:
                    return {"channel": channel, "ts": message["ts"], "found": True}
            query["cursor"] = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not query["cursor"]:
                return None

    def _permalink(self, channel: str, ts: str) -> str | None:
        """A top-level message's link; None if Slack refuses one for good. A transient failure raises `_Retry`.

        Slack's links to a top-level message are the workspace's address, `archives/<channel>/p<ts without
        its dot>` (what chat.getPermalink answers): made here from auth.test's `url`, asked once, so a card
        costs one Web API call, not two. Without that address, chat.getPermalink is asked.
        """
        base = self._workspace_url()
        if base:
            return _message_link(base, channel, ts)
        try:
            return str(self._call("chat_getPermalink", channel=channel, message_ts=ts)["permalink"])
        except _Dead as refused:
            log.warning("no permalink for %s/%s (%s); cards will link by reference only", channel, ts, refused)
            return None

    def _composed_permalink(self, channel: str, ts: str) -> str | None:
        """The link `_permalink` makes without any Web API call, once the workspace's address is known."""
        with self._url_lock:
            base = self._url
        return _message_link(base, channel, ts) if base else None

    def _workspace_url(self) -> str | None:
        with self._url_lock:
            if self._url is None:
                try:
                    url = str(self._call("auth_test").get("url") or "")
                except (_Retry, _Dead) as failed:
                    log.warning("auth.test failed (%s); links come from chat.getPermalink", failed)
                    return None  # asked again next time
                self._url = url if url.startswith("https://") and url.endswith("/") else ""
            return self._url or None

    def _call(self, method: str, backoff_from: Outbox | None = None, **kwargs: Any) -> dict[str, Any]:
        """Call a Web API method, turning failures into retry-or-give-up decisions."""
        delay = self._backoff(backoff_from)
        try:
            response = getattr(self.client, method)(**kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error", "")) if exc.response.data else f"HTTP {status}"
            if status == 429:
                retry_after = int(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 1)))
                raise _Retry(timedelta(seconds=max(retry_after, 1)), "ratelimited") from exc
            if status >= 500:
                raise _Retry(delay, f"HTTP {status}", uncertain=True) from exc
            if error in _CHANNEL_PROBLEMS | {"user_not_in_channel"}:
                raise _Retry(WAIT_FOR_INVITE, error) from exc
            if error in _AUTH_PROBLEMS:
                raise _Retry(self.max_backoff, error) from exc
            if error in {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}:
                raise _Retry(delay, error, uncertain=True) from exc
            raise _Dead(error or f"HTTP {status}") from exc
        except OSError as exc:  # timeouts, refused connections, resets
            raise _Retry(delay, f"{type(exc).__name__}: {exc}", uncertain=True) from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _backoff(self, row: Outbox | None) -> timedelta:
        attempts = row.attempts if row is not None else 0
        # Capped before the power: a row waiting days for an invite has hundreds of attempts.
        return min(timedelta(seconds=2 ** min(attempts, 10)), self.max_backoff)

    def _tell_requester_to_invite(self, task: Task, error: str) -> None:
        """Once per task: DM the requester how to let the bot into the card's channel."""
        why = (
            "I'm not a member of it" if error == "not_in_channel" else "it's private or I can't see it"
        )
        text = (
            f"⚠️ I couldn't post the card for {task.ref} in <#{task.card_channel_id}>: {why}. "
            f"Invite me with `/invite @Handoff` in that channel and I'll post it right away; "
            f"the task is saved and nothing is lost."
        )
        with self.db.transaction() as session:
            outbox.enqueue(
                session, team_id=task.team_id, key=f"fix:{task.id}", kind="notice", task_id=task.id,
                payload={"user": task.requester_id, "text": text}, now=self.clock(),
            )

    def _notices(self, row: Outbox, _lease: _Lease) -> dict[str, Any]:
        # The items name their tasks; what the DM shows of each is read now, in one query (items queued
        # by earlier versions carry it already).
        items: list[dict[str, Any]] = row.payload["items"]
        user = row.payload["user"]
        hold = quiet_holds(str(item.get("kind", "")) for item in items)
        if not notice_wanted(self._rules_of(row, user, hold=hold)):
            return {"skipped": "notify summary"}
        wanted = sorted({item["task_id"] for item in items if "ref" not in item})
        with self.db.read() as session:
            tasks = get_plain_many(session, Task, wanted)
        shown = []
        counts = dict(row.payload.get("counts") or {})
        for item in items:
            task = tasks.get(item["task_id"])
            if "ref" in item:
                shown.append(item)
            elif task is not None and muted_for(task, user):
                # Its requester muted it: the escalation about it is left out, and out of the counts.
                if counts.get(item["kind"], 0) > 0:
                    counts[item["kind"]] -= 1
            elif task is not None:
                about = shown_of(task.number, task.title, task.card_url, task.due_at, task.assignee_id,
                                 task.requester_id)
                shown.append({**item, **about})
        if not shown:
            return {"skipped": "muted"}
        counts = {kind: n for kind, n in counts.items() if n > 0}
        text, blocks = render.grouped_notices({**row.payload, "items": shown, **({"counts": counts} if counts else {})})
        return self._post(row, channel=row.payload["user"], text=text, blocks=blocks)
