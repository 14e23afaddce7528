"""Benchmark the bot's HTTP path against a bare Bolt app; prints a table and writes bench/results/latest.json.

Both apps run in their own subprocess, served by waitress with the same settings and thread count,
each on a fresh database; a `SlackStandIn` in this process plays the Slack Web API. Run with
`.venv/bin/python -m bench.run` (see `--help` and bench/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode

from bench.data import Store
from sandbox.client import SlackClientSim
from sandbox.standin import ApiCall, SlackStandIn

__all__ = ["CardLatency", "LoadResult", "main"]

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "latest.json"
HOST = "127.0.0.1"
EVENTS_PATH = "/slack/events"

TEAM_ID = "T0001"
REQUESTER = "URITA"
ASSIGNEE = "UANA"
CHANNEL = "CGENERAL"
COMMAND_TEXT = "<@UANA|ana> Reconcile October invoices by Friday 5pm"
# The bot's normal answer to /delegate is "✅ Created *T-<n>* for <@UANA>: … Its card is going up in …".
BOT_CONFIRMATION = "Created *T-"  # ASCII: the JSON body escapes the emoji

# Targets printed next to the figures.
TARGET_RATIO = 0.8
TARGET_P99_MS = 50.0
TARGET_CARD_P50_MS = 100.0
TARGET_RSS_MB = 200.0

# Slack lets a response URL be used 5 times; the load gives each body its own URL and rotates
# through enough bodies for this many requests per second.
RESPONSE_URL_USES = 5
MAX_EXPECTED_RPS = 2500

# Upper bounds on every wait, so a stuck server cannot hang the run.
STARTUP_TIMEOUT = 60.0
DRAIN_TIMEOUT = 120.0
CARD_TIMEOUT = 5.0
REQUEST_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

# Variables of the caller's environment that must not leak into the servers' settings.
_SETTING_PREFIXES = ("SLACK_", "HANDOFF_")
_SETTING_NAMES = {"DATABASE_URL", "PORT", "HOST", "LOG_LEVEL"}


class BenchError(Exception):
    """The benchmark could not run (a server did not start, a tool failed); the message says why."""


# ----------------------------------------------------------------------------------------- results


@dataclass
class LoadResult:
    """Figures from one fixed-duration load run against one app."""

    loader: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_200: int
    bad_body: int
    socket_errors: int

    @property
    def errors(self) -> int:
        """Non-200 answers, unexpected bodies and failed requests together."""
        return self.non_200 + self.bad_body + self.socket_errors


@dataclass
class CardLatency:
    """Time from a `/delegate` request being sent to its card's `chat.postMessage` reaching the stand-in."""

    commands: int
    matched: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    ack_p50_ms: float
    errors: int
    samples_ms: list[float] = field(default_factory=list)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of `values` (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# ----------------------------------------------------------------------------------------- processes


class Processes:
    """Subprocesses started by the run; `stop_all` ends each one it started (SIGTERM, then SIGKILL)."""

    def __init__(self) -> None:
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path
    ) -> subprocess.Popen[bytes]:
        """Start `argv` in its own session (so Ctrl-C reaches only us), output to `log`."""
        with log.open("wb") as out:
            proc = subprocess.Popen(
                list(argv), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._procs.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop one process we started (SIGTERM, wait, then SIGKILL), then whatever is left of its group.

        The bot starts a worker process of its own; it is in the session we created for the bot, whose
        process group id is the bot's pid, and it is expected to exit with the bot.
        """
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
        _end_group(proc.pid)
        self._procs = [(n, p) for n, p in self._procs if p is not proc]

    def stop_all(self) -> None:
        """Stop every process still registered, newest first."""
        for _name, proc in reversed(list(self._procs)):
            with contextlib.suppress(Exception):
                self.stop(proc)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _end_group(pgid: int) -> None:
    """Wait briefly for the rest of a process group we created to exit; SIGTERM, then SIGKILL, what stays."""
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
        deadline = time.monotonic() + (STOP_TIMEOUT if sig is None else 2.0)
        while time.monotonic() < deadline:
            if not _group_alive(pgid):
                return
            time.sleep(0.05)


def free_port() -> int:
    """A loopback port that is free right now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without Slack/Handoff settings, plus `extra` and the repo on PYTHONPATH.

    Quiet hours are off: the benches time every DM's delivery, which on the wall clock, outside the seeded
    people's working hours, would otherwise wait for their morning."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(_SETTING_PREFIXES) and k not in _SETTING_NAMES
    }
    env["HANDOFF_QUIET_HOURS"] = "off"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def log_tail(path: Path, lines: int = 20) -> str:
    """The last lines of a server log, for error messages (without waitress's queue-depth warnings)."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join([line for line in text if "waitress.queue" not in line][-lines:])


def get_json(port: int, path: str, timeout: float = 2.0) -> tuple[int, Any]:
    """GET `path` on the loopback port; returns (status, parsed JSON or None)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, None
    finally:
        conn.close()


