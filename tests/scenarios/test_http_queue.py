"""When every HTTP thread is busy, the log says so once a minute, not once per queued request."""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from bot.server import start_http, stop_http
from tests.scenarios.conftest import ANA, GENERAL, RITA, Bot


def test_requests_queued_behind_busy_threads_are_one_log_line(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    first = bot.client.command(RITA, "/delegate", f"<@{ANA}> First task", channel_id=GENERAL)
    assert "Created *T-1*" in first.json()["text"]
    caplog.set_level(logging.WARNING)
    # Another connection holds the workspace's row (on SQLite: the write lock), so the server's 4 threads
    # each wait in a /delegate and the other commands queue for a thread.
    with bot.handoff.services.db.engine.connect() as other:
        other.execute(text("UPDATE workspace SET next_task_number = next_task_number"))
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(
                lambda n: bot.client.command(RITA, "/delegate", f"<@{ANA}> Task {n}", channel_id=GENERAL),
                range(12),
            ))
        other.rollback()
    assert all(answer.status == 200 for answer in answers)
    said = [record.getMessage() for record in caplog.records if record.name.startswith(("waitress", "bot.server"))]
    assert len(said) == 1 and "waited for a free thread" in said[0], said


def test_a_stopped_server_leaves_none_of_its_request_threads(bot: Bot) -> None:
    # Waitress ends its request threads only when its task dispatcher is shut down; a server that was only
    # closed kept all of them (four per test server: thousands of threads over the suite).

    def request_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("waitress-")}

    before = request_threads()
    server = start_http(bot.handoff, "127.0.0.1", 0, 4, loop_timeout=0.05)

    def run() -> None:
        with contextlib.suppress(OSError, ValueError):  # closing the socket ends the loop this way
            server.run()

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    assert len(request_threads() - before) == 4
    stop_http(server)
    runner.join(timeout=5)
    assert request_threads() - before == set()
