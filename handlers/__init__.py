"""Bolt listeners, one module per Slack surface; each exposes `register(app, services)`."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from handlers import actions, commands, errors, events, home, messages, shortcuts, views

__all__ = ["register_all"]


def register_all(app: App, services: Services) -> None:
    """Attach every listener, the middleware and the error handler to `app`."""
    errors.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    shortcuts.register(app, services)
    messages.register(app, services)
    home.register(app, services)
    events.register(app, services)
    # Last: whatever no listener above wanted is still acknowledged, never answered 404.
    errors.register_fallbacks(app)
