"""Delivery's group commit: lanes that write at the same moment share one transaction, and none goes on
before its own write is done."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.delivery import _GroupCommit, _Step


def test_writes_that_arrive_while_one_is_written_share_the_next_transaction() -> None:
    transactions: list[list[_Step]] = []
    first_started, release_first = threading.Event(), threading.Event()

    def write(steps: list[_Step]) -> None:
        transactions.append(list(steps))
        if len(transactions) == 1:
            first_started.set()
            release_first.wait(5)
        for step in steps:
            step.began = {1}

    group = _GroupCommit(write)
    steps = [_Step(owner=f"lane-{n}") for n in range(5)]
    with ThreadPoolExecutor(5) as lanes:
        first = lanes.submit(group.commit, steps[0])
        assert first_started.wait(5)
        # Four lanes arrive while the first transaction is being written: they wait, then go as one.
        rest = [lanes.submit(group.commit, step) for step in steps[1:]]
        assert _eventually(lambda: len(group._gathered) == 4)
        release_first.set()
        for done in [first, *rest]:
            done.result(timeout=5)
    assert [len(t) for t in transactions] == [1, 4]
    assert all(step.finished and step.began for step in steps)  # each written before its commit returned


def _eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + 5
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def test_a_failed_transaction_fails_every_write_in_it() -> None:
    def write(_steps: list[_Step]) -> None:
        raise RuntimeError("disk full")

    group = _GroupCommit(write)
    with pytest.raises(RuntimeError, match="disk full"):
        group.commit(_Step(owner="lane"))
    # The group is not left stuck: the next write is tried afresh.
    with pytest.raises(RuntimeError, match="disk full"):
        group.commit(_Step(owner="lane"))
