"""Credentials tried against Slack before serving: each finding is one line naming the variable and the fix."""

from __future__ import annotations

import logging
import re
import urllib.error
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import Settings

__all__ = ["Finding", "check_app_token", "check_bot_token", "check_signing_secret", "slack_ready"]

# What Slack's error codes mean for someone setting Handoff up (see auth.test's and
# apps.connections.open's documented errors).
_BOT_TOKEN_ERRORS = {
    "invalid_auth": "Slack does not recognise it (invalid_auth): copy the Bot User OAuth Token (xoxb-…) "
                    "from OAuth & Permissions again",
    "not_authed": "Slack received no token (not_authed): set the Bot User OAuth Token (xoxb-…)",
    "token_revoked": "it was revoked (token_revoked): reinstall the app to the workspace and copy the new token",
    "token_expired": "it has expired (token_expired): reinstall the app, or turn off token rotation",
    "account_inactive": "the app's workspace or bot user is deactivated (account_inactive): reinstall the app",
    "not_allowed_token_type": "it is not a bot token (not_allowed_token_type): use the Bot User OAuth Token",
}
_APP_TOKEN_ERRORS = {
    "invalid_auth": "Slack does not recognise it (invalid_auth): generate an app-level token with the "
                    "connections:write scope under Basic Information",
    "not_allowed_token_type": "it is not an app-level token (not_allowed_token_type): use the xapp-… token "
                              "from Basic Information",
    "missing_scope": "it lacks the connections:write scope (missing_scope): add it to the app-level token",
    "token_revoked": "it was revoked (token_revoked): generate a new app-level token under Basic Information",
}
_SIGNING_SECRET = re.compile(r"^[0-9a-f]{32}$")

# The SDK logs every failed call at ERROR; here the failure is the finding, reported once, in words.
_QUIET = logging.getLogger("bot.preflight.slack_sdk")
_QUIET.disabled = True


def _client(settings: Settings, token: str) -> WebClient:
    # No retries: they would only make a refused or unreachable Slack take longer to report.
    return WebClient(token=token, base_url=settings.api_url, timeout=int(settings.slack_timeout),
                     retry_handlers=[], logger=_QUIET)


@dataclass(frozen=True)
class Finding:
    """One credential's verdict: `ok`, a warning (usable, but suspicious), or a failure with its fix."""

    name: str
    ok: bool
    line: str
    warning: bool = False

    def __str__(self) -> str:
        mark = "ok" if self.ok and not self.warning else ("warning" if self.ok else "FAILED")
        return f"{mark:>7}  {self.name}: {self.line}"


def _unreachable(settings: Settings, error: BaseException) -> str:
    reason: Any = getattr(error, "reason", None) or error
    return f"Slack is unreachable at {settings.api_url} ({reason}): check the network, a proxy, or SLACK_API_URL"


def check_bot_token(settings: Settings) -> Finding:
    """`auth.test` with the bot token: which workspace and bot it is, or why Slack refused it."""
    client = _client(settings, settings.bot_token)
    try:
        reply = client.auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error") or "unknown_error")
        return Finding("SLACK_BOT_TOKEN", False, _BOT_TOKEN_ERRORS.get(code, f"Slack refused it ({code})"))
    except (urllib.error.URLError, OSError) as error:
        return Finding("SLACK_API_URL", False, _unreachable(settings, error))
    return Finding(
        "SLACK_BOT_TOKEN", True,
        f"valid: workspace {reply.get('team')} ({reply.get('team_id')}), bot @{reply.get('user')} "
        f"({reply.get('user_id')})",
    )


def check_app_token(settings: Settings) -> Finding | None:
    """`apps.connections.open` with the app-level token (Socket Mode only; None when it is not used)."""
    if settings.app_token is None:
        return None
    client = _client(settings, settings.app_token)
    try:
        # Opening a connection URL proves the token works; nothing connects to it.
        client.apps_connections_open(app_token=settings.app_token)
    except SlackApiError as error:
        code = str(error.response.get("error") or "unknown_error")
        return Finding("SLACK_APP_TOKEN", False, _APP_TOKEN_ERRORS.get(code, f"Slack refused it ({code})"))
    except (urllib.error.URLError, OSError) as error:
        return Finding("SLACK_API_URL", False, _unreachable(settings, error))
    return Finding("SLACK_APP_TOKEN", True, "valid: Socket Mode can connect")


def check_signing_secret(settings: Settings) -> Finding:
    """The signing secret can't be tried against Slack; say whether it is needed and looks like Slack's."""
    if settings.app_token is not None:
        return Finding("SLACK_SIGNING_SECRET", True, "not needed: Socket Mode requests are not signed")
    if not _SIGNING_SECRET.match(settings.signing_secret):
        return Finding(
            "SLACK_SIGNING_SECRET", True, warning=True,
            line="set, but Slack's signing secrets are 32 hex characters: check Basic Information > "
                 "App Credentials (Slack's requests will be refused with 401 if it is wrong)",
        )
    return Finding("SLACK_SIGNING_SECRET", True, "set (Slack's requests prove it when they arrive)")


def slack_ready(settings: Settings) -> str | None:
    """None when the tokens work; otherwise the one line that says which credential is wrong and how to fix it."""
    for finding in (check_bot_token(settings), check_app_token(settings)):
        if finding is not None and not finding.ok:
            return f"{finding.name}: {finding.line}"
    return None
