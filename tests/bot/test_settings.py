"""Settings: every variable validated, one clear line per mistake, no secret in a repr."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-secret-token", "SLACK_SIGNING_SECRET": "very-secret"}


def test_defaults() -> None:
    settings = load_settings(BASE)
    assert settings.api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///handoff.db"
    assert settings.port == 3000 and settings.app_token is None
    assert settings.claim_emoji == frozenset({"raised_hand"}) and settings.managers == frozenset()
    assert settings.quiet_hours


def test_every_setting_is_read() -> None:
    settings = load_settings({
        **BASE,
        "SLACK_APP_TOKEN": "xapp-1-abc",
        "SLACK_API_URL": "http://127.0.0.1:9999/api",
        "DATABASE_URL": "postgresql://u:pw@db:5432/handoff",
        "PORT": "8080",
        "HANDOFF_THREADS": "4",
        "HANDOFF_POOL_CHANNEL": "C0POOL",
        "HANDOFF_MANAGERS": "U01, U02",
        "HANDOFF_ADMINS": "U03",
        "HANDOFF_CLAIM_EMOJI": ":hand:,raised_hand",
        "HANDOFF_DONE_EMOJI": "heavy_check_mark",
        "HANDOFF_START_EMOJI": "runner",
        "HANDOFF_SLACK_TIMEOUT": "5",
        "LOG_LEVEL": "debug",
        "HANDOFF_QUIET_HOURS": "Off",
    })
    assert settings.api_url == "http://127.0.0.1:9999/api/"  # slack_sdk needs the trailing slash
    assert settings.managers == frozenset({"U01", "U02"})
    assert settings.admins == frozenset({"U03"})
    assert settings.claim_emoji == frozenset({"hand", "raised_hand"})
    assert (settings.port, settings.threads, settings.slack_timeout, settings.log_level) == (8080, 4, 5.0, "DEBUG")
    assert settings.pool_channel == "C0POOL" and settings.app_token == "xapp-1-abc"
    assert not settings.quiet_hours


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN must be a bot token"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({**BASE, "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN must be an app-level token"),
        ({**BASE, "PORT": "http"}, "PORT must be a whole number"),
        ({**BASE, "PORT": "70000"}, "PORT must be between 1 and 65535"),
        ({**BASE, "DATABASE_URL": "mysql://x"}, "DATABASE_URL must start with"),
        ({**BASE, "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL must be an http(s) URL"),
        ({**BASE, "HANDOFF_POOL_CHANNEL": "#pool"}, "HANDOFF_POOL_CHANNEL must be a channel id"),
        ({**BASE, "HANDOFF_MANAGERS": "U01,@mia"}, "HANDOFF_MANAGERS must be a comma-separated list"),
        ({**BASE, "HANDOFF_ADMINS": "rita"}, "HANDOFF_ADMINS must be a comma-separated list"),
        ({**BASE, "SLACK_BOT_TOKEN": "xoxb-your-bot-token"}, "SLACK_BOT_TOKEN is still the placeholder"),
        ({**BASE, "SLACK_SIGNING_SECRET": "your-signing-secret"}, "SLACK_SIGNING_SECRET is still the placeholder"),
        ({**BASE, "HANDOFF_CLAIM_EMOJI": "✋"}, "HANDOFF_CLAIM_EMOJI must be emoji names"),
        ({**BASE, "LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
        ({**BASE, "HANDOFF_QUIET_HOURS": "sometimes"}, "HANDOFF_QUIET_HOURS must be on or off"),
    ],
)
def test_mistakes_are_named_in_one_line(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert names in message and "\n" not in message


def test_socket_mode_needs_no_signing_secret() -> None:
    assert load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}).signing_secret == ""


def test_secrets_never_show_in_repr() -> None:
    settings = load_settings({**BASE, "DATABASE_URL": "postgresql://handoff:pg-password@db/handoff"})
    shown = repr(settings) + str(settings)
    assert "secret-token" not in shown and "very-secret" not in shown and "pg-password" not in shown
    assert "handoff:***@db" in shown


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=file-secret\nPORT=4000\n")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PORT", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings(dotenv_path=dotenv)
    assert settings.bot_token == "xoxb-from-file" and settings.port == 5000


def test_outbox_delivery_settings() -> None:
    defaults = load_settings(BASE)
    assert defaults.outbox_lease == timedelta(minutes=5) and defaults.outbox_max_backoff == timedelta(minutes=5)
    assert defaults.delivery_lanes == 16
    tuned = load_settings({
        **BASE, "HANDOFF_OUTBOX_LEASE_SECONDS": "60", "HANDOFF_OUTBOX_MAX_BACKOFF_SECONDS": "2",
        "HANDOFF_DELIVERY_LANES": "1",
    })
    assert (tuned.outbox_lease, tuned.outbox_max_backoff, tuned.delivery_lanes) == (
        timedelta(seconds=60), timedelta(seconds=2), 1
    )
    with pytest.raises(SettingsError, match="HANDOFF_DELIVERY_LANES must be between 1 and 32"):
        load_settings({**BASE, "HANDOFF_DELIVERY_LANES": "0"})
    with pytest.raises(SettingsError, match="HANDOFF_OUTBOX_LEASE_SECONDS must be at least 4 × HANDOFF_SLACK_TIMEOUT"):
        load_settings({**BASE, "HANDOFF_SLACK_TIMEOUT": "30", "HANDOFF_OUTBOX_LEASE_SECONDS": "60"})
    assert load_settings({**BASE, "HANDOFF_SLACK_TIMEOUT": "120"}).outbox_lease == timedelta(minutes=8)
