"""The boundary Slack's requests cross: the signature first, then one validated shape, then Bolt.

Over HTTP nothing of a request is read, parsed, stored or answered beyond a 401 until its v0 signature
has been checked on the raw bytes. A signed body that is not the shape of its surface gets a 400 and
never reaches a listener; surfaces Handoff does not use get an empty 200. Socket Mode has no signature
(the connection is authenticated), but its envelopes go through the same shape check.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from queue import Empty
from typing import TYPE_CHECKING, Any, Final

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import build_headers, send_response
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from handlers import payloads
from handlers.payloads import BadPayload
from models.db import request_scope

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["MAX_AGE_SECONDS", "MAX_BODY_BYTES", "SocketModeGate", "answer", "is_signed", "slack_endpoint"]

log = logging.getLogger(__name__)

# Slack's rule: a request more than five minutes old may be a replay.
MAX_AGE_SECONDS: Final = 5 * 60
# Slack's biggest bodies (a submitted modal with many inputs) are tens of kilobytes.
MAX_BODY_BYTES: Final = 1024 * 1024
# Unix seconds in ASCII digits; anything else (signs, spaces, "³") is not a timestamp.
_TIMESTAMP_RE: Final = re.compile(rb"[0-9]{1,12}")
# Slack shows "didn't respond" after 3 seconds: a request waits at most this long for database locks,
# then answers "busy, try again" (nothing written) with time to spare.
LOCK_BUDGET: Final = 2.0

_STATUS: Final = {
    200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized", 404: "404 Not Found",
    405: "405 Method Not Allowed", 413: "413 Content Too Large", 500: "500 Internal Server Error",
}


def is_signed(secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float) -> bool:
    """Whether `body` carries Slack's v0 signature made with `secret` within the last five minutes."""
    if not secret or timestamp is None or signature is None:
        return False
    # WSGI hands headers over as latin-1 text; compare them as the bytes that were sent.
    stamp = timestamp.encode("latin-1", errors="replace")
    if not _TIMESTAMP_RE.fullmatch(stamp) or abs(now - int(stamp)) > MAX_AGE_SECONDS:
        return False
    expected = b"v0=" + hmac.new(secret.encode(), b"v0:" + stamp + b":" + body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, signature.encode("latin-1", errors="replace"))


def answer(app: App, body: Any, headers: Mapping[str, str] | None = None) -> BoltResponse:
    """Bolt's answer to one verified (or socket-delivered) body, after checking its shape."""
    try:
        payload = payloads.parse(body)
    except BadPayload as error:
        log.info("refused a malformed Slack request: %s", error)
        return BoltResponse(status=400, body="")
    if isinstance(payload, payloads.UrlVerification):
        return BoltResponse(status=200, body={"challenge": payload.challenge})
    if isinstance(payload, payloads.Ignored):
        log.debug("acknowledged a request Handoff does not use: %s", payload.kind)
        return BoltResponse(status=200, body="")
    # The body is already verified and parsed; Bolt takes a parsed body only in its Socket Mode form,
    # which also skips its own (here redundant) signature check.
    request = BoltRequest(
        body=body, headers=dict(headers or {}), context={payloads.CONTEXT_KEY: payload}, mode="socket_mode"
    )
    with request_scope(LOCK_BUDGET):
        return app.dispatch(request)


def slack_endpoint(
    app: App, signing_secret: str, *, now: Callable[[], float] = time.time
) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """The WSGI app for `POST /slack/events`: 401 unless signed, 400 unless well-formed, else Bolt's answer."""

    def endpoint(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _reply(start_response, 405, "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            return _reply(start_response, 413 if length > 0 else 400, "")
        raw = environ["wsgi.input"].read(length) if length else b""
        if not is_signed(
            signing_secret, raw, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
            environ.get("HTTP_X_SLACK_SIGNATURE"), now(),
        ):
            log.info("refused a request without a valid, fresh Slack signature")
            return _reply(start_response, 401, "")
        try:
            body = payloads.decode(raw, environ.get("CONTENT_TYPE"))
        except BadPayload as error:
            log.info("refused a signed request that is not a Slack body: %s", error)
            return _reply(start_response, 400, "")
        response = answer(app, body, _slack_headers(environ))
        return _reply(start_response, response.status, response.body, response.headers)

    return endpoint


def _slack_headers(environ: WSGIEnvironment) -> dict[str, str]:
    # Bolt reads Slack's retry headers (x-slack-retry-num, x-slack-retry-reason) among others.
    return {
        key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items() if key.startswith("HTTP_")
    }


def _reply(
    start_response: StartResponse, status: int, body: str, headers: Mapping[str, Iterable[str]] | None = None
) -> list[bytes]:
    data = body.encode()
    pairs = [(name, value) for name, values in (headers or {}).items() for value in values
             if name.lower() != "content-length"]
    if not any(name.lower() == "content-type" for name, _ in pairs):
        pairs.append(("Content-Type", "text/plain; charset=utf-8"))
    pairs.append(("Content-Length", str(len(data))))
    start_response(_STATUS.get(status, f"{status} Error"), pairs)
    return [data]


class _SocketClient(SocketModeClient):
    """slack_sdk's client, except that a frame which is not a JSON object is dropped with one log line."""

    def process_message(self) -> None:
        # slack_sdk's own loop logs a traceback for such frames and carries on; ours only says so.
        try:
            raw = self.message_queue.get(timeout=1)
        except Empty:
            return
        message = _object(raw)
        if message is None:
            log.info("ignored a Socket Mode frame that is not a JSON object")
            return
        if message.get("type") == "disconnect":
            self.connect_to_new_endpoint(force=True)
            return
        if "envelope_id" in message and not isinstance(message.get("payload"), dict):
            # slack_sdk cannot even build a request from these; acknowledge so that Slack does not resend.
            log.info("acknowledged a Socket Mode envelope whose payload is not an object")
            if isinstance(message["envelope_id"], str):
                self.send_socket_mode_response(SocketModeResponse(envelope_id=message["envelope_id"]))
            return
        self.message_workers.submit(self.run_message_listeners, message, raw)


def _object(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, str):
        return None
    try:
        return payloads.decode(raw.encode("utf-8", "surrogatepass"), "application/json")
    except BadPayload:
        return None


class SocketModeGate(BaseSocketModeHandler):
    """Bolt's built-in Socket Mode handler, with every envelope's payload checked like an HTTP body."""

    def __init__(self, app: App, app_token: str) -> None:
        self.app = app
        self.client = _SocketClient(app_token=app_token, logger=app.logger, web_client=app.client)
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        """Answer one envelope; one Handoff refuses is still acknowledged, so Slack does not resend it.

        One that failed on Handoff's side (a 5xx, e.g. an event while the database was locked) is not:
        Slack sends it again, and the event de-duplication makes that safe.
        """
        started = time.time()
        response = answer(self.app, req.payload, build_headers(req))  # type: ignore[arg-type]
        if response.status == 200:
            send_response(client, req, response, started)
        elif response.status < 500:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
