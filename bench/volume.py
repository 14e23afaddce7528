"""Background jobs at real volume: the digest and the sweep over big workspaces, on SQLite and PostgreSQL.

Each job runs once in its own process through `SchedulerRunner.run(group, at=…)`, on a fresh copy of a
generated workspace (bench/data.py), with a statement counter on its engine. Meanwhile another process
makes a tiny write every 10 ms (what a request does) and records how long each one waited: the worst is
the longest write transaction the job held. Prints a table of figures and targets; run
`.venv/bin/python -m bench.volume --help` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.data import NOW, TEAM_ID, Spec, Store, default_cache_dir, prepare, progress
from bench.run import sigterm_interrupts
from models.db import RequestWriters

__all__ = ["JobRun", "Step", "WriteWaits", "main", "measure_job"]

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "volume.json"

TARGET_DIGEST_S = 1.0
TARGET_SWEEP_S = 1.0
TARGET_IDLE_SWEEP_S = 0.1
TARGET_WRITE_WAIT_MS = 50.0
# "~50 ms": a worst wait up to this much over the target still counts as met (scheduling noise).
WRITE_WAIT_SLACK = 1.5

# The probe's tiny write, and how often it is attempted.
PROBE_EVERY_S = 0.010
# One in this many of the digest's open tasks is overdue or due soon, as in a busy team.
DIGEST_OWED = 10
# The sweep's next pass, as the server's timer would run it.
NEXT_SWEEP = timedelta(seconds=30)
START_TIMEOUT = 60.0

_SPAWN = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class Step:
    """One job run to make: `group` as of `at`; `owes` when the workspace owes it work then."""

    label: str
    group: str
    at: datetime
    owes: bool = True


@dataclass
class JobRun:
    """One job run: how long it took, how many SQL statements it sent, and what it queued."""

    label: str
    group: str
    seconds: float = math.nan
    statements: int = 0
    commits: int = 0  # transactions committed: with statements, the work done, whatever the machine's speed
    cpu: float = math.nan  # CPU seconds of the job's process (all its threads) during the run
    queued: str = ""
    error: str = ""
    began: float = math.nan  # time.monotonic() in the job's process (the same clock in every process)
    ended: float = math.nan


@dataclass
class WriteWaits:
    """How long the probe's tiny writes took while a job ran."""

    writes: int = 0
    failed: int = 0
    worst_ms: float = math.nan
    p99_ms: float = math.nan
    errors: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------- processes


def _run_jobs(conn: Connection, url: str, plan: list[Step], writers: RequestWriters) -> None:
    """In a child process, as `serve`'s worker: run each step of `plan` in turn, sending back a JobRun for each."""
    from sqlalchemy import event

    from models.db import Database
    from scheduler.config import JobConfig
    from scheduler.runner import SchedulerRunner

    db = Database.from_url(url, writers=writers)
    count = [0, 0]

    def counter(*_: Any) -> None:
        count[0] += 1

    def committed(*_: Any) -> None:
        count[1] += 1

    event.listen(db.engine, "before_cursor_execute", counter)
    event.listen(db.engine, "commit", committed)
    at = plan[0].at
    runner = SchedulerRunner(db, JobConfig(), clock=lambda: at)
    # As `serve`'s worker does once started (bot.worker): what starting built is never collected, so a
    # full collection during the job walks only what the job made.
    gc.freeze()
    conn.send("ready")
    try:
        for step in plan:
            at = step.at
            count[0] = count[1] = 0
            run = JobRun(step.label, step.group)
            cpu = time.process_time()
            run.began = time.monotonic()
            try:
                report = runner.run(step.group, at=at)
            except Exception as error:  # a failing job is a figure too; the next one still runs
                run.error = f"{type(error).__name__}: {error}"
                report = None
            run.ended = time.monotonic()
            run.cpu = time.process_time() - cpu
            run.seconds, run.statements, run.commits = run.ended - run.began, count[0], count[1]
            if report is None and not run.error:
                run.error = "another process held the scheduler lock"
            run.queued = report.summary() if report is not None else ""
            if report is not None and step.owes and _queued(run.queued) == "nothing":
                run.error = "queued nothing"  # the workspace should owe this job work: a bench bug
            conn.send(run)
    finally:
        runner.stop()
        db.dispose()


