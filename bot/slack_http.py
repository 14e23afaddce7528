"""A Slack Web API client that keeps its HTTP connections open between calls.

slack_sdk's `WebClient` opens a new connection (and, against slack.com, a new TLS session) for every
call through `urllib`. Delivery makes thousands of calls in a burst; setting each connection up cost more
CPU than the call itself, on both ends. This client keeps one connection per thread and host, and is
otherwise slack_sdk's: the same requests, errors, retry handlers and responses.

A reused connection can have been closed by the server while it sat idle. That is checked before each
request (a closed socket reads as ready), so a request is only sent on a connection that looks alive; if
the send or the answer still fails, the error propagates like any network failure and the connection is
dropped. It is never resent here: a `chat.postMessage` that may have been received must be looked up
first, which the outbox does for every failure it cannot rule out.
"""

from __future__ import annotations

import http.client
import io
import select
import ssl
import threading
import time
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient

__all__ = ["KeepAliveWebClient", "MAX_IDLE_SECONDS"]

# A connection idle longer than this is closed rather than reused: servers and proxies drop idle
# connections after a while, and a fresh one costs less than a failed call.
MAX_IDLE_SECONDS = 20.0


class _Connections(threading.local):
    """This thread's open connections, by (scheme, host, port), with when each was last used."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str, int], tuple[http.client.HTTPConnection, float]] = {}


class KeepAliveWebClient(WebClient):
    """`WebClient` over persistent HTTP/1.1 connections (one per thread and host)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connections = _Connections()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https") or not parts.hostname:
            return super()._perform_urllib_http_request_internal(url, req)
        key = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        conn = self._connection(key)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("POST", target, body=req.data, headers=dict(req.header_items()))
            response = conn.getresponse()
            body = response.read()
        except BaseException:
            # Whatever was in flight may still arrive on this connection: never read it as another answer.
            self._drop(key)
            raise
        if response.will_close:
            self._drop(key)
        else:
            self._connections.open[key] = (conn, time.monotonic())
        if response.status >= 400:
            # What urllib raises, so that slack_sdk's handling (429, Retry-After, error bodies) is unchanged.
            raise HTTPError(url, response.status, response.reason, response.msg, io.BytesIO(body))
        if response.msg.get_content_type() == "application/gzip":
            return {"status": response.status, "headers": response.msg, "body": body}
        charset = response.msg.get_content_charset() or "utf-8"
        return {"status": response.status, "headers": response.msg, "body": body.decode(charset)}

    def close(self) -> None:
        """Close this thread's connections (others close when their threads end)."""
        for key in list(self._connections.open):
            self._drop(key)

    def _connection(self, key: tuple[str, str, int]) -> http.client.HTTPConnection:
        held = self._connections.open.get(key)
        if held is not None:
            conn, last_used = held
            if time.monotonic() - last_used <= MAX_IDLE_SECONDS and _alive(conn):
                return conn
            self._drop(key)
        scheme, host, port = key
        timeout: Any = self.timeout
        if scheme == "https":
            context = self.ssl if isinstance(self.ssl, ssl.SSLContext) else ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self._connections.open[key] = (conn, time.monotonic())
        return conn

    def _drop(self, key: tuple[str, str, int]) -> None:
        held = self._connections.open.pop(key, None)
        if held is not None:
            held[0].close()


def _alive(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection can carry a request: between answers nothing may be readable, so a
    readable socket is one the server closed (or sent something unasked), and it is not reused."""
    sock = conn.sock
    if sock is None:
        return True  # not connected yet: http.client connects on the request
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
