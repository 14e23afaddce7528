"""Block Kit as Slack validates it: slack_sdk's own models plus the documented limits they skip.

`message_problems` and `view_problems` return Slack-style `response_metadata.messages`
(`[ERROR] … [json-pointer:/…]`); an empty list means Slack would accept the payload. Every limit
checked here that slack_sdk does not check is in `LIMITS`, with the page that documents it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, BlockElement
from slack_sdk.models.views import View

__all__ = [
    "LIMITS",
    "SOURCES",
    "ack_refusal",
    "message_problems",
    "message_refusal",
    "mrkdwn_problems",
    "text_problems",
    "view_problems",
]

_BK = "https://docs.slack.dev/reference/block-kit"
SOURCES = {
    "blocks": f"{_BK}/blocks",
    "section": f"{_BK}/blocks/section-block",
    "header": f"{_BK}/blocks/header-block",
    "context": f"{_BK}/blocks/context-block",
    "actions": f"{_BK}/blocks/actions-block",
    "input": f"{_BK}/blocks/input-block",
    "image": f"{_BK}/blocks/image-block",
    "button": f"{_BK}/block-elements/button-element",
    "overflow": f"{_BK}/block-elements/overflow-menu-element",
    "select": f"{_BK}/block-elements/select-menu-element",
    "checkboxes": f"{_BK}/block-elements/checkboxes-element",
    "radio_buttons": f"{_BK}/block-elements/radio-button-group-element",
    "plain_text_input": f"{_BK}/block-elements/plain-text-input-element",
    "option": f"{_BK}/composition-objects/option-object",
    "option_group": f"{_BK}/composition-objects/option-group-object",
    "confirm": f"{_BK}/composition-objects/confirmation-dialog-object",
    "text": f"{_BK}/composition-objects/text-object",
    "modal": "https://docs.slack.dev/reference/views/modal-views",
    "home": "https://docs.slack.dev/reference/views/home-tab-views",
    "postMessage": "https://docs.slack.dev/reference/methods/chat.postMessage",
    "formatting": "https://docs.slack.dev/messaging/formatting-message-text",
}

# name -> (limit, source key); "at most" unless the name says min.
LIMITS: dict[str, tuple[int, str]] = {
    "message_blocks": (50, "postMessage"),
    "view_blocks": (100, "modal"),
    "message_text": (40_000, "postMessage"),
    "block_id": (255, "blocks"),
    "action_id": (255, "button"),
    "section_text": (3_000, "section"),
    "section_fields": (10, "section"),
    "section_field_text": (2_000, "section"),
    "header_text": (150, "header"),
    "context_elements": (10, "context"),
    "actions_elements": (25, "actions"),
    "input_label": (2_000, "input"),
    "input_hint": (2_000, "input"),
    "image_url": (3_000, "image"),
    "image_alt_text": (2_000, "image"),
    "image_title": (2_000, "image"),
    "button_text": (75, "button"),
    "button_value": (2_000, "button"),
    "button_url": (3_000, "button"),
    "button_accessibility_label": (75, "button"),
    "overflow_options_min": (2, "overflow"),
    "overflow_options": (5, "overflow"),
    "select_options": (100, "select"),
    "select_option_groups": (100, "select"),
    "placeholder": (150, "select"),
    "checkbox_options": (10, "checkboxes"),
    "radio_options": (10, "radio_buttons"),
    "input_max_length": (3_000, "plain_text_input"),
    "option_text": (75, "option"),
    "option_value": (150, "option"),
    "option_description": (75, "option"),
    "option_url": (3_000, "option"),
    "option_group_label": (75, "option_group"),
    "option_group_options": (100, "option_group"),
    "confirm_title": (100, "confirm"),
    "confirm_text": (300, "confirm"),
    "confirm_button": (30, "confirm"),
    "modal_title": (24, "modal"),
    "modal_button": (24, "modal"),
    "private_metadata": (3_000, "modal"),
    "callback_id": (255, "modal"),
    "external_id": (255, "modal"),
}


def _limit(name: str) -> int:
    return LIMITS[name][0]


def _error(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _too_long(limit: int, pointer: str) -> str:
    # Slack's own wording for a string over its limit.
    return _error(f"must be less than {limit + 1} characters", pointer)


# Inside <…>: a mention, a channel, a special mention, a date, or a link (optionally with |label).
_CONTROL = re.compile(
    r"(?:[@#][A-Z0-9]+|!(?:here|channel|everyone)|!subteam\^[A-Z0-9]+|!date\^[^<>]+"
    r"|(?:https?://|mailto:|tel:|slack://)[^\s<>|]+)(?:\|[^<>]*)?",
)
_ENTITY = re.compile(r"&(?:amp|lt|gt);")


def mrkdwn_problems(text: str) -> list[str]:
    """What makes `text` malformed mrkdwn: a `<` that is not a closed control sequence, a bare `&`."""
    problems: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "&":
            if not _ENTITY.match(text, index):
                problems.append(f"'&' at {index} must be escaped as &amp; (only &amp; &lt; &gt; are entities)")
        elif char == "<":
            end = text.find(">", index + 1)
            inner = text[index + 1 : end] if end != -1 else ""
            if end == -1 or "<" in inner:
                problems.append(f"'<' at {index} is never closed; escape a literal one as &lt;")
            elif not _CONTROL.fullmatch(inner):
                problems.append(f"'<{inner[:40]}>' at {index} is not a link, mention or date; escape it as &lt;…&gt;")
                index = end
            else:
                index = end
        index += 1
    return problems


def text_problems(text: Any, pointer: str = "/text") -> list[str]:
    """Message `text`: at most 40,000 characters of well-formed mrkdwn (length first, as Slack does)."""
    if text is None:
        return []
    if not isinstance(text, str):
        return [_error("must be a string", pointer)]
    if len(text) > _limit("message_text"):
        return [_too_long(_limit("message_text"), pointer)]
    return [_error(f"malformed mrkdwn: {p}", pointer) for p in mrkdwn_problems(text)]


class _Checker:
    """Walks one payload's blocks, collecting every problem (Slack reports them all at once)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.block_ids: set[str] = set()

    def add(self, message: str, pointer: str) -> None:
        self.problems.append(_error(message, pointer))

    def length(self, value: Any, name: str, pointer: str) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self.add("must be a string", pointer)
        elif len(value) > _limit(name):
            self.problems.append(_too_long(_limit(name), pointer))

    def count(self, items: Any, pointer: str, *, most: int, least: int = 1, required: bool = True) -> list[Any]:
        if items is None:
            if required:
                self.add("missing required field", pointer)
            return []
        if not isinstance(items, list):
            self.add("must be an array", pointer)
            return []
        if len(items) > most:
            self.add(f"no more than {most} items allowed", pointer)
        elif len(items) < least:
            self.add(f"must provide at least {least} items", pointer)
        return items

    def sdk(self, parsed: Any, pointer: str) -> None:
        """Run slack_sdk's own validation of a parsed model."""
        try:
            parsed.validate_json()
        except SlackObjectFormationError as exc:
            self.add(f"{exc} (slack_sdk {type(parsed).__name__})", pointer)

    # -- composition objects --------------------------------------------------------------------

    def text(
        self, obj: Any, pointer: str, *, limit: str | None = None, plain: bool = False, required: bool = True
    ) -> None:
        if obj is None:
            if required:
                self.add("missing required field", pointer)
            return
        if not isinstance(obj, dict):
            self.add("must be a text object", pointer)
            return
        kind = obj.get("type")
        if kind not in ("plain_text", "mrkdwn") or (plain and kind != "plain_text"):
            self.add("must be a plain_text object" if plain else "must be plain_text or mrkdwn", f"{pointer}/type")
            return
        value = obj.get("text")
        if not isinstance(value, str):
            self.add("missing required field: text", f"{pointer}/text")
            return
        if not value:
            self.add("must be more than 0 characters", f"{pointer}/text")
        if limit is not None:
            self.length(value, limit, f"{pointer}/text")
        if kind == "mrkdwn" and not obj.get("verbatim"):
            for problem in mrkdwn_problems(value):
                self.add(f"malformed mrkdwn: {problem}", f"{pointer}/text")

    def option(self, option: Any, pointer: str, *, url_allowed: bool = False) -> None:
        if not isinstance(option, dict):
            self.add("must be an option object", pointer)
            return
        self.text(option.get("text"), f"{pointer}/text", limit="option_text")
        if not isinstance(option.get("value"), str):
            self.add("missing required field: value", f"{pointer}/value")
        self.length(option.get("value"), "option_value", f"{pointer}/value")
        self.text(option.get("description"), f"{pointer}/description", limit="option_description", required=False)
        if "url" in option and not url_allowed:
            self.add("url is only allowed in overflow menu options", f"{pointer}/url")
        self.length(option.get("url"), "option_url", f"{pointer}/url")

    def options(self, element: dict[str, Any], pointer: str, *, most: str, least: int = 1) -> None:
        if "option_groups" in element:
            most_groups = _limit("select_option_groups")
            groups = self.count(element["option_groups"], f"{pointer}/option_groups", most=most_groups)
            for index, group in enumerate(groups):
                where = f"{pointer}/option_groups/{index}"
                if not isinstance(group, dict):
                    self.add("must be an option group object", where)
                    continue
                self.text(group.get("label"), f"{where}/label", limit="option_group_label", plain=True)
                items = self.count(group.get("options"), f"{where}/options", most=_limit("option_group_options"))
                for number, option in enumerate(items):
                    self.option(option, f"{where}/options/{number}")
            return
        items = self.count(element.get("options"), f"{pointer}/options", most=_limit(most), least=least)
        for index, option in enumerate(items):
            self.option(option, f"{pointer}/options/{index}", url_allowed=element.get("type") == "overflow")

    def confirm(self, obj: Any, pointer: str) -> None:
        if obj is None:
            return
        if not isinstance(obj, dict):
            self.add("must be a confirmation dialog object", pointer)
            return
        self.text(obj.get("title"), f"{pointer}/title", limit="confirm_title", plain=True)
        self.text(obj.get("text"), f"{pointer}/text", limit="confirm_text")
        self.text(obj.get("confirm"), f"{pointer}/confirm", limit="confirm_button", plain=True)
        self.text(obj.get("deny"), f"{pointer}/deny", limit="confirm_button", plain=True)

    # -- elements -------------------------------------------------------------------------------

    def element(self, element: Any, pointer: str, action_ids: set[str]) -> None:
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            self.add("missing required field: type", pointer)
            return
        kind = element["type"]
        if kind in ("plain_text", "mrkdwn"):
            self.text(element, pointer)
            return
        parsed = BlockElement.parse(element)
        if parsed is None:
            self.add(f"unknown element type {kind!r}", f"{pointer}/type")
            return
        action_id = element.get("action_id")
        if action_id is not None:
            self.length(action_id, "action_id", f"{pointer}/action_id")
            if action_id in action_ids:
                self.add(f"duplicate action_id {action_id!r} in this block", f"{pointer}/action_id")
            action_ids.add(str(action_id))
        self.confirm(element.get("confirm"), f"{pointer}/confirm")
        self.text(element.get("placeholder"), f"{pointer}/placeholder", limit="placeholder", plain=True, required=False)
        if kind == "button":
            self.text(element.get("text"), f"{pointer}/text", limit="button_text", plain=True)
            self.length(element.get("value"), "button_value", f"{pointer}/value")
            self.length(element.get("url"), "button_url", f"{pointer}/url")
            label = element.get("accessibility_label")
            self.length(label, "button_accessibility_label", f"{pointer}/accessibility_label")
            if element.get("style") not in (None, "primary", "danger"):
                self.add("must be one of primary, danger", f"{pointer}/style")
        elif kind == "overflow":
            self.options(element, pointer, most="overflow_options", least=_limit("overflow_options_min"))
        elif kind in ("static_select", "multi_static_select"):
            self.options(element, pointer, most="select_options")
        elif kind == "checkboxes":
            self.options(element, pointer, most="checkbox_options")
        elif kind == "radio_buttons":
            self.options(element, pointer, most="radio_options")
        elif kind == "plain_text_input":
            for name in ("min_length", "max_length"):
                value = element.get(name)
                if value is not None and (not isinstance(value, int) or not 0 <= value <= _limit("input_max_length")):
                    self.add(f"must be an integer from 0 to {_limit('input_max_length')}", f"{pointer}/{name}")
        elif kind == "image":
            self.length(element.get("image_url"), "image_url", f"{pointer}/image_url")
            self.length(element.get("alt_text"), "image_alt_text", f"{pointer}/alt_text")
        self.sdk(parsed, pointer)

    # -- blocks ---------------------------------------------------------------------------------

    def blocks(self, blocks: Any, *, most: int, pointer: str) -> None:
        if not isinstance(blocks, list):
            self.add("must be an array", pointer)
            return
        if len(blocks) > most:
            self.add(f"no more than {most} items allowed", pointer)
        for index, block in enumerate(blocks):
            self.block(block, f"{pointer}/{index}")

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            self.add("missing required field: type", pointer)
            return
        block_id = block.get("block_id")
        if block_id is not None:
            self.length(block_id, "block_id", f"{pointer}/block_id")
            if block_id in self.block_ids:
                self.add(f"duplicate block_id {block_id!r}", f"{pointer}/block_id")
            self.block_ids.add(str(block_id))
        try:
            parsed = Block.parse(block)
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            self.add(f"cannot be read as a block ({type(exc).__name__}: {exc})", pointer)
            return
        if parsed is None:
            self.add(f"unknown block type {block['type']!r}", f"{pointer}/type")
            return
        action_ids: set[str] = set()
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.add("text or fields is required", pointer)
            self.text(block.get("text"), f"{pointer}/text", limit="section_text", required=False)
            fields = self.count(block.get("fields"), f"{pointer}/fields", most=_limit("section_fields"), required=False)
            for index, item in enumerate(fields):
                self.text(item, f"{pointer}/fields/{index}", limit="section_field_text")
            if "accessory" in block:
                self.element(block["accessory"], f"{pointer}/accessory", action_ids)
        elif kind == "header":
            self.text(block.get("text"), f"{pointer}/text", limit="header_text", plain=True)
        elif kind in ("context", "actions"):
            most = _limit(f"{kind}_elements")
            for index, item in enumerate(self.count(block.get("elements"), f"{pointer}/elements", most=most)):
                self.element(item, f"{pointer}/elements/{index}", action_ids)
        elif kind == "input":
            self.text(block.get("label"), f"{pointer}/label", limit="input_label", plain=True)
            self.text(block.get("hint"), f"{pointer}/hint", limit="input_hint", plain=True, required=False)
            if "element" not in block:
                self.add("missing required field: element", f"{pointer}/element")
            else:
                self.element(block["element"], f"{pointer}/element", action_ids)
        elif kind == "image":
            self.length(block.get("image_url"), "image_url", f"{pointer}/image_url")
            self.length(block.get("alt_text"), "image_alt_text", f"{pointer}/alt_text")
            self.text(block.get("title"), f"{pointer}/title", limit="image_title", plain=True, required=False)
        self.sdk(parsed, pointer)


