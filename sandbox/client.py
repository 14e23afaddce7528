"""A simulated Slack platform that calls the bot: slash commands, events and interactivity.

Requests are shaped and signed as Slack sends them (v0 HMAC-SHA256 signing), so they pass the
bot's real request verification. When a `SlackStandIn` is attached, payloads are filled from its
workspace (user names, stored messages, views) and response URLs are minted on it.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import http.client
import itertools
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from sandbox.standin import JSONDict, SlackError, SlackStandIn, event_envelope

# The bot's own user id when no stand-in is attached to ask.
_DEFAULT_BOT_USER = "UBOT"


@dataclass(frozen=True)
class SimResponse:
    """What the bot answered: status, headers (names lowercased, last value wins) and body text."""

    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        """The body parsed as JSON, or None if it is empty or not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def _find_element(blocks: Any, action_id: str, button_value: str | None = None) -> tuple[str, JSONDict] | None:
    """Locate an interactive element by action_id in `actions` blocks and section accessories (with
    `button_value`, only a button carrying that value: one of several alike, as on a Home tab's rows)."""
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        if isinstance(block.get("element"), dict):
            elements.append(block["element"])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                other = element.get("type") != "button" or element.get("value") != button_value
                if button_value is not None and other:
                    continue
                return str(block.get("block_id", "")), element
    return None


def element_action(blocks: Any, action_id: str, value: str | None = None, *, where: str = "blocks") -> JSONDict:
    """The `actions[0]` Slack sends for clicking a button (no `value`) or choosing option `value`.

    Raises LookupError when no such element (or option) is in `blocks`.
    """
    button = _find_element(blocks, action_id, value) if value is not None else None
    if button is not None:  # the button of several alike that carries `value`
        action: JSONDict = {"type": "button", "action_id": action_id, "block_id": button[0], "value": value}
        return action
    found = _find_element(blocks, action_id)
    if found is None:
        raise LookupError(f"no element {action_id!r} in {where}")
    block_id, element = found
    kind = str(element.get("type", "button"))
    if value is None:
        if kind != "button":
            raise LookupError(f"no button {action_id!r} in {where}")
        action = {"type": "button", "action_id": action_id, "block_id": block_id}
        if "value" in element:
            action["value"] = element["value"]
        return action
    options = element.get("options", [])
    option = next((o for o in options if isinstance(o, dict) and o.get("value") == value), None)
    if option is None:
        raise LookupError(f"no option {value!r} for {action_id!r} in {where}")
    return {"type": kind, "action_id": action_id, "block_id": block_id, "selected_option": option}