def wait_healthy(name: str, proc: subprocess.Popen[bytes], port: int, log: Path) -> float:
    """Poll `GET /healthz` until it answers 200; returns the seconds it took, or raises BenchError."""
    start = time.monotonic()
    while time.monotonic() - start < STARTUP_TIMEOUT:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with code {proc.returncode} before serving:\n{log_tail(log)}")
        with contextlib.suppress(OSError):
            status, _ = get_json(port, "/healthz")
            if status == 200:
                return time.monotonic() - start
        time.sleep(0.1)
    raise BenchError(f"{name} did not answer /healthz within {STARTUP_TIMEOUT:.0f} s:\n{log_tail(log)}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by a live process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, see proc(5)).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set size) of a live process, in MB (MiB)."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+)\s+kB", status, re.MULTILINE)
    if match is None:
        raise BenchError(f"no VmHWM in /proc/{pid}/status")
    return int(match.group(1)) / 1024.0


def process_tree(pid: int) -> list[int]:
    """`pid` and its live descendants (the bot runs a worker process beside its web process)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def command_name(pid: int) -> str:
    """A short form of a process's command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    return text if len(text) <= 80 else text[:77] + "..."


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by `pid` and its live descendants."""
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += cpu_seconds(member)
    return total


def tree_peak_rss(pid: int) -> list[dict[str, Any]]:
    """VmHWM of `pid` and each live descendant: [{pid, command, peak_rss_mb}]."""
    found = []
    for member in process_tree(pid):
        with contextlib.suppress(OSError, BenchError):
            found.append({"pid": member, "command": command_name(member), "peak_rss_mb": peak_rss_mb(member)})
    return found


# ----------------------------------------------------------------------------------------- requests


def slash_body(standin: SlackStandIn, text: str, *, channel: str = CHANNEL, channel_name: str = "general") -> bytes:
    """A `/delegate` form body shaped as Slack sends it (URITA, in #general unless told), with its own response URL."""
    fields = {
        "token": "sandbox-verification-token",
        "team_id": TEAM_ID,
        "team_domain": standin.team_domain,
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": REQUESTER,
        "user_name": "rita",
        "command": "/delegate",
        "text": text,
        "api_app_id": standin.app_id,
        "is_enterprise_install": "false",
        "response_url": standin.new_response_url(channel=channel, user_id=REQUESTER),
        "trigger_id": f"{secrets.randbelow(10**9)}.{int(time.time())}.{secrets.token_hex(16)}",
    }
    return urlencode(fields).encode()


# A request ready to send: its body and headers (signature included).
Signed = tuple[bytes, dict[str, str]]


def signed_requests(sim: SlackClientSim, bodies: Sequence[bytes]) -> list[Signed]:
    """`bodies` with headers signed now (Slack signatures stay valid for 5 minutes)."""
    timestamp = int(time.time())
    return [
        (body, {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sim.sign(body, timestamp),
        })
        for body in bodies
    ]


def command_bodies(standin: SlackStandIn, requests: int) -> list[bytes]:
    """Enough distinct `/delegate` bodies that no response URL is used more than Slack's 5 times.

    Each command gets one confirmation through its response URL, as in production; a single
    repeated body would exhaust its URL and send the bot down its postEphemeral fallback.
    """
    count = max(1, math.ceil(requests / RESPONSE_URL_USES))
    return [slash_body(standin, COMMAND_TEXT) for _ in range(count)]


# ----------------------------------------------------------------------------------------- load: python


def python_load(
    port: int,
    requests: Sequence[Signed],
    *,
    connections: int,
    seconds: float | None = None,
    total: int | None = None,
    expect: str | None = None,
) -> LoadResult:
    """Closed-loop load from `connections` threads on keep-alive connections, for `seconds` or `total` requests.

    The threads take `requests` in turn, round-robin.
    """
    if seconds is None and total is None:
        raise ValueError("give seconds or total")
    lock = threading.Lock()
    budget = [total if total is not None else -1]
    turn = [0]
    latencies: list[list[float]] = [[] for _ in range(connections)]
    counts = [[0, 0, 0] for _ in range(connections)]  # non_200, bad_body, socket_errors
    start_gate = threading.Barrier(connections + 1)
    deadline = [math.inf]

    def take() -> Signed | None:
        if time.perf_counter() >= deadline[0]:
            return None
        with lock:
            if budget[0] == 0:
                return None
            if budget[0] > 0:
                budget[0] -= 1
            turn[0] += 1
            return requests[turn[0] % len(requests)]

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        mine, count = latencies[index], counts[index]
        start_gate.wait()
        try:
            while (request := take()) is not None:
                body, headers = request
                began = time.perf_counter()
                try:
                    conn.request("POST", EVENTS_PATH, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException):
                    count[2] += 1
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
                    continue
                mine.append((time.perf_counter() - began) * 1000.0)
                if response.status != 200:
                    count[0] += 1
                elif expect is not None and expect.encode() not in data:
                    count[1] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    if seconds is not None:
        deadline[0] = began + seconds
    start_gate.wait()
    limit = (seconds or 0) + (total or 0) * REQUEST_TIMEOUT + REQUEST_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, began + limit - time.perf_counter()))
    elapsed = time.perf_counter() - began
    merged = [x for part in latencies for x in part]
    return LoadResult(
        loader=f"python ({connections} threads)",
        requests=len(merged),
        seconds=elapsed,
        rps=len(merged) / elapsed if elapsed > 0 else 0.0,
        p50_ms=percentile(merged, 50),
        p90_ms=percentile(merged, 90),
        p99_ms=percentile(merged, 99),
        max_ms=max(merged, default=math.nan),
        non_200=sum(c[0] for c in counts),
        bad_body=sum(c[1] for c in counts),
        socket_errors=sum(c[2] for c in counts),
    )


