"""A loopback HTTP stand-in for the Slack Web API, for tests and local try-outs.

The stand-in keeps workspace state (users, channels, messages, views) in memory, answers the
Web API methods the bot uses with Slack-shaped responses, records every call, and can be told
to fail the next call(s) of a method in the ways real Slack fails.

It is as strict as Slack (unless built with `strict=False`): Block Kit is validated as Slack
validates it (`sandbox.blockkit`), methods and arguments against Slack's published contract
(`sandbox.contract`), trigger ids and response URLs expire, and with `rate_limits=True` calls over
Slack's rate limits get 429 with Retry-After (`sandbox.ratelimit`). Every refusal of a payload
Slack would refuse is kept in `violations`.

It also plays Slack's Socket Mode: `apps.connections.open` (with the app-level token) hands out a
`ws://` URL on the same server, and the `socket_*` methods push envelopes to the connected app
and collect its acks.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, TypeVar, cast, get_args
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from sandbox.blockkit import ack_refusal, message_refusal, view_problems
from sandbox.contract import Contract
from sandbox.ratelimit import RateLimiter
from sandbox.socket_mode import (
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    WebSocketConnection,
    accept_key,
    handshake_problem,
)

JSONDict = dict[str, Any]
SocketEnvelopeType = Literal["slash_commands", "events_api", "interactive"]

# Slack ts values are "seconds.micros"; starting from a fixed instant keeps ids and permalinks
# deterministic across test runs.
_TS_EPOCH = 1_700_000_000
_TS_STEP_MICROS = 100

# Fields that Slack accepts as JSON-encoded strings inside form bodies.
_JSON_STRING_FIELDS = ("blocks", "attachments", "metadata", "view")

# Answers that mean the bot sent what Slack would refuse: a test that provokes one fails (see `violations`).
CONTRACT_ERRORS = frozenset(
    {
        "invalid_blocks", "invalid_blocks_format", "invalid_arguments", "msg_too_long", "unknown_method",
        "invalid_trigger_id", "expired_trigger_id", "exchanged_trigger_id", "invalid_metadata_format",
        "no_text", "invalid_json", "json_not_object", "invalid_payload",
    }
)

# HTTP-level failures that `fail_next` understands; anything else is an `ok: false` error string.
_HTTP_FAILURES = {"ratelimited": 429, "server_error": 500, "service_unavailable": 503}
_HANG_FAILURES = ("timeout", "timeout_after_success")

_MAX_VIEW_STACK = 3
# A response_url takes at most 5 posts within 30 minutes; a trigger_id works once, within 3 seconds.
# (https://docs.slack.dev/interactivity/handling-user-interaction)
_RESPONSE_URL_USES = 5
_RESPONSE_URL_SECONDS = 30 * 60
_TRIGGER_SECONDS = 3.0

# Socket Mode: the only Web API method that takes the app-level (xapp-) token, and where it points.
_APP_TOKEN_METHOD = "apps.connections.open"
_SOCKET_PATH = "/socket/"
_SOCKET_HOST = "applink-sandbox"
# Interactive payloads whose ack body Slack uses (response_action, options); others ignore it.
_INTERACTIVE_WITH_RESPONSE = ("view_submission", "block_suggestion")
_VERIFICATION_TOKEN = "sandbox-verification-token"

# View fields a bot may set; the rest (id, hash, root_view_id, ...) are assigned by Slack.
_VIEW_SETTABLE = frozenset(
    {"blocks", "private_metadata", "callback_id", "clear_on_close", "notify_on_close", "external_id"}
)

_TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "UTC": "Coordinated Universal Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "IST": "India Standard Time",
    "JST": "Japan Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
}


@dataclass(frozen=True)
class ApiCall:
    """One request the stand-in received, in arrival order.

    `ok` says whether Slack would have reported success; `injected` names the failure from
    `fail_next` that this call consumed, if any; `messages` are Slack's reasons for a refusal;
    `clock` is the stand-in's steady clock (its `timer`) when the call arrived.
    """

    method: str
    params: JSONDict
    at: float
    ok: bool = True
    error: str | None = None
    injected: str | None = None
    messages: tuple[str, ...] = ()
    clock: float = 0.0


class SlackError(Exception):
    """An `ok: false` answer; `messages` become `response_metadata.messages` as Slack sends them."""

    def __init__(self, error: str, messages: Iterable[str] = ()) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)


@dataclass
class _Failure:
    error: str
    remaining: int
    retry_after: int


@dataclass
class _Storm:
    """Random failures on a share of calls: `rate` of them, drawn from a seeded generator."""

    rate: float
    rng: random.Random
    methods: frozenset[str] | None
    retry_after: int


# What a storm answers, evenly: a 429, a 500, or acting and answering only after the client gave up.
_STORM_FAILURES = ("ratelimited", "server_error", "timeout_after_success")


@dataclass
class _Reply:
    status: int
    body: JSONDict
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    im_user: str | None = None
    members: list[str] = field(default_factory=list)
    bot_is_member: bool = True
    is_archived: bool = False
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass(eq=False)
class _Socket:
    """A live Socket Mode connection; `retiring` ones get no new envelopes."""

    conn: WebSocketConnection
    thread: threading.Thread
    retiring: bool = False


@dataclass
class _ResponseUrl:
    id: str
    channel: str | None
    user_id: str | None
    message_ts: str | None
    uses: int = 0
    minted_at: float = 0.0


@dataclass
class _Trigger:
    user_id: str
    minted_at: float
    used: bool = False


_J = TypeVar("_J")


def _copy(value: _J) -> _J:
    """A deep copy of JSON-shaped data, several times faster than `copy.deepcopy` (which the stand-in would
    otherwise spend a fifth of its time in, copying every message's blocks in and out)."""
    return cast(_J, _copied(value))


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    if value is None or isinstance(value, (str, int, float)):
        return value
    return copy.deepcopy(value)


def _flag(value: Any) -> bool:
    """Slack booleans arrive as JSON booleans, "true"/"false" or (from slack_sdk forms) "1"/"0"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return isinstance(value, str) and value.strip().lower() in ("1", "true", "yes")


def _int_param(params: JSONDict, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise SlackError("invalid_arguments", [f"[ERROR] {name} must be an integer"]) from exc


def _ts_key(ts: str, error: str = "invalid_arguments") -> tuple[int, int]:
    """Order ts strings exactly; floats lose the micro digits Slack relies on for identity."""
    seconds, _, fraction = str(ts).partition(".")
    try:
        return int(seconds or 0), int((fraction + "000000")[:6])
    except ValueError as exc:
        raise SlackError(error) from exc


def _encode_cursor(prefix: str, key: str) -> str:
    return base64.b64encode(f"{prefix}:{key}".encode()).decode()


def _decode_cursor(prefix: str, cursor: str) -> str:
    try:
        decoded = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise SlackError("invalid_cursor") from exc
    head, sep, key = decoded.partition(":")
    if head != prefix or not sep:
        raise SlackError("invalid_cursor")
    return key


def _paginate(
    items: list[JSONDict], key: Callable[[JSONDict], str], params: JSONDict, prefix: str, default_limit: int
) -> tuple[list[JSONDict], str]:
    """Slice `items` by Slack's cursor protocol; returns the page and the next cursor ("" at the end)."""
    limit = _int_param(params, "limit", default_limit)
    start = 0
    cursor = params.get("cursor") or ""
    if cursor:
        wanted = _decode_cursor(prefix, str(cursor))
        keys = [key(item) for item in items]
        if wanted not in keys:
            raise SlackError("invalid_cursor")
        start = keys.index(wanted)
    end = start + limit if limit > 0 else len(items)
    next_cursor = _encode_cursor(prefix, key(items[end])) if end < len(items) else ""
    return items[start:end], next_cursor


def event_envelope(
    event: JSONDict, *, token: str, team_id: str, api_app_id: str, bot_user_id: str, event_id: str, event_time: int
) -> JSONDict:
    """The `event_callback` envelope Slack wraps an event in, over HTTP and over Socket Mode alike."""
    return {
        "token": token,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_hex(16)}",
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a held ("timeout") request must never keep the process alive

    def __init__(self, standin: SlackStandIn) -> None:
        self.standin = standin
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server_version = "SlackStandIn/1.0"
    # As slack.com: HTTP/1.1, so a client may keep its connection open between calls (every reply
    # carries its Content-Length). Headers and body are two writes: without this, Nagle's algorithm
    # and the client's delayed ACK hold each answer on a kept connection ~40 ms.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        cast(_Server, self.server).standin._track(self.connection, True)

    def finish(self) -> None:
        cast(_Server, self.server).standin._track(self.connection, False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; `.calls` is the log that matters."""

    def do_GET(self) -> None:
        if urlsplit(self.path).path.startswith(_SOCKET_PATH):
            cast(_Server, self.server).standin._serve_socket(self)
        else:
            self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        standin = cast(_Server, self.server).standin
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        content_type = self.headers.get("Content-Type") or ""
        if url.path.startswith("/api/"):
            method = url.path[len("/api/") :]
            reply = standin._handle_api(
                method, url.query, raw, content_type, self.headers.get("Authorization")
            )
            standin._lag()
        elif url.path.startswith("/response/"):
            reply = standin._handle_response_url(url.path[len("/response/") :], raw, content_type)
        else:
            reply = _Reply(404, {"ok": False, "error": "not_found"})
        if not reply.hang:
            self._write(reply)
            return
        with standin._holding:
            standin._held += 1
        try:
            standin._hang()
            self._write(reply)
        finally:
            with standin._holding:
                standin._held -= 1
                standin._holding.notify_all()

    def _write(self, reply: _Reply) -> None:
        payload = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            # The client gave up (the point of the timeout failures); nothing left to tell it.
            pass


class SlackStandIn:
    """In-memory Slack workspace served over loopback HTTP; see the module docstring.

    Use as `with SlackStandIn() as slack:` and give the bot `WebClient(base_url=slack.api_url)`.
    For Socket Mode, also start `SocketModeHandler(app, slack.app_token)`, wait for
    `slack.socket_connected()`, then drive it with `socket_command`/`socket_event`/`socket_interactive`
    and read the bot's answers with `socket_ack`.
    """

    def __init__(
        self,
        token: str = "xoxb-test",
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        bot_id: str = "B0001",
        *,
        bot_name: str = "handoff",
        app_id: str = "A0001",
        team_domain: str = "sandbox",
        app_token: str = "xapp-test",
        clock: Callable[[], float] | None = None,
        timer: Callable[[], float] | None = None,
        strict: bool = True,
        contract: Contract | None = None,
        rate_limits: bool = False,
    ) -> None:
        self.token = token
        self.app_token = app_token
        # Tokens Slack has revoked (the app was uninstalled, or the token regenerated): `token_revoked`.
        self.revoked_tokens: set[str] = set()
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self.team_domain = team_domain
        self.hang_seconds = 2.0
        # With a clock, message ts follow it (as Slack's follow real time); without, they count up from a
        # fixed instant so tests see the same ids on every run.
        self._clock = clock
        # Seconds on any steady clock: trigger and response_url expiry and rate limits run on it, so a
        # test can prove an expiry by moving a fake clock instead of sleeping.
        self._timer: Callable[[], float] = timer or time.monotonic
        # Strict: blocks, views, methods, arguments and interaction rules are checked as Slack checks them.
        self.strict = strict
        self.contract = contract if contract is not None else Contract.load()
        self._limiter: RateLimiter | None = RateLimiter(self._timer) if rate_limits else None
        self._violations: list[ApiCall] = []
        # One re-entrant lock guards all state; the condition lets tests wait for calls without sleeping.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._released = threading.Event()
        # Requests held by a "timeout" failure, until they have written their answer (see `stop`).
        self._holding = threading.Condition()
        self._held = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()  # open client connections, kept alive or not
        self.connections_opened = 0  # TCP connections accepted since start (clients may keep theirs)
        self._ts_counter = 0
        self._id_counter = 0
        self._users: dict[str, JSONDict] = {}
        self._channels: dict[str, _Channel] = {}
        self._messages: dict[str, list[JSONDict]] = {}
        self._ephemerals: list[JSONDict] = []
        self._edits: list[JSONDict] = []
        self._views: dict[str, JSONDict] = {}
        self._open_views: list[JSONDict] = []
        self._home_views: dict[str, JSONDict] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._responses: list[tuple[str, JSONDict]] = []
        self._calls: list[ApiCall] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._storm: _Storm | None = None
        self._latency = 0.0
        self._socket_tickets: set[str] = set()
        self._sockets: list[_Socket] = []
        self._socket_seq = 0
        self._acks: dict[str, JSONDict] = {}
        # What Slack reads from each envelope's ack payload ("command", "view_submission"), if anything.
        self._ack_kinds: dict[str, str] = {}
        # Who each trigger_id was minted for (so whose screen a modal opened with it appears on), and when.
        self._triggers: dict[str, _Trigger] = {}
        self._view_users: dict[str, str] = {}
        self._view_errors: dict[str, JSONDict] = {}
        # Bumped on every change a person could see; the browser workspace long-polls on it.
        self._version = 0
        self.add_user(bot_user_id, bot_name, real_name=bot_name.title(), is_bot=True)

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SlackStandIn:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("SlackStandIn is already running")
        self._released.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; held ("timeout") requests are released and sockets closed so this never hangs."""
        self._released.set()
        # The requests just released write their answer (a gateway timeout) before their connections are
        # shut below: cut mid-write, a client read a broken response instead of an error.
        with self._holding:
            self._holding.wait_for(lambda: self._held == 0, timeout=2)
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            # WebSocket readers run on request threads that server.shutdown() does not stop.
            sock.conn.close(CLOSE_GOING_AWAY, "server stopping")
            sock.conn.abort()
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            kept = list(self._connections)
        for connection in kept:
            # Nor does it end kept-alive connections: a stopped Slack must answer nobody.
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None:
            thread.join(timeout=5)
        for sock in sockets:
            sock.thread.join(timeout=5)

    def __enter__(self) -> SlackStandIn:
        return self if self._server is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` of the running server."""
        if self._server is None:
            raise RuntimeError("SlackStandIn is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """Web API base for `WebClient(base_url=...)`; the trailing slash matters to slack_sdk."""
        return f"{self.base_url}/api/"

    # ----------------------------------------------------------------- seed data

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        tz: str = "America/New_York",
        is_bot: bool = False,
        deleted: bool = False,
        title: str = "",
        is_admin: bool = False,
        is_owner: bool = False,
        locale: str = "en-US",
        status_text: str = "",
        status_emoji: str = "",
        status_expiration: int = 0,
    ) -> JSONDict:
        """Create or replace a workspace member; returns the users.info `user` object.

        The status is Slack's profile status: `status_expiration` in Unix seconds, 0 for none.

        `is_owner` and `is_admin` are Slack's workspace roles (an owner is an admin too, as in Slack).
        `locale` (Slack's default is `en-US`) is returned only to calls that pass `include_locale`.
        """
        ZoneInfo(tz)  # fail at seeding time, not in the middle of a request
        real = real_name if real_name is not None else name
        user: JSONDict = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "color": "9f69e7",
            "real_name": real,
            "tz": tz,
            "locale": locale,
            "is_admin": is_admin or is_owner,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
            "profile": {
                "real_name": real,
                "real_name_normalized": real,
                "display_name": name,
                "display_name_normalized": name,
                "title": title,
                "team": self.team_id,
                "status_text": status_text,
                "status_emoji": status_emoji,
                "status_expiration": status_expiration,
            },
        }
        if is_bot and user_id == self.bot_user_id:
            user["profile"]["bot_id"] = self.bot_id
            user["profile"]["api_app_id"] = self.app_id
        with self._lock:
            self._users[user_id] = user
            return self._user_view(user, include_locale=True)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        members: Iterable[str] = (),
        bot_is_member: bool = True,
        is_private: bool = False,
        is_archived: bool = False,
    ) -> JSONDict:
        """Create or replace a public/private channel; returns the conversations.info `channel` object."""
        channel = _Channel(
            id=channel_id,
            name=name,
            is_private=is_private,
            members=list(dict.fromkeys(members)),
            bot_is_member=bot_is_member,
            is_archived=is_archived,
        )
        with self._lock:
            self._channels[channel_id] = channel
            self._messages.setdefault(channel_id, [])
            return self._channel_view(channel)

    def add_member(self, channel_id: str, user_id: str) -> None:
        """Add a user (or the bot, by its user id) to a channel."""
        with self._lock:
            channel = self._channels[channel_id]
            if user_id == self.bot_user_id:
                channel.bot_is_member = True
            elif user_id not in channel.members:
                channel.members.append(user_id)

    def add_message(
        self,
        channel: str,
        user_id: str,
        text: str,
        *,
        thread_ts: str | None = None,
        blocks: list[JSONDict] | None = None,
    ) -> JSONDict:
        """Seed a message written by a person (e.g. the target of a message shortcut)."""
        with self._lock:
            channel_id = self._resolve_for_post(channel)
            message: JSONDict = {
                "type": "message",
                "user": user_id,
                "text": text,
                "ts": self._next_ts(),
                "team": self.team_id,
            }
            if blocks is not None:
                message["blocks"] = _copy(blocks)
            self._store_message(channel_id, message, thread_ts, broadcast=False)
            self._bump()
            return _copy(message)

    def add_reaction(self, channel: str, ts: str, name: str, user_id: str) -> None:
        """Record a reaction made by a person, so Slack state matches a `reaction_added` event."""
        with self._lock:
            message = self._find_message(self._channel_id(channel), ts)
            self._react(message, name, user_id)
            self._bump()

    def remove_reaction(self, channel: str, ts: str, name: str, user_id: str) -> None:
        """Undo `add_reaction`, matching a `reaction_removed` event."""
        with self._lock:
            message = self._find_message(self._channel_id(channel), ts)
            self._unreact(message, name, user_id)
            self._bump()

    def dm_id(self, user_id: str) -> str:
        """The id of the bot's DM with a user, opening it if needed."""
        with self._lock:
            return self._open_dm(user_id)

    def new_response_url(
        self, *, channel: str | None = None, user_id: str | None = None, message_ts: str | None = None
    ) -> str:
        """Mint a response_url; with channel/user/message it also acts on the workspace like Slack's."""
        with self._lock:
            self._id_counter += 1
            response_id = f"R{self._id_counter:05d}{secrets.token_hex(4)}"
            self._response_urls[response_id] = _ResponseUrl(
                response_id, channel, user_id, message_ts, minted_at=self._timer()
            )
        return f"{self.base_url}/response/{response_id}"

    # ----------------------------------------------------------------- failure injection

    def fail_next(self, method: str, error: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Make the next `times` calls of `method` fail with `error`.

        "ratelimited" -> 429 + Retry-After; "server_error" -> 500; "service_unavailable" -> 503;
        "timeout" -> hold `hang_seconds`, do nothing; "timeout_after_success" -> act, then hold;
        anything else -> HTTP 200 `{"ok": false, "error": error}` without acting.
        Use method "response_url" to fail posts to response URLs.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(error, times, retry_after))

    def clear_failures(self) -> None:
        """Drop every failure not yet consumed, and end any storm."""
        with self._lock:
            self._failures.clear()
            self._storm = None

    def storm(
        self, rate: float = 0.3, *, seed: int = 0, methods: Iterable[str] | None = None, retry_after: int = 1
    ) -> None:
        """From now on fail a random `rate` of calls (response URLs too), reproducibly for a `seed`.

        Each failure is, evenly, a 429 with Retry-After `retry_after`, a 500, or "late": the call acts,
        then answers after `hang_seconds`, past a client's timeout. `methods` limits it to those methods
        ("response_url" for response URLs); `storm(0)` (or `clear_failures()`) ends it. Failures queued
        with `fail_next` are used first.
        """
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        with self._lock:
            chosen = frozenset(methods) if methods is not None else None
            self._storm = _Storm(rate, random.Random(seed), chosen, retry_after) if rate > 0 else None

    def slow_down(self, seconds: float) -> None:
        """Answer every Web API call `seconds` late (after acting), as a loaded Slack does; 0 ends it."""
        with self._lock:
            self._latency = seconds

    def close_idle_connections(self) -> int:
        """Close every open client connection, as a server or proxy closes kept-alive ones that sat idle
        (call it with no call in flight); returns how many. A client must notice and open another."""
        with self._lock:
            kept = list(self._connections)
        closed = 0
        for connection in kept:
            try:
                connection.shutdown(socket.SHUT_RDWR)
                closed += 1
            except OSError:
                pass
        return closed

    def enable_rate_limits(self, enabled: bool = True) -> None:
        """Apply Slack's rate limits from now on (429 + Retry-After), or stop applying them."""
        with self._lock:
            self._limiter = RateLimiter(self._timer) if enabled else None

    @property
    def violations(self) -> list[ApiCall]:
        """Every payload refused for breaking Slack's contract (blocks, arguments, triggers, acks), oldest first.

        Kept across `reset_calls()`; a scenario suite asserts this is empty after each test.
        """
        with self._lock:
            return list(self._violations)

    def clear_violations(self) -> None:
        """Forget recorded violations (for a test that provokes one on purpose)."""
        with self._lock:
            self._violations.clear()

    # ----------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[ApiCall]:
        """Every request received so far (failed ones too), oldest first."""
        with self._lock:
            return list(self._calls)

    def permalink(self, channel_id: str, ts: str) -> str:
        """What chat.getPermalink answers for a message (without recording a call)."""
        with self._lock:
            return str(self._chat_get_permalink({"channel": channel_id, "message_ts": ts})["permalink"])

    def calls_to(self, method: str) -> list[ApiCall]:
        """Calls of one method, oldest first."""
        with self._lock:
            return [call for call in self._calls if call.method == method]

    def reset_calls(self) -> None:
        """Forget recorded calls (workspace state is kept)."""
        with self._lock:
            self._calls.clear()

    def wait_for(self, predicate: Callable[[SlackStandIn], bool], timeout: float = 5.0) -> bool:
        """Block until `predicate(self)` holds (re-checked after every call); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout=timeout)

    def wait_for_call(self, method: str, *, count: int = 1, timeout: float = 5.0) -> list[ApiCall]:
        """Wait until `method` has been called `count` times; raises TimeoutError otherwise."""
        if not self.wait_for(lambda s: len(s.calls_to(method)) >= count, timeout):
            raise TimeoutError(f"{method} called {len(self.calls_to(method))} times, expected {count}")
        return self.calls_to(method)

    def messages(
        self, channel: str, *, thread_ts: str | None = None, include_replies: bool = False
    ) -> list[JSONDict]:
        """Messages in a channel (a user id means the DM with them), oldest first.

        By default only what conversations.history shows (top level and broadcast replies);
        `include_replies` adds thread replies; `thread_ts` gives just that thread's replies.
        """
        with self._lock:
            channel_id = self._known_channel(channel)
            stored = self._messages.get(channel_id, []) if channel_id else []
            if thread_ts is not None:
                picked = [m for m in stored if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts]
            elif include_replies:
                picked = list(stored)
            else:
                picked = [m for m in stored if self._in_history(m)]
            return _copy(picked)

    def dms(self, user_id: str) -> list[JSONDict]:
        """Everything in the bot's DM with a user, thread replies included, oldest first."""
        return self.messages(user_id, include_replies=True)

    def ephemerals(self, user_id: str | None = None, channel: str | None = None) -> list[JSONDict]:
        """Ephemeral messages, optionally for one recipient and/or channel, oldest first."""
        with self._lock:
            channel_id = self._known_channel(channel) if channel is not None else None
            return _copy(
                [
                    e
                    for e in self._ephemerals
                    if (user_id is None or e["user"] == user_id)
                    and (channel is None or e["channel"] == channel_id)
                ]
            )

    def _known_channel(self, channel: str) -> str | None:
        """Channel id for an inspection helper; a typo'd channel raises rather than looking empty."""
        channel_id = self._lookup_channel_id(channel)
        if channel_id is not None:
            return channel_id
        # Unseeded channels still count once something landed there (e.g. via a response_url).
        if channel in self._messages or any(e["channel"] == channel for e in self._ephemerals):
            return channel
        if channel not in self._users:
            raise KeyError(f"unknown channel {channel!r}")
        return None  # a user whose DM was never opened, so nothing in it

    def message(self, channel: str, ts: str) -> JSONDict:
        """One stored message; KeyError if there is none."""
        with self._lock:
            channel_id = self._lookup_channel_id(channel)
            for message in self._messages.get(channel_id or "", []):
                if message["ts"] == ts:
                    return _copy(message)
        raise KeyError(f"no message {ts} in {channel}")

    def user(self, user_id: str) -> JSONDict:
        """The users.info object of a seeded user; KeyError if unknown."""
        with self._lock:
            return self._user_view(self._users[user_id])

    def channel(self, channel_id: str) -> JSONDict:
        """The conversations.info object of a channel or DM; KeyError if unknown."""
        with self._lock:
            return self._channel_view(self._channels[channel_id])

    @property
    def edits(self) -> list[JSONDict]:
        """Every chat.update/response_url replacement: {channel, ts, before, after, at}."""
        with self._lock:
            return _copy(self._edits)

    @property
    def views(self) -> dict[str, JSONDict]:
        """All views ever opened, pushed or published, by view id (latest version)."""
        with self._lock:
            return _copy(self._views)

    @property
    def open_views(self) -> list[JSONDict]:
        """Modals currently open (opened or pushed and not closed), oldest first."""
        with self._lock:
            return _copy(self._open_views)

    @property
    def home_views(self) -> dict[str, JSONDict]:
        """The published App Home view per user id."""
        with self._lock:
            return _copy(self._home_views)

    @property
    def responses(self) -> list[tuple[str, JSONDict]]:
        """Accepted response_url posts as (response id, payload), oldest first."""
        with self._lock:
            return _copy(self._responses)

    def close_view(self, view_id: str, *, clear: bool = False) -> None:
        """Close a modal as the user would (with `clear`, its whole stack)."""
        with self._lock:
            view = self._views.get(view_id)
            if view is None:
                return
            if clear:
                root = view["root_view_id"]
                self._open_views = [v for v in self._open_views if v["root_view_id"] != root]
            else:
                self._open_views = [v for v in self._open_views if v["id"] != view_id]
            self._view_errors.pop(view_id, None)
            self._bump()

    def apply_view_response(self, view_id: str, response: Any) -> None:
        """Apply a bot's answer to a view_submission (`response_action`) to the open modals."""
        with self._lock:
            if self.check_ack("view_submission", response) is not None:
                return  # Slack keeps the modal as it was and shows a generic error
            action = response.get("response_action") if isinstance(response, dict) else None
            if action == "errors":
                errors = response.get("errors") if isinstance(response, dict) else None
                inputs = {
                    b.get("block_id") for b in self._views[view_id].get("blocks") or []
                    if isinstance(b, dict) and b.get("type") == "input"
                }
                unknown = sorted(str(k) for k in (errors or {}) if k not in inputs)
                if self.strict and unknown:
                    # Slack shows the person a generic error and none of the messages.
                    self._record("ack:view_submission", _copy(response), ok=False, error="invalid_arguments",
                                 messages=[f"errors name no input block of the view: {', '.join(unknown)}"])
                    return
                self._view_errors[view_id] = _copy(errors) if isinstance(errors, dict) else {}
                self._bump()
                return
            self._view_errors.pop(view_id, None)
            if action == "update" and isinstance(response, dict):
                self._update_view(self._views[view_id], response.get("view"), None)
            elif action == "push" and isinstance(response, dict):
                self._push_view(response.get("view"))
            else:
                self.close_view(view_id, clear=action == "clear")
            self._bump()

    # ----------------------------------------------------------------- what a person sees

    @property
    def version(self) -> int:
        """A counter that grows with every change a person could see (calls, messages, reactions, views)."""
        with self._lock:
            return self._version

    def touch(self) -> None:
        """Count a change made outside the stand-in (say, the sandbox clock moving) as visible."""
        with self._changed:
            self._bump()

    def wait_for_version(self, since: int, timeout: float) -> int:
        """Block until `version` exceeds `since` or `timeout` passes; returns the version then."""
        with self._changed:
            self._changed.wait_for(lambda: self._version > since, timeout=timeout)
            return self._version

    def mint_trigger(self, user_id: str) -> str:
        """A trigger_id for something `user_id` did; a modal opened with it appears on their screen."""
        with self._lock:
            trigger = f"{self._next_id('')}.{int(time.time())}.{secrets.token_hex(16)}"
            self._triggers[trigger] = _Trigger(user_id, self._timer())
            return trigger

    def command_response(self, channel_id: str, user_id: str, body: Any) -> None:
        """Show the body a slash command was acknowledged with, as Slack does (ephemeral unless in_channel)."""
        if isinstance(body, str):
            body = {"text": body}
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return  # an empty ack shows nothing
        with self._lock:
            if self.check_ack("command", body) is not None:
                return  # Slack shows the person an error instead of the reply
            self._apply_response(_ResponseUrl("ack", channel_id, user_id, None), body)
            self._bump()

    def check_ack(self, kind: str, body: Any) -> str | None:
        """Validate an ack body the way Slack reads it; returns the error (recorded as a violation) or None.

        `kind` is "command" (a message: text and blocks) or "view_submission" (`response_action`
        with a `view` for update/push, or `errors`); other interactions' ack bodies are ignored by Slack.
        """
        refusal = ack_refusal(kind, body) if self.strict else None
        if refusal is None:
            return None
        error, problems = refusal
        with self._lock:
            params = body if isinstance(body, dict) else {"raw": body}
            self._record(f"ack:{kind}", params, ok=False, error=error, messages=problems)
        return error

    def dismiss_ephemeral(self, user_id: str, channel_id: str, ts: str) -> bool:
        """The person closed one of their ephemeral messages; False if there was no such message."""
        with self._lock:
            for ephemeral in self._ephemerals:
                if ephemeral["user"] == user_id and ephemeral["channel"] == channel_id and ephemeral["ts"] == ts:
                    self._ephemerals.remove(ephemeral)
                    self._bump()
                    return True
            return False

    def ephemeral(self, user_id: str, channel_id: str, ts: str) -> JSONDict:
        """One of a person's ephemeral messages; KeyError if there is none."""
        for ephemeral in self.ephemerals(user_id, channel_id):
            if ephemeral["ts"] == ts:
                return ephemeral
        raise KeyError(f"no ephemeral {ts} for {user_id} in {channel_id}")

    def view_owner(self, view_id: str) -> str | None:
        """Whose screen a modal is on (known when it was opened with a trigger from `mint_trigger`)."""
        with self._lock:
            return self._view_users.get(view_id)

    def snapshot(self, user_id: str) -> JSONDict:
        """Everything `user_id` can see in their Slack client, as data: the browser workspace renders this.

        Channels they are in and their DM with the bot (every message and thread reply), their own
        ephemerals, the modals open on their screen (with any errors the bot returned), their App Home.
        """
        with self._lock:
            if user_id not in self._users:
                raise KeyError(f"unknown user {user_id!r}")
            dm = self._open_dm(user_id)
            channels = [c for c in self._channels.values() if not c.is_im and not c.is_archived]
            visible = [c for c in channels if user_id in c.members or not c.is_private]
            conversations: list[JSONDict] = [
                {"id": c.id, "name": c.name, "kind": "channel", "is_private": c.is_private} for c in visible
            ]
            conversations.append({"id": dm, "name": self._users[self.bot_user_id]["real_name"], "kind": "dm"})
            messages = {
                str(c["id"]): self._strip_metadata(self._messages.get(str(c["id"]), []), {}) for c in conversations
            }
            modals = []
            for view in self._open_views:
                if self._view_users.get(view["id"]) == user_id:
                    shown = _copy(view)
                    shown["errors"] = _copy(self._view_errors.get(view["id"], {}))
                    modals.append(shown)
            home = self._home_views.get(user_id)
            return {
                "version": self._version,
                "users": {
                    uid: {
                        "name": u["name"], "real_name": u["real_name"], "tz": u["tz"], "is_bot": u["is_bot"],
                        "title": u["profile"].get("title", ""),
                    }
                    for uid, u in self._users.items()
                },
                "channels": {c.id: c.name for c in self._channels.values() if not c.is_im},
                "conversations": conversations,
                "messages": messages,
                "ephemerals": _copy([e for e in self._ephemerals if e["user"] == user_id]),
                "modals": modals,
                "home": _copy(home) if home is not None else None,
            }

    # ----------------------------------------------------------------- Socket Mode

    def socket_connected(self, timeout: float = 5.0) -> bool:
        """Wait until an app holds a usable Socket Mode connection; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._live_socket() is not None, timeout=timeout)

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections are open right now (retiring ones included)."""
        with self._lock:
            return len(self._sockets)

    def socket_send(
        self,
        type_: SocketEnvelopeType,
        payload: JSONDict,
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Push one envelope to the newest live connection; returns its envelope_id.

        Raises RuntimeError when no app is connected (wait with `socket_connected()` first).
        """
        if type_ not in get_args(SocketEnvelopeType):
            raise ValueError(f"unknown Socket Mode envelope type {type_!r}")
        envelope_id = str(uuid.uuid4())
        envelope: JSONDict = {
            "envelope_id": envelope_id,
            "payload": _copy(payload),
            "type": type_,
            "accepts_response_payload": accepts_response_payload,
        }
        if type_ == "events_api" or retry_attempt:
            # Slack sends the retry fields with every Events API envelope, 0 and "" on first delivery.
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        with self._lock:
            target = self._live_socket()
            if type_ == "slash_commands":
                self._ack_kinds[envelope_id] = "command"
            elif type_ == "interactive" and isinstance(payload, dict) and payload.get("type") == "view_submission":
                self._ack_kinds[envelope_id] = "view_submission"
        if target is None:
            raise RuntimeError("no Socket Mode connection; wait for one with socket_connected()")
        target.conn.send_text(json.dumps(envelope))
        return envelope_id

    def socket_ack(self, envelope_id: str, timeout: float = 5.0) -> JSONDict | None:
        """Wait for the app's ack of an envelope and return it (`payload` is the response body)."""
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self._acks, timeout=timeout):
                return None
            return _copy(self._acks[envelope_id])

    def socket_command(
        self,
        user_id: str,
        command: str,
        text: str = "",
        *,
        channel_id: str,
        response_url: str | None = None,
    ) -> str:
        """Deliver a slash command over Socket Mode; the payload holds the HTTP form fields."""
        with self._lock:
            user = self._users.get(user_id)
            channel = self._channels.get(channel_id)
        trigger_id = self.mint_trigger(user_id)
        if channel_id.startswith("D"):
            channel_name = "directmessage"
        else:
            channel_name = channel.name if channel is not None else channel_id.lower()
        payload = {
            "token": _VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": str(user["name"]) if user is not None else user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or self.new_response_url(channel=channel_id, user_id=user_id),
            "trigger_id": trigger_id,
        }
        return self.socket_send("slash_commands", payload, accepts_response_payload=True)

    def socket_event(
        self, event: JSONDict, *, event_id: str | None = None, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        """Deliver an Events API event; the payload is the same `event_callback` envelope HTTP gets."""
        now = time.time()
        with self._lock:
            fresh_id = f"Ev{self._next_id('')}"
        payload = event_envelope(
            {"event_ts": f"{now:.6f}", **_copy(event)},
            token=_VERIFICATION_TOKEN, team_id=self.team_id, api_app_id=self.app_id,
            bot_user_id=self.bot_user_id, event_id=event_id or fresh_id, event_time=int(now),
        )
        return self.socket_send("events_api", payload, retry_attempt=retry_attempt, retry_reason=retry_reason)

    def socket_interactive(self, payload: JSONDict) -> str:
        """Deliver an interactivity payload (block_actions, view_submission, shortcut, ...) as given."""
        accepts = payload.get("type") in _INTERACTIVE_WITH_RESPONSE
        return self.socket_send("interactive", payload, accepts_response_payload=accepts)

    def socket_disconnect(self, reason: str | None = "refresh_requested", *, timeout: float = 5.0) -> None:
        """Retire the newest connection the way Slack refreshes one; returns once it is closed.

        With a `reason`, a `{"type": "disconnect"}` message goes first and the app gets up to
        `timeout` to open its replacement (via apps.connections.open) before the close frame.
        With `reason=None` only the close frame is sent: slack_sdk's builtin client then stays
        disconnected until its next `ping_interval` check. Without any connection this is a no-op.
        """
        with self._changed:
            target = self._live_socket()
            if target is None:
                return
            target.retiring = True
            seq = self._socket_seq
        if reason is not None:
            message = {"type": "disconnect", "reason": reason, "debug_info": {"host": _SOCKET_HOST}}
            try:
                target.conn.send_text(json.dumps(message))
            except OSError:
                pass  # already gone; the close below is then a no-op
            with self._changed:
                # Closing only after the replacement is up keeps the app reachable throughout.
                self._changed.wait_for(lambda: self._socket_seq > seq or target not in self._sockets, timeout)
        target.conn.close(CLOSE_NORMAL, reason or "")
        with self._changed:
            closed = self._changed.wait_for(lambda: target not in self._sockets, timeout)
        if not closed:
            target.conn.abort()

    # ----------------------------------------------------------------- request handling

    def _hang(self) -> None:
        self._released.wait(self.hang_seconds)

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
                self.connections_opened += 1
            else:
                self._connections.discard(connection)

    def _lag(self) -> None:
        if self._latency:
            self._released.wait(self._latency)

    def _live_socket(self) -> _Socket | None:
        """The connection new envelopes go to: the newest one not retiring (lock held)."""
        for sock in reversed(self._sockets):
            if not sock.retiring and not sock.conn.close_sent:
                return sock
        return None

    def _serve_socket(self, handler: _Handler) -> None:
        """Upgrade GET /socket/<ticket> to a WebSocket and serve it on this request thread until it ends."""
        ticket = urlsplit(handler.path).path[len(_SOCKET_PATH) :]
        problem = handshake_problem(handler.request_version, handler.headers)
        with self._lock:
            known = ticket in self._socket_tickets
        if problem is None and not known:
            problem = (404, "invalid_ticket")
        if problem is not None:
            status, error = problem
            headers = {"Sec-WebSocket-Version": "13", "Upgrade": "websocket"} if status == 426 else {}
            handler._write(_Reply(status, {"ok": False, "error": error}, headers))
            return
        # Whatever happens below, this TCP connection carries no further HTTP requests.
        handler.close_connection = True
        handler.protocol_version = "HTTP/1.1"
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept_key(str(handler.headers["Sec-WebSocket-Key"])))
        handler.end_headers()
        conn = WebSocketConnection(handler.connection, handler.rfile.read, self._on_socket_text, name=ticket)
        with self._lock:
            hello = {
                "type": "hello",
                "num_connections": len(self._sockets) + 1,
                "debug_info": {"host": _SOCKET_HOST, "build_number": 1, "approximate_connection_time": 3600},
                "connection_info": {"app_id": self.app_id},
            }
        try:
            # Slack always says hello first; registering only afterwards keeps envelopes behind it.
            conn.send_text(json.dumps(hello))
        except OSError:
            return
        with self._changed:
            if self._server is None:
                # stop() already took its snapshot of sockets to close; do not outlive it.
                conn.close(CLOSE_GOING_AWAY, "server stopping")
                return
            self._socket_seq += 1
            sock = _Socket(conn, threading.current_thread())
            self._sockets.append(sock)
            self._changed.notify_all()
        try:
            conn.run()
        finally:
            with self._changed:
                self._sockets.remove(sock)
                self._changed.notify_all()

    def _on_socket_text(self, conn: WebSocketConnection, text: str) -> None:
        """Record acks (`{"envelope_id": ..., "payload": ...}`); the first ack of an envelope counts."""
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            return  # Slack ignores junk on the socket too
        if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
            with self._changed:
                first = message["envelope_id"] not in self._acks
                self._acks.setdefault(message["envelope_id"], message)
                kind = self._ack_kinds.pop(message["envelope_id"], None)
                if first and kind is not None and "payload" in message:
                    # Over Socket Mode the ack payload is the same body an HTTP ack would carry.
                    self.check_ack(kind, message["payload"])
                self._changed.notify_all()

    def _handle_api(
        self, method: str, query: str, raw: bytes, content_type: str, authorization: str | None
    ) -> _Reply:
        # Slack reads a JSON body only for methods that accept one; others see just the query string.
        json_read = not self.strict or self.contract.accepts_json(method)
        try:
            params = self._parse_params(query, raw, content_type, json_body=json_read)
        except SlackError as exc:
            self._record(method, {}, ok=False, error=exc.error)
            return _Reply(200, {"ok": False, "error": exc.error})
        token = params.pop("token", None)
        if authorization and authorization.lower().startswith("bearer "):
            token = authorization[len("bearer ") :].strip()
        handler = self._methods().get(method)
        if handler is None:
            return self._fail_call(method, params, "unknown_method")
        if not token:
            return self._fail_call(method, params, "not_authed")
        if token in self.revoked_tokens:
            return self._fail_call(method, params, "token_revoked")
        expected, other = (self.app_token, self.token) if method == _APP_TOKEN_METHOD else (self.token, self.app_token)
        if token != expected:
            # A genuine token of the other kind (bot vs app-level) is refused by type, as Slack does.
            return self._fail_call(method, params, "not_allowed_token_type" if token == other else "invalid_auth")
        if self.strict:
            problem = self.contract.problem(method, params)
            if problem is not None:
                error, messages = problem
                return self._fail_call(method, params, error, messages)
        limited = self._rate_limited(method, params)
        if limited is not None:
            return limited
        return self._run(method, params, handler)

    def _rate_limited(self, method: str, params: JSONDict) -> _Reply | None:
        """With rate limits on, the 429 Slack sends for a call over its method's (or channel's) limit."""
        with self._lock:
            if self._limiter is None:
                return None
            channel = str(params.get("channel") or "") if method == "chat.postMessage" else None
            retry_after = self._limiter.check(method, channel)
            if retry_after is None:
                return None
            self._record(method, params, ok=False, error="ratelimited")
            return _Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})

    def _run(self, method: str, params: JSONDict, handler: Callable[[JSONDict], JSONDict]) -> _Reply:
        with self._lock:
            failure = self._take_failure(method)
            if failure is not None and failure.error != "timeout_after_success":
                reply = self._failure_reply(failure)
                self._record(method, params, ok=False, error=str(reply.body["error"]), injected=failure.error)
                return reply
            messages: list[str] = []
            try:
                body = {"ok": True, **handler(params)}
            except SlackError as exc:
                body = {"ok": False, "error": exc.error}
                messages = exc.messages
                if exc.messages:
                    body["response_metadata"] = {"messages": exc.messages}
            except Exception as exc:  # a stand-in bug must surface as an answer, not a dropped socket
                error = f"sandbox_internal_error: {type(exc).__name__}: {exc}"
                self._record(method, params, ok=False, error=error)
                return _Reply(500, {"ok": False, "error": error})
            injected = failure.error if failure is not None else None
            self._record(
                method, params, ok=body["ok"], error=body.get("error"), injected=injected, messages=messages
            )
            return _Reply(200, body, hang=failure is not None)

    def _fail_call(self, method: str, params: JSONDict, error: str, messages: Iterable[str] = ()) -> _Reply:
        listed = list(messages)
        self._record(method, params, ok=False, error=error, messages=listed)
        body: JSONDict = {"ok": False, "error": error}
        if listed:
            body["response_metadata"] = {"messages": listed}
        return _Reply(200, body)

    def _failure_reply(self, failure: _Failure) -> _Reply:
        if failure.error == "ratelimited":
            return _Reply(
                429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(failure.retry_after)}
            )
        if failure.error in _HTTP_FAILURES:
            return _Reply(_HTTP_FAILURES[failure.error], {"ok": False, "error": failure.error})
        if failure.error == "timeout":
            # If the client is still listening after hang_seconds it sees a gateway timeout.
            return _Reply(504, {"ok": False, "error": "request_timeout"}, hang=True)
        return _Reply(200, {"ok": False, "error": failure.error})

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return self._storm_failure(method)
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        return failure

    def _storm_failure(self, method: str) -> _Failure | None:
        storm = self._storm
        if storm is None or (storm.methods is not None and method not in storm.methods):
            return None
        if storm.rng.random() >= storm.rate:
            return None
        return _Failure(storm.rng.choice(_STORM_FAILURES), 1, storm.retry_after)

    def _record(
        self,
        method: str,
        params: JSONDict,
        *,
        ok: bool,
        error: str | None = None,
        injected: str | None = None,
        messages: Iterable[str] = (),
    ) -> None:
        with self._changed:
            call = ApiCall(
                method, _copy(params), time.time(), ok, error, injected, tuple(messages), self._timer()
            )
            self._calls.append(call)
            if error in CONTRACT_ERRORS and injected is None:
                self._violations.append(call)
            self._bump()

    @staticmethod
    def _parse_params(query: str, raw: bytes, content_type: str, *, json_body: bool = True) -> JSONDict:
        params: JSONDict = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        if raw:
            if "json" in content_type.lower() and not json_body:
                pass  # ignored, as Slack ignores it: the arguments in it are simply missing
            elif "json" in content_type.lower():
                try:
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise SlackError("invalid_json") from exc
                if not isinstance(body, dict):
                    raise SlackError("json_not_object")
                params.update(body)
            else:
                form = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
                params.update({k: v[-1] for k, v in form.items()})
        for name in _JSON_STRING_FIELDS:
            value = params.get(name)
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                try:
                    params[name] = json.loads(value)
                except json.JSONDecodeError:
                    pass  # left as a string; the method reports it the way Slack would
        return params

    def _handle_response_url(self, response_id: str, raw: bytes, content_type: str) -> _Reply:
        text = raw.decode("utf-8", errors="replace")
        if "x-www-form-urlencoded" in content_type.lower():
            text = parse_qs(text).get("payload", [""])[-1]
        try:
            payload: Any = json.loads(text) if text else None
        except json.JSONDecodeError:
            payload = None
        params = payload if isinstance(payload, dict) else {"raw": text}
        with self._lock:
            failure = self._take_failure("response_url")
            if failure is not None and failure.error != "timeout_after_success":
                reply = self._failure_reply(failure)
                self._record(
                    "response_url", params, ok=False, error=str(reply.body["error"]), injected=failure.error
                )
                return reply
            entry = self._response_urls.get(response_id)
            error: str | None = None
            problems: list[str] = []
            if entry is None:
                status, error = 404, "no_service"
            elif entry.uses >= _RESPONSE_URL_USES:
                status, error = 404, "used_url"
            elif self.strict and self._timer() - entry.minted_at > _RESPONSE_URL_SECONDS:
                status, error = 404, "expired_url"
            elif not isinstance(payload, dict):
                status, error = 400, "invalid_payload"
            elif not (payload.get("text") or payload.get("blocks") or _flag(payload.get("delete_original"))):
                status, error = 400, "no_text"
            elif (refusal := self._content_refusal(payload.get("text"), payload.get("blocks"))) is not None:
                status, (error, problems) = 400, refusal
            else:
                status = 200
                entry.uses += 1
                self._responses.append((response_id, _copy(payload)))
                self._apply_response(entry, payload)
            injected = failure.error if failure is not None else None
            self._record("response_url", params, ok=error is None, error=error, injected=injected, messages=problems)
            body: JSONDict = {"ok": True} if error is None else {"ok": False, "error": error}
            if problems:
                body["response_metadata"] = {"messages": problems}
            return _Reply(status, body, hang=failure is not None)

    def _apply_response(self, entry: _ResponseUrl, payload: JSONDict) -> None:
        """Make a response_url post change the workspace the way Slack does, where we know the context."""
        if entry.channel is None:
            return
        original = self._find_message_or_none(entry.channel, entry.message_ts) if entry.message_ts else None
        mine = next(
            (
                e for e in self._ephemerals
                if e["ts"] == entry.message_ts and e["channel"] == entry.channel and e["user"] == entry.user_id
            ),
            None,
        )
        if _flag(payload.get("delete_original")):
            if original is not None:
                self._messages[entry.channel].remove(original)
            elif mine is not None:
                self._ephemerals.remove(mine)
            return
        if _flag(payload.get("replace_original")) and original is not None:
            self._edit(entry.channel, original, payload.get("text"), payload.get("blocks"))
            return
        if _flag(payload.get("replace_original")) and mine is not None:
            # An ephemeral message's own buttons may replace it, for its one reader.
            mine["text"] = payload.get("text") or ""
            mine.pop("blocks", None)
            if payload.get("blocks") is not None:
                mine["blocks"] = _copy(payload["blocks"])
            return
        thread_ts = payload.get("thread_ts")
        if payload.get("response_type") == "in_channel":
            message = self._bot_message(payload.get("text") or "", payload.get("blocks"), None)
            self._store_message(entry.channel, message, thread_ts, broadcast=False)
        elif entry.user_id is not None:
            self._store_ephemeral(
                entry.channel, entry.user_id, payload.get("text") or "", payload.get("blocks"), thread_ts
            )

    # ----------------------------------------------------------------- state helpers (lock held)

    def _next_ts(self) -> str:
        if self._clock is None:
            self._ts_counter += 1
            micros = _TS_EPOCH * 1_000_000 + self._ts_counter * _TS_STEP_MICROS
        else:
            # Unique and increasing even when two messages land in the same microsecond.
            micros = max(self._ts_counter + 1, int(self._clock() * 1_000_000))
            self._ts_counter = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _bump(self) -> None:
        """Note a change people could see and wake whoever waits for one (lock held)."""
        self._version += 1
        self._changed.notify_all()

    def _next_id(self, prefix: str) -> str:
        self._id_counter += 1
        return f"{prefix}{self._id_counter:06d}{secrets.token_hex(2).upper()}"

    def _user_view(self, user: JSONDict, *, include_locale: bool = False) -> JSONDict:
        view = _copy(user)
        if not include_locale:
            view.pop("locale", None)  # Slack sends it only when asked (`include_locale`)
        zone = ZoneInfo(user["tz"])
        now = datetime.now(zone)
        offset = now.utcoffset()
        abbreviation = now.tzname() or ""
        view["tz_offset"] = int(offset.total_seconds()) if offset is not None else 0
        view["tz_label"] = _TZ_LABELS.get(abbreviation, abbreviation)
        return view

    def _channel_view(self, channel: _Channel) -> JSONDict:
        if channel.is_im:
            user = self._users.get(channel.im_user or "", {})
            return {
                "id": channel.id,
                "created": channel.created,
                "is_im": True,
                "is_org_shared": False,
                "user": channel.im_user,
                "is_user_deleted": bool(user.get("deleted")),
                "priority": 0,
            }
        return {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "is_channel": not channel.is_private,
            "is_group": channel.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "created": channel.created,
            "is_archived": channel.is_archived,
            "is_general": channel.name == "general",
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": channel.bot_is_member,
            "context_team_id": self.team_id,
            "creator": "",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }

    def _members(self, channel: _Channel) -> list[str]:
        if channel.is_im:
            return [channel.im_user or "", self.bot_user_id]
        return [*channel.members, self.bot_user_id] if channel.bot_is_member else list(channel.members)

    def _open_dm(self, user_id: str) -> str:
        user = self._users.get(user_id)
        if user is None:
            raise SlackError("user_not_found")
        if user.get("deleted"):
            raise SlackError("user_disabled")
        channel_id = f"D{user_id}"
        if channel_id not in self._channels:
            self._channels[channel_id] = _Channel(id=channel_id, name=user_id, is_im=True, im_user=user_id)
            self._messages[channel_id] = []
        return channel_id

    def _lookup_channel_id(self, channel: str | None) -> str | None:
        """Map a channel id, `#name` or user id (meaning that DM) to a known channel id, without creating."""
        if channel is None:
            return None
        if channel in self._channels:
            return channel
        if channel.startswith("#"):
            for candidate in self._channels.values():
                if not candidate.is_im and candidate.name == channel[1:]:
                    return candidate.id
        if f"D{channel}" in self._channels:
            return f"D{channel}"
        return None

    def _channel_id(self, channel: Any) -> str:
        """Resolve a `channel` argument the way read/update methods do: ids and names, not user ids."""
        if not channel:
            raise SlackError("channel_not_found")
        name = str(channel)
        if name in self._channels:
            return name
        if name.startswith("#"):
            found = self._lookup_channel_id(name)
            if found is not None:
                return found
        raise SlackError("channel_not_found")

    def _resolve_for_post(self, channel: Any) -> str:
        """chat.postMessage also takes a user id and posts to (opening) the DM with them."""
        if isinstance(channel, str) and channel[:1] in ("U", "W") and channel not in self._channels:
            return self._open_dm(channel)
        return self._channel_id(channel)

    def _visible(self, channel_id: str) -> _Channel:
        """A channel the bot may read; private channels it is not in do not exist for it."""
        channel = self._channels[channel_id]
        if channel.is_private and not channel.bot_is_member:
            raise SlackError("channel_not_found")
        return channel

    def _writable(self, channel_id: str) -> _Channel:
        channel = self._visible(channel_id)
        if channel.is_archived:
            raise SlackError("is_archived")
        if not channel.is_im and not channel.bot_is_member:
            raise SlackError("not_in_channel")
        return channel

    def _find_message_or_none(self, channel_id: str, ts: Any) -> JSONDict | None:
        for message in self._messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        return None

    def _find_message(self, channel_id: str, ts: Any) -> JSONDict:
        message = self._find_message_or_none(channel_id, ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    @staticmethod
    def _in_history(message: JSONDict) -> bool:
        thread_ts = message.get("thread_ts")
        return thread_ts is None or thread_ts == message["ts"] or message.get("subtype") == "thread_broadcast"

    def _bot_message(self, text: str, blocks: Any, metadata: Any) -> JSONDict:
        message: JSONDict = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text,
            "ts": self._next_ts(),
            "team": self.team_id,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": self.bot_name,
                "deleted": False,
            },
        }
        if blocks is not None:
            message["blocks"] = _copy(blocks)
        if metadata is not None:
            message["metadata"] = _copy(metadata)
        return message

    def _store_message(self, channel_id: str, message: JSONDict, thread_ts: Any, *, broadcast: bool) -> None:
        if thread_ts:
            parent = self._find_message_or_none(channel_id, thread_ts)
            if parent is not None and parent.get("thread_ts") not in (None, parent["ts"]):
                # Replying to a reply lands in the same thread, under the real parent.
                parent = self._find_message_or_none(channel_id, parent["thread_ts"])
            if parent is not None:
                message["thread_ts"] = parent["ts"]
                message["parent_user_id"] = parent.get("user")
                if broadcast:
                    message["subtype"] = "thread_broadcast"
                self._add_reply(parent, message)
        self._messages.setdefault(channel_id, []).append(message)

    @staticmethod
    def _add_reply(parent: JSONDict, reply: JSONDict) -> None:
        users: list[str] = parent.get("reply_users", [])
        if reply.get("user") and reply["user"] not in users:
            users.append(reply["user"])
        parent.update(
            thread_ts=parent["ts"],
            reply_count=int(parent.get("reply_count", 0)) + 1,
            reply_users=users,
            reply_users_count=len(users),
            latest_reply=reply["ts"],
            is_locked=False,
            subscribed=False,
        )

    def _store_ephemeral(
        self, channel_id: str, user_id: str, text: str, blocks: Any, thread_ts: Any
    ) -> JSONDict:
        ephemeral: JSONDict = {
            "type": "message",
            "subtype": "ephemeral",
            "channel": channel_id,
            "user": user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text,
            "ts": self._next_ts(),
        }
        if blocks is not None:
            ephemeral["blocks"] = _copy(blocks)
        if thread_ts:
            ephemeral["thread_ts"] = thread_ts
        self._ephemerals.append(ephemeral)
        return ephemeral

    def _edit(self, channel_id: str, message: JSONDict, text: Any, blocks: Any) -> None:
        before = _copy(message)
        if text is not None:
            message["text"] = text
        if blocks is not None:
            message["blocks"] = _copy(blocks)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        self._edits.append(
            {
                "channel": channel_id,
                "ts": message["ts"],
                "before": before,
                "after": _copy(message),
                "at": time.time(),
            }
        )

    @staticmethod
    def _react(message: JSONDict, name: str, user_id: str) -> None:
        reactions: list[JSONDict] = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if user_id in reaction["users"]:
                    raise SlackError("already_reacted")
                reaction["users"].append(user_id)
                reaction["count"] = len(reaction["users"])
                return
        reactions.append({"name": name, "users": [user_id], "count": 1})

    @staticmethod
    def _unreact(message: JSONDict, name: str, user_id: str) -> None:
        for reaction in message.get("reactions", []):
            if reaction["name"] == name and user_id in reaction["users"]:
                reaction["users"].remove(user_id)
                reaction["count"] = len(reaction["users"])
                if not reaction["users"]:
                    message["reactions"].remove(reaction)
                if not message["reactions"]:
                    del message["reactions"]
                return
        raise SlackError("no_reaction")

    def _content_refusal(self, text: Any, blocks: Any) -> tuple[str, list[str]] | None:
        """Slack's error and reasons for a message's text and blocks, or None (always None when lenient)."""
        return message_refusal(text, blocks) if self.strict else None

    def _check_content(self, text: Any, blocks: Any, metadata: Any) -> None:
        if text is not None and not isinstance(text, str):
            raise SlackError("invalid_arguments", ["[ERROR] text must be a string [json-pointer:/text]"])
        if not text and not blocks:
            raise SlackError("no_text")
        if blocks is not None and isinstance(blocks, str):
            raise SlackError("invalid_blocks_format")
        refusal = self._content_refusal(text, blocks)
        if refusal is not None:
            raise SlackError(*refusal)
        if metadata is not None and not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        ):
            raise SlackError("invalid_metadata_format")

    def _strip_metadata(self, messages: list[JSONDict], params: JSONDict) -> list[JSONDict]:
        out = _copy(messages)
        if not _flag(params.get("include_all_metadata")):
            for message in out:
                message.pop("metadata", None)
        return out

    def _view_base(self, view_id: str, kind: str, root: str | None, previous: str | None) -> JSONDict:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": kind,
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "clear_on_close": False,
            "notify_on_close": False,
            "external_id": "",
            "root_view_id": root or view_id,
            "previous_view_id": previous,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _new_view(self, spec: JSONDict, *, root: str | None, previous: str | None) -> JSONDict:
        view_id = self._next_id("V")
        view = self._view_base(view_id, spec["type"], root, previous)
        # Identity fields are Slack's to assign, whatever the bot sent.
        view.update({k: _copy(v) for k, v in spec.items() if k not in view or k in _VIEW_SETTABLE})
        self._views[view_id] = view
        return view

    def _update_view(self, view: JSONDict, spec: Any, expected_hash: Any) -> JSONDict:
        self._check_view(spec, (view["type"],))
        if expected_hash and expected_hash != view["hash"]:
            raise SlackError("hash_conflict")
        fresh = self._view_base(view["id"], view["type"], view["root_view_id"], view["previous_view_id"])
        fresh.update({k: _copy(v) for k, v in spec.items() if k not in fresh or k in _VIEW_SETTABLE})
        # Mutate in place so the open-modal stack and home-tab map see the same object.
        view.clear()
        view.update(fresh)
        return view

    def _check_view(self, spec: Any, allowed_types: tuple[str, ...]) -> None:
        if not isinstance(spec, dict) or spec.get("type") not in allowed_types:
            # Even lenient, a view must say what it is.
            raise SlackError("invalid_arguments", view_problems(spec, allowed_types))
        problems = view_problems(spec, allowed_types) if self.strict else []
        if problems:
            raise SlackError("invalid_arguments", problems)

    def _use_trigger(self, trigger_id: Any) -> str | None:
        """Exchange a trigger_id (once, within 3 seconds of the interaction); returns whose it was."""
        if not trigger_id:
            raise SlackError("invalid_trigger_id")
        trigger = self._triggers.get(str(trigger_id))
        if not self.strict:
            return trigger.user_id if trigger is not None else None
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self._timer() - trigger.minted_at > _TRIGGER_SECONDS:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger.user_id

    def _push_view(self, spec: Any) -> JSONDict:
        self._check_view(spec, ("modal",))
        if not self._open_views:
            # Slack only pushes onto a modal the user is looking at.
            raise SlackError("not_found")
        top = self._open_views[-1]
        depth = sum(1 for v in self._open_views if v["root_view_id"] == top["root_view_id"])
        if depth >= _MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        view = self._new_view(spec, root=top["root_view_id"], previous=top["id"])
        self._open_views.append(view)
        owner = self._view_users.get(top["id"])
        if owner is not None:
            self._view_users[view["id"]] = owner  # a pushed modal lands on the same screen
        return view

    # ----------------------------------------------------------------- Web API methods (lock held)

    def _methods(self) -> dict[str, Callable[[JSONDict], JSONDict]]:
        return {
            "api.test": lambda params: {"args": {k: v for k, v in params.items() if k != "token"}},
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.join": self._conversations_join,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
        }

    def _apps_connections_open(self, params: JSONDict) -> JSONDict:
        # Tickets stay valid: slack_sdk's builtin client reconnects to its last URL on a plain connect().
        ticket = secrets.token_hex(8)
        self._socket_tickets.add(ticket)
        return {"url": "ws://" + self.base_url.removeprefix("http://") + _SOCKET_PATH + ticket}

    def _auth_test(self, params: JSONDict) -> JSONDict:
        return {
            "url": f"https://{self.team_domain}.slack.test/",
            "team": self.team_domain.title(),
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: JSONDict) -> JSONDict:
        channel_id = self._resolve_for_post(params.get("channel"))
        self._writable(channel_id)
        text, blocks, metadata = params.get("text"), params.get("blocks"), params.get("metadata")
        self._check_content(text, blocks, metadata)
        message = self._bot_message(text or "", blocks, metadata)
        thread_ts = params.get("thread_ts") or None
        self._store_message(channel_id, message, thread_ts, broadcast=_flag(params.get("reply_broadcast")))
        return {"channel": channel_id, "ts": message["ts"], "message": _copy(message)}

    def _chat_update(self, params: JSONDict) -> JSONDict:
        channel_id = self._channel_id(params.get("channel"))
        self._visible(channel_id)
        message = self._find_message(channel_id, params.get("ts"))
        if message.get("user") != self.bot_user_id:
            raise SlackError("cant_update_message")
        text, blocks, metadata = params.get("text"), params.get("blocks"), params.get("metadata")
        self._check_content(text, blocks, metadata)
        self._edit(channel_id, message, text, blocks)
        if metadata is not None:
            message["metadata"] = _copy(metadata)
        return {
            "channel": channel_id,
            "ts": message["ts"],
            "text": message["text"],
            "message": _copy(message),
        }

    def _chat_delete(self, params: JSONDict) -> JSONDict:
        channel_id = self._channel_id(params.get("channel"))
        message = self._find_message(channel_id, params.get("ts"))
        if message.get("user") != self.bot_user_id:
            raise SlackError("cant_delete_message")
        self._messages[channel_id].remove(message)
        return {"channel": channel_id, "ts": message["ts"]}

    def _chat_post_ephemeral(self, params: JSONDict) -> JSONDict:
        channel_id = self._resolve_for_post(params.get("channel"))
        channel = self._writable(channel_id)
        user_id = str(params.get("user") or "")
        if user_id not in self._members(channel) or user_id == self.bot_user_id:
            raise SlackError("user_not_in_channel")
        text, blocks = params.get("text"), params.get("blocks")
        self._check_content(text, blocks, None)
        ephemeral = self._store_ephemeral(channel_id, user_id, text or "", blocks, params.get("thread_ts"))
        return {"message_ts": ephemeral["ts"]}

    def _chat_get_permalink(self, params: JSONDict) -> JSONDict:
        channel_id = self._channel_id(params.get("channel"))
        self._visible(channel_id)
        message = self._find_message(channel_id, params.get("message_ts"))
        digits = str(message["ts"]).replace(".", "")
        link = f"https://{self.team_domain}.slack.test/archives/{channel_id}/p{digits}"
        if message.get("thread_ts") not in (None, message["ts"]):
            link += f"?thread_ts={message['thread_ts']}&cid={channel_id}"
        return {"channel": channel_id, "permalink": link}

    def _conversations_open(self, params: JSONDict) -> JSONDict:
        channel = params.get("channel")
        if channel:
            channel_id = self._channel_id(channel)
            return {"no_op": True, "already_open": True, "channel": {"id": channel_id}}
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 1:
            # Group DMs are not modelled; say so rather than pretend.
            raise SlackError("sandbox_mpim_not_supported")
        existed = f"D{users[0]}" in self._channels
        channel_id = self._open_dm(users[0])
        body: JSONDict = {"channel": {"id": channel_id}}
        if existed:
            body.update(no_op=True, already_open=True)
        if _flag(params.get("return_im")):
            body["channel"] = self._channel_view(self._channels[channel_id])
        return body

    def _conversations_history(self, params: JSONDict) -> JSONDict:
        channel_id = self._channel_id(params.get("channel"))
        channel = self._visible(channel_id)
        if not channel.is_im and not channel.bot_is_member:
            raise SlackError("not_in_channel")
        inclusive = _flag(params.get("inclusive"))
        oldest = _ts_key(str(params.get("oldest") or "0"), "invalid_ts_oldest")
        latest = _ts_key(str(params["latest"]), "invalid_ts_latest") if params.get("latest") else None
        picked = []
        for message in reversed(self._messages[channel_id]):
            if not self._in_history(message):
                continue
            key = _ts_key(message["ts"])
            if key < oldest or (key == oldest and not inclusive and params.get("oldest")):
                continue
            if latest is not None and (key > latest or (key == latest and not inclusive)):
                continue
            picked.append(message)
        page, next_cursor = _paginate(picked, lambda m: str(m["ts"]), params, "next_ts", 100)
        return {
            "messages": self._strip_metadata(page, params),
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_replies(self, params: JSONDict) -> JSONDict:
        channel_id = self._channel_id(params.get("channel"))
        channel = self._visible(channel_id)
        if not channel.is_im and not channel.bot_is_member:
            raise SlackError("not_in_channel")
        message = self._find_message_or_none(channel_id, params.get("ts"))
        if message is None:
            raise SlackError("thread_not_found")
        parent_ts = message.get("thread_ts") or message["ts"]
        inclusive = _flag(params.get("inclusive"))
        oldest = _ts_key(str(params["oldest"]), "invalid_ts_oldest") if params.get("oldest") else None
        latest = _ts_key(str(params["latest"]), "invalid_ts_latest") if params.get("latest") else None
        thread = []
        for m in self._messages[channel_id]:
            if m["ts"] != parent_ts and m.get("thread_ts") != parent_ts:
                continue
            key = _ts_key(m["ts"])
            # Like history: only messages after `oldest` and before `latest` (`inclusive` keeps those ts).
            if oldest is not None and (key < oldest or (key == oldest and not inclusive)):
                continue
            if latest is not None and (key > latest or (key == latest and not inclusive)):
                continue
            thread.append(m)
        page, next_cursor = _paginate(thread, lambda m: str(m["ts"]), params, "next_ts", 1000)
        return {
            "messages": self._strip_metadata(page, params),
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_info(self, params: JSONDict) -> JSONDict:
        channel = self._visible(self._channel_id(params.get("channel")))
        info = self._channel_view(channel)
        if _flag(params.get("include_num_members")):
            info["num_members"] = len(self._members(channel))
        return {"channel": info}

    def _conversations_members(self, params: JSONDict) -> JSONDict:
        channel = self._visible(self._channel_id(params.get("channel")))
        members = [{"id": m} for m in self._members(channel)]
        page, next_cursor = _paginate(members, lambda m: str(m["id"]), params, "member", 100)
        return {"members": [m["id"] for m in page], "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_join(self, params: JSONDict) -> JSONDict:
        channel = self._visible(self._channel_id(params.get("channel")))
        if channel.is_im or channel.is_private:
            raise SlackError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise SlackError("is_archived")
        already = channel.bot_is_member
        channel.bot_is_member = True
        body: JSONDict = {"channel": self._channel_view(channel)}
        if already:
            body["warning"] = "already_in_channel"
        return body

    def _users_info(self, params: JSONDict) -> JSONDict:
        user = self._users.get(str(params.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": self._user_view(user, include_locale=_flag(params.get("include_locale")))}

    def _users_list(self, params: JSONDict) -> JSONDict:
        with_locale = _flag(params.get("include_locale"))
        members = [self._user_view(u, include_locale=with_locale) for u in self._users.values()]
        page, next_cursor = _paginate(members, lambda u: str(u["id"]), params, "user", 0)
        return {
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _reaction_target(self, params: JSONDict) -> tuple[JSONDict, str]:
        channel_id = self._channel_id(params.get("channel"))
        self._visible(channel_id)
        message = self._find_message(channel_id, params.get("timestamp"))
        name = str(params.get("name") or "")
        if not name:
            raise SlackError("invalid_name")
        return message, name

    def _reactions_add(self, params: JSONDict) -> JSONDict:
        message, name = self._reaction_target(params)
        self._react(message, name, self.bot_user_id)
        return {}

    def _reactions_remove(self, params: JSONDict) -> JSONDict:
        message, name = self._reaction_target(params)
        self._unreact(message, name, self.bot_user_id)
        return {}

    def _views_open(self, params: JSONDict) -> JSONDict:
        spec = params.get("view")
        self._check_view(spec, ("modal",))
        owner = self._use_trigger(params.get("trigger_id"))
        view = self._new_view(cast(JSONDict, spec), root=None, previous=None)
        self._open_views.append(view)
        if owner is not None:
            self._view_users[view["id"]] = owner
        return {"view": _copy(view)}

    def _views_push(self, params: JSONDict) -> JSONDict:
        self._check_view(params.get("view"), ("modal",))
        self._use_trigger(params.get("trigger_id"))
        return {"view": _copy(self._push_view(params.get("view")))}

    def _views_update(self, params: JSONDict) -> JSONDict:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if view_id:
            view = self._views.get(str(view_id))
        else:
            view = next(
                (v for v in self._views.values() if external_id and v.get("external_id") == external_id), None
            )
        if view is None:
            raise SlackError("not_found")
        return {"view": _copy(self._update_view(view, params.get("view"), params.get("hash")))}

    def _views_publish(self, params: JSONDict) -> JSONDict:
        user_id = str(params.get("user_id") or "")
        if user_id not in self._users:
            raise SlackError("user_not_found")
        spec = params.get("view")
        self._check_view(spec, ("home",))
        current = self._home_views.get(user_id)
        if current is not None:
            view = self._update_view(current, spec, params.get("hash"))
        else:
            view = self._new_view(cast(JSONDict, spec), root=None, previous=None)
            self._home_views[user_id] = view
        return {"view": _copy(view)}
