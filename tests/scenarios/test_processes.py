"""`python -m bot serve` as systemd runs it: stopped by SIGTERM, its worker supervised, its state exposed."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import bot.worker as worker_module
from bot.worker import Worker
from sandbox import SlackClientSim, SlackStandIn
from tests.scenarios.conftest import ANA, GENERAL, PRIVATE, RITA, SECRET, TEAM, process_env, settings_for
from tests.scenarios.test_cli import _free_port

STOP_WITHIN = 5.0


@dataclass
class Served:
    """A `python -m bot serve` process, leader of its own process group, with its log in a file."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path
    slack: SlackStandIn

    @property
    def client(self) -> SlackClientSim:
        return SlackClientSim(f"{self.base}/slack/events", SECRET, team_id=TEAM, standin=self.slack)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def health(self) -> Any:
        return json.loads(self.get("/healthz")[1])

    def group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True


def _until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll a real process's state until `condition` holds or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def served(slack: SlackStandIn, db_url: str, tmp_path: Path) -> Iterator[Served]:
    port = _free_port()
    env = process_env(
        SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.api_url,
        DATABASE_URL=db_url, PORT=str(port), HOST="127.0.0.1", HANDOFF_SWEEP_SECONDS="5",
    )
    log = tmp_path / "bot.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=tmp_path, env=env, stderr=sink,
                                   start_new_session=True)
    served = Served(process, f"http://127.0.0.1:{port}", log, slack)
    try:
        listening = _until(lambda: "Handoff listening on" in log.read_text() or process.poll() is not None, 60)
        assert listening and process.poll() is None, log.read_text()
        yield served
    finally:
        if served.group_alive():
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _deliver_a_card(served: Served) -> None:
    answer = served.client.command(RITA, "/delegate", "<@UANA> Reconcile October invoices by Friday",
                                   channel_id=GENERAL)
    assert "Created *T-1*" in answer.json()["text"]
    assert served.slack.wait_for(lambda s: len(s.messages(GENERAL)) == 1 and len(s.dms(ANA)) == 1, timeout=15)


def _stops_cleanly(served: Served) -> None:
    started = time.monotonic()
    code = served.process.wait(timeout=STOP_WITHIN + 10)
    assert time.monotonic() - started < STOP_WITHIN, served.log.read_text()
    assert code == 0, served.log.read_text()
    assert _until(lambda: not served.group_alive(), STOP_WITHIN), "a process of the group is left"


def test_sigterm_to_the_process_group_stops_everything_cleanly(served: Served) -> None:
    _deliver_a_card(served)
    os.killpg(served.process.pid, signal.SIGTERM)  # what systemd does by default
    _stops_cleanly(served)


def test_sigterm_to_the_web_process_alone_stops_the_worker_too(served: Served) -> None:
    _deliver_a_card(served)
    served.process.send_signal(signal.SIGTERM)
    _stops_cleanly(served)


def test_a_worker_that_dies_is_restarted_and_delivers(served: Served) -> None:
    assert _until(lambda: served.health()["worker"]["alive"] is True, 30), served.log.read_text()
    first = served.health()["worker"]
    os.kill(first["pid"], signal.SIGKILL)

    def restarted() -> bool:
        worker = served.health()["worker"]
        return bool(worker["alive"] and worker["pid"] != first["pid"] and worker["restarts"] == 1)

    assert _until(restarted, 30), served.log.read_text()
    assert f"worker process {first['pid']} exited with code -9; restarting it" in served.log.read_text()
    _deliver_a_card(served)
    os.killpg(served.process.pid, signal.SIGTERM)
    _stops_cleanly(served)


def _samples(text: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line and not line.startswith("#")}


