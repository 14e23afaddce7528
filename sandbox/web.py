"""`python -m bot sandbox`: a small Slack workspace in the browser, driving the real bot.

The page (`sandbox/static/`) shows what one person sees, read from the Slack stand-in's state, and
sends what they do here. This server turns each action into what Slack would send the bot: a signed
slash command, event or interactivity request (through `SlackClientSim`), and records on the stand-in
what Slack itself would show (the command's acknowledgement, a dismissed ephemeral). The bot answers
through its real Web API client to the stand-in, so the page shows nothing the bot did not send.

Only the clock is the sandbox's: it runs at real speed and jumps forward on request, a step at a
time, with the scheduler's jobs run at each step (see `Workspace.fast_forward`).

JSON API (all POST bodies are JSON objects with the acting `user`):
- GET  /api/state?user=U&since=V   what U sees; waits (long poll) until the state is newer than V
- POST /api/send        {channel, text, thread_ts?}       a message, or a slash command when it starts with /
- POST /api/react       {channel, ts, name, remove?}      add or take back a reaction
- POST /api/action      {channel, ts, action_id, value?, ephemeral?}   click a button or choose an option
- POST /api/shortcut    {callback_id, channel?, ts?}      ⚡ a global shortcut, or ⋯ a message shortcut on (channel, ts)
- POST /api/view/action {view_id, action_id, value?}      the same inside a modal or the Home tab
- POST /api/view/submit {view_id, values}                 submit a modal
- POST /api/view/close  {view_id}                         close a modal
- POST /api/home        {}                                open the bot's Home tab
- POST /api/dismiss     {channel, ts}                     dismiss an ephemeral message
- POST /api/clock       {step: 10m|1h|1d|morning}         fast-forward the clock
Each answers {"ok": true, ...} or {"ok": false, "error": "..."} with a message fit to show.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from sandbox.client import SimResponse
from sandbox.standin import JSONDict, SlackError
from sandbox.workspace import PEOPLE, TEAM, Workspace

__all__ = ["SandboxWeb", "WebError", "default_start", "slack_encode"]

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
_FILES = {"/": "index.html", "/static/app.css": "app.css", "/static/app.js": "app.js"}
_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".js": "text/javascript; charset=utf-8"}
# A long poll answers at the latest after this long, so proxies and browsers never give up on it.
LONG_POLL_SECONDS = 20.0
COMMANDS = (
    {"command": "/delegate", "hint": "@person what by when · !high #tag · every Monday 9am · help"},
    {"command": "/tasks", "hint": "mine · pool · T-3 · done T-3 · digest here at 9:00 · managers · help"},
)
# The app's shortcuts, as manifest.yml declares them: ⚡ global ones in the composer, message ones in ⋯.
SHORTCUTS = (
    {"callback_id": "new_task", "name": "New task", "type": "global"},
    {"callback_id": "delegate_message", "name": "Delegate this message", "type": "message"},
)
STEPS = {"10m": timedelta(minutes=10), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
# The first working morning is shown in the requester's zone: the sandbox opens there.
HOME_ZONE = ZoneInfo("America/New_York")
_MAX_BODY = 64 * 1024


class WebError(Exception):
    """Something the person did could not be done; the message is shown to them as it is."""


class _NoRoute(Exception):
    """No such endpoint."""


def default_start(now: datetime) -> datetime:
    """Where the sandbox's clock starts: now if it is a working hour in New York, else the next 09:00 there."""
    local = now.astimezone(HOME_ZONE)
    if local.weekday() < 5 and 9 <= local.hour < 17:
        return now
    day = local.date() + timedelta(days=0 if local.hour < 9 else 1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=HOME_ZONE).astimezone(UTC)


# A typed @here, @channel or @everyone, as a word of its own (not the end of an address such as a@here).
_BROADCAST_RE = re.compile(r"(?<![\w@])@(here|channel|everyone)\b", re.IGNORECASE)


# A typed @name, as a word of its own.
_NAME_RE = re.compile(r"(?<![\w@<])@([A-Za-z0-9][\w.\-]*[A-Za-z0-9]|[A-Za-z0-9])")


