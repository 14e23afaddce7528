"""`python -m bot` as an operator runs it: a real process, real HTTP, the stand-in as Slack."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import SlackClientSim, SlackStandIn
from tests.scenarios.conftest import ANA, GENERAL, RITA, SECRET, TEAM

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOFF_", "DATABASE_URL", "PORT"))}
    env.update(values)
    return env


@pytest.fixture
def served(slack: SlackStandIn, db_url: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = _free_port()
    env = _env(
        SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.api_url,
        DATABASE_URL=db_url, PORT=str(port), HOST="127.0.0.1", HANDOFF_MANAGERS="UMIA",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    # Ready when it says where it listens (migrations run first).
    for line in process.stderr:
        if "Handoff listening on" in line:
            break
    else:
        pytest.fail(f"bot exited with {process.wait()} before listening")
    try:
        yield process, f"http://127.0.0.1:{port}/slack/events"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)


def test_python_m_bot_serves_slack_and_delivers_cards(
    served: tuple[subprocess.Popen[str], str], slack: SlackStandIn
) -> None:
    process, url = served
    client = SlackClientSim(url, SECRET, team_id=TEAM, standin=slack)
    answer = client.command(RITA, "/delegate", "<@UANA> Reconcile October invoices by Friday 5pm", channel_id=GENERAL)
    assert answer.status == 200 and "Created *T-1*" in answer.json()["text"]
    assert slack.wait_for(lambda s: len(s.messages(GENERAL)) == 1 and len(s.dms(ANA)) == 1, timeout=10)
    assert "Reconcile October invoices" in slack.messages(GENERAL)[0]["text"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0


def test_a_configuration_mistake_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=_env(SLACK_SIGNING_SECRET="s"),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "handoff: configuration error: SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) into .env"
    ]


def test_help_lists_the_commands() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, timeout=60,
                            cwd=ROOT)
    assert result.returncode == 0
    for command in ("serve", "migrate", "check"):
        assert command in result.stdout


def test_migrate_creates_the_schema(db_url: str, tmp_path: Path) -> None:
    env = _env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", DATABASE_URL=db_url)
    result = subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    check = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "settings are valid" in check.stdout
