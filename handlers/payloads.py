"""One validated shape per Slack surface: every listener reads its request through these, never the raw body.

`decode` turns the (already verified) raw request into a dict as Slack meant it; `parse` checks that dict
against the shape of its surface and returns a frozen dataclass. Anything that does not fit raises
`BadPayload`, which the HTTP boundary and the error handler answer with 400 before anything changes.
Surfaces Handoff does not use come back as `Ignored`, which is acknowledged with an empty 200.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl

__all__ = [
    "CONTEXT_KEY",
    "MAX_NUMBER",
    "BadPayload",
    "BlockAction",
    "CreationOrigin",
    "HomeOpened",
    "Ignored",
    "MemberChanged",
    "MemberJoined",
    "MessagePosted",
    "MessageRef",
    "Payload",
    "Reaction",
    "Shortcut",
    "SlashCommand",
    "TaskTarget",
    "UrlVerification",
    "ViewClosed",
    "ViewSubmission",
    "current",
    "decode",
    "parse",
    "parse_number",
]

# Where the parsed payload rides in Bolt's context, from the boundary to the listener.
CONTEXT_KEY: Final = "handoff_payload"
# Task numbers and recurring ids are 32-bit integer columns (PostgreSQL `integer`); nothing bigger is ours.
MAX_NUMBER: Final = 2**31 - 1

# Slack ids (teams, enterprises, users, channels) are short runs of capitals and digits; letters of either
# case, `_` and `-` are let through for test and Enterprise Grid placeholders, nothing else.
_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
# ASCII digits only: `str.isdigit` also accepts "³" and "٣", which `int` then refuses or misreads.
_NUMBER_RE: Final = re.compile(r"[0-9]{1,10}")
_MAX_TEXT: Final = 40_000
_TASK_MODAL_RE: Final = re.compile(r"task_[a-z_]+_modal")
# The creation modal (bot/modals.py), whose metadata says where it was opened and from which message.
NEW_TASK_MODAL: Final = "new_task_modal"
# Message timestamps: seconds, a dot, microseconds.
_TS_RE: Final = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")


class BadPayload(Exception):
    """A signed request whose shape Handoff cannot use; answered 400 and nothing changes."""


def parse_number(text: str) -> int | None:
    """A positive number typed or sent as ASCII digits, within what our integer columns hold; else None."""
    if not _NUMBER_RE.fullmatch(text):
        return None
    number = int(text)
    return number if 0 < number <= MAX_NUMBER else None


@dataclass(frozen=True)
class SlashCommand:
    """A slash command: who typed which command where, and the text after it (as Slack escaped it)."""

    command: str
    team_id: str
    user_id: str
    channel_id: str
    text: str
    response_url: str | None
    trigger_id: str | None


@dataclass(frozen=True)
class BlockAction:
    """A click on a button or a choice in a menu: the first of `actions`, with its value as a string."""

    action_id: str
    value: str
    team_id: str
    user_id: str
    channel_id: str | None
    response_url: str | None
    trigger_id: str | None
    # Set when the click was in a modal or the Home tab: the view and its callback id.
    view_id: str | None = None
    view_callback_id: str | None = None


@dataclass(frozen=True)
class TaskTarget:
    """What a task modal's `private_metadata` says it was opened for."""

    number: int
    channel_id: str | None


@dataclass(frozen=True)
class MessageRef:
    """A Slack message an action was taken on: its place, thread, author (None for a bot's) and text."""

    channel_id: str
    ts: str
    text: str
    author_id: str | None
    thread_ts: str | None = None


@dataclass(frozen=True)
class Shortcut:
    """A global shortcut (⚡), or a message shortcut (⋯ on a message) when `message` is set."""

    callback_id: str
    team_id: str
    user_id: str
    trigger_id: str
    message: MessageRef | None = None