# ----------------------------------------------------------------------------------------- load: wrk

# The requests come from a file, one "signature body" per line (form bodies have no spaces or
# newlines); each wrk thread pre-formats them and sends them in turn from its own starting point.
_WRK_SCRIPT = """
local requests_file = [==[{requests_file}]==]
local timestamp = "{timestamp}"
local expect = [==[{expect}]==]
local threads = {{}}
local requests = {{}}
local turn = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("offset", #threads * 7919)
end

function init(args)
  non200 = 0
  badbody = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["User-Agent"] = "Slackbot 1.0 (+https://api.slack.com/robots)"
  wrk.headers["X-Slack-Request-Timestamp"] = timestamp
  for line in io.lines(requests_file) do
    local space = string.find(line, " ", 1, true)
    wrk.headers["X-Slack-Signature"] = string.sub(line, 1, space - 1)
    table.insert(requests, wrk.format(nil, nil, nil, string.sub(line, space + 1)))
  end
  turn = offset or 0
end

function request()
  turn = turn % #requests + 1
  return requests[turn]
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif expect ~= "" and (body == nil or not string.find(body, expect, 1, true)) then
    badbody = badbody + 1
  end
end

function done(summary, latency, requests)
  local n, b = 0, 0
  for _, t in ipairs(threads) do
    n = n + t:get("non200")
    b = b + t:get("badbody")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {{"requests": %d, "duration_us": %d, "p50_us": %.1f, "p90_us": %.1f, "p99_us": %.1f, ' ..
    '"max_us": %.1f, "non_200": %d, "bad_body": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, n, b, e.connect, e.read, e.write, e.timeout))
end
"""


def wrk_files(tmp: Path, name: str, requests: Sequence[Signed], expect: str | None) -> Path:
    """Write the requests file and the Lua script that sends them; returns the script's path."""
    lines = []
    timestamps = {headers["X-Slack-Request-Timestamp"] for _, headers in requests}
    if len(timestamps) != 1:
        raise BenchError("the wrk requests must share one signing timestamp")
    for body, headers in requests:
        text = body.decode()
        if any(c in text for c in " \n\r"):
            raise BenchError("a request body holds a space or newline; it cannot go in the wrk requests file")
        lines.append(f"{headers['X-Slack-Signature']} {text}")
    requests_file = tmp / f"{name}.requests.txt"
    requests_file.write_text("\n".join(lines) + "\n")
    script = tmp / f"{name}.lua"
    script.write_text(_WRK_SCRIPT.format(
        requests_file=requests_file, timestamp=timestamps.pop(), expect=expect or "",
    ))
    return script


def wrk_load(
    procs: Processes,
    tmp: Path,
    name: str,
    port: int,
    requests: Sequence[Signed],
    *,
    connections: int,
    seconds: float,
    threads: int,
    expect: str | None,
) -> tuple[LoadResult, str]:
    """Run wrk for `seconds`; returns the figures and wrk's own output."""
    script = wrk_files(tmp, name, requests, expect)
    log = tmp / f"{name}.wrk.txt"
    argv = [
        "wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        f"--timeout={int(REQUEST_TIMEOUT)}s", "--latency", "-s", str(script), f"http://{HOST}:{port}{EVENTS_PATH}",
    ]
    proc = procs.start(f"wrk-{name}", argv, env=dict(os.environ), cwd=tmp, log=log)
    try:
        proc.wait(seconds + REQUEST_TIMEOUT + 20)
    except subprocess.TimeoutExpired as error:
        raise BenchError("wrk did not finish in time") from error
    finally:
        procs.stop(proc)
    output = log.read_text(errors="replace")
    match = re.search(r"^BENCH_JSON (\{.*\})$", output, re.MULTILINE)
    if proc.returncode != 0 or match is None:
        raise BenchError(f"wrk failed (exit {proc.returncode}):\n{output[-2000:]}")
    data = json.loads(match.group(1))
    duration = data["duration_us"] / 1e6
    return (
        LoadResult(
            loader=f"wrk ({min(threads, connections)} threads)",
            requests=int(data["requests"]),
            seconds=duration,
            rps=data["requests"] / duration if duration > 0 else 0.0,
            p50_ms=data["p50_us"] / 1000.0,
            p90_ms=data["p90_us"] / 1000.0,
            p99_ms=data["p99_us"] / 1000.0,
            max_ms=data["max_us"] / 1000.0,
            non_200=int(data["non_200"]),
            bad_body=int(data["bad_body"]),
            socket_errors=int(data["connect"] + data["read"] + data["write"] + data["timeout"]),
        ),
        output,
    )