def _probe_writes(conn: Connection, url: str, task_id: int, writers: RequestWriters) -> None:
    """In a child process: every 10 ms, one tiny write transaction, until told to stop; sends the samples.

    The write is what requests do all the time: record a processed Slack event, touch a task.
    """
    from sqlalchemy import text

    from bot.gate import LOCK_BUDGET
    from models.db import Database, request_scope

    db = Database.from_url(url, writers=writers)  # counted as `serve`'s web process counts its requests
    samples: list[tuple[float, float, str]] = []  # (began, seconds, error or "") per write
    n = 0

    def write() -> None:
        nonlocal n
        n += 1
        # As a request does: within a request's lock budget (and so, on SQLite, leaving checkpoints to jobs).
        with request_scope(LOCK_BUDGET), db.transaction() as session:
            session.execute(
                text("INSERT INTO processedevent (team_id, event_id, at) VALUES (:team, :key, :at)"),
                {"team": TEAM_ID, "key": f"bench-probe-{n}", "at": datetime.now(UTC).replace(tzinfo=None)},
            )
            session.execute(text("UPDATE task SET updated_at = updated_at WHERE id = :id"), {"id": task_id})

    write()  # connect and warm up before saying ready
    conn.send("ready")
    next_at = time.monotonic()
    while not conn.poll(max(0.0, next_at - time.monotonic())):
        began, failure = time.monotonic(), ""
        try:
            write()
        except Exception as error:
            failure = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        samples.append((began, time.monotonic() - began, failure))
        # On a fixed schedule, so a long wait is not hidden by fewer attempts during it.
        next_at = max(next_at + PROBE_EVERY_S, began)
    conn.send(samples)
    db.dispose()