class SlackClientSim:
    """Sends Slack-shaped, correctly signed HTTP requests to the bot's events endpoint."""

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        *,
        team_id: str | None = None,
        standin: SlackStandIn | None = None,
        clock: Callable[[], float] = time.time,
        api_app_id: str | None = None,
        verification_token: str = "sandbox-verification-token",
        timeout: float = 10.0,
    ) -> None:
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.standin = standin
        self.team_id = team_id or (standin.team_id if standin else "T0001")
        self.team_domain = standin.team_domain if standin else "sandbox"
        self.api_app_id = api_app_id or (standin.app_id if standin else "A0001")
        self.bot_user_id = standin.bot_user_id if standin else _DEFAULT_BOT_USER
        self.verification_token = verification_token
        self.clock = clock
        self.timeout = timeout
        self._ids = itertools.count(1)

    # ----------------------------------------------------------------- transport

    def sign(self, body: bytes, timestamp: int) -> str:
        """Slack's v0 signature of `body` sent at `timestamp`."""
        base = b"v0:" + str(timestamp).encode() + b":" + body
        return "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()

    def raw(self, body: bytes, headers: Mapping[str, str]) -> SimResponse:
        """POST `body` with exactly `headers` (nothing signed or added): for bad-request tests."""
        url = urlsplit(self.bot_url)
        connection_class = (
            http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(url.netloc, timeout=self.timeout)
        try:
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            connection.request("POST", path, body=body, headers=dict(headers))
            response = connection.getresponse()
            return SimResponse(
                response.status,
                {name.lower(): value for name, value in response.getheaders()},
                response.read().decode("utf-8", errors="replace"),
            )
        finally:
            connection.close()

    def send(
        self, body: bytes, content_type: str, extra_headers: Mapping[str, str] | None = None
    ) -> SimResponse:
        """POST `body` signed with the current clock, as Slack does."""
        timestamp = int(self.clock())
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": self.sign(body, timestamp),
            **(extra_headers or {}),
        }
        return self.raw(body, headers)

    def _send_form(self, fields: Mapping[str, str]) -> SimResponse:
        return self.send(urlencode(fields).encode(), "application/x-www-form-urlencoded")

    def _send_interactive(self, payload: JSONDict) -> SimResponse:
        # Interactivity arrives as one form field holding the JSON payload.
        return self._send_form({"payload": json.dumps(payload)})

    # ----------------------------------------------------------------- ids and lookups

    def _trigger_id(self, user_id: str) -> str:
        if self.standin is not None:
            # The stand-in must know whose screen a modal opened with this trigger belongs on.
            return self.standin.mint_trigger(user_id)
        return f"{next(self._ids)}{secrets.randbelow(10**9)}.{int(self.clock())}.{secrets.token_hex(16)}"

    def _event_id(self) -> str:
        return f"Ev{next(self._ids):06d}{secrets.token_hex(3).upper()}"

    def _now_ts(self) -> str:
        return f"{self.clock():.6f}"

    def _user_name(self, user_id: str) -> str:
        if self.standin is not None:
            try:
                return str(self.standin.user(user_id)["name"])
            except KeyError:
                pass
        return user_id.lower()

    def _user(self, user_id: str) -> JSONDict:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> JSONDict:
        return {"id": self.team_id, "domain": self.team_domain}

    def _channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return "directmessage"
        if self.standin is not None:
            try:
                return str(self.standin.channel(channel_id).get("name", channel_id))
            except KeyError:
                pass
        # e.g. "C_GENERAL" -> "general": readable without a stand-in.
        return channel_id.removeprefix("C_").lower() or "general"

    def _response_url(self, channel_id: str | None, user_id: str, message_ts: str | None = None) -> str:
        if self.standin is not None:
            return self.standin.new_response_url(channel=channel_id, user_id=user_id, message_ts=message_ts)
        return f"https://hooks.slack.test/actions/{self.team_id}/{next(self._ids)}/{secrets.token_hex(12)}"

    def _message(self, channel_id: str, message_ts: str) -> JSONDict:
        if self.standin is not None:
            try:
                return self.standin.message(channel_id, message_ts)
            except KeyError:
                pass
        return {"type": "message", "ts": message_ts, "text": ""}

    def _view(self, view: JSONDict | str) -> JSONDict:
        if isinstance(view, str):
            if self.standin is None:
                raise ValueError("a view id needs an attached SlackStandIn")
            return self.standin.views[view]
        return copy.deepcopy(view)

    # ----------------------------------------------------------------- slash commands

    def command(
        self,
        user_id: str,
        command: str,
        text: str = "",
        *,
        channel_id: str = "C_GENERAL",
        channel_name: str | None = None,
        user_name: str | None = None,
        trigger_id: str | None = None,
    ) -> SimResponse:
        """Invoke a slash command (e.g. "/handoff") as `user_id` typed it in `channel_id`.

        With a stand-in attached, the ack body is checked as Slack reads it (a bad one is a violation).
        """
        response = self._send_form(
            {
                "token": self.verification_token,
                "team_id": self.team_id,
                "team_domain": self.team_domain,
                "channel_id": channel_id,
                "channel_name": channel_name or self._channel_name(channel_id),
                "user_id": user_id,
                "user_name": user_name or self._user_name(user_id),
                "command": command,
                "text": text,
                "api_app_id": self.api_app_id,
                "is_enterprise_install": "false",
                "response_url": self._response_url(channel_id, user_id),
                "trigger_id": trigger_id or self._trigger_id(user_id),
            }
        )
        if self.standin is not None and response.status == 200 and response.body:
            body = response.json()
            self.standin.check_ack("command", body if body is not None else response.body)
        return response

    # ----------------------------------------------------------------- Events API

    def url_verification(self, challenge: str = "sandbox-challenge") -> SimResponse:
        """The handshake Slack sends when the events URL is configured."""
        body = {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        return self.send(json.dumps(body).encode(), "application/json")

    def event(
        self,
        event: JSONDict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        event_time: int | None = None,
    ) -> SimResponse:
        """Deliver `event` in an `event_callback` envelope; `retry_num` marks it as Slack's redelivery."""
        inner = {"event_ts": self._now_ts(), **event}
        envelope = event_envelope(
            inner, token=self.verification_token, team_id=self.team_id, api_app_id=self.api_app_id,
            bot_user_id=self.bot_user_id, event_id=event_id or self._event_id(),
            event_time=event_time if event_time is not None else int(self.clock()),
        )
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.send(json.dumps(envelope).encode(), "application/json", headers)

    def reaction_added(
        self,
        user: str,
        reaction: str,
        channel: str,
        ts: str,
        *,
        item_user: str | None = None,
        event_id: str | None = None,
        retry_num: int | None = None,
    ) -> SimResponse:
        """`user` reacted to message `ts`; the stand-in's message gets the reaction first, as in Slack."""
        if self.standin is not None and retry_num is None:
            try:
                self.standin.add_reaction(channel, ts, reaction, user)
            except SlackError:
                pass  # message unknown to the stand-in or already reacted: the event still goes out
        return self._reaction_event(
            "reaction_added", user, reaction, channel, ts, item_user, event_id, retry_num
        )

    def reaction_removed(
        self,
        user: str,
        reaction: str,
        channel: str,
        ts: str,
        *,
        item_user: str | None = None,
        event_id: str | None = None,
        retry_num: int | None = None,
    ) -> SimResponse:
        """`user` took a reaction back."""
        if self.standin is not None and retry_num is None:
            try:
                self.standin.remove_reaction(channel, ts, reaction, user)
            except SlackError:
                pass
        return self._reaction_event(
            "reaction_removed", user, reaction, channel, ts, item_user, event_id, retry_num
        )

    def _reaction_event(
        self,
        kind: str,
        user: str,
        reaction: str,
        channel: str,
        ts: str,
        item_user: str | None,
        event_id: str | None,
        retry_num: int | None,
    ) -> SimResponse:
        if item_user is None:
            item_user = str(self._message(channel, ts).get("user") or self.bot_user_id)
        event = {
            "type": kind,
            "user": user,
            "reaction": reaction,
            "item_user": item_user,
            "item": {"type": "message", "channel": channel, "ts": ts},
        }
        return self.event(event, event_id=event_id, retry_num=retry_num)

    def message_event(
        self,
        user: str,
        text: str,
        channel: str,
        *,
        thread_ts: str | None = None,
        event_id: str | None = None,
        retry_num: int | None = None,
    ) -> SimResponse:
        """`user` wrote `text` in `channel`; stored in the stand-in first so the bot can look it up.

        As Slack does, the bot hears of it only where it is a member (or in its DM), and a message that
        mentions the bot in a channel comes a second time as an `app_mention` (with its own event id).
        Returns the bot's answer to the `app_mention` when one was sent, else to the `message`.
        """
        ts = self._now_ts()
        is_dm = channel.startswith("D")
        member, private = True, channel.startswith("G")
        if self.standin is not None:
            ts = str(self.standin.add_message(channel, user, text, thread_ts=thread_ts)["ts"])
            info = {} if is_dm else self.standin.channel(channel)
            member, private = is_dm or bool(info.get("is_member")), bool(info.get("is_private"))
        event: JSONDict = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
            "team": self.team_id,
            "channel_type": "im" if is_dm else ("group" if private else "channel"),
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        if not member:
            return SimResponse(200, {}, "")  # Slack sends nothing from a channel the bot is not in
        answer = self.event(event, event_id=event_id, retry_num=retry_num)
        if is_dm or f"<@{self.bot_user_id}" not in text:
            return answer
        mention = {k: v for k, v in event.items() if k != "channel_type"}
        mentioned = self.event({**mention, "type": "app_mention"})
        return answer if answer.status != 200 else mentioned

    def app_home_opened(self, user: str, *, tab: str = "home", event_id: str | None = None) -> SimResponse:
        """`user` opened the bot's App Home tab."""
        event: JSONDict = {"type": "app_home_opened", "user": user, "tab": tab}
        if self.standin is not None:
            event["channel"] = self.standin.dm_id(user)
            home = self.standin.home_views.get(user)
            if home is not None:
                event["view"] = home
        return self.event(event, event_id=event_id)

    # ----------------------------------------------------------------- interactivity

    def block_action(
        self,
        user_id: str,
        action: JSONDict,
        *,
        channel_id: str | None = None,
        message_ts: str | None = None,
        message: JSONDict | None = None,
        trigger_id: str | None = None,
        view: JSONDict | str | None = None,
        container: JSONDict | None = None,
    ) -> SimResponse:
        """`user_id` used an interactive element, on a message (channel_id + message_ts) or in a view."""
        payload: JSONDict = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id or self._trigger_id(user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        blocks: Any = None
        if view is not None:
            view_obj = self._view(view)
            payload["view"] = view_obj
            payload["container"] = container or {"type": "view", "view_id": view_obj.get("id")}
            payload["state"] = view_obj.get("state", {"values": {}})
            blocks = view_obj.get("blocks")
        else:
            if message is None and channel_id is not None and message_ts is not None:
                message = self._message(channel_id, message_ts)
            ts = message_ts or (str(message["ts"]) if message and "ts" in message else None)
            payload["container"] = container or {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
            if channel_id is not None:
                payload["channel"] = {"id": channel_id, "name": self._channel_name(channel_id)}
                payload["response_url"] = self._response_url(channel_id, user_id, ts)
            if message is not None:
                payload["message"] = message
                blocks = message.get("blocks")
            payload["state"] = {"values": {}}
        full_action = {"type": "button", **copy.deepcopy(action), "action_ts": self._now_ts()}
        found = _find_element(blocks, str(action.get("action_id", "")))
        if found is not None:
            # Slack always says which block the element sat in and echoes a button's label.
            full_action.setdefault("block_id", found[0])
            if "text" in found[1]:
                full_action.setdefault("text", found[1]["text"])
        payload["actions"] = [full_action]
        return self._send_interactive(payload)

    def click_button(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str, *, trigger_id: str | None = None
    ) -> SimResponse:
        """Click a button the bot rendered in a stored message; LookupError if it is not there."""
        message = self._stored_message(channel_id, message_ts)
        action = element_action(message.get("blocks"), action_id, where=f"message {message_ts}")
        return self.block_action(
            user_id,
            action,
            channel_id=channel_id,
            message_ts=message_ts,
            message=message,
            trigger_id=trigger_id,
        )

    def choose_option(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str, value: str
    ) -> SimResponse:
        """Pick an option of an overflow/static select in a stored message; LookupError if absent."""
        message = self._stored_message(channel_id, message_ts)
        action = element_action(message.get("blocks"), action_id, value, where=f"message {message_ts}")
        return self.block_action(
            user_id, action, channel_id=channel_id, message_ts=message_ts, message=message
        )

    def act_on_ephemeral(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str, value: str | None = None
    ) -> SimResponse:
        """Click a button (or pick an option) in one of the person's ephemeral messages."""
        if self.standin is None:
            raise ValueError("needs an attached SlackStandIn")
        try:
            message = self.standin.ephemeral(user_id, channel_id, message_ts)
        except KeyError as exc:
            raise LookupError(str(exc)) from exc
        action = element_action(message.get("blocks"), action_id, value, where=f"ephemeral {message_ts}")
        container = {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": True}
        # Slack sends only the ts of an ephemeral message: the app can't look it up, only answer it.
        return self.block_action(user_id, action, channel_id=channel_id, message_ts=message_ts,
                                 message={"type": "message", "ts": message_ts}, container=container)

    def act_in_view(self, user_id: str, view_id: str, action_id: str, value: str | None = None) -> SimResponse:
        """Click a button (or pick an option) in an open modal or a published Home tab."""
        view = self._view(view_id)
        action = element_action(view.get("blocks"), action_id, value, where=f"view {view_id}")
        return self.block_action(user_id, action, view=view)

    def _stored_message(self, channel_id: str, message_ts: str) -> JSONDict:
        if self.standin is None:
            raise ValueError("needs an attached SlackStandIn")
        try:
            return self.standin.message(channel_id, message_ts)
        except KeyError as exc:
            raise LookupError(str(exc)) from exc

    def view_submission(self, user_id: str, view: JSONDict | str, values: JSONDict) -> SimResponse:
        """Submit a modal with `values` ({block_id: {action_id: state}}; a bare string = text input).

        With a stand-in attached, the bot's answer (`response_action` or none) is applied to its
        open modals the way Slack applies it.
        """
        view_obj = self._view(view)
        view_obj.setdefault("id", f"V{next(self._ids):06d}SIM")
        state: JSONDict = {}
        for block_id, actions in values.items():
            state[block_id] = {
                action_id: (
                    {"type": "plain_text_input", "value": value}
                    if isinstance(value, str)
                    else copy.deepcopy(value)
                )
                for action_id, value in actions.items()
            }
        view_obj["state"] = {"values": state}
        payload: JSONDict = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": self._trigger_id(user_id),
            "view": view_obj,
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }
        response = self._send_interactive(payload)
        if self.standin is not None and response.status == 200 and view_obj["id"] in self.standin.views:
            self.standin.apply_view_response(str(view_obj["id"]), response.json())
        return response

    def view_closed(self, user_id: str, view: JSONDict | str, *, is_cleared: bool = False) -> SimResponse:
        """The user dismissed a modal (sent only if the view had notify_on_close)."""
        view_obj = self._view(view)
        if self.standin is not None and "id" in view_obj:
            self.standin.close_view(str(view_obj["id"]), clear=is_cleared)
        payload = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "view": view_obj,
            "is_cleared": is_cleared,
            "enterprise": None,
            "is_enterprise_install": False,
        }
        return self._send_interactive(payload)

    def shortcut(
        self,
        user_id: str,
        callback_id: str,
        *,
        message: JSONDict | None = None,
        channel_id: str | None = None,
        trigger_id: str | None = None,
    ) -> SimResponse:
        """A global shortcut, or a message shortcut when `message` (and `channel_id`) are given."""
        base: JSONDict = {
            "token": self.verification_token,
            "action_ts": self._now_ts(),
            "team": self._team(),
            "user": self._user(user_id),
            "callback_id": callback_id,
            "trigger_id": trigger_id or self._trigger_id(user_id),
            "is_enterprise_install": False,
            "enterprise": None,
        }
        if message is None:
            return self._send_interactive({"type": "shortcut", **base})
        if channel_id is None:
            raise ValueError("a message shortcut needs channel_id")
        message_ts = str(message["ts"])
        payload = {
            "type": "message_action",
            **base,
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "message_ts": message_ts,
            "message": copy.deepcopy(message),
            "response_url": self._response_url(channel_id, user_id, message_ts),
        }
        return self._send_interactive(payload)
