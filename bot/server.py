"""Serving: a WSGI app (Slack requests and health checks) on waitress, or Socket Mode."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.app import Handoff
from bot.gate import LOCK_BUDGET, SocketModeGate, slack_endpoint
from bot.worker import Worker
from models.db import BUSY, Database, Unavailable, request_scope
from models.health import OutboxState, last_digest_at, outbox_state
from models.tables import ProcessedEvent

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["make_wsgi", "serve_http", "serve_socket_mode", "start_http", "stop_http"]

log = logging.getLogger(__name__)

# The scheduler counts as stopped after this many of its pass intervals without a pass.
SCHEDULER_QUIET_FACTOR = 3


def make_wsgi(handoff: Handoff) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """The WSGI app: `POST /slack/events` for Slack, `GET /healthz` for load balancers, `GET /metrics`."""
    slack = slack_endpoint(handoff.app, handoff.services.settings.signing_secret)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            return _health(handoff, start_response)
        if path == "/metrics":
            return _metrics(handoff, start_response)
        if path == "/slack/events":
            return slack(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "9")])
        return [b"Not Found"]

    return application


class _Probe(Exception):
    """Rolls back the health check's trial write."""


def _database_state(db: Database, now: datetime) -> str:
    """`ok` when a write goes through (tried, then rolled back); else `busy`, `unwritable` or `unreachable`."""
    try:
        with request_scope(LOCK_BUDGET), db.transaction() as session:
            session.add(ProcessedEvent(team_id="-", event_id="healthz-probe", at=now))
            session.flush()
            raise _Probe
    except _Probe:
        return "ok"
    except Unavailable as error:
        return error.reason
    except Exception:
        log.warning("health check: the database is unreachable", exc_info=True)
        return "unreachable"


@dataclass
class _Snapshot:
    """Everything /healthz and /metrics report, read once per request."""

    database: str
    outbox: OutboxState | None
    last_digest: datetime | None
    worker: Worker | None
    scheduler_up: bool
    now: datetime

    @property
    def worker_up(self) -> bool:
        """No worker of its own, or one that runs and beats."""
        return self.worker is None or self.worker.up

    @property
    def ok(self) -> bool:
        # A lock held for a while by a job is no reason to take this instance out of service; a delivery
        # worker that is down is: nothing would reach Slack.
        return self.database in {"ok", BUSY} and self.worker_up


def _snapshot(handoff: Handoff) -> _Snapshot:
    db, now, worker = handoff.services.db, handoff.services.clock(), handoff.worker
    database = _database_state(db, now)
    state, last_digest = None, None
    if database != "unreachable":
        with db.read() as session:
            state, last_digest = outbox_state(session), last_digest_at(session)
    scheduler_up = False
    if worker is not None and worker.scheduler and worker.alive and worker.status.last_scheduler_pass:
        # The digest check runs every minute and the sweep more often: a leader passes at least that often.
        quiet = now.timestamp() - worker.status.last_scheduler_pass
        scheduler_up = quiet < SCHEDULER_QUIET_FACTOR * min(handoff.services.settings.sweep_seconds, 60)
    return _Snapshot(database, state, last_digest, worker, scheduler_up, now)


def _iso(moment: datetime | float | None) -> str | None:
    if isinstance(moment, float):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.isoformat() if moment is not None else None


