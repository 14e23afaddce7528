"""The baseline for the benchmark: a bare Bolt app whose `/delegate` inserts one SQLModel row and acks.

It is served like the bot (waitress, same thread count and server settings as `bot.server.start_http`,
`process_before_response=True`) but does nothing else, so it shows what the stack itself costs.
It never calls Slack: an `authorize` function stands in for `auth.test`.

Run as `python -m bench.bare_app --port 3001 --database-url sqlite:////tmp/bare.db` with
`SLACK_SIGNING_SECRET` set; `GET /healthz` answers once it is serving; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, create_engine

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["BenchRow", "build_app", "main", "make_engine", "make_wsgi"]

log = logging.getLogger("bench.bare_app")

BOT_TOKEN = "xoxb-bench-bare"


class BenchRow(SQLModel, table=True):
    """One row per `/delegate`: who asked, in which workspace, with what text."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    text: str = Field(max_length=4000)
    created_at: datetime


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine with the same pool size as the bot's; SQLite in WAL mode like the bot's."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=pool_size, max_overflow=pool_size
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def build_app(engine: Engine, signing_secret: str) -> App:
    """The Bolt app: one `/delegate` listener that inserts a row, then acks with a short confirmation."""

    def authorize(team_id: str | None, **_: Any) -> AuthorizeResult:
        # A fixed answer instead of auth.test, so the baseline never leaves the process.
        return AuthorizeResult(
            enterprise_id=None, team_id=team_id, bot_token=BOT_TOKEN, bot_user_id="UBOT", bot_id="B0001"
        )

    app = App(
        signing_secret=signing_secret,
        authorize=authorize,
        process_before_response=True,
        logger=logging.getLogger("slack_bolt"),
    )

    @app.command("/delegate")
    def delegate(ack: Ack, command: dict[str, Any]) -> None:
        row = BenchRow(
            team_id=str(command.get("team_id") or ""),
            user_id=str(command.get("user_id") or ""),
            text=str(command.get("text") or "")[:4000],
            created_at=datetime.now(UTC),
        )
        with Session(engine) as session:
            session.add(row)
            session.commit()
            row_id = row.id
        ack(response_type="ephemeral", text=f"⏳ row {row_id} saved for the bench")

    return app


def make_wsgi(app: App) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """`POST /slack/events` for the Bolt app, `GET /healthz` answering `{"ok": true}`."""
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            body = json.dumps({"ok": True}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return application


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (default 8, as the bot)")
    parser.add_argument("--database-url", required=True, help="sqlite:///PATH or postgresql://...")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Create the table, then serve until SIGTERM or Ctrl-C; returns the exit code."""
    args = _parser().parse_args(argv)
    secret = os.environ.get("SLACK_SIGNING_SECRET", "")
    if not secret:
        print("bench.bare_app: SLACK_SIGNING_SECRET is not set", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from waitress.server import create_server

    engine = make_engine(args.database_url)
    SQLModel.metadata.create_all(engine)
    # The same server settings as bot.server.start_http.
    server = create_server(
        make_wsgi(build_app(engine, secret)), host=args.host, port=args.port, threads=args.threads,
        backlog=1024, connection_limit=1000, ident="handoff-bench-bare", clear_untrusted_proxy_headers=True,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