def _receive(conn: Connection, proc: Any, timeout: float) -> Any:
    """The next message from a child, or TimeoutError (also when the child died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.poll(0.05):
            return conn.recv()
        if not proc.is_alive():
            raise TimeoutError(f"the process exited with code {proc.exitcode}")
    raise TimeoutError(f"no answer within {timeout:.0f} s")


def _stop(proc: Any) -> None:
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


def measure_job(url: str, plan: list[Step], *, probe_task: int, timeout: float) -> list[tuple[JobRun, WriteWaits]]:
    """Run the steps of `plan` in turn in a fresh process, with the write probe beside it.

    A run that takes longer than `timeout` is stopped; it and the runs after it report the timeout.
    """
    # The probe's writes are counted for the jobs process to make way for, as `serve` does for its worker.
    writers = RequestWriters()
    probe_end, probe_child = _SPAWN.Pipe()
    probe = _SPAWN.Process(target=_probe_writes, args=(probe_child, url, probe_task, writers), daemon=True)
    jobs_end, jobs_child = _SPAWN.Pipe()
    jobs = _SPAWN.Process(target=_run_jobs, args=(jobs_child, url, plan, writers), daemon=True)
    runs: list[JobRun] = []
    try:
        probe.start()
        _receive(probe_end, probe, START_TIMEOUT)
        jobs.start()
        _receive(jobs_end, jobs, START_TIMEOUT)
        for step in plan:
            try:
                runs.append(_receive(jobs_end, jobs, timeout))
            except TimeoutError as error:
                runs.append(JobRun(step.label, step.group, error=f"stopped: {error}"))
                jobs.kill()
                break
        probe_end.send("stop")
        samples = _receive(probe_end, probe, START_TIMEOUT)
    finally:
        for proc in (jobs, probe):
            if proc.pid is not None:
                _stop(proc)
    runs += [JobRun(s.label, s.group, error="not run (an earlier run was stopped)") for s in plan[len(runs):]]
    return [(run, _waits_during(run, samples)) for run in runs]


def _waits_during(run: JobRun, samples: list[tuple[float, float, str]]) -> WriteWaits:
    """How long the probe's writes took within the run: each write's time clipped to the run's span, so a
    write held up by two runs in a row counts for each only the part it waited during that run."""
    if math.isnan(run.began):
        return WriteWaits()
    overlapping = [(began, s, error) for began, s, error in samples if began <= run.ended and began + s >= run.began]
    ordered = sorted(min(began + s, run.ended) - max(began, run.began) for began, s, _ in overlapping)
    failed = [error for _, _, error in overlapping if error]
    return WriteWaits(
        writes=len(overlapping),
        failed=len(failed),
        worst_ms=1000.0 * ordered[-1] if ordered else math.nan,
        p99_ms=1000.0 * ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)] if ordered else math.nan,
        errors=sorted(set(failed))[:3],
    )


# ----------------------------------------------------------------------------------------- the run


@dataclass
class Config:
    """What the run was asked to do."""

    digest_sizes: tuple[int, ...]
    sweep_tasks: int
    active: int
    assistants: int
    owed_share: float
    database_url: str | None
    cache_dir: Path | None
    timeout: float
    sqlite: bool
    output: Path


@dataclass
class Figure:
    """One row of the table, per database."""

    label: str
    target: str
    values: dict[str, str] = field(default_factory=dict)
    met: dict[str, bool | None] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def _fmt_s(run: JobRun) -> str:
    return run.error[:40] if run.error else f"{run.seconds:.3f} s"


def _check(value: float, limit: float) -> bool:
    return not math.isnan(value) and value < limit


def digest_spec(tasks: int, unfinished: int, assistants: int) -> Spec:
    """A workspace for the digest: `unfinished` open tasks, a tenth of them overdue or due within the hour."""
    unfinished = min(unfinished, tasks)
    return Spec(tasks=tasks, active=unfinished - unfinished // DIGEST_OWED, owed=unfinished // DIGEST_OWED,
                assistants=assistants)


def measure_store(store: Store, cfg: Config) -> dict[str, Any]:
    """Every job measurement on one kind of database; returns label -> (JobRun, WriteWaits, Spec)."""
    found: dict[str, Any] = {}
    for size in cfg.digest_sizes:
        spec = digest_spec(size, cfg.active, cfg.assistants)
        prepared = prepare(store, spec)
        progress(f"digest over {spec.label()} on {store.kind}...")
        try:
            [(run, waits)] = measure_job(prepared.url, [Step(f"digest {size}", "digest", NOW)],
                                         probe_task=size, timeout=cfg.timeout)
        finally:
            store.drop(prepared.url)
        found[f"digest:{size}"] = (run, waits, spec)
        progress(f"  {_fmt_s(run)}, {run.statements:,} statements, worst write wait {waits.worst_ms:.0f} ms")
    owed = max(1, round(cfg.sweep_tasks * cfg.owed_share))
    spec = Spec(tasks=cfg.sweep_tasks, active=min(cfg.active, cfg.sweep_tasks - owed), owed=owed,
                assistants=cfg.assistants)
    prepared = prepare(store, spec)
    progress(f"sweep over {spec.label()} on {store.kind}, then an idle sweep...")
    try:
        results = measure_job(
            prepared.url,
            [Step("sweep", "reminders", NOW), Step("idle sweep", "reminders", NOW + NEXT_SWEEP, owes=False)],
            probe_task=spec.owed_ids()[0], timeout=cfg.timeout,  # the probe touches a row the sweep works on
        )
    finally:
        store.drop(prepared.url)
    for key, (run, waits) in zip(("sweep", "idle"), results, strict=True):
        found[key] = (run, waits, spec)
        progress(f"  {run.label}: {_fmt_s(run)}, {run.statements:,} statements in {run.commits:,} transactions, "
                 f"{run.queued or '-'}, "
                 f"worst write wait {waits.worst_ms:.0f} ms")
    return found


def figures(cfg: Config, by_db: dict[str, dict[str, Any]]) -> list[Figure]:
    """The table's rows from the measurements of each database."""
    rows: list[Figure] = []
    wait_target = f"~{TARGET_WRITE_WAIT_MS:g} ms"
    for size in cfg.digest_sizes:
        seconds = Figure(f"digest, {size:,} tasks", f"< {TARGET_DIGEST_S:g} s")
        statements = Figure("  SQL statements", "same at every size")
        waits = Figure("  worst write wait", wait_target)
        for db, found in by_db.items():
            run, wait, _spec = found[f"digest:{size}"]
            seconds.values[db], seconds.met[db] = _fmt_s(run), None if run.error else run.seconds < TARGET_DIGEST_S
            seconds.raw[db] = {"seconds": run.seconds, "error": run.error, "queued": run.queued}
            statements.values[db] = "-" if run.error else f"{run.statements:,}"
            statements.raw[db] = run.statements
            smallest = found[f"digest:{cfg.digest_sizes[0]}"][0]
            statements.met[db] = None if run.error or smallest.error else run.statements <= smallest.statements
            _wait_cell(waits, db, wait)
        rows += [seconds, statements, waits]
    owed_label = f"{round(cfg.sweep_tasks * cfg.owed_share):,} owed"
    for key, label, target in (("sweep", f"sweep, {cfg.sweep_tasks:,} tasks, {owed_label}", TARGET_SWEEP_S),
                               ("idle", f"idle sweep, {cfg.sweep_tasks:,} tasks", TARGET_IDLE_SWEEP_S)):
        seconds = Figure(label, f"< {target * 1000:g} ms" if target < 1 else f"< {target:g} s")
        statements = Figure("  SQL statements (transactions)", "")
        cpu = Figure("  CPU of the job's process", "")
        queued = Figure("  queued", "")
        waits = Figure("  worst write wait", wait_target)
        for db, found in by_db.items():
            run, wait, _spec = found[key]
            seconds.values[db], seconds.met[db] = _fmt_s(run), None if run.error else run.seconds < target
            seconds.raw[db] = {"seconds": run.seconds, "error": run.error}
            statements.values[db] = "-" if run.error else f"{run.statements:,} ({run.commits:,})"
            statements.raw[db] = {"statements": run.statements, "transactions": run.commits}
            owed = _owed(run.queued)
            cpu.values[db] = "-" if run.error else f"{run.cpu:.3f} s" + (
                f" ({run.cpu / owed * 1e6:,.0f} µs per notice)" if owed else "")
            cpu.raw[db] = {"seconds": run.cpu, "notices": owed}
            queued.values[db] = _queued(run.queued)
            queued.raw[db] = run.queued
            _wait_cell(waits, db, wait)
        rows += [seconds, statements, cpu, queued, waits]
    return rows


