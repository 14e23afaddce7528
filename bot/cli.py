"""`python -m bot`: serve the app, or run maintenance commands."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.app import Handoff
    from bot.delivery import Wakeup
    from models.db import RequestWriters

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
    serve.add_argument(
        "--no-scheduler", action="store_true", help="do not run the scheduler here (run `python -m bot scheduler`)"
    )
    sub.add_parser("scheduler", help="run only the scheduler and Slack delivery (no web server)")
    jobs = sub.add_parser("jobs", help="run scheduler jobs once, e.g. to catch up or re-send a digest")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    run = jobs_sub.add_parser("run", help="run jobs as of an instant and report what was sent")
    run.add_argument("group", choices=["reminders", "digest", "recurring", "all"])
    run.add_argument("--at", type=_instant, help="ISO-8601 instant (default: now), e.g. 2026-12-01T09:00:00+01:00")
    sandbox = sub.add_parser("sandbox", help="try Handoff without Slack: the real bot against a local stand-in")
    sandbox.add_argument("--script", choices=["demo"], help="play a scripted tour and print the conversation")
    sandbox.add_argument("--port", type=int, default=8765, help="the page's port on 127.0.0.1 (default 8765; 0: any)")
    sandbox.add_argument("--start", type=_instant, help="where the clock starts (default: now, or the next 9:00 in "
                         "New York outside working hours), e.g. 2026-12-01T09:00-05:00")
    sub.add_parser("migrate", help="create or upgrade the database schema, then exit")
    sub.add_parser("check", help="validate the settings and reach the database, then exit")
    return parser


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 instant such as 2026-12-01T09:00Z") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. 2026-12-01T09:00+00:00")
    return moment.astimezone(UTC)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == "sandbox":
        return _sandbox(args.script, port=args.port, start=args.start)
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
    if command == "jobs":
        return _run_jobs(settings, args.group, args.at)
    if command == "scheduler":
        return _serve(settings, port=None, web=False)
    return _serve(settings, port=getattr(args, "port", None), scheduler=not getattr(args, "no_scheduler", False))


def _sandbox(script: str | None, *, port: int, start: datetime | None) -> int:
    # The sandbox needs no Slack account and no .env: it brings its own stand-in and settings.
    logging.basicConfig(level=logging.ERROR)
    if script == "demo":
        from sandbox.demo import run_demo

        return run_demo()
    from bot.app import utc_now
    from sandbox.web import SandboxWeb, default_start
    from sandbox.workspace import workspace

    signal.signal(signal.SIGTERM, _interrupt)
    with workspace(start or default_start(utc_now()), live=True) as ws:
        try:
            web = SandboxWeb(ws, port=port).start()
        except OSError as error:
            print(f"handoff: cannot serve the sandbox on port {port} ({error.strerror}); try --port 0",
                  file=sys.stderr)
            return 2
        print("Handoff sandbox: the real bot, a local Slack stand-in, and a clock you can move.")
        print(f"Open {web.url} in your browser. Ctrl+C stops it.", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopping the sandbox")
        finally:
            web.stop()
    return 0


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


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
    from bot.preflight import check_app_token, check_bot_token, check_signing_secret
    from models.db import Database

    print(f"handoff: settings are valid: {settings}")
    db = Database.from_url(settings.database_url)
    try:
        reachable = db.ping()
    finally:
        db.dispose()
    findings = [
        f"{'ok' if reachable else 'FAILED':>7}  DATABASE_URL: " + ("reachable" if reachable else "unreachable"),
        *(str(f) for f in (check_bot_token(settings), check_app_token(settings), check_signing_secret(settings))
          if f is not None),
    ]
    for line in findings:
        print(line)
    failed = sum(1 for line in findings if line.lstrip().startswith("FAILED"))
    print("handoff: ready to serve" if not failed else f"handoff: {failed} problem(s) to fix before serving")
    return 1 if failed else 0


def _app(
    settings: Settings, wake: Wakeup | None = None, clock: Callable[[], datetime] | None = None,
    writers: RequestWriters | None = None,
) -> Handoff | None:
    from slack_bolt.error import BoltError

    from bot.app import create_app, utc_now
    from bot.preflight import slack_ready

    # Slack is asked first, so a wrong credential or an unreachable Slack is one clear line, not a traceback.
    problem = slack_ready(settings)
    if problem is not None:
        print(f"handoff: cannot start: {problem}", file=sys.stderr)
        return None
    if _migrate(settings) != 0:
        return None
    try:
        return create_app(settings, wake=wake, clock=clock or utc_now, writers=writers)
    except BoltError as error:
        print(f"handoff: Slack refused the bot token ({error}): check SLACK_BOT_TOKEN", file=sys.stderr)
        return None
    except OSError as error:  # Slack went away between the two calls
        print(f"handoff: cannot start: Slack is unreachable at {settings.api_url} ({error})", file=sys.stderr)
        return None


# How long `jobs run` keeps delivering what is due before it leaves the rest to the bot's own worker.
JOBS_DELIVERY_LIMIT = 300.0


def _run_jobs(settings: Settings, group: str, at: datetime | None) -> int:
    import os
    import time

    from sqlalchemy import func
    from sqlmodel import col, select

    from bot.app import utc_now
    from bot.delivery import DeliveryReport
    from bot.worker import WORKER_NICENESS
    from models.outbox import newest_id
    from models.tables import OUTBOX_PENDING, Outbox

    # Background work, as the bot's own worker is: a bot serving beside it answers Slack first.
    os.nice(WORKER_NICENESS)
    started = utc_now()

    def clock() -> datetime:
        # Messages queued "as of" a later instant become due then, so delivery must see that instant too,
        # moving on from it as real time passes (a retry's backoff must come due).
        return max(utc_now(), at + (utc_now() - started)) if at else utc_now()

    handoff = _app(settings, clock=clock)
    if handoff is None:
        return 2
    try:
        # Beside a running bot, which holds the scheduler lock: the once-keys make a second run safe.
        report = handoff.scheduler.run(group, at=at, lead=False)
        assert report is not None
        print(f"queued: {report.summary()}")
        # What this run queued, and whatever was waiting before it: not what the bot queues meanwhile
        # (a busy bot's own worker delivers that; draining it too would never end under load).
        with handoff.services.db.read() as session:
            through = newest_id(session)

        def due() -> int:
            with handoff.services.db.read() as session:
                return session.exec(select(func.count()).select_from(Outbox).where(
                    Outbox.status == OUTBOX_PENDING, col(Outbox.next_attempt_at) <= clock(), col(Outbox.id) <= through
                )).one()

        delivered = DeliveryReport()
        deadline = time.monotonic() + JOBS_DELIVERY_LIMIT
        while True:
            passed = handoff.services.delivery.drain(through_id=through)
            delivered.sent += passed.sent
            delivered.retried += passed.retried
            delivered.dead += passed.dead
            left = due()
            if not left or time.monotonic() >= deadline:
                break
            if not passed.touched:
                time.sleep(0.2)  # the rest waits for a retry's backoff, a card, or another worker's lease
        print(f"delivered: sent={delivered.sent} retrying={delivered.retried} refused={delivered.dead}")
        if left:
            print(f"handoff: {left} due message(s) still undelivered after {JOBS_DELIVERY_LIMIT:.0f} s; "
                  "the bot's worker goes on delivering them", file=sys.stderr)
            return 1
    finally:
        handoff.close()
    return 0


def _serve(settings: Settings, *, port: int | None, scheduler: bool = True, web: bool = True) -> int:
    from bot.server import serve_http, serve_socket_mode
    from bot.worker import Worker

    worker = Worker(settings, scheduler=scheduler) if web else None
    handoff = _app(settings, wake=worker.wake if worker else None, writers=worker.writers if worker else None)
    if handoff is None:
        return 2
    handoff.worker = worker
    stopped = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopped.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # What was built to start (modules, the app, the engine) lives as long as the process: kept out of
    # the collector's view, a full collection takes ~2 ms instead of 75-95 ms, each a stall for every
    # request in flight.
    gc.freeze()
    try:
        if worker is None:
            # `python -m bot scheduler`: delivery and the scheduler, here, without a web server.
            handoff.start_background(scheduler=True)
            log.info("running the scheduler and delivery only")
            stopped.wait()
        else:
            worker.start()
            if settings.app_token:
                log.info("serving over Socket Mode")
                serve_socket_mode(handoff, settings.app_token)
            else:
                serve_http(handoff, settings.host, port or settings.port, settings.threads)
    except KeyboardInterrupt:
        log.info("shutting down")
    finally:
        if worker is not None:
            worker.stop()
        handoff.close()
    return 0