# ----------------------------------------------------------------------------------------- measuring


@dataclass
class Config:
    """What the run was asked to do."""

    seconds: float
    connections: int
    threads: int
    warmup: int
    probes: int
    loader: str
    wrk_threads: int
    database_url: str | None
    output: Path
    profile: Path | None = None
    profile_mode: str = "active"
    rounds: int = 3


def load(procs: Processes, tmp: Path, cfg: Config, name: str, port: int, sim: SlackClientSim,
         standin: SlackStandIn, expect: str | None, on_measure: Callable[[], None] | None = None,
         ) -> tuple[LoadResult, str]:
    """Warm up with `cfg.warmup` requests, then load for `cfg.seconds` with the chosen generator.

    `on_measure` is called between the two (e.g. to start a profiler).
    """
    warm = python_load(port, signed_requests(sim, command_bodies(standin, cfg.warmup)),
                       connections=min(8, cfg.connections), total=cfg.warmup, expect=expect)
    if warm.errors:
        raise BenchError(f"{name}: {warm_failures(warm, cfg.warmup)}")
    bodies = command_bodies(standin, math.ceil(cfg.seconds * MAX_EXPECTED_RPS))
    requests = signed_requests(sim, bodies)  # signed just before the measured run
    if on_measure is not None:
        on_measure()
    if cfg.loader == "wrk":
        return wrk_load(procs, tmp, name, port, requests, connections=cfg.connections, seconds=cfg.seconds,
                        threads=cfg.wrk_threads, expect=expect)
    result = python_load(port, requests, connections=cfg.connections, seconds=cfg.seconds, expect=expect)
    return result, ""


def warm_failures(warm: LoadResult, total: int) -> str:
    """Say how many warm-up requests failed, and how."""
    return (
        f"{warm.errors} of {total} warm-up requests failed "
        f"({warm.non_200} non-200, {warm.bad_body} unexpected answers, {warm.socket_errors} connection errors)"
    )


def wait_drained(port: int, timeout: float = DRAIN_TIMEOUT) -> tuple[float, int]:
    """Wait until the bot's outbox has nothing pending; returns (seconds waited, rows still pending)."""
    start = time.monotonic()
    pending = -1
    while time.monotonic() - start < timeout:
        with contextlib.suppress(OSError):
            status, report = get_json(port, "/healthz", timeout=5.0)
            if status == 200 and isinstance(report, dict):
                pending = int(report.get("outbox_pending", 0))
                if pending == 0:
                    break
        time.sleep(0.1)
    return time.monotonic() - start, pending


def _card_call(calls: list[ApiCall], word: str) -> ApiCall | None:
    """The first chat.postMessage into the card channel whose text or blocks carry `word`."""
    for call in calls:
        if call.method != "chat.postMessage" or call.params.get("channel") != CHANNEL:
            continue
        if word in str(call.params.get("text", "")) or word in json.dumps(call.params.get("blocks")):
            return call
    return None


def probe_cards(standin: SlackStandIn, sim: SlackClientSim, count: int, gap: float = 0.02) -> CardLatency:
    """Send `count` commands one at a time, each with a unique title word, and time each card's arrival."""
    run_tag = secrets.token_hex(3)
    samples: list[float] = []
    acks: list[float] = []
    errors = 0
    for index in range(count):
        word = f"probe{run_tag}x{index:04d}"
        start_index = len(standin.calls)
        sent = time.time()
        try:
            answer = sim.command(
                REQUESTER, "/delegate", f"<@{ASSIGNEE}|ana> Reconcile October invoices {word} by Friday 5pm",
                channel_id=CHANNEL,
            )
        except OSError:
            errors += 1
            continue
        acks.append((time.time() - sent) * 1000.0)
        if answer.status != 200 or BOT_CONFIRMATION not in answer.body:
            errors += 1
            continue
        found: list[ApiCall] = []

        def arrived(s: SlackStandIn, word: str = word, start_index: int = start_index,
                    found: list[ApiCall] = found) -> bool:
            call = _card_call(s.calls[start_index:], word)
            if call is not None:
                found.append(call)
            return call is not None

        if standin.wait_for(arrived, timeout=CARD_TIMEOUT) and found:
            samples.append((found[0].at - sent) * 1000.0)
        time.sleep(gap)
    return CardLatency(
        commands=count,
        matched=len(samples),
        p50_ms=percentile(samples, 50),
        p95_ms=percentile(samples, 95),
        max_ms=max(samples, default=math.nan),
        ack_p50_ms=percentile(acks, 50),
        errors=errors,
        samples_ms=[round(s, 2) for s in samples],
    )