def message_problems(blocks: Any, *, where: str = "/blocks") -> list[str]:
    """Problems with a message's `blocks` (chat.postMessage/update/postEphemeral, response_url, acks)."""
    if blocks is None:
        return []
    checker = _Checker()
    checker.blocks(blocks, most=_limit("message_blocks"), pointer=where)
    return checker.problems


def view_problems(view: Any, allowed_types: Iterable[str]) -> list[str]:
    """Problems with a view object (views.open/update/push/publish, a view_submission's update/push)."""
    allowed = tuple(allowed_types)
    if not isinstance(view, dict):
        return [_error("must be an object", "/view")]
    if view.get("type") not in allowed:
        return [_error(f"must be one of {', '.join(allowed)}", "/view/type")]
    checker = _Checker()
    checker.blocks(view.get("blocks"), most=_limit("view_blocks"), pointer="/view/blocks")
    if view["type"] == "modal":
        checker.text(view.get("title"), "/view/title", limit="modal_title", plain=True)
        for name in ("submit", "close"):
            checker.text(view.get(name), f"/view/{name}", limit="modal_button", plain=True, required=False)
        raw = view.get("blocks")
        blocks = raw if isinstance(raw, list) else []
        if any(isinstance(b, dict) and b.get("type") == "input" for b in blocks) and "submit" not in view:
            checker.add("submit is required when an input block is present", "/view")
    for name in ("private_metadata", "callback_id", "external_id"):
        checker.length(view.get(name), name, f"/view/{name}")
    if not checker.problems:
        # slack_sdk's View checks what it knows about the whole view (e.g. between 1 and 100 blocks).
        known = {k: v for k, v in view.items() if k not in ("state",)}
        try:
            checker.sdk(View(**known), "/view")
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            checker.add(f"cannot be read as a view ({type(exc).__name__}: {exc})", "/view")
    return checker.problems


