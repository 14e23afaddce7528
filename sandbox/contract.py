"""Web API methods and their arguments as Slack publishes them, for the stand-in to hold calls to.

The reference is `../shared/contract_data/web_api_params.json` (beside the repository; Slack's
OpenAPI spec, last updated October 2020) merged with slack_sdk's `WebClient` method signatures,
which carry what Slack added since (`metadata`, `include_all_metadata`, `apps.connections.open`, …).
Without the contract file (a real install has no `../shared`) the signatures alone are the reference.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

__all__ = ["CONTRACT_ENV", "Contract", "MethodSpec", "contract_path"]

# Where the contract data lives when it is not at ../shared/contract_data beside the repository.
CONTRACT_ENV = "HANDOFF_CONTRACT_DATA"
_FILE = "web_api_params.json"
# Sent as the Authorization header by slack_sdk, never as an argument Slack checks.
_AUTH_ARGS = frozenset({"token", "app_token"})
# Accepted by every method: slack_sdk's WebClient(team_id=...) adds it to each call (Bolt does so per
# request) for org-wide installs.
_EVERY_METHOD = {"team_id": "string"}


def contract_path() -> Path:
    """`$HANDOFF_CONTRACT_DATA/web_api_params.json`, else `<repo>/../shared/contract_data/web_api_params.json`."""
    base = os.environ.get(CONTRACT_ENV)
    if base:
        return Path(base) / _FILE
    return Path(__file__).resolve().parent.parent.parent / "shared" / "contract_data" / _FILE


@dataclass(frozen=True)
class MethodSpec:
    """One method's accepted arguments: name -> type ("string", "boolean", "integer", "number", "any")."""

    name: str
    args: dict[str, str]
    required: frozenset[str]
    json: bool = True  # whether Slack reads a JSON body (`consumes` lists application/json)


@functools.cache
def _sdk_specs() -> dict[str, MethodSpec]:
    """Every WebClient method as a spec, from its keyword-only signature."""
    specs: dict[str, MethodSpec] = {}
    for attr, function in inspect.getmembers(WebClient, inspect.isfunction):
        if attr.startswith("_") or "_" not in attr:
            continue
        params = inspect.signature(function).parameters
        named = {
            name: p for name, p in params.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in _AUTH_ARGS
        }
        if not named and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            continue  # a helper, not an API method
        method = attr.replace("_", ".")
        required = frozenset(n for n, p in named.items() if p.default is inspect.Parameter.empty)
        specs[method] = MethodSpec(method, dict.fromkeys(named, "any"), required)
    return specs


@functools.cache
def _merged(path: str) -> dict[str, MethodSpec]:
    """The contract file's methods, completed from slack_sdk (read once per path)."""
    sdk = _sdk_specs()
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    methods = dict(sdk)
    for name, entry in data["methods"].items():
        published = {arg: str(spec[2]) for arg, spec in entry.get("params", {}).items() if arg not in _AUTH_ARGS}
        required_args = frozenset(
            arg for arg, spec in entry.get("params", {}).items() if spec[1] and arg not in _AUTH_ARGS
        )
        later = sdk.get(name)
        # Arguments Slack added after the spec was frozen are known from slack_sdk.
        extra = {arg: "any" for arg in (later.args if later else {}) if arg not in published}
        json_body = "application/json" in entry.get("consumes", [])
        methods[name] = MethodSpec(name, {**published, **extra}, required_args, json_body)
    return methods


class Contract:
    """Which methods exist and which arguments each takes; `problem()` says what Slack would answer."""

    def __init__(self, methods: dict[str, MethodSpec], source: str) -> None:
        self.methods = methods
        self.source = source

    @classmethod
    def load(cls, path: Path | None = None, *, required: bool = False) -> Contract:
        """The contract file merged with slack_sdk; without the file, slack_sdk alone (or, if `required`, an error)."""
        target = path or contract_path()
        if not target.is_file():
            if required:
                raise FileNotFoundError(f"Slack contract data not found at {target} (set ${CONTRACT_ENV})")
            return cls(dict(_sdk_specs()), "slack_sdk WebClient signatures")
        return cls(dict(_merged(str(target))), f"{target} + slack_sdk WebClient signatures")

    def accepts_json(self, method: str) -> bool:
        """Whether Slack reads a JSON body for `method` (form-only methods ignore one)."""
        spec = self.methods.get(method)
        return spec is None or spec.json

    def problem(self, method: str, params: dict[str, Any]) -> tuple[str, list[str]] | None:
        """(error, messages) as Slack answers a call with these arguments, or None when it is well-formed.

        Unknown method -> `unknown_method`; unknown or mistyped argument, or a missing required one
        -> `invalid_arguments` with a `[ERROR] … [json-pointer:/name]` line per argument.
        """
        spec = self.methods.get(method)
        if spec is None:
            return "unknown_method", []
        messages: list[str] = []
        for name in sorted(spec.required):
            if name not in params:
                messages.append(f"[ERROR] missing required field: {name} [json-pointer:/{name}]")
        for name, value in params.items():
            kind = spec.args.get(name) or _EVERY_METHOD.get(name)
            if kind is None:
                messages.append(f"[ERROR] unknown argument {name!r} for {method} [json-pointer:/{name}]")
            elif not _fits(kind, value):
                messages.append(f"[ERROR] must be a {kind} [json-pointer:/{name}]")
        return ("invalid_arguments", messages) if messages else None


def _fits(kind: str, value: Any) -> bool:
    """Whether a JSON or form value reads as the published type (forms send everything as strings)."""
    if value is None or kind in ("any", "string"):
        return True
    if kind == "boolean":
        return isinstance(value, bool) or value in (0, 1) or str(value).lower() in ("true", "false", "1", "0")
    text = str(value)
    try:
        if kind == "integer":
            int(text)
        elif kind == "number":
            float(text)
    except ValueError:
        return False
    return True
