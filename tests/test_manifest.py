"""manifest.yml asks Slack for what the app uses: its commands, shortcuts, events and the scopes they need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sandbox.web import COMMANDS, SHORTCUTS

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_the_sandbox_offers_the_commands_and_shortcuts_the_manifest_declares() -> None:
    features = manifest()["features"]
    assert [c["command"] for c in features["slash_commands"]] == [c["command"] for c in COMMANDS]
    declared = [(s["callback_id"], s["type"], s["name"]) for s in features["shortcuts"]]
    assert declared == [(s["callback_id"], s["type"], s["name"]) for s in SHORTCUTS]
    for shortcut in features["shortcuts"]:
        # Slack's limits on a shortcut: a name of at most 24 characters, a description of at most 80.
        assert len(shortcut["name"]) <= 24 and len(shortcut["description"]) <= 80


def test_the_scopes_cover_what_the_app_calls() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "im:write", "reactions:read", "users:read", "channels:history",
            "groups:history", "im:history", "app_mentions:read", "users.profile:read", "usergroups:read"} <= scopes


def test_the_events_are_those_the_app_listens_for() -> None:
    events = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "app_mention", "message.channels", "message.groups", "message.im", "reaction_added",
            "reaction_removed", "member_joined_channel", "user_change", "team_join"} <= events
    home = manifest()["features"]["app_home"]
    assert home["messages_tab_enabled"] is True and home["home_tab_enabled"] is True
