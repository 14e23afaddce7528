"""The Home tab's reads and the message lookups at real volume: what each publish and each message costs.

Over the digest's workspace (bench/data.py: 100,000 tasks by default, 5,000 open, 200 assistants, three
years of history), each read a Home tab and a message make is timed, best and median of `--repeat`:
an assistant's own open tasks, what a requester delegated (a page), the team's week for a manager
(the digest's counts), the pool's longest waiting, and the lookups a 🎫 and a thread reply make.

    .venv/bin/python -m bench.home [--tasks 100000] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bench.data import NOW, TEAM_ID, Spec, Store, assistant_id, default_cache_dir, progress, requester_id
from models.db import Database
from models.queries import active_tasks, digest_counts, longest_unclaimed, my_open_tasks
from models.tables import Task
from models.tasks import task_by_thread

__all__ = ["main"]


def _time(read: Callable[[Session], Any], db: Database, repeat: int) -> tuple[float, float]:
    """Best and median milliseconds of `read` in a read session, after one warm-up."""
    with db.read() as session:
        read(session)
    runs = []
    for _ in range(repeat):
        with db.read() as session:
            started = time.perf_counter()
            read(session)
            runs.append((time.perf_counter() - started) * 1000)
    return min(runs), statistics.median(runs)


def _reads(team: str) -> dict[str, Callable[[Session], Any]]:
    assistant, requester = assistant_id(0), requester_id(0)
    return {
        "my open tasks (an assistant's, up to 300)": lambda s: my_open_tasks(s, team_id=team, user_id=assistant),
        "delegated by me, one page": lambda s: active_tasks(s, team_id=team, requester_id=requester, limit=8),
        "the team this week (manager)": lambda s: digest_counts(
            s, team_id=team, now=NOW, day_end=NOW + timedelta(hours=8), since=NOW - timedelta(days=3)),
        "the pool, longest waiting": lambda s: longest_unclaimed(s, team_id=team),
        "🎫: tasks made from a message": lambda s: s.exec(select(Task.number).where(
            Task.team_id == team, Task.source_channel_id == "CGENERAL", Task.source_ts == "1.000001")).first(),
        "thread reply: its card's task": lambda s: task_by_thread(
            s, team_id=team, channel_id="CGENERAL", thread_ts="1.000001", ts="2.000001"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare the workspace on each database, time the reads, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.home", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", help="also on this PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL (needs --database-url)")
    parser.add_argument("--no-cache", action="store_true", help="generate the workspace afresh, keep nothing")
    args = parser.parse_args(argv)
    spec = Spec(tasks=args.tasks, active=min(5_000, args.tasks // 2), owed=min(500, args.tasks // 10))
    rows: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="handoff-bench-home-") as tmp:
        for store in Store.chosen(Path(tmp), sqlite=not args.no_sqlite, database_url=args.database_url,
                                  cache_dir=None if args.no_cache else default_cache_dir()):
            prepared = store.prepare(spec)
            progress(f"Home tab reads over {spec.label()} on {store.kind}...")
            db = Database.from_url(prepared.url)
            try:
                for name, read in _reads(TEAM_ID).items():
                    rows.setdefault(name, {})[store.label] = _time(read, db, args.repeat)
            finally:
                db.dispose()
                store.drop(prepared.url)
    labels = sorted({label for cells in rows.values() for label in cells}, reverse=True)
    print(f"\nHome tab and message lookups over {spec.label()}: best / median of {args.repeat}, ms")
    print(f"{'read':<44}" + "".join(f"{label:>22}" for label in labels))
    for name, cells in rows.items():
        line = "".join(f"{cells[label][0]:>12.2f} / {cells[label][1]:<7.2f}" for label in labels if label in cells)
        print(f"{name:<44}{line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