def _health(handoff: Handoff, start_response: StartResponse) -> Iterable[bytes]:
    snap = _snapshot(handoff)
    report: dict[str, Any] = {"ok": snap.ok, "database": snap.database}
    if snap.outbox is not None:
        report["outbox_pending"] = snap.outbox.backlog
        oldest = snap.outbox.oldest_pending
        report["outbox"] = {
            **snap.outbox.by_outcome,
            "oldest_pending_age_seconds": (snap.now - oldest).total_seconds() if oldest else None,
        }
        report["last_digest"] = _iso(snap.last_digest)
    if snap.worker is not None:
        report["worker"] = {"alive": snap.worker.alive, "up": snap.worker_up, "pid": snap.worker.pid,
                            "restarts": snap.worker.restarts, "last_heartbeat": _iso(snap.worker.status.last_beat)}
        report["scheduler"] = {"enabled": snap.worker.scheduler, "alive": snap.scheduler_up,
                               "last_pass": _iso(snap.worker.status.last_scheduler_pass),
                               "last_sweep": _iso(snap.worker.status.last_sweep)}
    status = "200 OK" if snap.ok else "503 Service Unavailable"
    body = json.dumps(report).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _number(value: float) -> str:
    """A sample value in full: counts as integers, times with their fraction (`:g` would round to 6 digits)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _metrics(handoff: Handoff, start_response: StartResponse) -> Iterable[bytes]:
    """The Prometheus text exposition format, version 0.0.4."""
    snap = _snapshot(handoff)
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: dict[str, float | None]) -> None:
        lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"])
        lines.extend(f"{name}{labels} {_number(value)}" for labels, value in samples.items() if value is not None)

    metric("handoff_database_writable", "gauge", "1 when the database takes a write, 0 when not.",
           {"": float(snap.database == "ok")})
    if snap.outbox is not None:
        metric("handoff_outbox_messages", "gauge", "Messages in the outbox by outcome.",
               {f'{{outcome="{outcome}"}}': count for outcome, count in snap.outbox.by_outcome.items()})
        metric("handoff_outbox_backlog", "gauge", "Messages not yet delivered to Slack.",
               {"": snap.outbox.backlog})
        oldest = snap.outbox.oldest_pending
        metric("handoff_outbox_oldest_pending_age_seconds", "gauge",
               "Age of the oldest message not yet delivered (0 when none).",
               {"": (snap.now - oldest).total_seconds() if oldest else 0.0})
        metric("handoff_last_digest_timestamp_seconds", "gauge", "Unix time of the last digest posted.",
               {"": snap.last_digest.timestamp() if snap.last_digest else None})
    if snap.worker is not None:
        metric("handoff_worker_up", "gauge", "1 when the delivery worker process runs and beats.",
               {"": float(snap.worker_up)})
        metric("handoff_worker_restarts_total", "counter", "Times the worker process died and was restarted.",
               {"": snap.worker.restarts})
        metric("handoff_scheduler_up", "gauge", "1 when this instance's scheduler leads and passes on time.",
               {"": float(snap.scheduler_up)})
        metric("handoff_scheduler_last_pass_timestamp_seconds", "gauge",
               "Unix time the scheduler last finished a pass (sweep, recurring or digest check).",
               {"": snap.worker.status.last_scheduler_pass})
        metric("handoff_scheduler_last_sweep_timestamp_seconds", "gauge",
               "Unix time the scheduler last finished a sweep (reminders, overdue notices, escalations).",
               {"": snap.worker.status.last_sweep})
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


def start_http(handoff: Handoff, host: str, port: int, threads: int, *, loop_timeout: float = 1.0) -> Any:
    """Create (not run) a waitress server for the app; `.effective_port` tells the port when 0 was asked.

    `loop_timeout` is how long the server may take to notice it was closed (tests stop it sooner).
    """
    from waitress.server import create_server

    # A deep backlog and enough threads keep Slack's 3-second deadline under bursts of commands.
    server = create_server(
        make_wsgi(handoff), host=host, port=port, threads=threads, backlog=1024, connection_limit=1000,
        ident="handoff", clear_untrusted_proxy_headers=True, asyncore_loop_timeout=loop_timeout,
    )
    dispatcher: Any = server.task_dispatcher  # typed as waitress's Logger; it only calls `.warning`
    dispatcher.queue_logger = QueueWarnings()
    return server


def stop_http(server: Any, timeout: float = 5.0) -> None:
    """Close a server from `start_http` and end its worker threads.

    Closing only stops the listening loop: waitress's request threads are ended by its task dispatcher,
    which `run()` shuts down only on an interrupt. Left running, each stopped server kept them (four
    per test server, thousands over the test suite).
    """
    server.close()
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)


class QueueWarnings:
    """Waitress's "Task queue depth is N", said at most once per `every` seconds with the deepest N.

    Waitress warns on every request that finds all threads busy: under a burst that is a log line (and
    its cost, on the thread that reads every connection) per request, saying the same thing.
    """

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self._clock = every, clock
        self._next = 0.0
        self._deepest = self._waited = 0

    def warning(self, _message: str, depth: int) -> None:
        """Waitress queued a request, `depth` deep, for want of a free thread."""
        self._deepest, self._waited = max(self._deepest, depth), self._waited + 1
        now = self._clock()
        if now >= self._next:
            log.warning("%d request(s) waited for a free thread, queued up to %d deep (HANDOFF_THREADS sets "
                        "how many there are)", self._waited, self._deepest)
            self._next, self._deepest, self._waited = now + self.every, 0, 0


def serve_http(handoff: Handoff, host: str, port: int, threads: int) -> None:
    """Serve HTTP until interrupted."""
    server = start_http(handoff, host, port, threads)
    log.info("Handoff listening on http://%s:%s/slack/events", host, server.effective_port)
    try:
        server.run()
    finally:
        stop_http(server)


def serve_socket_mode(handoff: Handoff, app_token: str) -> None:
    """Serve over Socket Mode (no public URL needed) until interrupted."""
    SocketModeGate(handoff.app, app_token).start()  # type: ignore[no-untyped-call]
