"""Delivery's lanes as streams: each lane in order, one thread at a time; a slow lane holds up only itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.delivery import DeliveryReport, _Streams


def _rows(*ids: int) -> list[Any]:
    return list(ids)  # the streams only pass rows through to the deliverer


def test_each_lane_keeps_its_order_and_a_slow_lane_holds_up_only_itself() -> None:
    sent: list[tuple[str, int]] = []
    running: dict[str, int] = {}
    overlap: list[str] = []
    slow_may_finish = threading.Event()
    lock = threading.Lock()

    def deliver(rows: Sequence[Any], owner: str) -> DeliveryReport:
        with lock:
            running[owner] = running.get(owner, 0) + 1
            if running[owner] > 1:
                overlap.append(owner)  # two threads in one lane at once
        if owner == "slow":
            slow_may_finish.wait(5)
        with lock:
            sent.extend((owner, row) for row in rows)
            running[owner] -= 1
        return DeliveryReport(sent=len(rows))

    with ThreadPoolExecutor(4) as pool:
        streams = _Streams(pool, deliver)
        streams.add("C-slow", _rows(1), "slow")
        for n in range(2, 12):
            streams.add("C-fast", _rows(n), "fast")
        # The fast lane finishes all ten while the slow one is still on its first row.
        deadline = time.monotonic() + 5
        while len(sent) < 10 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert sent == [("fast", n) for n in range(2, 12)]
        streams.add("C-slow", _rows(12), "slow")
        slow_may_finish.set()
        streams.wait()
    assert sent[10:] == [("slow", 1), ("slow", 12)]  # the slow lane's rows in their order
    assert overlap == [] and streams.report.sent == 12 and streams.error is None


def test_a_lane_that_fails_is_reported_after_every_lane_has_stopped() -> None:
    done: list[int] = []

    def deliver(rows: Sequence[Any], owner: str) -> DeliveryReport:
        if owner == "broken":
            raise RuntimeError("database is gone")
        done.extend(rows)
        return DeliveryReport(sent=len(rows))

    with ThreadPoolExecutor(2) as pool:
        streams = _Streams(pool, deliver)
        streams.add("C1", _rows(1), "broken")
        streams.add("C2", _rows(2, 3), "fine")
        streams.wait()
    assert done == [2, 3] and streams.report.sent == 2
    with pytest.raises(RuntimeError, match="database is gone"):
        raise streams.error or AssertionError("no error recorded")