Refusal = tuple[str, list[str]]


def message_refusal(text: Any, blocks: Any) -> Refusal | None:
    """Slack's error and reasons for a message's `text` and `blocks`, or None when Slack accepts them.

    Text over 40,000 characters is `msg_too_long`, malformed mrkdwn in it `invalid_arguments`,
    anything wrong in the blocks `invalid_blocks`, as chat.postMessage answers.
    """
    text_issues = text_problems(text)
    if any("must be less than" in p for p in text_issues):
        return "msg_too_long", text_issues
    if text_issues:
        return "invalid_arguments", text_issues
    block_issues = message_problems(blocks)
    return ("invalid_blocks", block_issues) if block_issues else None


def ack_refusal(kind: str, body: Any) -> Refusal | None:
    """What Slack objects to in an ack body, or None.

    `kind` "command": the body is a message (text and blocks). "view_submission": a
    `response_action` of update/push carries a modal, `errors` an object. Slack ignores the ack
    bodies of other interactions, and an empty ack is always fine.
    """
    if body is None or body == "":
        return None
    if kind == "command":
        if isinstance(body, str):
            body = {"text": body}
        if not isinstance(body, dict):
            return "invalid_payload", [_error("must be an object", "/")]
        return message_refusal(body.get("text"), body.get("blocks"))
    if kind != "view_submission" or not isinstance(body, dict):
        return None
    action = body.get("response_action")
    if action in ("update", "push"):
        problems = view_problems(body.get("view"), ("modal",))
        return ("invalid_arguments", problems) if problems else None
    if action == "errors" and not isinstance(body.get("errors"), dict):
        return "invalid_arguments", [_error("must be an object", "/errors")]
    if action not in (None, "clear", "errors"):
        return "invalid_arguments", [_error("must be one of errors, update, push, clear", "/response_action")]
    return None