def seed(standin: SlackStandIn) -> None:
    """The workspace: Rita asks, Ana takes tasks, both (and the bot) are in #general."""
    standin.add_user(REQUESTER, "rita", real_name="Rita Requester", tz="America/New_York")
    standin.add_user(ASSIGNEE, "ana", real_name="Ana Assignee", tz="America/New_York")
    standin.add_channel(CHANNEL, "general", members=[REQUESTER, ASSIGNEE], bot_is_member=True)


def run_bare(procs: Processes, dbs: Store, tmp: Path, cfg: Config, standin: SlackStandIn) -> dict[str, Any]:
    """Serve the bare app, load it, and return its figures."""
    port, secret = free_port(), secrets.token_hex(16)
    log = tmp / "bare.log"
    env = server_env({"SLACK_SIGNING_SECRET": secret})
    argv = [sys.executable, "-m", "bench.bare_app", "--host", HOST, "--port", str(port),
            "--threads", str(cfg.threads), "--database-url", dbs.fresh("bare")]
    proc = procs.start("bare", argv, env=env, cwd=tmp, log=log)
    try:
        startup = wait_healthy("the bare app", proc, port, log)
        sim = SlackClientSim(f"http://{HOST}:{port}{EVENTS_PATH}", secret, standin=standin)
        cpu_start: list[float] = []
        result, raw = load(procs, tmp, cfg, "bare", port, sim, standin, expect=None,
                           on_measure=lambda: cpu_start.append(cpu_seconds(proc.pid)))
        cpu = cpu_seconds(proc.pid) - cpu_start[0]
        rss = peak_rss_mb(proc.pid)
    finally:
        procs.stop(proc)
    return {
        "load": result,
        "peak_rss_mb": rss,
        "startup_s": startup,
        "cpu_s_during_load": cpu,
        "cpu_ms_per_request": 1000.0 * cpu / max(1, result.requests),
        "wrk_output": raw,
    }


def run_bot(procs: Processes, dbs: Store, tmp: Path, cfg: Config, standin: SlackStandIn) -> dict[str, Any]:
    """Serve the bot as in production, load it, probe command-to-card times, and return its figures."""
    port, secret = free_port(), secrets.token_hex(16)
    log = tmp / "bot.log"
    env = server_env({
        "SLACK_BOT_TOKEN": standin.token,
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": dbs.fresh("bot"),
        "HOST": HOST,
        "PORT": str(port),
        "HANDOFF_THREADS": str(cfg.threads),
    })
    proc = procs.start("bot", [sys.executable, "-m", "bot", "serve"], env=env, cwd=tmp, log=log)
    try:
        startup = wait_healthy("the bot", proc, port, log)
        sim = SlackClientSim(f"http://{HOST}:{port}{EVENTS_PATH}", secret, standin=standin)
        # Probe on a quiet bot first: warm it, let the outbox empty, then time commands one by one.
        warm = python_load(port, signed_requests(sim, command_bodies(standin, cfg.warmup)),
                           connections=min(8, cfg.connections), total=cfg.warmup, expect=BOT_CONFIRMATION)
        if warm.errors:
            raise BenchError(f"the bot: {warm_failures(warm, cfg.warmup)}:\n{log_tail(log, 40)}")
        wait_drained(port)
        cards = probe_cards(standin, sim, cfg.probes)
        calls_before = len(standin.calls)
        profiler: list[subprocess.Popen[bytes]] = []
        cpu_start: list[float] = []

        def start_profiler() -> None:
            cpu_start.extend((tree_cpu_seconds(proc.pid), cpu_seconds(os.getpid()), cpu_seconds(proc.pid)))
            if cfg.profile is not None:
                profiler.append(start_py_spy(procs, tmp, cfg, proc.pid))

        result, raw = load(procs, tmp, cfg, "bot", port, sim, standin, expect=BOT_CONFIRMATION,
                           on_measure=start_profiler)
        cpu_load = tree_cpu_seconds(proc.pid) - cpu_start[0]
        standin_cpu = cpu_seconds(os.getpid()) - cpu_start[1]
        web_cpu = cpu_seconds(proc.pid) - cpu_start[2]
        for spy in profiler:
            finish_py_spy(procs, tmp, spy)
        drain_s, left = wait_drained(port)
        cpu_total = tree_cpu_seconds(proc.pid) - cpu_start[0]
        calls = standin.calls[calls_before:]
        by_method: dict[str, int] = {}
        for call in calls:
            by_method[call.method] = by_method.get(call.method, 0) + 1
        failed_calls = sum(1 for call in calls if not call.ok)
        rss = peak_rss_mb(proc.pid)
        tree = tree_peak_rss(proc.pid)
        if proc.poll() is not None:
            raise BenchError(f"the bot exited with code {proc.returncode}:\n{log_tail(log)}")
    finally:
        procs.stop(proc)
    return {
        "load": result,
        "cards": cards,
        "peak_rss_mb": rss,
        "peak_rss_mb_all_processes": sum(p["peak_rss_mb"] for p in tree),
        "processes": tree,
        "startup_s": startup,
        "outbox_drain_after_load_s": drain_s,
        "outbox_left": left,
        "slack_calls_during_load_and_drain": len(calls),
        "slack_calls_by_method": by_method,
        "slack_calls_failed": failed_calls,
        "cpu_s_during_load": cpu_load,
        "cpu_ms_per_request": 1000.0 * cpu_load / max(1, result.requests),
        "cpu_ms_per_task_with_delivery": 1000.0 * cpu_total / max(1, result.requests),
        "driver_cpu_s_during_load": standin_cpu,
        "web_cpu_s_during_load": web_cpu,
        "wrk_output": raw,
        "log_tail": log_tail(log, 10),
    }


