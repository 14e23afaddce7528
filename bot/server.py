"""Serving: a WSGI app (Slack requests and health checks) on waitress, or Socket Mode."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.app import Handoff
from bot.gate import LOCK_BUDGET, SocketModeGate, slack_endpoint
from models import outbox
from models.db import BUSY, Database, Unavailable, request_scope
from models.tables import ProcessedEvent

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["make_wsgi", "serve_http", "serve_socket_mode", "start_http"]

log = logging.getLogger(__name__)


def make_wsgi(handoff: Handoff) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """The WSGI app: `POST /slack/events` for Slack, `GET /healthz` for load balancers."""
    slack = slack_endpoint(handoff.app, handoff.services.settings.signing_secret)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            return _health(handoff, start_response)
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


def _health(handoff: Handoff, start_response: StartResponse) -> Iterable[bytes]:
    db = handoff.services.db
    report: dict[str, Any] = {"database": _database_state(db, handoff.services.clock())}
    if report["database"] != "unreachable":
        with db.read() as session:
            report["outbox_pending"] = outbox.pending_count(session)
    # A lock held for a while by a job is no reason to take this instance out of service.
    report["ok"] = report["database"] in {"ok", BUSY}
    status = "200 OK" if report["ok"] else "503 Service Unavailable"
    body = json.dumps(report).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def start_http(handoff: Handoff, host: str, port: int, threads: int, *, loop_timeout: float = 1.0) -> Any:
    """Create (not run) a waitress server for the app; `.effective_port` tells the port when 0 was asked.

    `loop_timeout` is how long the server may take to notice it was closed (tests stop it sooner).
    """
    from waitress.server import create_server

    # A deep backlog and enough threads keep Slack's 3-second deadline under bursts of commands.
    return create_server(
        make_wsgi(handoff), host=host, port=port, threads=threads, backlog=1024, connection_limit=1000,
        ident="handoff", clear_untrusted_proxy_headers=True, asyncore_loop_timeout=loop_timeout,
    )


def serve_http(handoff: Handoff, host: str, port: int, threads: int) -> None:
    """Serve HTTP until interrupted."""
    server = start_http(handoff, host, port, threads)
    log.info("Handoff listening on http://%s:%s/slack/events", host, server.effective_port)
    try:
        server.run()
    finally:
        server.close()


def serve_socket_mode(handoff: Handoff, app_token: str) -> None:
    """Serve over Socket Mode (no public URL needed) until interrupted."""
    SocketModeGate(handoff.app, app_token).start()  # type: ignore[no-untyped-call]