def slack_encode(text: str) -> str:
    """Typed text as Slack sends it, in messages and (with `should_escape`) slash commands alike.

    &, < and > are encoded, and the broadcasts @here, @channel and @everyone become the special
    mentions `<!here>`, `<!channel>` and `<!everyone>`, as Slack's composer turns them.
    """
    encoded = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST_RE.sub(lambda m: f"<!{m.group(1).lower()}>", encoded)


def _text(body: JSONDict, name: str, *, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise WebError(f"`{name}` is missing")
    return value


class SandboxWeb:
    """The browser workspace's web server for one running sandbox `Workspace`."""

    def __init__(self, ws: Workspace, host: str = "127.0.0.1", port: int = 0) -> None:
        self.ws = ws
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._routes: dict[str, Callable[[str, JSONDict], JSONDict]] = {
            "/api/send": self.send,
            "/api/react": self.react,
            "/api/action": self.action,
            "/api/shortcut": self.shortcut,
            "/api/view/action": self.view_action,
            "/api/view/submit": self.view_submit,
            "/api/view/close": self.view_close,
            "/api/home": self.home,
            "/api/dismiss": self.dismiss,
            "/api/clock": self.move_clock,
        }

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SandboxWeb:
        """Serve in a background thread."""
        self._server = _Server(self, (self.host, self.port))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sandbox-web", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; long polls still waiting are left to end on their own (daemon threads)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        """The page's address."""
        if self._server is None:
            raise RuntimeError("not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    # ----------------------------------------------------------------- reading

    def state(self, user: str, since: int | None) -> JSONDict:
        """What `user` sees now, after waiting for something newer than version `since`."""
        slack = self.ws.slack
        if since is not None:
            slack.wait_for_version(since, LONG_POLL_SECONDS)
        try:
            seen = slack.snapshot(user)
        except KeyError:
            raise WebError(f"There is nobody called {user} in this workspace.") from None
        bot = seen["users"][slack.bot_user_id]
        return {
            **seen,
            "now": self.ws.clock().timestamp(),
            "clock_running": self.ws.clock.running,
            "team": {"id": TEAM, "name": "Handoff sandbox", "domain": slack.team_domain},
            "bot": {"id": slack.bot_user_id, "name": bot["name"], "real_name": bot["real_name"]},
            "me": user,
            "people": [
                {"id": m.id, "name": m.name, "real_name": m.real_name, "title": m.title, "tz": m.tz}
                for m in PEOPLE
            ],
            "commands": list(COMMANDS),
            "shortcuts": list(SHORTCUTS),
        }

    # ----------------------------------------------------------------- doing

    def send(self, user: str, body: JSONDict) -> JSONDict:
        """Post a message or thread reply, or run a slash command, as `user`."""
        channel = _text(body, "channel")
        text = _text(body, "text").strip()
        thread_ts = body.get("thread_ts") or None
        if not text:
            raise WebError("Type a message first.")
        client = self.ws.client
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            if command not in {c["command"] for c in COMMANDS}:
                raise WebError(
                    f"{command} is not a valid command. In Slack, all messages that start with “/” are commands."
                )
            answer = client.command(user, command, slack_encode(rest.strip()), channel_id=channel)
            if answer.status == 200:
                reply = answer.json()
                self.ws.slack.command_response(channel, user, reply if reply is not None else answer.body)
            else:
                # What Slack shows when an app fails to acknowledge a command.
                self.ws.slack.command_response(
                    channel, user, {"text": f"{command} failed with the error \"http_service_error\""}
                )
            return {"ok": True}
        _check(client.message_event(user, self._mentions(user, slack_encode(text)), channel, thread_ts=thread_ts))
        return {"ok": True}

    def _mentions(self, user: str, text: str) -> str:
        """`@name` of someone in the workspace (the bot too) as the mention Slack's composer makes of it."""
        people = self.ws.slack.snapshot(user)["users"].items()
        names = {str(u["name"]).lower(): uid for uid, u in people}
        names.setdefault("handoff", self.ws.slack.bot_user_id)

        def mention(match: re.Match[str]) -> str:
            uid = names.get(match.group(1).lower())
            return f"<@{uid}>" if uid else match.group(0)

        return _NAME_RE.sub(mention, text)

    def react(self, user: str, body: JSONDict) -> JSONDict:
        """Add (or with `remove`, take back) a reaction on a message."""
        channel, ts, name = _text(body, "channel"), _text(body, "ts"), _text(body, "name")
        try:
            self.ws.slack.message(channel, ts)
        except KeyError:
            raise WebError("That message is gone.") from None
        if body.get("remove"):
            answer = self.ws.client.reaction_removed(user, name, channel, ts)
        else:
            answer = self.ws.client.reaction_added(user, name, channel, ts)
        _check(answer)
        return {"ok": True}

    def action(self, user: str, body: JSONDict) -> JSONDict:
        """Click a button, or choose an option of a menu, in a message or one of `user`'s ephemerals."""
        channel, ts, action_id = _text(body, "channel"), _text(body, "ts"), _text(body, "action_id")
        value = body.get("value")
        value = str(value) if value is not None else None
        client = self.ws.client
        if body.get("ephemeral"):
            return _act(lambda: client.act_on_ephemeral(user, channel, ts, action_id, value), "message")
        if value is None:
            return _act(lambda: client.click_button(user, channel, ts, action_id), "message")
        return _act(lambda: client.choose_option(user, channel, ts, action_id, value), "message")

    def shortcut(self, user: str, body: JSONDict) -> JSONDict:
        """Use a ⚡ global shortcut, or (with `channel` and `ts`) a message's ⋯ shortcut."""
        callback_id = _text(body, "callback_id")
        known = {s["callback_id"]: s["type"] for s in SHORTCUTS}
        if callback_id not in known:
            raise WebError(f"Handoff has no shortcut {callback_id!r}.")
        if known[callback_id] == "global":
            _check(self.ws.client.shortcut(user, callback_id))
            return {"ok": True}
        channel, ts = _text(body, "channel"), _text(body, "ts")
        try:
            message = self.ws.slack.message(channel, ts)
        except KeyError:
            raise WebError("That message is gone.") from None
        _check(self.ws.client.shortcut(user, callback_id, message=message, channel_id=channel))
        return {"ok": True}

    def view_action(self, user: str, body: JSONDict) -> JSONDict:
        """Click a button, or choose an option, inside a modal or the Home tab."""
        view_id = self._own_view(user, body)
        action_id, value = _text(body, "action_id"), body.get("value")
        chosen = str(value) if value is not None else None
        return _act(lambda: self.ws.client.act_in_view(user, view_id, action_id, chosen), "view")

    def view_submit(self, user: str, body: JSONDict) -> JSONDict:
        """Submit a modal with the values typed in it."""
        view_id = self._own_view(user, body)
        values = body.get("values")
        if not isinstance(values, dict):
            raise WebError("`values` is missing")
        _check(self.ws.client.view_submission(user, view_id, values))
        return {"ok": True}

    def view_close(self, user: str, body: JSONDict) -> JSONDict:
        """Close a modal (telling the bot when it asked to know)."""
        view_id = self._own_view(user, body)
        if self.ws.slack.views[view_id].get("notify_on_close"):
            _check(self.ws.client.view_closed(user, view_id))
        else:
            self.ws.slack.close_view(view_id)
        return {"ok": True}

    def home(self, user: str, body: JSONDict) -> JSONDict:
        """`user` opened the bot's Home tab."""
        _check(self.ws.client.app_home_opened(user))
        return {"ok": True}

    def dismiss(self, user: str, body: JSONDict) -> JSONDict:
        """Dismiss one of `user`'s ephemeral messages."""
        if not self.ws.slack.dismiss_ephemeral(user, _text(body, "channel"), _text(body, "ts")):
            raise WebError("That message is already gone.")
        return {"ok": True}

    def move_clock(self, user: str, body: JSONDict) -> JSONDict:
        """Fast-forward by a step, or to `user`'s next working morning."""
        step = _text(body, "step")
        now = self.ws.clock()
        if step == "morning":
            target = self._next_morning(user, now)
        elif step in STEPS:
            target = now + STEPS[step]
        else:
            raise WebError(f"Unknown clock step {step!r}; use 10m, 1h, 1d or morning.")
        moved = self.ws.fast_forward(target)
        return {"ok": True, "now": moved.timestamp()}

    def _next_morning(self, user: str, now: datetime) -> datetime:
        """The start of `user`'s next working period after now, by the hours the bot keeps for them."""
        from models.people import get_person

        services = self.ws.handoff.services
        with services.db.read() as session:
            person = get_person(session, team_id=TEAM, user_id=user)
            week = services.config.week(person, tz=None if person else self.ws.slack.user(user)["tz"])
        return week.next_start(now + timedelta(minutes=1))

    def _own_view(self, user: str, body: JSONDict) -> str:
        view_id = _text(body, "view_id")
        slack = self.ws.slack
        if view_id not in slack.views:
            raise WebError("That window is already closed.")
        home = slack.home_views.get(user)
        if slack.view_owner(view_id) != user and not (home and home["id"] == view_id):
            raise WebError("That window belongs to someone else.")
        return view_id

    def handle(self, path: str, user: str, body: JSONDict) -> JSONDict:
        """Run the POST endpoint at `path` for `user`."""
        route = self._routes.get(path)
        if route is None:
            raise _NoRoute(path)
        if user not in {m.id for m in PEOPLE}:
            raise WebError("Pick who you are first.")
        return route(user, body)


def _act(click: Callable[[], SimResponse], where: str) -> JSONDict:
    """Press something in a message or view; it may have gone since the page last drew it."""
    try:
        answer = click()
    except LookupError:
        raise WebError(f"That button is no longer there; the {where} has changed.") from None
    _check(answer)
    return {"ok": True}


def _check(answer: SimResponse) -> None:
    """The bot must acknowledge within Slack's rules; anything else is shown, as Slack shows its own errors."""
    if answer.status != 200:
        raise WebError(f"Handoff did not acknowledge that (HTTP {answer.status}); Slack would show an error.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # long polls must never keep the process alive

    def __init__(self, web: SandboxWeb, address: tuple[str, int]) -> None:
        self.web = web
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server_version = "HandoffSandbox/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    @property
    def web(self) -> SandboxWeb:
        return cast(_Server, self.server).web

    def _local_host(self) -> bool:
        # Only pages served from this address may drive the sandbox (no DNS rebinding from other sites).
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        return host in ("127.0.0.1", "localhost", "::1")

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if not self._local_host():
            self._json(403, {"ok": False, "error": "the sandbox answers only on 127.0.0.1"})
        elif url.path == "/" and "as" not in parse_qs(url.query):
            # A plain address opens the workspace as the requester, in #general: the first thing to try.
            self._redirect(f"/?as={PEOPLE[0].id}&c=CGENERAL")
        elif url.path in _FILES:
            self._file(STATIC / _FILES[url.path])
        elif url.path == "/api/state":
            query = parse_qs(url.query)
            user = (query.get("user") or [""])[-1]
            since_text = (query.get("since") or [""])[-1]
            try:
                since = int(since_text) if since_text else None
                self._json(200, self.web.state(user, since))
            except ValueError:
                self._json(400, {"ok": False, "error": "`since` must be a number"})
            except WebError as error:
                self._json(404, {"ok": False, "error": str(error)})
        elif url.path == "/healthz":
            self._json(200, {"ok": True})
        else:
            self._json(404, {"ok": False, "error": "not found"})

    def do_POST(self) -> None:
        if not self._local_host():
            self._json(403, {"ok": False, "error": "the sandbox answers only on 127.0.0.1"})
            return
        if "application/json" not in (self.headers.get("Content-Type") or ""):
            # Forms from other sites can't send JSON without asking first; this keeps them out.
            self._json(415, {"ok": False, "error": "send JSON"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._json(413, {"ok": False, "error": "that is too long"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            self._json(400, {"ok": False, "error": "the request was not a JSON object"})
            return
        try:
            self._json(200, self.web.handle(urlsplit(self.path).path, str(body.get("user", "")), body))
        except _NoRoute:
            self._json(404, {"ok": False, "error": "not found"})
        except (WebError, SlackError) as error:
            self._json(200, {"ok": False, "error": str(error)})
        except Exception:
            log.exception("sandbox action failed: %s", self.path)
            self._json(500, {"ok": False, "error": "The sandbox failed to do that; see the terminal for details."})

    def _file(self, path: Path) -> None:
        try:
            payload = path.read_bytes()
        except OSError:
            self._json(404, {"ok": False, "error": "not found"})
            return
        self._send(200, payload, _TYPES.get(path.suffix, "application/octet-stream"))

    def _redirect(self, location: str) -> None:
        with contextlib.suppress(OSError):
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _json(self, status: int, body: JSONDict) -> None:
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        with contextlib.suppress(OSError):  # the page went away mid-answer: nothing to tell it
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(payload)
