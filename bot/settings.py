"""Settings from the environment and `.env`, validated once at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from dotenv import dotenv_values

__all__ = ["PLACEHOLDERS", "Settings", "SettingsError", "load_settings"]

# The values `.env.example` ships with: a copy that was never filled in must not look configured.
PLACEHOLDERS = {
    "SLACK_BOT_TOKEN": "xoxb-your-bot-token",
    "SLACK_SIGNING_SECRET": "your-signing-secret",
}
_WHERE = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-…) from OAuth & Permissions",
    "SLACK_SIGNING_SECRET": "the Signing Secret from Basic Information > App Credentials",
}

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_EMOJI = re.compile(r"^[a-z0-9_+\-']+$")


class SettingsError(Exception):
    """A missing or malformed setting; the message is one line naming the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    """Everything Handoff reads from its environment."""

    bot_token: str
    signing_secret: str
    app_token: str | None = None
    api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///handoff.db"
    host: str = "0.0.0.0"
    port: int = 3000
    threads: int = 8
    pool_channel: str | None = None
    managers: frozenset[str] = field(default_factory=frozenset)
    admins: frozenset[str] = field(default_factory=frozenset)
    claim_emoji: frozenset[str] = frozenset({"raised_hand"})
    done_emoji: frozenset[str] = frozenset({"white_check_mark"})
    start_emoji: frozenset[str] = frozenset({"eyes"})
    # A reaction that turns any message into a pool task (🎫, as Jira Service Management and Halp use).
    task_emoji: frozenset[str] = frozenset({"ticket"})
    log_level: str = "INFO"
    slack_timeout: float = 10.0
    reminder_leads: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    overdue_grace: timedelta = timedelta(hours=4)
    unclaimed_after: timedelta = timedelta(hours=2)
    unclaimed_escalate_after: timedelta = timedelta(hours=4)
    work_hours: str = "9:00-17:00 mon-fri"
    # Whether DMs wait for working hours for people who have not chosen (`/tasks quiet on|off`).
    quiet_hours: bool = True
    sweep_seconds: int = 30
    # Outbox delivery: how long a worker holds a row it took (renewed per attempt) and the longest back-off.
    outbox_lease: timedelta = timedelta(minutes=5)
    outbox_max_backoff: timedelta = timedelta(minutes=5)
    # Channels and people delivered to side by side (each in order).
    delivery_lanes: int = 16
    # Days to keep sent outbox rows, and processed-event keys and digest runs, before pruning them.
    retention_outbox_days: int = 7
    retention_events_days: int = 30

    def __repr__(self) -> str:
        # Secrets never reach logs, even when the settings object itself is logged.
        return (
            f"Settings(api_url={self.api_url!r}, database={_redact_url(self.database_url)!r}, "
            f"port={self.port}, socket_mode={self.app_token is not None}, pool={self.pool_channel!r})"
        )

    __str__ = __repr__


def _redact_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def load_settings(env: Mapping[str, str] | None = None, *, dotenv_path: str | Path | None = ".env") -> Settings:
    """Read settings from `env` (default: the process environment over `.env`), or raise SettingsError."""
    if env is None:
        merged: dict[str, str] = {}
        if dotenv_path is not None and Path(dotenv_path).is_file():
            merged.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        merged.update(os.environ)
        env = merged
    return _parse(env)


