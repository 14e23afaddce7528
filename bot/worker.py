"""The background worker process: outbox delivery and the scheduler, beside the web process.

Running them in their own process keeps the web process's core for answering Slack: delivery does
several Web API calls and transactions per task, which would otherwise compete with requests for the
GIL. The web process wakes the worker through a pipe right after each commit, restarts it if it dies,
and stops it with SIGTERM.

Nothing here is a multiprocessing lock, Event or Condition: a process killed while holding or waiting on
one leaves the other process blocked forever (and its POSIX semaphores leaked). A pipe, a signal and
shared memory without a lock cannot wedge.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from multiprocessing.connection import wait as wait_for_exit
from multiprocessing.context import SpawnProcess
from multiprocessing.sharedctypes import RawArray
from typing import Any

from bot.settings import Settings
from models.db import RequestWriters

__all__ = ["PipeWakeup", "Worker", "WorkerStatus", "worker_main"]

log = logging.getLogger(__name__)

WORKER_NICENESS = 10
# A worker that dies is restarted after FIRST_RESTART_DELAY seconds, doubling up to MAX_RESTART_DELAY
# while it keeps dying; one that ran for STABLE_AFTER seconds starts the count again.
FIRST_RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 60.0
STABLE_AFTER = 60.0
HEARTBEAT_SECONDS = 1.0
# A worker silent for this many heartbeats is down; one just started may take this long to beat first.
QUIET_BEATS = 5
STARTUP_GRACE = 30.0


class PipeWakeup:
    """A wake-up call across processes (the `Wakeup` of bot.delivery) over a non-blocking pipe.

    `set` never blocks: a full pipe already holds a wake-up, and a dead reader is no one's problem.
    """

    def __init__(self) -> None:
        self._reader, self._writer = multiprocessing.get_context("spawn").Pipe(duplex=False)
        # The flag belongs to the open pipe, which the worker shares: set once here, it holds there too.
        os.set_blocking(self._reader.fileno(), False)
        os.set_blocking(self._writer.fileno(), False)

    def set(self) -> None:
        """Wake the waiting side."""
        try:
            os.write(self._writer.fileno(), b"\0")
        except (BlockingIOError, BrokenPipeError):
            pass

    def clear(self) -> None:
        """Forget wake-ups already sent."""
        try:
            while os.read(self._reader.fileno(), 4096):
                pass
        except BlockingIOError:
            pass

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until woken or `timeout` seconds pass; True when woken."""
        readable, _, _ = select.select([self._reader.fileno()], [], [], timeout)
        return bool(readable)


# Slots of the status the worker shares with the web process (plain doubles, no lock: one writer each).
_HEARTBEAT, _SCHEDULER_PASS, _SWEEP = range(3)


class WorkerStatus:
    """What the worker reports to the web process: unix times of its last heartbeat, scheduler pass and sweep."""

    def __init__(self) -> None:
        self._slots: Any = RawArray("d", 3)

    def beat(self) -> None:
        """The worker is alive now."""
        self._slots[_HEARTBEAT] = time.time()

    def scheduler_pass(self, group: str = "all") -> None:
        """The scheduler finished a pass of `group` now (a sweep when it held the reminders)."""
        now = time.time()
        self._slots[_SCHEDULER_PASS] = now
        if group in ("reminders", "all"):
            self._slots[_SWEEP] = now

    @property
    def last_beat(self) -> float | None:
        """When the worker last said it was alive (unix time)."""
        return self._slots[_HEARTBEAT] or None

    @property
    def last_scheduler_pass(self) -> float | None:
        """When the worker's scheduler last finished a pass (unix time)."""
        return self._slots[_SCHEDULER_PASS] or None

    @property
    def last_sweep(self) -> float | None:
        """When the worker's scheduler last finished a sweep (reminders, overdue, escalations; unix time)."""
        return self._slots[_SWEEP] or None