def _owed(summary: str) -> int:
    """How many notices `reminders=2 overdue=1 …` counts."""
    return sum(int(part.split("=")[1]) for part in summary.split() if part.split("=")[0] in _NOTICE_KINDS)


_NOTICE_KINDS = ("reminders", "overdue", "escalations", "nudges")


def machine_speed(rounds: int = 3) -> float:
    """Seconds a pure-Python loop of 10 million additions takes here (the best of `rounds`): how fast this
    machine runs Python, so that figures taken on different machines can be set side by side."""
    best = math.inf
    for _ in range(rounds):
        started, total = time.perf_counter(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def _queued(summary: str) -> str:
    """`reminders=2 overdue=0 …` without the zeros."""
    parts = [p for p in summary.split() if not p.endswith("=0")]
    return " ".join(parts) if parts else ("nothing" if summary else "-")


def _wait_cell(figure: Figure, db: str, waits: WriteWaits) -> None:
    figure.raw[db] = {"writes": waits.writes, "failed": waits.failed, "worst_ms": waits.worst_ms,
                      "p99_ms": waits.p99_ms, "errors": waits.errors}
    if waits.writes == 0:
        figure.values[db], figure.met[db] = "-", None
        return
    text = f"{waits.worst_ms:,.0f} ms"
    if waits.failed:
        text += f", {waits.failed} failed"
    figure.values[db] = text
    figure.met[db] = waits.failed == 0 and _check(waits.worst_ms, TARGET_WRITE_WAIT_MS * WRITE_WAIT_SLACK)


def print_table(title: str, rows: Sequence[Figure], databases: Sequence[str]) -> None:
    """Print the figures: one column per database, each value marked ✓ or ✗ against its target."""
    def cell(row: Figure, db: str) -> str:
        mark = {True: " ✓", False: " ✗", None: ""}[row.met.get(db)]
        return row.values.get(db, "-") + mark

    widths = [max(len(r.label) for r in rows)] + [
        max(len(db), *(len(cell(r, db)) for r in rows)) for db in databases]
    print()
    print(title)
    print("  ".join([f"{'':{widths[0]}}", *(f"{db:>{w}}" for db, w in zip(databases, widths[1:], strict=True)),
                     "target"]))
    for row in rows:
        cells = [f"{cell(row, db):>{w}}" for db, w in zip(databases, widths[1:], strict=True)]
        print("  ".join([f"{row.label:{widths[0]}}", *cells, row.target]).rstrip())
    print()


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.volume", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--large", action="store_true", help="sweep over 1,000,000 tasks (default 100,000)")
    parser.add_argument("--sweep-tasks", type=int, help="tasks in the sweep's workspace (overrides --large)")
    parser.add_argument("--digest-tasks", type=int, nargs="+", default=[10_000, 100_000],
                        help="workspace sizes for the digest (default 10000 100000)")
    parser.add_argument("--active", type=int, default=5_000,
                        help="open (unfinished) tasks besides those owed (default 5000)")
    parser.add_argument("--assistants", type=int, default=200, help="assistants in the workspace (default 200)")
    parser.add_argument("--owed", type=float, default=0.01, help="share of the sweep's tasks owing a notice "
                        "(default 0.01)")
    parser.add_argument("--database-url", help="also on PostgreSQL: a URL of the server (e.g. "
                        "postgresql://postgres@127.0.0.1:5432/postgres) on which bench_* databases are made")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL (needs --database-url)")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                        help="where generated SQLite workspaces are kept between runs (default %(default)s)")
    parser.add_argument("--no-cache", action="store_true",
                        help="generate every workspace afresh and keep nothing (PostgreSQL caches are "
                             "bench_cache_* databases, otherwise kept)")
    parser.add_argument("--timeout", type=float, default=120.0, help="stop a job run after this long (default 120 s)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    return parser


def _config(argv: Sequence[str] | None) -> Config:
    args = _parser().parse_args(argv)
    sweep = args.sweep_tasks or (1_000_000 if args.large else 100_000)
    if args.no_sqlite and not args.database_url:
        raise ValueError("--no-sqlite needs --database-url")
    if args.database_url and not args.database_url.startswith("postgresql"):
        raise ValueError("--database-url must be a postgresql:// URL")
    if min([sweep, *args.digest_tasks]) < 100 or not 0 < args.owed < 1 or args.timeout <= 0:
        raise ValueError("sizes must be at least 100 tasks, --owed between 0 and 1, --timeout positive")
    return Config(
        digest_sizes=tuple(sorted(args.digest_tasks)), sweep_tasks=sweep, active=args.active,
        assistants=args.assistants, owed_share=args.owed, database_url=args.database_url,
        cache_dir=None if args.no_cache else args.cache_dir, timeout=args.timeout, sqlite=not args.no_sqlite,
        output=args.output,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (SIGTERM stops it as Ctrl-C does)."""
    with sigterm_interrupts():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    """Measure, print the table, write the JSON; 0 when the run completed (targets met or not)."""
    try:
        cfg = _config(argv)
    except ValueError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="handoff-volume-"))
    stores = Store.chosen(tmp, sqlite=cfg.sqlite, database_url=cfg.database_url, cache_dir=cfg.cache_dir)
    started = time.monotonic()
    try:
        speed = machine_speed()
        progress(f"this machine runs a Python loop of 10 million additions in {speed:.2f} s")
        by_db = {s.label: measure_store(s, cfg) for s in stores}
        rows = figures(cfg, by_db)
        print_table(f"Handoff jobs at volume ({cfg.active:,} open tasks, {cfg.assistants} assistants; "
                    f"{time.monotonic() - started:.0f} s; 10M-addition loop {speed:.2f} s)", rows, list(by_db))
        cfg.output.parent.mkdir(parents=True, exist_ok=True)
        cfg.output.write_text(json.dumps(_json_safe({
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(["python", "-m", "bench.volume", *(argv if argv is not None else sys.argv[1:])]),
            "loop_seconds": speed,
            "figures": [{"label": r.label, "target": r.target, "values": r.values, "met": r.met, "raw": r.raw}
                        for r in rows],
        }), indent=2) + "\n")
        print(f"written to {cfg.output}")
        return 0
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        for store in stores:
            with contextlib.suppress(Exception):
                store.drop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