@dataclass(frozen=True)
class CreationOrigin:
    """What the creation modal's `private_metadata` says: where it was opened and from which message."""

    channel_id: str | None
    source: MessageRef | None = None


@dataclass(frozen=True)
class ViewSubmission:
    """A submitted modal: its callback id, what it was opened for, and the state of its inputs."""

    callback_id: str
    team_id: str
    user_id: str
    target: TaskTarget | None
    values: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    # Slack's id of the open view: the same on a second click of Submit.
    view_id: str | None = None
    origin: CreationOrigin | None = None

    def input(self, block_id: str, action_id: str = "value") -> Mapping[str, Any]:
        """The state of one input element (empty when the modal had no such input)."""
        return self.values.get(block_id, {}).get(action_id, {})

    def text(self, block_id: str) -> str:
        """What was typed into a plain-text input (empty when nothing was)."""
        value = self.input(block_id).get("value")
        return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class ViewClosed:
    """A modal closed with its ✕ or Back button."""

    callback_id: str
    team_id: str
    user_id: str


@dataclass(frozen=True)
class Reaction:
    """A reaction added to or removed from a message (`reaction_added` / `reaction_removed`)."""

    added: bool
    team_id: str
    user_id: str
    reaction: str
    item_type: str
    channel_id: str
    ts: str
    item_user: str | None
    event_id: str | None


@dataclass(frozen=True)
class MemberJoined:
    """Someone (perhaps the bot itself) joined a channel."""

    team_id: str
    user_id: str
    channel_id: str
    event_id: str | None


@dataclass(frozen=True)
class MemberChanged:
    """A member joined the workspace (`team_join`) or their details changed (`user_change`).

    `user` is Slack's user object (as `users.info` returns it), its fields the directory reads checked.
    """

    team_id: str
    user: dict[str, Any]
    event_id: str | None


@dataclass(frozen=True)
class MessagePosted:
    """A message in a channel or DM the bot is in (`message`), or one that mentions it (`app_mention`).

    `user_id` is None for a bot's message; `subtype` is Slack's (edits, deletions, joins, broadcasts,
    file shares), None for a plain message.
    """

    mention: bool
    team_id: str
    user_id: str | None
    bot_id: str | None
    subtype: str | None
    channel_id: str
    channel_type: str
    text: str
    ts: str
    thread_ts: str | None
    has_files: bool
    event_id: str | None

    @property
    def in_thread(self) -> bool:
        """A reply in a thread (a broadcast reply too), not a thread's parent."""
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass(frozen=True)
class HomeOpened:
    """Someone opened the app's Home or Messages tab (`app_home_opened`)."""

    team_id: str
    user_id: str
    tab: str
    event_id: str | None


@dataclass(frozen=True)
class UrlVerification:
    """Slack checking the Request URL: answered with its challenge."""

    challenge: str


@dataclass(frozen=True)
class Ignored:
    """A request Handoff does not use (another event, a shortcut, an SSL check): acknowledged, nothing else."""

    kind: str


Payload = (
    SlashCommand | BlockAction | ViewSubmission | ViewClosed | Reaction | MemberJoined | MemberChanged | Shortcut
    | MessagePosted | HomeOpened | UrlVerification | Ignored
)
P = TypeVar(
    "P", SlashCommand, BlockAction, ViewSubmission, ViewClosed, Reaction, MemberJoined, MemberChanged, Shortcut,
    MessagePosted, HomeOpened,
)


def current(context: Mapping[str, Any], kind: type[P]) -> P:
    """The payload the boundary parsed for this request, which must be of `kind`."""
    payload = context.get(CONTEXT_KEY)
    if not isinstance(payload, kind):
        raise BadPayload(f"expected a {kind.__name__}, got {type(payload).__name__}")
    return payload


# --- decoding -------------------------------------------------------------------------------------