def worker_main(
    settings: Settings, wake: PipeWakeup, status: WorkerStatus, writers: RequestWriters, scheduler: bool, parent: int
) -> None:
    """Entry point of the worker process: deliver and schedule until SIGTERM or the parent dies."""
    from bot.app import create_app

    # Ctrl-C reaches the whole process group; the parent decides when the worker stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM is taken below, by the main thread only, between deliveries: blocked before any thread
    # starts, so every thread inherits the block and none is killed mid-row.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    # Answering Slack within 3 seconds comes first: under load the web process gets the CPU and
    # deliveries catch up right after (the outbox keeps them safe meanwhile).
    os.nice(WORKER_NICENESS)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s[worker]: %(message)s", stream=sys.stderr
    )
    handoff = create_app(settings, wake=wake, writers=writers)
    handoff.scheduler.after_group = status.scheduler_pass
    gc.freeze()  # as the web process does (bot.cli): what starting built is never collected
    handoff.start_background(scheduler=scheduler)
    try:
        while True:
            status.beat()
            got = signal.sigtimedwait({signal.SIGTERM}, HEARTBEAT_SECONDS)
            # After a SIGSTOP and SIGCONT (a debugger, a frozen container) CPython returns a made-up
            # siginfo here, not None: only a real SIGTERM stops the worker.
            if got is not None and got.si_signo == signal.SIGTERM:
                log.info("SIGTERM: finishing the current delivery, then stopping")
                break
            if os.getppid() != parent:  # the web process is gone: do not linger as an orphan
                log.warning("parent process exited; worker stopping")
                break
    finally:
        handoff.close()


class Worker:
    """Starts, supervises (restarting it when it dies) and stops the worker process from the web process."""

    def __init__(self, settings: Settings, *, scheduler: bool) -> None:
        self.settings = settings
        self.scheduler = scheduler
        self.wake = PipeWakeup()
        self.status = WorkerStatus()
        self.writers = RequestWriters()
        self.restarts = 0
        self._context = multiprocessing.get_context("spawn")
        self._process: SpawnProcess | None = None
        self._started_at = 0.0
        self._started_wall = 0.0
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # the watcher and stop() never reap or spawn at once
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        """Start the worker process, and the thread that restarts it if it dies."""
        with self._lock:
            self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        process = self._context.Process(
            target=worker_main,
            args=(self.settings, self.wake, self.status, self.writers, self.scheduler, os.getpid()),
            name="handoff-worker",
            daemon=True,
        )
        process.start()
        self._process, self._started_at, self._started_wall = process, time.monotonic(), time.time()
        what = "delivery and scheduler" if self.scheduler else "delivery"
        log.info("worker process %s started (%s)", process.pid, what)

    def _watch(self) -> None:
        delay = FIRST_RESTART_DELAY
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            if not wait_for_exit([process.sentinel], timeout=HEARTBEAT_SECONDS):
                continue
            with self._lock:
                if self._stopping.is_set():
                    return
                process.join()
            if time.monotonic() - self._started_at >= STABLE_AFTER:
                delay = FIRST_RESTART_DELAY
            log.error("worker process %s exited with code %s; restarting it in %.0f s", process.pid,
                      process.exitcode, delay)
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._spawn()
                self.restarts += 1
            delay = min(delay * 2, MAX_RESTART_DELAY)

    @property
    def pid(self) -> int | None:
        """The worker process's id."""
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        """Whether the worker process is running.

        Looks at the process's sentinel, never reaps it: `is_alive()` from a request thread could reap the
        process while the supervisor joins it, and the supervisor would then read no exit code.
        """
        process = self._process
        return process is not None and not wait_for_exit([process.sentinel], timeout=0)

    @property
    def up(self) -> bool:
        """Whether the worker is running and beating: a stopped or stuck one still exists but beats no more.

        A worker just (re)started is up for STARTUP_GRACE seconds before its first beat.
        """
        if not self.alive:
            return False
        beat = self.status.last_beat
        if beat is not None and beat >= self._started_wall:
            return time.time() - beat < QUIET_BEATS * HEARTBEAT_SECONDS
        return time.monotonic() - self._started_at < STARTUP_GRACE

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the worker, which finishes its current delivery and exits; kill it if it does not."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None:
            return
        if process.is_alive():
            process.terminate()
        process.join(timeout)
        if process.is_alive():
            log.warning("worker process %s did not stop within %.0f s; killing it", process.pid, timeout)
            process.kill()
            process.join(2)
        if self._watcher is not None:
            self._watcher.join(HEARTBEAT_SECONDS * 2)
