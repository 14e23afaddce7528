"""A realistic workspace at volume for the benchmarks: years of tasks and their history, loaded in bulk.

`prepare(store, spec)` returns a database holding one workspace of `spec.tasks` tasks, made from a cached
copy when one exists. The schema is the real one: the database is migrated to `BASE_REVISION` (the schema
these rows are written for), filled, then migrated to the head, so later migrations run over the data as
they would over a live install (and fill in any column they add). SQLite rows go in through `sqlite3`
`executemany`, PostgreSQL rows through `COPY`, in one transaction per table.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import secrets
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from migrations import upgrade

__all__ = ["BASE_REVISION", "CHANNELS", "NOW", "TEAM_ID", "Prepared", "Spec", "Store", "generate", "people", "prepare"]

REPO = Path(__file__).resolve().parent.parent

# The schema revision whose columns the generator writes; newer migrations run over the loaded rows.
BASE_REVISION = "0004"
# Bump when the generated data changes, so cached copies are rebuilt.
GENERATOR_VERSION = 4

# The instant the workspace is "now": a Tuesday afternoon in London, morning in New York.
NOW = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)
TEAM_ID = "T0001"
DIGEST_CHANNEL = "COPSDIGEST"
CARD_CHANNELS = ("CGENERAL", "CBOOKS", "CPAYROLL", "CINBOX")
POOL_CHANNEL = "CPOOL"
CHANNELS = (*CARD_CHANNELS, POOL_CHANNEL, DIGEST_CHANNEL)
ZONES = ("Europe/London", "America/New_York", "Asia/Kolkata", "Asia/Manila", "America/Chicago", "UTC")
REQUESTERS = 20
MANAGERS = ("UMGR0001", "UMGR0002")
SKILLS = ("bookkeeping", "payroll", "inbox", "support")
TITLES = (
    "Reconcile {month} invoices", "Run payroll for week {week}", "Chase unpaid invoice #{n}",
    "Book travel for the {month} offsite", "Answer support ticket #{n}", "Update the vendor list",
    "File {month} expense reports", "Prepare the {month} board pack", "Clean up the shared inbox",
    "Renew the insurance policy #{n}", "Onboard new hire #{n}", "Check timesheets for week {week}",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
TAGS = ((), (), (), ("billing",), ("payroll",), ("urgent", "billing"), ("inbox",))

# Rows per executemany / COPY batch: big enough that the per-call cost vanishes, small enough for memory.
BATCH = 50_000


@dataclass(frozen=True)
class Spec:
    """What the workspace holds.

    `active` unfinished tasks owe nothing at `NOW`: assigned ones are due days ahead (or never) and pool
    ones were posted within the last hour. `owed` more unfinished tasks owe a notice at `NOW`: half are
    overdue, half have a reminder due. The rest of `tasks` is history over `years`: done (with
    `completed_at`) or cancelled.
    """

    tasks: int
    active: int = 5_000
    owed: int = 0
    assistants: int = 200
    years: float = 3.0
    seed: int = 10

    def __post_init__(self) -> None:
        if self.active + self.owed > self.tasks:
            raise ValueError(f"{self.active} active + {self.owed} owed tasks do not fit in {self.tasks}")
        if self.assistants < 1 or self.years <= 0:
            raise ValueError("a workspace needs assistants and some history")

    def key(self) -> str:
        """A short hash of the spec, the generator and the migrations, naming cached copies."""
        digest = hashlib.sha256(json.dumps([asdict(self), GENERATOR_VERSION]).encode())
        for path in sorted((REPO / "migrations" / "versions").glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()[:12]

    def owed_ids(self) -> range:
        """The ids of the owed tasks (history comes first, then the owed tasks, then the other open ones)."""
        first = self.tasks - self.active - self.owed + 1
        return range(first, first + self.owed)

    def label(self) -> str:
        """E.g. `100k tasks (5,000 active, 1,000 owed, 200 assistants)`."""
        return (f"{_short(self.tasks)} tasks ({self.active:,} active, {self.owed:,} owed, "
                f"{self.assistants} assistants)")


def _short(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------- rows


def assistant_id(index: int) -> str:
    """The user id of assistant `index` (0-based)."""
    return f"UVA{index:05d}"


def requester_id(index: int) -> str:
    """The user id of requester `index` (0-based)."""
    return f"UREQ{index:04d}"


class _Rows:
    """Every row of the workspace, as plain Python values keyed by column name (aware UTC datetimes)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)

    def people(self) -> list[dict[str, Any]]:
        rows = []
        users = [(assistant_id(i), f"va{i:03d}", f"Assistant {i}") for i in range(self.spec.assistants)]
        users += [(requester_id(i), f"req{i:02d}", f"Requester {i}") for i in range(REQUESTERS)]
        users += [(m, f"mgr{n}", f"Manager {n}") for n, m in enumerate(MANAGERS, start=1)]
        for n, (user, name, real) in enumerate(users, start=1):
            rows.append({
                "id": n, "team_id": TEAM_ID, "user_id": user, "name": name, "real_name": real,
                "tz": ZONES[n % len(ZONES)], "locale": "en-US", "is_bot": False, "deleted": False,
                "refreshed_at": NOW - timedelta(hours=n % 24), "hours": {}, "morning_queue": False,
                "slack_admin": user == MANAGERS[0],
            })
        return rows

    def tasks(self) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Each task with its events, in id order: history first (oldest first), then unfinished work."""
        spec, rng = self.spec, self.rng
        history = spec.tasks - spec.active - spec.owed
        start = NOW - timedelta(days=365 * spec.years)
        span = (NOW - timedelta(hours=2) - start).total_seconds()
        for number in range(1, spec.tasks + 1):
            if number <= history:
                created = start + timedelta(seconds=span * (number - 1) / max(1, history) + rng.uniform(0, 600))
                kind = "history"
            elif number <= history + spec.owed:
                created = NOW - timedelta(days=rng.uniform(2, 20))
                kind = "owed"
            else:
                kind = "active"
                created = NOW - timedelta(days=rng.uniform(0.1, 20))
            yield self._task(number, created, kind)

    def _task(self, number: int, created: datetime, kind: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rng = self.rng
        assignee: str | None = assistant_id(rng.randrange(self.spec.assistants))
        requester = requester_id(rng.randrange(REQUESTERS))
        via_pool = rng.random() < 0.3
        due: datetime | None = created + timedelta(days=rng.uniform(0.5, 7)) if rng.random() < 0.8 else None
        status, completed, blocked = "assigned", None, None
        if kind == "history":
            if rng.random() < 0.95:
                status = "done"
                late = due is not None and rng.random() < 0.15
                finish = (due + timedelta(hours=rng.uniform(1, 48))) if late and due else None
                completed = min(finish or created + timedelta(hours=rng.uniform(0.5, 96)), NOW - timedelta(minutes=1))
            else:
                status = "cancelled"
                completed = None
        elif kind == "owed":
            if rng.random() < 0.5:
                due = NOW - timedelta(hours=rng.uniform(1, 72))  # overdue
            else:
                due = NOW + timedelta(minutes=rng.uniform(5, 55))  # its one-hour reminder is due
            status = rng.choice(("assigned", "assigned", "in_progress"))
        else:
            roll = rng.random()
            if roll < 0.1:
                # In the pool, posted within the last hour: no nudge owed yet.
                assignee, via_pool, status = None, True, "open"
                created = NOW - timedelta(minutes=rng.uniform(1, 60))
            elif roll < 0.7:
                status = "assigned"
            elif roll < 0.95:
                status = "in_progress"
            else:
                status, blocked = "blocked", "Waiting for the client's statement"
            # Due well past every reminder lead, or never.
            due = NOW + timedelta(days=rng.uniform(3, 30)) if rng.random() < 0.8 else None
        month = MONTHS[created.month - 1]
        title = rng.choice(TITLES).format(month=month, week=created.isocalendar().week, n=number % 9000 + 1000)
        card = POOL_CHANNEL if via_pool else rng.choice(CARD_CHANNELS)
        stamp = f"{int(created.timestamp())}.{number % 1_000_000:06d}"
        updated = completed or created
        task: dict[str, Any] = {
            "id": number, "team_id": TEAM_ID, "number": number, "title": title, "requester_id": requester,
            "assignee_id": assignee, "priority": rng.choice(("normal", "normal", "normal", "high", "low", "urgent")),
            "tags": list(rng.choice(TAGS)), "due_at": due, "origin_channel_id": card, "card_channel_id": card,
            "card_ts": stamp, "card_url": f"https://bench.slack.com/archives/{card}/p{stamp.replace('.', '')}",
            "status": status, "blocked_reason": blocked, "blocked_from": "in_progress" if blocked else None,
            "done_note": None, "created_at": created, "updated_at": updated, "completed_at": completed,
            "snoozed_until": None, "recurring_id": None, "version": 1,
        }
        events = [self._event(number, requester, "created", {"assignee": None if via_pool else assignee}, created)]
        moment = created
        if via_pool and assignee is not None:
            moment += timedelta(minutes=rng.uniform(5, 90))
            events.append(self._event(number, assignee, "claimed", {}, moment))
        if assignee is not None and status in ("in_progress", "blocked", "done") and rng.random() < 0.6:
            moment += timedelta(minutes=rng.uniform(5, 60))
            events.append(self._event(number, assignee, "started", {}, moment))
        if status == "blocked":
            events.append(self._event(number, assignee or requester, "blocked", {"reason": blocked}, moment))
        if status == "done" and completed is not None:
            task["updated_at"] = task["completed_at"] = max(completed, moment)
            events.append(self._event(number, assignee or requester, "done", {}, task["updated_at"]))
        elif status == "cancelled":
            events.append(self._event(number, requester, "cancelled", {}, moment + timedelta(hours=1)))
        return task, events

    def _event(self, task_id: int, actor: str, kind: str, detail: dict[str, Any], at: datetime) -> dict[str, Any]:
        return {"team_id": TEAM_ID, "task_id": task_id, "actor_id": actor, "kind": kind, "detail": detail, "at": at}

    def singles(self) -> dict[str, list[dict[str, Any]]]:
        """The workspace, its managers and its digest (with yesterday's run), one row each or so."""
        yesterday = NOW - timedelta(days=1)
        return {
            "workspace": [{"team_id": TEAM_ID, "next_task_number": self.spec.tasks + 1,
                           "created_at": NOW - timedelta(days=365 * self.spec.years + 1)}],
            "rolegrant": [{"team_id": TEAM_ID, "user_id": m, "role": "manager", "granted_by": "HANDOFF_MANAGERS",
                           "granted_at": NOW - timedelta(days=400)} for m in MANAGERS],
            "digestsubscription": [{
                "team_id": TEAM_ID, "channel_id": DIGEST_CHANNEL, "user_id": MANAGERS[0], "tz": "Europe/London",
                "at": "09:00", "hours": {}, "active": True, "created_at": NOW - timedelta(days=400),
            }],
            "digestrun": [{"team_id": TEAM_ID, "channel_id": DIGEST_CHANNEL,
                           "local_date": yesterday.date().isoformat(), "at": yesterday.replace(hour=8, minute=0)}],
        }


def people(spec: Spec) -> list[dict[str, Any]]:
    """The workspace's people as stored (user_id, name, real_name, tz, …), e.g. to seed a Slack stand-in."""
    return _Rows(spec).people()


# ----------------------------------------------------------------------------------------- writers


def _batches(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _sqlite_value(value: Any) -> Any:
    # As SQLAlchemy stores them on SQLite: naive UTC text with microseconds, JSON text, 0/1.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _pg_value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


class _Writer:
    """Writes batches of rows into one table of an open database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_pg = url.startswith("postgresql")
        if self.is_pg:
            import psycopg

            self.pg = psycopg.connect(_conninfo(url))
        else:
            self.lite = sqlite3.connect(url.removeprefix("sqlite:///"))
            self.lite.execute("PRAGMA synchronous=OFF")

    def write(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        if self.is_pg:
            from psycopg import sql

            stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
            with self.pg.cursor() as cur, cur.copy(stmt) as copy:
                for row in rows:
                    copy.write_row([_pg_value(row[c]) for c in columns])
        else:
            marks = ", ".join("?" for _ in columns)
            self.lite.executemany(
                f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})',
                ([_sqlite_value(row[c]) for c in columns] for row in rows),
            )

    def finish(self) -> None:
        """Commit, move the id sequences past the explicit ids, and let the planner see the data."""
        if self.is_pg:
            with self.pg.cursor() as cur:
                for table in ("task", "taskevent", "person"):
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
            self.pg.commit()
            # Autovacuum would do this soon after such a load; doing it now keeps the runs comparable.
            self.pg.autocommit = True
            self.pg.execute("VACUUM ANALYZE")
            self.pg.close()
        else:
            self.lite.commit()
            self.lite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.lite.close()


def _conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def generate(url: str, spec: Spec) -> None:
    """Fill the empty database at `url` with the workspace of `spec`, then migrate it to the head."""
    upgrade(url, BASE_REVISION)
    rows = _Rows(spec)
    writer = _Writer(url)
    try:
        writer.write("person", rows.people())
        for table, singles in rows.singles().items():
            writer.write(table, singles)
        tasks: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        event_id = 0
        started = time.monotonic()
        for task, task_events in rows.tasks():
            tasks.append(task)
            for event in task_events:
                event_id += 1
                events.append({"id": event_id, **event})
            if len(tasks) >= BATCH:
                writer.write("task", tasks)
                writer.write("taskevent", events)
                tasks, events = [], []
                if task["id"] % 200_000 == 0:
                    progress(f"  {task['id']:,} of {spec.tasks:,} tasks written ({time.monotonic() - started:.0f} s)")
        writer.write("task", tasks)
        writer.write("taskevent", events)
        writer.finish()
    except BaseException:
        with contextlib.suppress(Exception):
            (writer.pg if writer.is_pg else writer.lite).close()
        raise
    upgrade(url)
    _settle(url, spec)
    _roster(url, spec)


def _roster(url: str, spec: Spec) -> None:
    """Every assistant on the roster with a skill and a capacity, and one in twenty away this week (tables
    newer than BASE_REVISION: written at the head, through the models' column types)."""
    from sqlalchemy import bindparam, insert, update

    from models.db import make_engine
    from models.tables import Person, TeamMember

    members = [{"team_id": TEAM_ID, "user_id": assistant_id(i), "skills": [SKILLS[i % len(SKILLS)]], "office": "back",
                "capacity": 50, "added_by": MANAGERS[0], "added_at": NOW - timedelta(days=400)}
               for i in range(spec.assistants)]
    away = [{"who": assistant_id(i), "until": NOW + timedelta(days=3)} for i in range(0, spec.assistants, 20)]
    person = Person.__table__  # type: ignore[attr-defined]
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(insert(TeamMember.__table__), members)  # type: ignore[attr-defined]
            conn.execute(update(person).where(person.c.team_id == TEAM_ID, person.c.user_id == bindparam("who"))
                         .values(away_until=bindparam("until")), away)
    finally:
        engine.dispose()


def _settle(url: str, spec: Spec) -> None:
    """Give the open tasks that owe nothing the next-notice instant a running bot leaves them: within the
    coming day (the sweep looks again at least daily). The migration that added the instant set every open
    task's to its creation, which only the first sweep after upgrading sees."""
    rng = random.Random(spec.seed + 1)
    first = spec.tasks - spec.active + 1
    rows = [(NOW + timedelta(seconds=rng.uniform(60, 86_400)), task_id) for task_id in range(first, spec.tasks + 1)]
    stmt = "UPDATE tasknotice SET at = {} WHERE task_id = {}"
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(_conninfo(url)) as pg, pg.cursor() as cur:
            cur.executemany(stmt.format("%s", "%s"), rows)
    else:
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as lite, lite:
            lite.executemany(stmt.format("?", "?"), [(_sqlite_value(at), task_id) for at, task_id in rows])


# ----------------------------------------------------------------------------------------- stores


@dataclass(frozen=True)
class Prepared:
    """A database ready for one measurement, and how it was made."""

    url: str
    spec: Spec
    from_cache: bool
    seconds: float


class Store:
    """Where databases live: SQLite files under `tmp` (cached under `cache_dir`), or databases on a
    PostgreSQL server (`admin_url` reaches it; cached copies are databases called `bench_cache_<key>`,
    and each measurement gets a `bench_run_…` copy made with `CREATE DATABASE … TEMPLATE`).
    """

    def __init__(self, tmp: Path, *, admin_url: str | None = None, cache_dir: Path | None = None) -> None:
        self.tmp = tmp
        self.admin_url = admin_url
        self.cache_dir = cache_dir
        self._created: list[str] = []

    @property
    def kind(self) -> str:
        """`sqlite` or `postgresql`."""
        return "postgresql" if self.admin_url else "sqlite"

    @property
    def label(self) -> str:
        """`SQLite` or `PostgreSQL`, as the tables' columns say."""
        return "PostgreSQL" if self.admin_url else "SQLite"

    @classmethod
    def chosen(cls, tmp: Path, *, sqlite: bool, database_url: str | None, cache_dir: Path | None) -> list[Store]:
        """The stores a run measures: SQLite unless left out, and PostgreSQL when a server is named."""
        return ([cls(tmp, cache_dir=cache_dir)] if sqlite else []) + (
            [cls(tmp, admin_url=database_url, cache_dir=cache_dir)] if database_url else [])

    def prepare(self, spec: Spec) -> Prepared:
        """A fresh copy of the workspace of `spec`: from the cache, or generated (and cached) first."""
        started = time.monotonic()
        key = spec.key()
        if self.admin_url is None:
            cached = (self.cache_dir or self.tmp) / f"workspace-{key}.db"
            hit = cached.exists()
            if not hit:
                progress(f"generating {spec.label()} on SQLite...")
                building = cached.with_suffix(f".{secrets.token_hex(4)}.partial")
                cached.parent.mkdir(parents=True, exist_ok=True)
                try:
                    generate(f"sqlite:///{building}", spec)
                    building.replace(cached)
                finally:
                    building.unlink(missing_ok=True)
            target = self.tmp / f"run-{key}-{secrets.token_hex(4)}.db"
            shutil.copyfile(cached, target)
            return Prepared(f"sqlite:///{target}", spec, hit, time.monotonic() - started)
        cache_name = f"bench_cache_{key}"
        hit = cache_name in self._databases()
        if not hit:
            progress(f"generating {spec.label()} on PostgreSQL...")
            partial = f"bench_partial_{key}_{secrets.token_hex(4)}"
            self._create(partial)
            try:
                generate(self._url(partial), spec)
                self._admin_execute(f'ALTER DATABASE "{partial}" RENAME TO "{cache_name}"')
                self._created.remove(partial)
            except BaseException:
                self._admin_execute(f'DROP DATABASE IF EXISTS "{partial}" WITH (FORCE)')
                raise
        if self.cache_dir is None:  # not kept between runs: this run drops it at the end
            self._created.append(cache_name)
        name = f"bench_run_{secrets.token_hex(4)}"
        self._create(name, template=cache_name)
        return Prepared(self._url(name), spec, hit, time.monotonic() - started)

    def fresh(self, name: str) -> str:
        """A new, empty database (SQLite file or PostgreSQL database) called after `name`."""
        if self.admin_url is None:
            return f"sqlite:///{self.tmp / f'{name}-{secrets.token_hex(4)}.db'}"
        database = f"bench_{name}_{secrets.token_hex(4)}"
        self._create(database)
        return self._url(database)

    def drop(self, url: str) -> None:
        """Remove a database `prepare` or `fresh` made (SQLite: the file and its WAL)."""
        if self.admin_url is None:
            path = url.removeprefix("sqlite:///")
            for suffix in ("", "-wal", "-shm", ".scheduler.lock"):
                Path(path + suffix).unlink(missing_ok=True)
            return
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        if name in self._created:
            self._created.remove(name)
        self._admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_all(self) -> None:
        """Drop every PostgreSQL database this store created and does not keep as a cache."""
        while self._created:
            name = self._created.pop()
            try:
                self._admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as error:
                progress(f"could not drop database {name}: {error}")

    def _url(self, database: str) -> str:
        from sqlalchemy.engine import make_url

        assert self.admin_url is not None
        return make_url(self.admin_url).set(drivername="postgresql", database=database).render_as_string(
            hide_password=False)

    def _create(self, name: str, *, template: str | None = None) -> None:
        suffix = f' TEMPLATE "{template}"' if template else ""
        self._admin_execute(f'CREATE DATABASE "{name}"{suffix}')
        self._created.append(name)

    def _databases(self) -> set[str]:
        with self._admin() as conn:
            return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}

    def _admin_execute(self, statement: str) -> None:
        with self._admin() as conn:
            conn.execute(statement.encode())

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Any]:
        import psycopg

        assert self.admin_url is not None
        with psycopg.connect(_conninfo(self.admin_url), autocommit=True, connect_timeout=10) as conn:
            yield conn


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/handoff-bench`, else `~/.cache/handoff-bench`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "handoff-bench"


def prepare(store: Store, spec: Spec) -> Prepared:
    """`store.prepare(spec)`, reporting on stderr how long it took."""
    prepared = store.prepare(spec)
    how = "copied from the cache" if prepared.from_cache else "generated"
    progress(f"{spec.label()} on {store.kind}: {how} in {prepared.seconds:.1f} s")
    return prepared