def decode(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The request body as a dict: JSON (Events API), a form (slash commands), or a form's `payload` JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadPayload("the body is not UTF-8") from error
    if not text:
        return {}
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json" or (media != "application/x-www-form-urlencoded" and text.startswith("{")):
        return _object(_json(text), "the body")
    # Only a field named `payload` holds interactivity JSON; a command whose text says "payload" is a command.
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form and "command" not in form:
        return _object(_json(form["payload"]), "the payload field")
    return form


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    # RecursionError: JSON nested thousands deep; ValueError also covers ints too long to convert.
    except (ValueError, RecursionError) as error:
        raise BadPayload("not valid JSON") from error


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(f"{what} is not a JSON object")
    return value


# --- field readers --------------------------------------------------------------------------------


def _str(data: Mapping[str, Any], key: str, *, optional: bool = False, limit: int = _MAX_TEXT) -> str | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise BadPayload(f"`{key}` is not a string")
    # Slack never sends NUL, and PostgreSQL could not store it.
    if "\x00" in value:
        raise BadPayload(f"`{key}` holds a NUL character")
    return value


def _required(data: Mapping[str, Any], key: str) -> str:
    value = _str(data, key)
    assert value is not None
    if not value:
        raise BadPayload(f"`{key}` is empty")
    return value


def _id(data: Mapping[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = data.get(key)
    if (value is None or value == "") and optional:
        return None
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise BadPayload(f"`{key}` is not a Slack id")
    return value


def _required_id(data: Mapping[str, Any], key: str) -> str:
    value = _id(data, key)
    assert value is not None
    return value


def _dict(data: Mapping[str, Any], key: str, *, optional: bool = False) -> dict[str, Any]:
    value = data.get(key)
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise BadPayload(f"`{key}` is not an object")
    return value


def _url(data: Mapping[str, Any], key: str) -> str | None:
    value = _str(data, key, optional=True, limit=3000)
    if value is not None and not value.startswith(("https://", "http://")):
        raise BadPayload(f"`{key}` is not a URL")
    return value or None


def _user_and_team(body: Mapping[str, Any]) -> tuple[str, str]:
    """The acting user and their workspace from an interaction (`team` is null for org-wide apps)."""
    user = _dict(body, "user")
    team = _dict(body, "team", optional=True)
    team_id = _id(team, "id", optional=True) or _id(user, "team_id", optional=True)
    if team_id is None:
        raise BadPayload("no workspace named")
    return _required_id(user, "id"), team_id


# --- surfaces -------------------------------------------------------------------------------------


def parse(body: Any) -> Payload:
    """The validated shape of one request body; raises BadPayload when a surface we use is malformed."""
    if not isinstance(body, dict):
        raise BadPayload("the body is not an object")
    if "command" in body:
        return _slash_command(body)
    if body.get("ssl_check") == "1":
        return Ignored("ssl_check")
    kind = body.get("type")
    if kind == "url_verification":
        return UrlVerification(challenge=_str(body, "challenge", limit=500) or "")
    if kind == "block_actions":
        return _block_action(body)
    if kind == "view_submission":
        return _view_submission(body)
    if kind == "view_closed":
        return _view_closed(body)
    if kind in {"shortcut", "message_action"}:
        return _shortcut(body, on_message=kind == "message_action")
    if kind == "event_callback":
        return _event(body)
    return Ignored(str(kind) if isinstance(kind, str) else "untyped")


def _slash_command(body: Mapping[str, Any]) -> SlashCommand:
    command = _required(body, "command")
    return SlashCommand(
        command=command,
        team_id=_required_id(body, "team_id"),
        user_id=_required_id(body, "user_id"),
        channel_id=_required_id(body, "channel_id"),
        text=_str(body, "text", optional=True) or "",
        response_url=_url(body, "response_url"),
        trigger_id=_str(body, "trigger_id", optional=True, limit=500),
    )


def _block_action(body: Mapping[str, Any]) -> BlockAction:
    user_id, team_id = _user_and_team(body)
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise BadPayload("`actions` is empty")
    action = actions[0]
    view = _dict(body, "view", optional=True)
    # A button carries `value`; a menu the chosen option's `value`.
    option = _dict(action, "selected_option", optional=True)
    value = _str(option, "value", optional=True, limit=2000) if option else _str(
        action, "value", optional=True, limit=2000
    )
    return BlockAction(
        action_id=_required(action, "action_id"),
        value=value or "",
        team_id=team_id,
        user_id=user_id,
        channel_id=_id(_dict(body, "channel", optional=True), "id", optional=True),
        response_url=_url(body, "response_url"),
        trigger_id=_str(body, "trigger_id", optional=True, limit=500),
        view_id=_id(view, "id", optional=True) if view else None,
        view_callback_id=_str(view, "callback_id", optional=True, limit=255) if view else None,
    )


def _view_submission(body: Mapping[str, Any]) -> ViewSubmission:
    user_id, team_id = _user_and_team(body)
    view = _dict(body, "view")
    callback_id = _view_kind(view)
    state = _dict(view, "state", optional=True)
    values = _dict(state, "values", optional=True)
    for block in values.values():
        if not isinstance(block, dict) or not all(isinstance(element, dict) for element in block.values()):
            raise BadPayload("`view.state.values` is not a map of inputs")
    metadata = _str(view, "private_metadata", optional=True, limit=3000) or ""
    # Handoff's own modals are the `task_…_modal` ones (bot/modals.py); each names its task in the metadata.
    target = _task_target(metadata) if _TASK_MODAL_RE.fullmatch(callback_id) else None
    origin = _creation_origin(metadata) if callback_id == NEW_TASK_MODAL else None
    return ViewSubmission(
        callback_id=callback_id, team_id=team_id, user_id=user_id, target=target, values=values,
        view_id=_id(view, "id", optional=True), origin=origin,
    )


def _ts(data: Mapping[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not _TS_RE.fullmatch(value):
        raise BadPayload(f"`{key}` is not a message timestamp")
    return value


def _creation_origin(metadata: str) -> CreationOrigin:
    meta = _object(_json(metadata or "{}"), "`private_metadata`")
    source = _dict(meta, "source", optional=True)
    ref = None
    if source:
        ref = MessageRef(
            channel_id=_required_id(source, "channel"), ts=_ts(source, "ts") or "", text="",
            author_id=_id(source, "author", optional=True), thread_ts=_ts(source, "thread_ts", optional=True),
        )
    return CreationOrigin(channel_id=_id(meta, "channel", optional=True), source=ref)


def _shortcut(body: Mapping[str, Any], *, on_message: bool) -> Shortcut:
    user_id, team_id = _user_and_team(body)
    message = None
    if on_message:
        channel_id = _required_id(_dict(body, "channel"), "id")
        raw = _dict(body, "message")
        message = MessageRef(
            channel_id=channel_id,
            ts=_ts(raw, "ts") or "",
            text=_str(raw, "text", optional=True) or "",
            # A bot's message (an integration's alert, say) has `bot_id` and perhaps no `user`.
            author_id=None if raw.get("bot_id") else _id(raw, "user", optional=True),
            thread_ts=_ts(raw, "thread_ts", optional=True),
        )
    trigger_id = _str(body, "trigger_id", limit=500)
    if not trigger_id:
        raise BadPayload("`trigger_id` is empty")
    return Shortcut(
        callback_id=_str(body, "callback_id", limit=255) or "", team_id=team_id, user_id=user_id,
        trigger_id=trigger_id, message=message,
    )


def _task_target(metadata: str) -> TaskTarget:
    meta = _object(_json(metadata or "null"), "`private_metadata`")
    number = meta.get("number")
    # bool is an int in Python; `true` is not a task number.
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= MAX_NUMBER:
        raise BadPayload("`private_metadata` names no task")
    return TaskTarget(number=number, channel_id=_id(meta, "channel", optional=True))


def _view_closed(body: Mapping[str, Any]) -> ViewClosed:
    user_id, team_id = _user_and_team(body)
    return ViewClosed(callback_id=_view_kind(_dict(body, "view")), team_id=team_id, user_id=user_id)


def _view_kind(view: Mapping[str, Any]) -> str:
    """The view's callback id, after checking `type` too (Bolt's own routing reads both)."""
    _str(view, "type", limit=50)
    return _str(view, "callback_id", limit=255) or ""


def _event(body: Mapping[str, Any]) -> Payload:
    event = body.get("event")
    if not isinstance(event, dict):
        return Ignored("event_callback without an event")
    kind = event.get("type")
    if kind not in {
        "reaction_added", "reaction_removed", "member_joined_channel", "user_change", "team_join", "message",
        "app_mention", "app_home_opened",
    }:
        return Ignored(f"event {kind}" if isinstance(kind, str) else "untyped event")
    team_id = _required_id(body, "team_id")
    event_id = _str(body, "event_id", optional=True, limit=100)
    if kind in {"message", "app_mention"}:
        return _message(event, team_id=team_id, event_id=event_id, mention=kind == "app_mention")
    if kind == "app_home_opened":
        return HomeOpened(
            team_id=team_id, user_id=_required_id(event, "user"), tab=_str(event, "tab", optional=True, limit=20) or "",
            event_id=event_id,
        )
    if kind in {"user_change", "team_join"}:
        return MemberChanged(team_id=team_id, user=_slack_user(event), event_id=event_id)
    if kind == "member_joined_channel":
        return MemberJoined(
            team_id=team_id, user_id=_required_id(event, "user"), channel_id=_required_id(event, "channel"),
            event_id=event_id,
        )
    item = _dict(event, "item")
    item_type = _str(item, "type", optional=True, limit=50) or ""
    return Reaction(
        added=kind == "reaction_added",
        team_id=team_id,
        user_id=_required_id(event, "user"),
        reaction=_required(event, "reaction"),
        item_type=item_type,
        # Reactions on files carry no channel/ts; they are never cards.
        channel_id=(_id(item, "channel", optional=True) or "") if item_type == "message" else "",
        ts=(_str(item, "ts", optional=True, limit=50) or "") if item_type == "message" else "",
        item_user=_id(event, "item_user", optional=True),
        event_id=event_id,
    )


def _message(event: Mapping[str, Any], *, team_id: str, event_id: str | None, mention: bool) -> MessagePosted:
    subtype = _str(event, "subtype", optional=True, limit=50)
    files = event.get("files")
    return MessagePosted(
        mention=mention,
        team_id=team_id,
        # An edit (`message_changed`) carries its user inside `message`; only plain messages make tasks.
        user_id=_id(event, "user", optional=True),
        bot_id=_id(event, "bot_id", optional=True),
        subtype=subtype,
        channel_id=_required_id(event, "channel"),
        channel_type=_str(event, "channel_type", optional=True, limit=20) or "",
        text=_str(event, "text", optional=True) or "",
        ts=_ts(event, "ts") or "",
        thread_ts=_ts(event, "thread_ts", optional=True),
        has_files=isinstance(files, list) and bool(files),
        event_id=event_id,
    )


def _slack_user(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event's user object, once the fields the directory stores fit their columns."""
    user = _dict(event, "user")
    _required_id(user, "id")
    for key, limit in (("name", 255), ("real_name", 255), ("tz", 64), ("locale", 35)):
        _str(user, key, optional=True, limit=limit)
    profile = _dict(user, "profile", optional=True)
    for key in ("display_name", "real_name"):
        _str(profile, key, optional=True, limit=255)
    for key in ("status_text", "status_emoji"):  # Slack allows a status 100 characters
        _str(profile, key, optional=True, limit=100)
    return user