# ----------------------------------------------------------------------------------------- profiling


def py_spy_path() -> str:
    """The py-spy executable (next to this Python first), or BenchError."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise BenchError("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


def start_py_spy(procs: Processes, tmp: Path, cfg: Config, pid: int) -> subprocess.Popen[bytes]:
    """Sample the bot for the measured load, writing folded stacks to `cfg.profile`."""
    assert cfg.profile is not None
    cfg.profile.parent.mkdir(parents=True, exist_ok=True)
    argv = [py_spy_path(), "record", "--pid", str(pid), "--duration", str(max(1, round(cfg.seconds))),
            "--rate", "100", "--format", "raw", "--output", str(cfg.profile), "--threads"]
    if cfg.profile_mode == "idle":
        argv.append("--idle")
    elif cfg.profile_mode == "gil":
        argv.append("--gil")
    return procs.start("py-spy", argv, env=dict(os.environ), cwd=tmp, log=tmp / "py-spy.log")


def finish_py_spy(procs: Processes, tmp: Path, spy: subprocess.Popen[bytes]) -> None:
    """Wait for py-spy to write its file (bounded)."""
    try:
        spy.wait(30)
    except subprocess.TimeoutExpired:
        print("bench: py-spy did not finish; stopping it", file=sys.stderr)
    procs.stop(spy)
    if spy.returncode != 0:
        print(f"bench: py-spy failed:\n{log_tail(tmp / 'py-spy.log')}", file=sys.stderr)


_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


_PROJECT_FRAME = re.compile(r"\((bot|handlers|models)/")


def profile_summary(path: Path, top: int = 15) -> dict[str, list[tuple[str, float]]]:
    """From py-spy folded stacks: the bot's own functions with most samples on the stack (inclusive),
    and the functions of any code with most samples on top of the stack (self)."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        names: list[str] = []
        for frame in stack.split(";"):
            match = _FRAME.match(frame)
            if match is None:
                continue  # process / thread pseudo-frames
            where = match.group("file")
            for prefix in (str(REPO) + "/", "/usr/lib/python3.11/"):
                where = where.replace(prefix, "")
            where = re.sub(r"^.*site-packages/", "", where)
            names.append(f"{match.group('func')} ({where})")
        for name in set(names):
            if _PROJECT_FRAME.search(name):
                inclusive[name] = inclusive.get(name, 0) + count
        if names:
            own[names[-1]] = own.get(names[-1], 0) + count
    if total == 0:
        return {"inclusive": [], "self": []}

    def ranked(table: dict[str, int]) -> list[tuple[str, float]]:
        return [(name, 100.0 * n / total) for name, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]]

    return {"inclusive": ranked(inclusive), "self": ranked(own)}


# ----------------------------------------------------------------------------------------- report