def test_health_and_metrics_report_worker_scheduler_and_outbox(served: Served) -> None:
    _deliver_a_card(served)
    # The bot is not in #payroll: that card waits for an invite, and is the outbox's oldest pending message.
    served.client.command(RITA, "/delegate", "<@UANA> Payroll run by Friday", channel_id=PRIVATE)
    assert _until(lambda: served.health()["scheduler"]["alive"] is True, 20), served.log.read_text()
    # The stand-in has the DM before the worker records that it went: its outcome follows a moment later.
    assert _until(lambda: served.health()["outbox"]["sent"] >= 2, 20), served.health()

    health = served.health()
    assert health["ok"] is True and health["database"] == "ok"
    assert health["worker"]["alive"] is True and health["worker"]["restarts"] == 0
    assert health["outbox"]["sent"] >= 2 and health["outbox"]["dead"] == 0
    assert health["outbox_pending"] >= 1 and health["outbox"]["oldest_pending_age_seconds"] >= 0

    status, text = served.get("/metrics")
    assert status == 200
    for name, kind in [("handoff_worker_up", "gauge"), ("handoff_scheduler_up", "gauge"),
                       ("handoff_scheduler_last_pass_timestamp_seconds", "gauge"),
                       ("handoff_scheduler_last_sweep_timestamp_seconds", "gauge"),
                       ("handoff_last_digest_timestamp_seconds", "gauge"), ("handoff_outbox_backlog", "gauge"),
                       ("handoff_outbox_oldest_pending_age_seconds", "gauge"),
                       ("handoff_outbox_messages", "gauge"), ("handoff_worker_restarts_total", "counter")]:
        assert f"# TYPE {name} {kind}\n" in text and f"# HELP {name} " in text
    samples = _samples(text)
    assert samples["handoff_worker_up"] == 1 and samples["handoff_scheduler_up"] == 1
    assert samples['handoff_outbox_messages{outcome="sent"}'] >= 2
    assert samples['handoff_outbox_messages{outcome="dead"}'] == 0
    assert samples["handoff_outbox_backlog"] >= 1
    assert abs(samples["handoff_scheduler_last_pass_timestamp_seconds"] - time.time()) < 60
    # The first sweep runs as the scheduler starts: it is reported apart from the other passes.
    assert abs(samples["handoff_scheduler_last_sweep_timestamp_seconds"] - time.time()) < 60
    assert health["scheduler"]["last_sweep"] is not None


def test_health_is_503_while_the_worker_is_stopped_and_ok_again_once_it_goes_on(served: Served) -> None:
    # A stopped (or hung) worker still exists, so it is not restarted; it only stops beating. Until it
    # beats again nothing reaches Slack, and /healthz says so.
    assert _until(lambda: served.health()["worker"]["last_heartbeat"] is not None, 30), served.log.read_text()
    pid = served.health()["worker"]["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        assert _until(lambda: served.get("/healthz")[0] == 503, 30), served.get("/healthz")
        health = served.health()
        # On SQLite a worker stopped inside a write keeps the lock: then the database is busy as well.
        assert health["ok"] is False and health["database"] in {"ok", "busy"}
        assert health["worker"]["alive"] is True and health["worker"]["up"] is False
        assert _samples(served.get("/metrics")[1])["handoff_worker_up"] == 0
    finally:
        os.kill(pid, signal.SIGCONT)
    assert _until(lambda: served.get("/healthz")[0] == 200, 30)
    assert served.health()["worker"]["up"] is True and served.health()["worker"]["pid"] == pid, served.log.read_text()
    os.killpg(served.process.pid, signal.SIGTERM)
    _stops_cleanly(served)


def test_the_supervisor_reads_how_the_worker_died_while_health_checks_poll_it(
    slack: SlackStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Health checks ask whether the worker is alive from request threads while the supervisor joins it. If
    # asking reaped the process, the supervisor would read no exit code ("exited with code None"): about
    # two kills in five did before `alive` looked only at the process's sentinel.
    monkeypatch.setattr(worker_module, "FIRST_RESTART_DELAY", 0.01)
    monkeypatch.setattr(worker_module, "MAX_RESTART_DELAY", 0.01)
    worker = Worker(settings_for(slack, f"sqlite:///{tmp_path}/handoff.db"), scheduler=False)
    polling = threading.Event()

    def health_checks() -> None:
        while not polling.is_set():
            _ = worker.alive

    checkers = [threading.Thread(target=health_checks, daemon=True) for _ in range(3)]
    caplog.set_level(logging.ERROR, logger="bot.worker")
    worker.start()
    try:
        for checker in checkers:
            checker.start()
        killed = []
        for before in range(8):
            assert _until(lambda n=before: worker.alive and worker.restarts == n, 30)
            pid = worker.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        assert _until(lambda: worker.restarts == len(killed), 30)
    finally:
        polling.set()
        worker.stop()
    said = [record.getMessage() for record in caplog.records if "exited with code" in record.getMessage()]
    assert said == [f"worker process {pid} exited with code -9; restarting it in 0 s" for pid in killed]
