"""The bot under load, served as in production: open-loop `/delegate` while jobs run, and bursts.

- **Open loop**: `/delegate` at a fixed rate (100/s) on a schedule that does not wait for answers, so a
  stall shows as latency (measured from each request's scheduled send time) instead of fewer requests.
  Meanwhile `python -m bot jobs run all --at …` sweeps and posts the digest of a generated workspace of
  100,000 tasks (bench/data.py), in its own process beside the server.
- **Burst**: 2,000 `/delegate` as fast as 32 connections send them; the time until the last card and
  DM reach the stand-in. Then the same burst against a stand-in applying Slack's rate limits: every
  card and DM must arrive exactly once.
- **Memory**: the peak RSS (VmHWM) of every process of the bot and the jobs run, summed.

The server is `python -m bot serve --no-scheduler` (delivery runs; the scheduler's timer is off so the jobs
run when the bench says). Slack is a `SlackStandIn` in this process. Run
`.venv/bin/python -m bench.load --help` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import multiprocessing
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.data import CHANNELS, NOW, Spec, Store, default_cache_dir, people, prepare, progress
from bench.run import (
    ASSIGNEE,
    BOT_CONFIRMATION,
    CHANNEL,
    EVENTS_PATH,
    HOST,
    REQUEST_TIMEOUT,
    BenchError,
    LoadResult,
    Processes,
    Signed,
    cpu_seconds,
    free_port,
    log_tail,
    peak_rss_mb,
    percentile,
    process_tree,
    python_load,
    seed,
    server_env,
    signed_requests,
    sigterm_interrupts,
    slash_body,
    tree_cpu_seconds,
    wait_drained,
    wait_healthy,
)
from sandbox.client import SlackClientSim
from sandbox.standin import ApiCall, SlackStandIn

__all__ = ["main"]

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "load.json"

TARGET_P99_MS = 100.0
TARGET_BURST_S = 10.0
TARGET_MEMORY_MB = 200.0

# A burst spreads over channels and assignees as an agency's would; Slack's limits are per channel.
BURST_CHANNELS = tuple(f"CBURST{n:02d}" for n in range(1, 21))
BURST_ASSIGNEES = tuple(f"UBA{n:03d}" for n in range(1, 51))
# Senders for the open loop: enough that a slow answer never delays the next scheduled send.
OPEN_LOOP_SENDERS = 64
SAMPLE_EVERY_S = 0.25

_SPAWN = multiprocessing.get_context("spawn")


# ----------------------------------------------------------------------------------------- open loop


def _closed_loop(conn: Connection, port: int, requests: list[Signed], connections: int, expect: str) -> None:
    """In a child process: send every request, `connections` at a time, as fast as answers come; sends
    back the LoadResult. (In its own process, so the senders never compete with the stand-in for a GIL.)"""
    conn.send("ready")
    conn.recv()
    conn.send(python_load(port, requests, connections=connections, total=len(requests), expect=expect))


def _open_loop(conn: Connection, port: int, requests: list[Signed], rate: float, expect: str) -> None:
    """In a child process: send `requests[k]` at `start + k / rate`, whatever came back before, until
    told to stop or out of requests.

    Sends back the start instant (time.monotonic()) first, then [(latency from the scheduled send, ok)]
    for each request sent.
    """
    import queue

    todo: queue.SimpleQueue[tuple[int, float] | None] = queue.SimpleQueue()
    results: list[tuple[float, bool]] = []

    def sender() -> None:
        client = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        while (item := todo.get()) is not None:
            index, due = item
            body, headers = requests[index]
            try:
                client.request("POST", EVENTS_PATH, body=body, headers=headers)
                response = client.getresponse()
                ok = response.status == 200 and expect.encode() in response.read()
            except (OSError, http.client.HTTPException):
                ok = False
                client.close()
                client = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
            results.append((time.monotonic() - due, ok))
        client.close()

    senders = [threading.Thread(target=sender, daemon=True) for _ in range(OPEN_LOOP_SENDERS)]
    for thread in senders:
        thread.start()
    start = time.monotonic() + 0.2
    conn.send(start)
    for index in range(len(requests)):
        due = start + index / rate
        # Pacing the sends in real time is the point of an open-loop generator.
        if conn.poll(max(0.0, due - time.monotonic())):
            break
        todo.put((index, due))
    for _ in senders:
        todo.put(None)
    for thread in senders:
        thread.join(REQUEST_TIMEOUT + 5)
    conn.send(results)


@dataclass
class OpenLoop:
    """Latencies of an open-loop run, and what the jobs beside it did."""

    rate: float
    sent: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    failed: int
    jobs_seconds: float
    jobs_exit: int | None
    jobs_output: str
    jobs_peak_mb: float


class MemoryWatch:
    """Samples the VmHWM of process trees in a thread; keeps each process's highest figure."""

    def __init__(self) -> None:
        self.roots: list[int] = []
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, pid: int) -> None:
        """Add a process (and its descendants) to the sampling."""
        self.roots.append(pid)

    def start(self) -> MemoryWatch:
        self._thread.start()
        return self

    def stop(self) -> float:
        """Stop sampling (after one last sample); returns the sum of each process's peak, in MB."""
        self._stop.set()
        self._thread.join(5)
        self.sample()
        return sum(self.peaks.values())

    def sample(self) -> None:
        for root in list(self.roots):
            for pid in process_tree(root):
                with contextlib.suppress(Exception):
                    self.peaks[pid] = max(self.peaks.get(pid, 0.0), peak_rss_mb(pid))

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.sample()


