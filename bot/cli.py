"""`python -m bot`: serve the app, or run maintenance commands."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from bot.settings import Settings, SettingsError, load_settings

__all__ = ["main"]

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Handoff: delegate and track tasks in Slack. Settings come from the environment and .env.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve Slack requests (the default): Socket Mode or HTTP on PORT")
    serve.add_argument("--port", type=int, help="HTTP port (default: PORT or 3000)")
    sub.add_parser("migrate", help="create or upgrade the database schema, then exit")
    sub.add_parser("check", help="validate the settings and reach the database, then exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"handoff: configuration error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    command = args.command or "serve"
    if command == "migrate":
        return _migrate(settings)
    if command == "check":
        return _check(settings)
    return _serve(settings, port=getattr(args, "port", None))


def _migrate(settings: Settings) -> int:
    from migrations import upgrade

    try:
        upgrade(settings.database_url)
    except Exception as error:
        print(f"handoff: could not migrate the database: {error}", file=sys.stderr)
        return 1
    log.info("database schema is up to date")
    return 0


def _check(settings: Settings) -> int:
    from models.db import Database

    db = Database.from_url(settings.database_url)
    if not db.ping():
        print("handoff: the database is unreachable: check DATABASE_URL", file=sys.stderr)
        return 1
    print(f"handoff: settings are valid: {settings}")
    return 0


def _serve(settings: Settings, *, port: int | None) -> int:
    from slack_bolt.error import BoltError

    from bot.app import create_app
    from bot.server import serve_http, serve_socket_mode

    if _migrate(settings) != 0:
        return 1
    try:
        handoff = create_app(settings)
    except BoltError as error:
        print(f"handoff: Slack refused the bot token ({error}): check SLACK_BOT_TOKEN", file=sys.stderr)
        return 2

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    handoff.start_background()
    try:
        if settings.app_token:
            log.info("serving over Socket Mode")
            serve_socket_mode(handoff, settings.app_token)
        else:
            serve_http(handoff, settings.host, port or settings.port, settings.threads)
    except KeyboardInterrupt:
        log.info("shutting down")
    finally:
        handoff.close()
    return 0
