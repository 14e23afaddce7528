"""The background worker process: outbox delivery and the scheduler, beside the web process.

Running them in their own process keeps the web process's core for answering Slack: delivery does
several Web API calls and transactions per task, which would otherwise compete with requests for the
GIL. The web process wakes the worker through a shared Event right after each commit.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event

from bot.settings import Settings

__all__ = ["Worker", "worker_main"]

log = logging.getLogger(__name__)

WORKER_NICENESS = 10


def worker_main(settings: Settings, wake: Event, stop: Event, scheduler: bool, parent: int) -> None:
    """Entry point of the worker process: deliver and schedule until told to stop or the parent dies."""
    from bot.app import create_app

    # Ctrl-C reaches the whole process group; the parent decides when the worker stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Answering Slack within 3 seconds comes first: under load the web process gets the CPU and
    # deliveries catch up right after (the outbox keeps them safe meanwhile).
    os.nice(WORKER_NICENESS)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s[worker]: %(message)s", stream=sys.stderr
    )
    handoff = create_app(settings, wake=wake)
    handoff.start_background(scheduler=scheduler)
    try:
        while not stop.wait(1.0):
            if os.getppid() != parent:  # the web process is gone: do not linger as an orphan
                log.warning("parent process exited; worker stopping")
                break
    finally:
        handoff.close()


class Worker:
    """Starts and stops the worker process from the web process."""

    def __init__(self, settings: Settings, *, scheduler: bool) -> None:
        self.scheduler = scheduler
        context = multiprocessing.get_context("spawn")
        self.wake = context.Event()
        self._stop = context.Event()
        self._process: SpawnProcess = context.Process(
            target=worker_main,
            args=(settings, self.wake, self._stop, scheduler, os.getpid()),
            name="handoff-worker",
            daemon=True,
        )

    def start(self) -> None:
        """Start the worker process."""
        self._process.start()
        what = "delivery and scheduler" if self.scheduler else "delivery"
        log.info("worker process %s started (%s)", self._process.pid, what)

    @property
    def alive(self) -> bool:
        """Whether the worker process is running."""
        return self._process.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the worker to finish its current pass and exit; terminate it if it does not."""
        self._stop.set()
        self.wake.set()
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(2)