def _bot_env(standin: SlackStandIn, secret: str, url: str, port: int) -> dict[str, str]:
    return server_env({
        "SLACK_BOT_TOKEN": standin.token, "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": url, "HOST": HOST, "PORT": str(port),
    })


def _start_bot(procs: Processes, tmp: Path, name: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    log = tmp / f"{name}.log"
    proc = procs.start(name, [sys.executable, "-m", "bot", "serve", "--no-scheduler"], env=env, cwd=tmp, log=log)
    wait_healthy(name, proc, port, log)
    return proc


def seed_workspace(standin: SlackStandIn, spec: Spec | None) -> None:
    """The bench's requester, assignees and channels, and the generated workspace's people and channels."""
    seed(standin)
    for user in BURST_ASSIGNEES:
        standin.add_user(user, user.lower(), real_name=f"Burst {user}", tz="Europe/London")
    members = ["URITA", ASSIGNEE, *BURST_ASSIGNEES]
    for channel in BURST_CHANNELS:
        standin.add_channel(channel, channel.lower(), members=members, bot_is_member=True)
    if spec is not None:
        for person in people(spec):
            standin.add_user(person["user_id"], person["name"], real_name=person["real_name"], tz=person["tz"])
        for channel in CHANNELS:
            standin.add_channel(channel, channel.lower(), members=members, bot_is_member=True)


def place_owed_cards(url: str, standin: SlackStandIn, spec: Spec) -> None:
    """Post the owed tasks' cards in the stand-in and store where, so the jobs' thread lines and card
    updates reach real messages (the generated `card_ts` of other tasks is never used by Slack calls)."""
    from sqlalchemy import text

    from models.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            ids = spec.owed_ids()
            cards = conn.execute(text("SELECT id, number, card_channel_id FROM task WHERE id BETWEEN :a AND :b"),
                                 {"a": ids[0], "b": ids[-1]}).all()
            placed = [{"id": task_id, "ts": standin.add_message(channel, standin.bot_user_id, f"T-{number}")["ts"]}
                      for task_id, number, channel in cards]
            if placed:
                conn.execute(text("UPDATE task SET card_ts = :ts WHERE id = :id"), placed)
    finally:
        engine.dispose()


def run_open_loop(procs: Processes, store: Store, tmp: Path, cfg: Config, memory: MemoryWatch) -> OpenLoop:
    """`/delegate` at `cfg.rate` for `cfg.seconds` against a bot over a big workspace, while its jobs run."""
    spec = Spec(tasks=cfg.tasks, active=min(5_000, cfg.tasks // 10), owed=cfg.tasks // 100)
    prepared = prepare(store, spec)
    standin = SlackStandIn()
    seed_workspace(standin, spec)
    standin.start()
    port, secret = free_port(), secrets.token_hex(16)
    env = _bot_env(standin, secret, prepared.url, port)
    try:
        place_owed_cards(prepared.url, standin, spec)
        bot = _start_bot(procs, tmp, f"open-{store.kind}", env, port)
        memory.watch(bot.pid)
        sim = SlackClientSim(f"http://{HOST}:{port}{EVENTS_PATH}", secret, standin=standin)
        warm = python_load(port, signed_requests(sim, _bodies(standin, "warm", 100)), connections=8, total=100,
                           expect=BOT_CONFIRMATION)
        if warm.errors:
            log = log_tail(tmp / f"open-{store.kind}.log")
            raise BenchError(f"{warm.errors} of 100 warm-up requests failed:\n{log}")
        wait_drained(port)
        # Enough requests to keep going until the jobs are done, however long they take.
        total = round(cfg.rate * (cfg.seconds + cfg.jobs_timeout + 5))
        requests = signed_requests(sim, _bodies(standin, "open", total))
        here, child = _SPAWN.Pipe()
        loader = _SPAWN.Process(target=_open_loop, args=(child, port, requests, cfg.rate, BOT_CONFIRMATION),
                                daemon=True)
        loader.start()
        start = _receive(here, loader, 60)
        # The jobs start a second into the load (their process needs a moment to start).
        time.sleep(max(0.0, start + 1.0 - time.monotonic()))
        jobs_log = tmp / f"jobs-{store.kind}.log"
        jobs_started = time.monotonic()
        jobs = procs.start("jobs", [sys.executable, "-m", "bot", "jobs", "run", "all", "--at", NOW.isoformat()],
                           env=env, cwd=tmp, log=jobs_log)
        jobs_memory = MemoryWatch()
        jobs_memory.watch(jobs.pid)
        jobs_memory.start()
        try:
            jobs.wait(cfg.seconds + cfg.jobs_timeout)
        except subprocess.TimeoutExpired:
            progress(f"the jobs run did not finish within {cfg.seconds + cfg.jobs_timeout:.0f} s; stopping it")
        jobs_seconds = time.monotonic() - jobs_started
        jobs_peak = jobs_memory.stop()
        # The load lasts `cfg.seconds`, or until the jobs are done if they take longer.
        time.sleep(max(0.0, start + cfg.seconds - time.monotonic()))
        here.send("stop")
        results: list[tuple[float, bool]] = _receive(here, loader, REQUEST_TIMEOUT + 60)
        loader.join(5)
        memory.sample()
        procs.stop(jobs)
        procs.stop(bot)
    finally:
        standin.stop()
        store.drop(prepared.url)
    latencies = [1000.0 * latency for latency, ok in results if ok]
    return OpenLoop(
        rate=cfg.rate, sent=len(results), p50_ms=percentile(latencies, 50), p99_ms=_p99_counting_failures(results),
        max_ms=max(latencies, default=math.nan), failed=sum(1 for _, ok in results if not ok),
        jobs_seconds=jobs_seconds, jobs_exit=jobs.returncode, jobs_peak_mb=jobs_peak,
        jobs_output=" ".join(line for line in log_tail(jobs_log, 200).splitlines()
                             if line.startswith(("queued:", "delivered:", "handoff:"))),
    )


def _p99_counting_failures(results: list[tuple[float, bool]]) -> float:
    """The 99th percentile latency, a failed or unanswered request counting as infinitely slow."""
    return percentile([1000.0 * latency if ok else math.inf for latency, ok in results], 99)


def _bodies(standin: SlackStandIn, tag: str, count: int) -> list[bytes]:
    """`count` distinct `/delegate` bodies (each with its own response URL) over the burst channels."""
    bodies = []
    for n in range(count):
        channel, assignee = BURST_CHANNELS[n % len(BURST_CHANNELS)], BURST_ASSIGNEES[n % len(BURST_ASSIGNEES)]
        text = f"<@{assignee}|{assignee.lower()}> Reconcile {tag}x{n:05d} invoices by Friday 5pm"
        bodies.append(slash_body(standin, text, channel=channel, channel_name=channel.lower()))
    return bodies


def _receive(conn: Connection, proc: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.poll(0.05):
            return conn.recv()
        if not proc.is_alive():
            raise BenchError(f"the load generator exited with code {proc.exitcode}")
    raise BenchError(f"the load generator gave no answer within {timeout:.0f} s")


# ----------------------------------------------------------------------------------------- bursts


@dataclass
class Burst:
    """A burst of commands: how fast they were answered, and when and how often each message arrived."""

    commands: int
    rate_limited: bool
    ack_p99_ms: float
    ack_errors: int
    messages: int
    last_message_s: float
    drained: bool
    pending: int
    lost: int
    duplicated: int
    throttled: int
    detail: dict[str, float] = field(default_factory=dict)


_WORD = re.compile(r"burst(?P<tag>[0-9a-f]{6})x(?P<n>\d{5})")


class _Tally:
    """Per (command, card|dm), how many times its message reached Slack, and when each arrived; fed the
    stand-in's calls as they come, each looked at once (the bench must not starve the stand-in it reads)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.seen: dict[tuple[int, str], int] = {}
        self.arrivals: list[float] = []
        self.read = 0

    def add(self, calls: Sequence[ApiCall]) -> None:
        """Count the calls after those already counted (`calls` is every call since the burst began)."""
        for call in calls[self.read:]:
            self._count(call)
        self.read = len(calls)

    def _count(self, call: ApiCall) -> None:
        if call.method != "chat.postMessage" or not call.ok or call.params.get("thread_ts"):
            return
        match = _WORD.search(str(call.params.get("text", ""))) or _WORD.search(json.dumps(call.params.get("blocks")))
        if match is None or match.group("tag") != self.tag:
            return
        n = int(match.group("n"))
        channel = str(call.params.get("channel"))
        where = "card" if channel == BURST_CHANNELS[n % len(BURST_CHANNELS)] else "dm"
        self.seen[(n, where)] = self.seen.get((n, where), 0) + 1
        self.arrivals.append(call.at)


def run_burst(procs: Processes, store: Store, tmp: Path, cfg: Config, memory: MemoryWatch, *,
              rate_limited: bool) -> Burst:
    """Send `/delegate` commands as fast as 32 connections go, then wait for every card and DM."""
    count = cfg.limited_burst if rate_limited else cfg.burst
    wait = cfg.limited_wait if rate_limited else cfg.burst_wait
    standin = SlackStandIn()
    seed_workspace(standin, None)
    standin.start()
    url = store.fresh("burst")
    port, secret = free_port(), secrets.token_hex(16)
    name = f"burst-{'limited-' if rate_limited else ''}{store.kind}"
    try:
        bot = _start_bot(procs, tmp, name, _bot_env(standin, secret, url, port), port)
        memory.watch(bot.pid)
        sim = SlackClientSim(f"http://{HOST}:{port}{EVENTS_PATH}", secret, standin=standin)
        sim.command("URITA", "/delegate", f"<@{ASSIGNEE}|ana> Warm up the bot", channel_id=CHANNEL)
        wait_drained(port)
        if rate_limited:
            standin.enable_rate_limits()
        tag = secrets.token_hex(3)
        requests = signed_requests(sim, _bodies(standin, f"burst{tag}", count))
        here, child = _SPAWN.Pipe()
        sender = _SPAWN.Process(target=_closed_loop, args=(child, port, requests, 32, BOT_CONFIRMATION), daemon=True)
        sender.start()
        _receive(here, sender, 60)
        first_call = len(standin.calls)
        began = time.time()
        cpu_before = (tree_cpu_seconds(bot.pid), cpu_seconds(os.getpid()))
        here.send("go")
        acks: LoadResult = _receive(here, sender, REQUEST_TIMEOUT + wait)
        sender.join(5)
        expected = 2 * count
        deadline = time.monotonic() + wait
        tally = _Tally(tag)
        while time.monotonic() < deadline:
            tally.add(standin.calls[first_call:])
            if len(tally.seen) >= expected:
                break
            time.sleep(0.2)
        # Then until the outbox is empty, so a late second copy is counted too.
        drain_s, pending = wait_drained(port, timeout=max(1.0, deadline - time.monotonic()))
        # The stand-in runs in this process: its CPU is what "Slack" cost on the machine's cores.
        cpu_bot, cpu_standin = tree_cpu_seconds(bot.pid) - cpu_before[0], cpu_seconds(os.getpid()) - cpu_before[1]
        calls = standin.calls[first_call:]
        tally.add(calls)
        seen, arrivals = tally.seen, tally.arrivals
        memory.sample()
        procs.stop(bot)
    finally:
        standin.stop()
        store.drop(url)
    lost = expected - len(seen)
    return Burst(
        commands=count, rate_limited=rate_limited, ack_p99_ms=acks.p99_ms, ack_errors=acks.errors,
        messages=sum(seen.values()), last_message_s=(max(arrivals) - began) if arrivals else math.nan,
        drained=pending == 0, pending=pending, lost=lost, duplicated=sum(n - 1 for n in seen.values() if n > 1),
        throttled=sum(1 for c in calls if c.error == "ratelimited"),
        detail={"sent_in_s": round(acks.seconds, 1), "drain_wait_s": round(drain_s, 1), "api_calls": len(calls),
                "messages_by_last_answer": sum(1 for at in arrivals if at - began <= acks.seconds),
                "bot_cpu_s": round(cpu_bot, 1), "standin_cpu_s": round(cpu_standin, 1)},
    )


# ----------------------------------------------------------------------------------------- report


@dataclass
class Config:
    """What the run was asked to do."""

    tasks: int
    rate: float
    seconds: float
    jobs_timeout: float
    burst: int
    burst_wait: float
    limited_burst: int
    limited_wait: float
    database_url: str | None
    sqlite: bool
    cache_dir: Path | None
    only: frozenset[str]
    output: Path


def _mark(met: bool) -> str:
    return "✓" if met else "✗"


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else ("∞" if math.isinf(value) else f"{value:,.0f} ms")


def rows_for(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, value, target) rows for one database's results."""
    rows: list[tuple[str, str, str]] = []
    open_loop: OpenLoop | None = result.get("open")
    if open_loop is not None:
        met = open_loop.p99_ms < TARGET_P99_MS
        rows += [
            (f"/delegate p99, {open_loop.rate:g}/s open loop, jobs over {result['tasks']:,} tasks",
             f"{_ms(open_loop.p99_ms)} {_mark(met)}", f"< {TARGET_P99_MS:g} ms"),
            ("  p50 / max", f"{_ms(open_loop.p50_ms)} / {_ms(open_loop.max_ms)}", ""),
            ("  failed or unanswered", f"{open_loop.failed} of {open_loop.sent:,}", "0"),
            ("  load lasted", f"{open_loop.sent / open_loop.rate:.0f} s", ""),
            ("  jobs run (sweep + digest): time, exit, peak RSS",
             f"{open_loop.jobs_seconds:.1f} s, {open_loop.jobs_exit}, {open_loop.jobs_peak_mb:.0f} MB", ""),
        ]
    for key, title in (("burst", "burst"), ("limited", "burst, Slack's rate limits on")):
        burst: Burst | None = result.get(key)
        if burst is None:
            continue
        rows.append((f"{title}: {burst.commands:,} /delegate, {2 * burst.commands:,} messages", "", ""))
        if not burst.rate_limited:
            met = burst.last_message_s < TARGET_BURST_S and burst.lost == 0
            rows.append(("  last message reached Slack after", f"{burst.last_message_s:.1f} s {_mark(met)}",
                         f"< {TARGET_BURST_S:g} s"))
        else:
            rows.append(("  last message reached Slack after", f"{burst.last_message_s:.1f} s", ""))
            rows.append(("  429s answered", f"{burst.throttled:,}", ""))
        rows += [
            ("  lost / duplicated", f"{burst.lost} / {burst.duplicated} "
             f"{_mark(burst.lost == 0 and burst.duplicated == 0 and burst.drained)}", "0 / 0"),
            ("  outbox left at the end", f"{burst.pending}", "0"),
            ("  ack p99 / errors", f"{_ms(burst.ack_p99_ms)} / {burst.ack_errors}", ""),
            ("  every command answered after", f"{burst.detail.get('sent_in_s', math.nan):.1f} s", ""),
            ("  messages in Slack by then", f"{burst.detail.get('messages_by_last_answer', math.nan):,.0f}", ""),
            ("  CPU: the bot's processes / the stand-in and tally",
             f"{burst.detail.get('bot_cpu_s', math.nan):.1f} s / "
             f"{burst.detail.get('standin_cpu_s', math.nan):.1f} s", ""),
        ]
    if result["memory"]:
        worst, memory = max(result["memory"].items(), key=lambda kv: kv[1]["sum_mb"])
        rows.append(("peak memory, the bot's processes (VmHWM sum)",
                     f"{memory['sum_mb']:.0f} MB {_mark(memory['sum_mb'] < TARGET_MEMORY_MB)}",
                     f"< {TARGET_MEMORY_MB:g} MB"))
        rows.append(("  in / processes / largest one",
                     f"{worst} / {memory['processes']} / {memory['max_mb']:.0f} MB", ""))
    return rows


def print_table(title: str, by_db: dict[str, dict[str, Any]]) -> None:
    """One column per database."""
    tables = {db: rows_for(result) for db, result in by_db.items()}
    labels = [label for label, _, _ in next(iter(tables.values()))]
    targets = [target for _, _, target in next(iter(tables.values()))]
    width = max(len(label) for label in labels)
    widths = {db: max(len(db), *(len(v) for _, v, _ in rows)) for db, rows in tables.items()}
    print()
    print(title)
    print("  ".join([" " * width, *(f"{db:>{widths[db]}}" for db in tables), "target"]))
    for i, label in enumerate(labels):
        cells = [f"{tables[db][i][1]:>{widths[db]}}" for db in tables]
        print("  ".join([f"{label:{width}}", *cells, targets[i]]).rstrip())
    print()


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def run_store(procs: Processes, store: Store, tmp: Path, cfg: Config) -> dict[str, Any]:
    """Every measurement the run asked for, on one kind of database."""
    result: dict[str, Any] = {"tasks": cfg.tasks, "memory": {}}

    def measured(key: str, run: Callable[[MemoryWatch], Any]) -> Any:
        memory = MemoryWatch().start()
        try:
            result[key] = run(memory)
        finally:
            result["memory"][key] = {"sum_mb": memory.stop(), "max_mb": max(memory.peaks.values(), default=0.0),
                                     "processes": len(memory.peaks)}
        return result[key]

    if "open" in cfg.only:
        progress(f"open loop on {store.kind}: {cfg.rate:g}/s for {cfg.seconds:g} s, jobs over "
                 f"{cfg.tasks:,} tasks...")
        open_loop = measured("open", lambda memory: run_open_loop(procs, store, tmp, cfg, memory))
        progress(f"  p99 {_ms(open_loop.p99_ms)}, jobs {open_loop.jobs_seconds:.1f} s")
    if "burst" in cfg.only:
        progress(f"burst of {cfg.burst:,} on {store.kind}...")
        burst = measured("burst", lambda memory: run_burst(procs, store, tmp, cfg, memory, rate_limited=False))
        progress(f"  last message after {burst.last_message_s:.1f} s")
    if "limited" in cfg.only:
        progress(f"burst of {cfg.limited_burst:,} on {store.kind} under Slack's rate limits "
                 f"(waits up to {cfg.limited_wait:.0f} s)...")
        limited = measured("limited", lambda memory: run_burst(procs, store, tmp, cfg, memory, rate_limited=True))
        progress(f"  lost {limited.lost}, duplicated {limited.duplicated}")
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=("open", "burst", "limited"),
                        default=["open", "burst", "limited"], help="which measurements (default all)")
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks in the open loop's workspace")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop requests per second (default 100)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="open-loop duration, longer if the jobs run takes longer (default 20)")
    parser.add_argument("--jobs-timeout", type=float, default=120.0,
                        help="stop the jobs run this long after --seconds (default 120)")
    parser.add_argument("--burst", type=int, default=2_000, help="commands in the burst (default 2000)")
    parser.add_argument("--burst-wait", type=float, default=180.0,
                        help="longest wait for the burst's messages (default 180 s)")
    parser.add_argument("--limited-burst", type=int, default=200,
                        help="commands in the rate-limited burst (default 200; 2000 takes a long time)")
    parser.add_argument("--limited-wait", type=float, default=300.0,
                        help="longest wait for the rate-limited burst's messages (default 300 s)")
    parser.add_argument("--database-url", help="also on PostgreSQL: a URL of the server on which bench_* "
                        "databases are made")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL (needs --database-url)")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                        help="where generated workspaces are kept between runs (default %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="generate afresh and keep nothing")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    return parser


def _config(argv: Sequence[str] | None) -> Config:
    args = _parser().parse_args(argv)
    if args.no_sqlite and not args.database_url:
        raise ValueError("--no-sqlite needs --database-url")
    if args.database_url and not args.database_url.startswith("postgresql"):
        raise ValueError("--database-url must be a postgresql:// URL")
    if args.tasks < 1_000 or args.rate <= 0 or args.seconds <= 0 or min(args.burst, args.limited_burst) < 1:
        raise ValueError("--tasks must be at least 1000; rates, durations and bursts positive")
    return Config(
        tasks=args.tasks, rate=args.rate, seconds=args.seconds, jobs_timeout=args.jobs_timeout, burst=args.burst,
        burst_wait=args.burst_wait, limited_burst=args.limited_burst, limited_wait=args.limited_wait,
        database_url=args.database_url, sqlite=not args.no_sqlite,
        cache_dir=None if args.no_cache else args.cache_dir, only=frozenset(args.only), output=args.output,
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
    tmp = Path(tempfile.mkdtemp(prefix="handoff-load-"))
    procs = Processes()
    stores = Store.chosen(tmp, sqlite=cfg.sqlite, database_url=cfg.database_url, cache_dir=cfg.cache_dir)
    started = time.monotonic()
    try:
        by_db = {s.label: run_store(procs, s, tmp, cfg) for s in stores}
        print_table(f"Handoff under load ({time.monotonic() - started:.0f} s)", by_db)
        cfg.output.parent.mkdir(parents=True, exist_ok=True)
        cfg.output.write_text(json.dumps(_json_safe({
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(["python", "-m", "bench.load", *(argv if argv is not None else sys.argv[1:])]),
            "results": {db: {k: (vars(v) if hasattr(v, "__dataclass_fields__") else v) for k, v in r.items()}
                        for db, r in by_db.items()},
        }), indent=2) + "\n")
        print(f"written to {cfg.output}")
        return 0
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        for store in stores:
            with contextlib.suppress(Exception):
                store.drop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
