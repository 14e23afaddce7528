"""`python -m bot` as an operator runs it: a real process, real HTTP, the stand-in as Slack."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import SlackClientSim, SlackStandIn
from tests.scenarios.conftest import ANA, GENERAL, RITA, SECRET, TEAM, process_env

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(slack: SlackStandIn, db_url: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = _free_port()
    env = process_env(
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
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=process_env(SLACK_SIGNING_SECRET="s"),
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


@pytest.mark.empty_database
def test_migrate_creates_the_schema(db_url: str, tmp_path: Path, slack: SlackStandIn) -> None:
    env = process_env(SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET="s", DATABASE_URL=db_url,
               SLACK_API_URL=slack.api_url)
    result = subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    check = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "settings are valid" in check.stdout


# -- `python -m bot check` tries each credential against Slack ---------------------------------------------

SIGNING_SECRET = "0123456789abcdef0123456789abcdef"  # as Slack makes them: 32 hex characters


def _check(tmp_path: Path, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "check"], cwd=tmp_path, env=process_env(**values),
                          capture_output=True, text=True, timeout=60)


def _lines(output: str) -> dict[str, str]:
    """`  ok  NAME: words` lines by NAME, as `ok: words`."""
    found = {}
    for line in output.splitlines():
        mark, _, rest = line.strip().partition("  ")
        name, _, words = rest.strip().partition(": ")
        if mark in {"ok", "warning", "FAILED"}:
            found[name] = f"{mark}: {words}"
    return found


def test_check_reports_a_working_set_up(slack: SlackStandIn, db_url: str, tmp_path: Path) -> None:
    result = _check(tmp_path, SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET="0123456789abcdef0123456789abcdef",
                    SLACK_API_URL=slack.api_url, DATABASE_URL=db_url)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _lines(result.stdout)
    assert lines["DATABASE_URL"] == "ok: reachable"
    assert lines["SLACK_BOT_TOKEN"] == "ok: valid: workspace Sandbox (T0001), bot @handoff (UBOT)"
    assert lines["SLACK_SIGNING_SECRET"].startswith("ok: set")
    assert "SLACK_APP_TOKEN" not in lines
    assert result.stdout.strip().endswith("handoff: ready to serve")
    assert [c.method for c in slack.calls] == ["auth.test"]


@pytest.mark.parametrize(
    ("token", "revoke", "expected"),
    [
        ("xoxb-wrong", False, "FAILED: Slack does not recognise it (invalid_auth): copy the Bot User OAuth Token"),
        (None, True, "FAILED: it was revoked (token_revoked): reinstall the app to the workspace"),
    ],
    ids=["invalid", "revoked"],
)
def test_check_says_the_bot_token_is_wrong(
    slack: SlackStandIn, db_url: str, tmp_path: Path, token: str | None, revoke: bool, expected: str
) -> None:
    if revoke:
        slack.revoked_tokens.add(slack.token)
    result = _check(tmp_path, SLACK_BOT_TOKEN=token or slack.token, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                    SLACK_API_URL=slack.api_url, DATABASE_URL=db_url)
    assert result.returncode == 1
    assert _lines(result.stdout)["SLACK_BOT_TOKEN"].startswith(expected)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip().endswith("handoff: 1 problem(s) to fix before serving")


def test_check_tries_the_app_token_for_socket_mode(slack: SlackStandIn, db_url: str, tmp_path: Path) -> None:
    good = _check(tmp_path, SLACK_BOT_TOKEN=slack.token, SLACK_APP_TOKEN=slack.app_token,
                  SLACK_API_URL=slack.api_url, DATABASE_URL=db_url)
    assert good.returncode == 0, good.stdout
    assert _lines(good.stdout)["SLACK_APP_TOKEN"] == "ok: valid: Socket Mode can connect"
    assert _lines(good.stdout)["SLACK_SIGNING_SECRET"].startswith("ok: not needed")
    bad = _check(tmp_path, SLACK_BOT_TOKEN=slack.token, SLACK_APP_TOKEN="xapp-1-wrong",
                 SLACK_API_URL=slack.api_url, DATABASE_URL=db_url)
    assert bad.returncode == 1
    assert _lines(bad.stdout)["SLACK_APP_TOKEN"].startswith("FAILED: Slack does not recognise it (invalid_auth)")
    assert _lines(bad.stdout)["SLACK_BOT_TOKEN"].startswith("ok")


def test_check_warns_about_a_signing_secret_that_cannot_be_slacks(slack: SlackStandIn, db_url: str,
                                                                  tmp_path: Path) -> None:
    result = _check(tmp_path, SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET="my secret",
                    SLACK_API_URL=slack.api_url, DATABASE_URL=db_url)
    assert result.returncode == 0
    assert _lines(result.stdout)["SLACK_SIGNING_SECRET"].startswith("warning: set, but Slack's signing secrets")


def test_check_says_when_slack_is_unreachable(db_url: str, tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{_free_port()}/api/"
    result = _check(tmp_path, SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api,
                    DATABASE_URL=db_url)
    assert result.returncode == 1
    assert _lines(result.stdout)["SLACK_API_URL"].startswith(f"FAILED: Slack is unreachable at {api}")
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN is still the placeholder from .env.example: put the Bot User OAuth "
                            "Token (xoxb-…) from OAuth & Permissions in .env"),
        ("SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET is still the placeholder from .env.example: put the "
                                 "Signing Secret from Basic Information > App Credentials in .env"),
    ],
)
def test_check_names_a_value_left_at_the_example_placeholder(
    slack: SlackStandIn, tmp_path: Path, variable: str, expected: str
) -> None:
    # The operator copied .env.example to .env and filled in only the other value.
    example = (ROOT / ".env.example").read_text()
    filled = {"SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    lines = []
    for line in example.splitlines():
        name = line.partition("=")[0]
        if name in filled and name != variable:
            line = f"{name}={filled[name]}"
        lines.append(line)
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    result = _check(tmp_path, SLACK_API_URL=slack.api_url)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"handoff: configuration error: {expected}"]
    assert slack.calls == []


def test_every_placeholder_of_env_example_is_known() -> None:
    from bot.settings import PLACEHOLDERS

    example = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert {name: example[name] for name in PLACEHOLDERS} == PLACEHOLDERS


# -- serving stops with one line when Slack can't be used --------------------------------------------------


@pytest.mark.parametrize("command", [[], ["serve"], ["scheduler"]], ids=["default", "serve", "scheduler"])
def test_serving_with_slack_unreachable_stops_with_one_line(db_url: str, tmp_path: Path,
                                                            command: list[str]) -> None:
    api = f"http://127.0.0.1:{_free_port()}/api/"
    env = process_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api,
               DATABASE_URL=db_url, PORT=str(_free_port()))
    result = subprocess.run([sys.executable, "-m", "bot", *command], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"handoff: cannot start: SLACK_API_URL: Slack is unreachable at {api} ([Errno 111] Connection refused): "
        "check the network, a proxy, or SLACK_API_URL"
    ]


def test_serving_with_a_bad_token_stops_with_one_line(slack: SlackStandIn, db_url: str, tmp_path: Path) -> None:
    env = process_env(SLACK_BOT_TOKEN="xoxb-wrong", SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.api_url,
               DATABASE_URL=db_url, PORT=str(_free_port()))
    result = subprocess.run([sys.executable, "-m", "bot", "serve"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "handoff: cannot start: SLACK_BOT_TOKEN: Slack does not recognise it (invalid_auth)"
    ), result.stderr
