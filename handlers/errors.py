"""One place for failures: duplicate events, unexpected errors, and requests nobody listens for."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltResponse
from sqlmodel import select

from bot.services import Services
from models.tables import ProcessedEvent

__all__ = ["register", "register_fallbacks"]

log = logging.getLogger(__name__)

ANY = re.compile(".*")


def register(app: App, services: Services) -> None:
    """Attach the event de-duplication middleware and the global error handler."""

    @app.middleware
    def skip_repeated_events(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        # Slack retries an event it thinks we missed; one we already acted on is acknowledged and dropped.
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            with services.db.read() as session:
                seen = session.exec(
                    select(ProcessedEvent.event_id).where(
                        ProcessedEvent.team_id == body.get("team_id", ""), ProcessedEvent.event_id == event_id
                    )
                ).first()
            if seen is not None:
                return BoltResponse(status=200, body="")
        next()
        return None

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        ref = uuid.uuid4().hex[:8]
        log.error("unexpected error (ref %s) handling %s", ref, _what(body), exc_info=error)
        apology = f"😓 Sorry, something went wrong on my side (ref `{ref}`). Nothing was changed; please try again."
        user = body.get("user_id") or (body.get("user") or {}).get("id")
        if body.get("command") is None and user and body.get("type") in {"block_actions", "view_submission"}:
            try:
                services.tell(
                    team_id=str((body.get("team") or {}).get("id") or body.get("team_id") or ""),
                    user_id=str(user),
                    channel_id=(body.get("channel") or {}).get("id"),
                    response_url=body.get("response_url"),
                    text=apology,
                )
            except Exception:
                log.exception("could not queue the apology (ref %s)", ref)
        # A slash command shows this body to the person; Slack ignores it for other requests.
        return BoltResponse(
            status=200, body=json.dumps({"response_type": "ephemeral", "text": apology}),
            headers={"content-type": "application/json"},
        )


def _what(body: dict[str, Any]) -> str:
    if body.get("command"):
        return f"command {body['command']}"
    if body.get("type") == "event_callback":
        return f"event {(body.get('event') or {}).get('type')}"
    return str(body.get("type"))


def register_fallbacks(app: App) -> None:
    """Acknowledge everything no listener took, so Slack never sees a 404 nor retries."""

    def acknowledge(ack: Ack) -> None:
        ack()

    app.event(ANY)(acknowledge)
    app.action(ANY)(acknowledge)
    app.view(ANY)(acknowledge)
    app.shortcut(ANY)(acknowledge)
    app.options(ANY)(acknowledge)
