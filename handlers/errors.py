"""One place for failures: malformed payloads, duplicate events, unexpected errors, requests nobody listens for."""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse
from slack_sdk.webhook import WebhookClient
from sqlmodel import select

from bot.services import Services
from handlers import payloads
from handlers.payloads import BadPayload
from models.db import BUSY, Unavailable, current_scope
from models.tables import ProcessedEvent

__all__ = ["register", "register_fallbacks"]

log = logging.getLogger(__name__)

ANY = re.compile(".*")
RESPONSE_URL_TIMEOUT = 5  # seconds


def register(app: App, services: Services) -> None:
    """Attach the payload check, the event de-duplication middleware and the global error handler."""

    @app.middleware
    def check_payload(body: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> BoltResponse | None:
        # The HTTP and Socket Mode boundaries (bot/gate.py) parse before Bolt; this covers any other caller.
        if payloads.CONTEXT_KEY not in context:
            try:
                context[payloads.CONTEXT_KEY] = payloads.parse(body)
            except BadPayload as error:
                log.info("refused a malformed Slack request: %s", error)
                return BoltResponse(status=400, body="")
        next()
        return None

    @app.middleware
    def skip_repeated_events(context: BoltContext, next: Callable[[], None]) -> BoltResponse | None:
        # Slack retries an event it thinks we missed; one we already acted on is acknowledged and dropped.
        payload = context.get(payloads.CONTEXT_KEY)
        if isinstance(payload, payloads.Reaction | payloads.MemberJoined) and payload.event_id:
            with services.db.read() as session:
                seen = session.exec(
                    select(ProcessedEvent.event_id).where(
                        ProcessedEvent.team_id == payload.team_id, ProcessedEvent.event_id == payload.event_id
                    )
                ).first()
            if seen is not None:
                return BoltResponse(status=200, body="")
        next()
        return None

    @app.error
    def on_error(error: Exception, body: dict[str, Any], context: BoltContext) -> BoltResponse:
        payload = context.get(payloads.CONTEXT_KEY)
        if isinstance(error, BadPayload):
            log.info("refused a malformed Slack request: %s", error)
            return BoltResponse(status=400, body="")
        if body.get("type") == "event_callback":
            # A non-2xx makes Slack send the event again later; the event de-duplication makes that safe.
            log.error("could not handle %s; Slack will retry it", _what(payload), exc_info=error)
            return BoltResponse(status=500, body="")
        if isinstance(error, Unavailable):
            log.warning("answered %s \"try again\": the database is %s", _what(payload), error.reason)
            return _answer(payload, BUSY_TEXT if error.reason == BUSY else UNWRITABLE_TEXT)
        ref = uuid.uuid4().hex[:8]
        log.error("unexpected error (ref %s) handling %s", ref, _what(payload), exc_info=error)
        scope = current_scope()
        if scope is not None and scope.committed:
            # Something was committed before the failure: what was asked may have gone through.
            apology = f"😓 Sorry, something went wrong on my side (ref `{ref}`), but it may have gone through. "
            apology += "Check `/tasks` before you try again."
        else:
            apology = f"😓 Sorry, something went wrong on my side (ref `{ref}`). Nothing was changed; please try again."
        # Only a verified, validated payload names whom to tell (bot/gate.py refuses anything else earlier).
        if isinstance(payload, payloads.BlockAction | payloads.ViewSubmission):
            try:
                services.tell(
                    team_id=payload.team_id,
                    user_id=payload.user_id,
                    channel_id=payload.channel_id if isinstance(payload, payloads.BlockAction) else None,
                    response_url=payload.response_url if isinstance(payload, payloads.BlockAction) else None,
                    text=apology,
                )
            except Exception:
                log.exception("could not queue the apology (ref %s); answering directly", ref)
                return _answer(payload, apology)
            return _json({"response_type": "ephemeral", "text": apology})
        return _answer(payload, apology)


BUSY_TEXT = "⏳ I'm busy right now; try again in a moment. Nothing was changed."
UNWRITABLE_TEXT = (
    "😓 I can't save anything right now: my database is not taking changes. Nothing was changed; "
    "please try again later (whoever runs Handoff can see why in its log)."
)


def _answer(payload: Any, text: str) -> BoltResponse:
    """Tell the person at once, without the outbox (which may be what cannot be written)."""
    if isinstance(payload, payloads.ViewSubmission) and payload.values:
        # The modal stays open with the words under its first input, so what was typed is not lost.
        first_block = next(iter(payload.values))
        return _json({"response_action": "errors", "errors": {first_block: text.replace("`", "")}})
    if isinstance(payload, payloads.BlockAction) and payload.response_url:
        # A button's acknowledgement shows nothing; its response URL shows an ephemeral to the clicker.
        threading.Thread(target=_post_response, args=(payload.response_url, text), daemon=True).start()
    # A slash command shows this body to the person; Slack ignores it for other requests.
    return _json({"response_type": "ephemeral", "text": text})


def _json(body: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=200, body=json.dumps(body), headers={"content-type": "application/json"})


def _post_response(url: str, text: str) -> None:
    try:
        response = WebhookClient(url, timeout=RESPONSE_URL_TIMEOUT).send_dict(
            {"response_type": "ephemeral", "replace_original": False, "text": text}
        )
    except OSError as error:
        log.warning("could not answer through the response URL: %s", error)
        return
    if response.status_code != 200:
        log.warning("the response URL answered HTTP %s", response.status_code)


def _what(payload: Any) -> str:
    if isinstance(payload, payloads.SlashCommand):
        return f"command {payload.command}"
    if isinstance(payload, payloads.BlockAction):
        return f"action {payload.action_id}"
    if isinstance(payload, payloads.ViewSubmission | payloads.ViewClosed):
        return f"view {payload.callback_id}"
    return type(payload).__name__


def _as_text(name: str) -> str:
    """A command name as text (it was typed into Slack's app settings, but show it inert all the same)."""
    return name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")[:100]


def register_fallbacks(app: App) -> None:
    """Acknowledge everything no listener took, so Slack never sees a 404 nor retries."""

    def acknowledge(ack: Ack) -> None:
        ack()

    def unknown_command(ack: Ack, context: BoltContext) -> None:
        # Only commands configured for the app reach us; one renamed or left over still gets an answer.
        command = payloads.current(context, payloads.SlashCommand)
        ack(response_type="ephemeral", text=f"I don't handle `{_as_text(command.command)}`. Try `/tasks help`.")

    app.command(ANY)(unknown_command)
    app.event(ANY)(acknowledge)
    app.action(ANY)(acknowledge)
    app.view(ANY)(acknowledge)
    app.view_closed(ANY)(acknowledge)
    app.shortcut(ANY)(acknowledge)
    app.options(ANY)(acknowledge)
