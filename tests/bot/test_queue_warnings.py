"""Waitress's per-request "Task queue depth" warning, folded into one line a minute."""

from __future__ import annotations

import logging

import pytest

from bot.server import QueueWarnings


def test_a_burst_that_finds_every_thread_busy_is_one_line_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    warnings = QueueWarnings(every=60.0, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="bot.server")
    warnings.warning("Task queue depth is %d", 1)  # the first of a burst is said at once
    for depth in [2, 5, 3] * 100:
        warnings.warning("Task queue depth is %d", depth)
    now[0] += 60.0
    warnings.warning("Task queue depth is %d", 4)  # a minute on: what the minute held
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "1 request(s) waited for a free thread, queued up to 1 deep (HANDOFF_THREADS sets how many there are)",
        "301 request(s) waited for a free thread, queued up to 5 deep (HANDOFF_THREADS sets how many there are)",
    ]