def _parse(env: Mapping[str, str]) -> Settings:
    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        if name in PLACEHOLDERS and value == PLACEHOLDERS[name]:
            raise SettingsError(f"{name} is still the placeholder from .env.example: put {_WHERE[name]} in .env")
        return value or None

    token = get("SLACK_BOT_TOKEN")
    if token is None:
        raise SettingsError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) into .env")
    if not token.startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with xoxb- (see OAuth & Permissions)")
    app_token = get("SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting with xapp- (Basic Information)")
    secret = get("SLACK_SIGNING_SECRET")
    if secret is None and app_token is None:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is not set: copy the Signing Secret from Basic Information into .env"
        )
    api_url = get("SLACK_API_URL") or "https://slack.com/api/"
    if not re.match(r"^https?://", api_url):
        raise SettingsError("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/")
    if not api_url.endswith("/"):
        api_url += "/"
    database_url = get("DATABASE_URL") or "sqlite:///handoff.db"
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", database_url):
        raise SettingsError(
            "DATABASE_URL must start with sqlite:/// or postgresql:// (e.g. sqlite:///handoff.db)"
        )
    pool = get("HANDOFF_POOL_CHANNEL")
    if pool is not None and not _CHANNEL_ID.match(pool):
        raise SettingsError("HANDOFF_POOL_CHANNEL must be a channel id such as C0123ABCD (not a #name)")
    managers = _id_list(get("HANDOFF_MANAGERS"), "HANDOFF_MANAGERS", _USER_ID, "user ids such as U0123ABCD")
    admins = _id_list(get("HANDOFF_ADMINS"), "HANDOFF_ADMINS", _USER_ID, "user ids such as U0123ABCD")
    timeout = _int(get("HANDOFF_SLACK_TIMEOUT"), "HANDOFF_SLACK_TIMEOUT", 10, 1, 120)
    emoji = {
        name: _emoji(get(name), name, default) for name, default in (
            ("HANDOFF_CLAIM_EMOJI", "raised_hand"), ("HANDOFF_DONE_EMOJI", "white_check_mark"),
            ("HANDOFF_START_EMOJI", "eyes"), ("HANDOFF_TASK_EMOJI", "ticket"),
        )
    }
    task_and_card = emoji["HANDOFF_TASK_EMOJI"] & (
        emoji["HANDOFF_CLAIM_EMOJI"] | emoji["HANDOFF_DONE_EMOJI"] | emoji["HANDOFF_START_EMOJI"]
    )
    if task_and_card:
        # One reaction can't both make a task of a message and move a card.
        raise SettingsError(f"HANDOFF_TASK_EMOJI shares {', '.join(sorted(task_and_card))} with a card's reactions")
    return Settings(
        bot_token=token,
        signing_secret=secret or "",
        app_token=app_token,
        api_url=api_url,
        database_url=database_url,
        host=get("HOST") or "0.0.0.0",
        port=_int(get("PORT"), "PORT", 3000, 1, 65535),
        threads=_int(get("HANDOFF_THREADS"), "HANDOFF_THREADS", 8, 1, 64),
        pool_channel=pool,
        managers=managers,
        admins=admins,
        claim_emoji=emoji["HANDOFF_CLAIM_EMOJI"],
        done_emoji=emoji["HANDOFF_DONE_EMOJI"],
        start_emoji=emoji["HANDOFF_START_EMOJI"],
        task_emoji=emoji["HANDOFF_TASK_EMOJI"],
        log_level=_log_level(get("LOG_LEVEL")),
        slack_timeout=float(timeout),
        reminder_leads=tuple(
            sorted(_durations(get("HANDOFF_REMINDER_LEADS") or "24h,1h", "HANDOFF_REMINDER_LEADS"), reverse=True)
        ),
        overdue_grace=_durations(get("HANDOFF_OVERDUE_GRACE") or "4h", "HANDOFF_OVERDUE_GRACE")[0],
        unclaimed_after=_durations(get("HANDOFF_UNCLAIMED_AFTER") or "2h", "HANDOFF_UNCLAIMED_AFTER")[0],
        unclaimed_escalate_after=_durations(
            get("HANDOFF_UNCLAIMED_ESCALATE_AFTER") or "4h", "HANDOFF_UNCLAIMED_ESCALATE_AFTER"
        )[0],
        work_hours=_work_hours(get("HANDOFF_WORK_HOURS")),
        quiet_hours=_switch(get("HANDOFF_QUIET_HOURS"), "HANDOFF_QUIET_HOURS", True),
        sweep_seconds=_int(get("HANDOFF_SWEEP_SECONDS"), "HANDOFF_SWEEP_SECONDS", 30, 5, 3600),
        outbox_lease=_outbox_lease(get("HANDOFF_OUTBOX_LEASE_SECONDS"), timeout),
        outbox_max_backoff=timedelta(
            seconds=_int(get("HANDOFF_OUTBOX_MAX_BACKOFF_SECONDS"), "HANDOFF_OUTBOX_MAX_BACKOFF_SECONDS", 300, 1, 3600)
        ),
        delivery_lanes=_int(get("HANDOFF_DELIVERY_LANES"), "HANDOFF_DELIVERY_LANES", 16, 1, 32),
        retention_outbox_days=_int(get("HANDOFF_RETENTION_OUTBOX_DAYS"), "HANDOFF_RETENTION_OUTBOX_DAYS", 7, 1, 3650),
        retention_events_days=_int(get("HANDOFF_RETENTION_EVENTS_DAYS"), "HANDOFF_RETENTION_EVENTS_DAYS", 30, 1, 3650),
    )