def _fmt(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def _mark(met: bool) -> str:
    return "ok" if met else "MISS"


def _round(procs: Processes, dbs: Store, tmp: Path, cfg: Config, standin: SlackStandIn, number: int
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    """One pair of runs on fresh databases, the bare app first in even rounds and the bot first in odd ones."""
    label = f" (round {number + 1} of {cfg.rounds})" if cfg.rounds > 1 else ""

    def bare() -> dict[str, Any]:
        print(f"bench: bare app ({cfg.loader}, {cfg.seconds:g} s){label}...", file=sys.stderr)
        return run_bare(procs, dbs, tmp, cfg, standin)

    def bot() -> dict[str, Any]:
        print(f"bench: bot ({cfg.probes} card probes, then {cfg.loader}, {cfg.seconds:g} s){label}...",
              file=sys.stderr)
        return run_bot(procs, dbs, tmp, cfg, standin)

    if number % 2 == 0:
        first = bare()
        return bot(), first
    first = bot()
    return first, bare()


def _ratio(bot: dict[str, Any], bare: dict[str, Any]) -> float:
    bl: LoadResult = bot["load"]
    rl: LoadResult = bare["load"]
    return bl.rps / rl.rps if rl.rps else math.nan


def report(cfg: Config, bot: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    """Print the table and return everything as a JSON-ready dict."""
    bl: LoadResult = bot["load"]
    rl: LoadResult = bare["load"]
    cards: CardLatency = bot["cards"]
    ratio = _ratio(bot, bare)
    targets = {
        "throughput_ratio": {"value": ratio, "target": f">= {TARGET_RATIO}", "met": ratio >= TARGET_RATIO},
        "bot_p99_ms": {"value": bl.p99_ms, "target": f"< {TARGET_P99_MS:g}", "met": bl.p99_ms < TARGET_P99_MS},
        "card_p50_ms": {
            "value": cards.p50_ms, "target": f"< {TARGET_CARD_P50_MS:g}",
            "met": cards.matched > 0 and cards.p50_ms < TARGET_CARD_P50_MS,
        },
        "bot_peak_rss_mb": {
            "value": bot["peak_rss_mb"], "target": f"< {TARGET_RSS_MB:g} (web process)",
            "met": bot["peak_rss_mb"] < TARGET_RSS_MB,
        },
        "bot_errors": {"value": bl.errors + cards.errors, "target": "0", "met": bl.errors + cards.errors == 0},
    }
    rows: list[tuple[str, str, str, str]] = [
        ("requests/s", _fmt(bl.rps), _fmt(rl.rps), ""),
        ("ratio bot/bare", _fmt(ratio, 2), "", f">= {TARGET_RATIO}  {_mark(targets['throughput_ratio']['met'])}"),
        ("latency p50 ms", _fmt(bl.p50_ms), _fmt(rl.p50_ms), ""),
        ("latency p90 ms", _fmt(bl.p90_ms), _fmt(rl.p90_ms), ""),
        ("latency p99 ms", _fmt(bl.p99_ms), _fmt(rl.p99_ms),
         f"< {TARGET_P99_MS:g}  {_mark(targets['bot_p99_ms']['met'])}"),
        ("latency max ms", _fmt(bl.max_ms), _fmt(rl.max_ms), ""),
        ("requests", f"{bl.requests:,}", f"{rl.requests:,}", ""),
        ("errors: non-200", str(bl.non_200), str(rl.non_200), ""),
        ("errors: bad body", str(bl.bad_body), "-", ""),
        ("errors: socket", str(bl.socket_errors), str(rl.socket_errors), ""),
        ("command->card p50 ms", _fmt(cards.p50_ms), "",
         f"< {TARGET_CARD_P50_MS:g}  {_mark(targets['card_p50_ms']['met'])}"),
        ("command->card p95 ms", _fmt(cards.p95_ms), "", ""),
        ("cards matched", f"{cards.matched}/{cards.commands}", "", f"probe errors {cards.errors}"),
        ("probe ack p50 ms", _fmt(cards.ack_p50_ms), "", ""),
        ("peak RSS MB (VmHWM)", _fmt(bot["peak_rss_mb"]), _fmt(bare["peak_rss_mb"]),
         f"< {TARGET_RSS_MB:g}  {_mark(targets['bot_peak_rss_mb']['met'])}  (bot web process)"),
        ("  all bot processes, sum", _fmt(bot["peak_rss_mb_all_processes"]), "",
         f"{len(bot['processes'])} processes: " + ", ".join(_fmt(p["peak_rss_mb"]) for p in bot["processes"])),
        ("CPU ms/request in load", _fmt(bot["cpu_ms_per_request"], 2), _fmt(bare["cpu_ms_per_request"], 2),
         "all bot processes"),
        ("  the bot's web process alone", _fmt(1000.0 * bot["web_cpu_s_during_load"] / max(1, bl.requests), 2), "",
         ""),
        ("CPU ms/task incl. delivery", _fmt(bot["cpu_ms_per_task_with_delivery"], 2), "",
         f"stand-in used {_fmt(bot['driver_cpu_s_during_load'])} CPU s in the bot's load"),
        ("outbox drain after load s", _fmt(bot["outbox_drain_after_load_s"]), "",
         f"left {bot['outbox_left']}, {bot['slack_calls_during_load_and_drain']:,} Slack calls "
         f"({bot['slack_calls_failed']} failed)"),
    ]
    title = (
        f"Handoff bench: {cfg.connections} connections, {cfg.seconds:g} s, {cfg.threads} waitress threads, "
        f"{'PostgreSQL' if cfg.database_url else 'SQLite'}, load by {bl.loader}"
    )
    print()
    print(title)
    print(f"{'':26} {'bot':>12} {'bare':>12}   target")
    for label, bot_value, bare_value, target in rows:
        print(f"{label:26} {bot_value:>12} {bare_value:>12}   {target}".rstrip())
    print()
    missed = [name for name, t in targets.items() if not t["met"]]
    print("targets: all met" if not missed else f"targets missed: {', '.join(missed)}")

    def clean(d: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in d.items():
            if isinstance(value, LoadResult):
                out[key] = {**asdict(value), "errors": value.errors}
            elif isinstance(value, CardLatency):
                out[key] = asdict(value)
            else:
                out[key] = value
        return out

    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([_python_name(), "-m", "bench.run", *sys.argv[1:]]),
        "config": {
            **{k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
            "database_url": bool(cfg.database_url),  # a URL may hold a password
            "database": "postgresql" if cfg.database_url else "sqlite",
        },
        "ratio": ratio,
        "targets": targets,
        "bot": clean(bot),
        "bare": clean(bare),
    }


def print_profile(summary: dict[str, list[tuple[str, float]]]) -> None:
    """Print the top frames of the bot's profile."""
    for kind, title in (("self", "own time, any code"), ("inclusive", "time on the stack, the bot's code")):
        print(f"\nbot profile, top frames by {title} (% of samples):")
        for name, share in summary[kind]:
            print(f"  {share:5.1f}%  {name}")


def _python_name() -> str:
    """This interpreter, relative to the repository when it lives there (e.g. `.venv/bin/python`)."""
    path = Path(sys.executable)
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _json_safe(value: Any) -> Any:
    """NaN becomes null, so the file is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


# ----------------------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=(__doc__ or "").splitlines()[0],
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured load duration per app (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads for both apps (default 8)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests before measuring (default 200)")
    parser.add_argument("--probes", type=int, default=100, help="commands timed one by one to their card (default 100)")
    parser.add_argument("--loader", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator: wrk when installed (auto), or the Python one")
    parser.add_argument("--wrk-threads", type=int, default=1,
                        help="wrk threads (default 1: leaves the cores to the servers)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="pairs of runs, bare and bot in alternating order; the median pair is shown (default 3)")
    parser.add_argument("--database-url", help="a PostgreSQL URL (e.g. postgresql://postgres@127.0.0.1:5432/test) "
                        "used to create and drop one fresh database per server; default: SQLite files")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="record the bot with py-spy during its measured load (folded stacks to FILE)")
    parser.add_argument("--profile-mode", choices=("active", "idle", "gil"), default="active",
                        help="with --profile: threads not idle (default), all threads, or only the GIL holder")
    return parser


def _config(argv: Sequence[str] | None) -> Config:
    args = _parser().parse_args(argv)
    if (args.seconds <= 0 or args.connections < 1 or args.threads < 1 or args.warmup < 1 or args.probes < 0
            or args.rounds < 1):
        raise BenchError("--seconds, --connections, --threads, --warmup and --rounds must be positive")
    if args.database_url and not re.match(r"^postgresql(\+\w+)?://", args.database_url):
        raise BenchError("--database-url must be a postgresql:// URL (SQLite is the default)")
    loader = args.loader
    if loader in ("auto", "wrk") and shutil.which("wrk") is None:
        if loader == "wrk":
            raise BenchError("wrk is not installed: apt-get install -y wrk")
        print("bench: wrk is not installed (apt-get install -y wrk); using the Python load generator",
              file=sys.stderr)
        loader = "python"
    elif loader == "auto":
        loader = "wrk"
    return Config(
        seconds=args.seconds, connections=args.connections, threads=args.threads, warmup=args.warmup,
        probes=args.probes, loader=loader, wrk_threads=max(1, args.wrk_threads), database_url=args.database_url,
        output=args.output, profile=args.profile, profile_mode=args.profile_mode, rounds=args.rounds,
    )


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt, so a stopped run cleans up as after Ctrl-C."""
    previous: Callable[[int, FrameType | None], Any] | int | None = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (SIGTERM stops it as Ctrl-C does)."""
    with sigterm_interrupts():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    """Run both apps, print the figures, write the JSON; returns the exit code (0 when the run completed)."""
    try:
        cfg = _config(argv)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="handoff-bench-"))
    dbs = Store(tmp, admin_url=cfg.database_url)
    standin = SlackStandIn()
    try:
        seed(standin)
        standin.start()
        pairs = [_round(procs, dbs, tmp, cfg, standin, number) for number in range(cfg.rounds)]
        ratios = [_ratio(bot, bare) for bot, bare in pairs]
        # The pair whose ratio is the median: the machine's speed drifts (a shared host), so one pair
        # alone can land on a slow or a fast stretch for either app.
        bot, bare = pairs[sorted(range(len(pairs)), key=lambda i: ratios[i])[len(pairs) // 2]]
        results = report(cfg, bot, bare)
        results["ratios"] = ratios
        if len(ratios) > 1:
            print(f"ratio per round: {', '.join(_fmt(r, 2) for r in ratios)} (the median round is shown above)")
        if cfg.profile is not None and cfg.profile.exists():
            summary = profile_summary(cfg.profile)
            results["profile"] = {"file": str(cfg.profile), "mode": cfg.profile_mode, **summary}
            print_profile(summary)
        cfg.output.parent.mkdir(parents=True, exist_ok=True)
        cfg.output.write_text(json.dumps(_json_safe(results), indent=2) + "\n")
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
        standin.stop()
        dbs.drop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