def _int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number between {low} and {high}, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _switch(raw: str | None, name: str, default: bool) -> bool:
    if raw is None:
        return default
    word = raw.lower()
    if word not in {"on", "off", "true", "false", "yes", "no", "1", "0"}:
        raise SettingsError(f"{name} must be on or off, not {raw!r}")
    return word in {"on", "true", "yes", "1"}


def _outbox_lease(raw: str | None, timeout: int) -> timedelta:
    # A lease shorter than one row's worst case (three calls at the timeout, plus a lookup) lets a second
    # worker take a row whose post is still in flight.
    seconds = _int(raw, "HANDOFF_OUTBOX_LEASE_SECONDS", max(300, 4 * timeout), 5, 3600)
    if seconds < 4 * timeout:
        raise SettingsError(
            f"HANDOFF_OUTBOX_LEASE_SECONDS must be at least 4 × HANDOFF_SLACK_TIMEOUT ({4 * timeout}), not {seconds}"
        )
    return timedelta(seconds=seconds)


def _id_list(raw: str | None, name: str, pattern: re.Pattern[str], what: str) -> frozenset[str]:
    if raw is None:
        return frozenset()
    items = [item.strip() for item in raw.split(",") if item.strip()]
    bad = [item for item in items if not pattern.match(item)]
    if bad:
        raise SettingsError(f"{name} must be a comma-separated list of {what}; {bad[0]!r} is not one")
    return frozenset(items)


def _emoji(raw: str | None, name: str, default: str) -> frozenset[str]:
    if raw is None:
        return frozenset({default})
    items = [item.strip().strip(":") for item in raw.split(",") if item.strip()]
    bad = [item for item in items if not _EMOJI.match(item)]
    if not items or bad:
        raise SettingsError(f"{name} must be emoji names such as raised_hand,hand (without colons)")
    return frozenset(items)


_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def _durations(raw: str, name: str) -> list[timedelta]:
    """Comma-separated durations such as `24h,1h` or `1h30m`."""
    values = []
    for item in (part.strip().lower() for part in raw.split(",")):
        match = _DURATION.match(item)
        if not item or match is None or not any(match.groups()):
            raise SettingsError(f"{name} must be durations such as 24h,1h or 90m (d, h, m), not {raw!r}")
        days, hours, minutes = (int(g or 0) for g in match.groups())
        values.append(timedelta(days=days, hours=hours, minutes=minutes))
    return values


def _work_hours(raw: str | None) -> str:
    from zoneinfo import ZoneInfo

    from models.errors import BadInput
    from models.worktime import parse_work_hours

    text = raw or "9:00-17:00 mon-fri"
    try:
        parse_work_hours(text, ZoneInfo("UTC"))
    except BadInput:
        raise SettingsError(f"HANDOFF_WORK_HOURS must look like 9:00-17:00 mon-fri, not {text!r}") from None
    return text


def _log_level(raw: str | None) -> str:
    level = (raw or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
    return level
