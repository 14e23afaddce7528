"""Slack's Web API rate limits, as token buckets on an injectable clock (opt-in in the stand-in).

Tiers are per method per workspace per app (https://docs.slack.dev/apis/web-api/rate-limits):
Tier 1 1+/minute, Tier 2 20+/minute, Tier 3 50+/minute, Tier 4 100+/minute, each allowing some
burst. chat.postMessage is special: about one message per second per channel, with short bursts.
Each method's tier is on its reference page, https://docs.slack.dev/reference/methods/<method>.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["METHOD_TIERS", "POST_MESSAGE_BURST", "TIERS", "RateLimiter"]

RATE_LIMITS_URL = "https://docs.slack.dev/apis/web-api/rate-limits"

# Tier -> requests per minute (the documented floor); a bucket holds a minute's worth as burst.
TIERS = {1: 1, 2: 20, 3: 50, 4: 100}

# The documented tier of every method the bot (or Bolt, or slack_sdk's Socket Mode client) calls.
METHOD_TIERS: dict[str, int] = {
    "apps.connections.open": 1,
    "auth.test": 4,  # "Special" on its page; generous, treated as Tier 4
    "chat.delete": 3,
    "chat.getPermalink": 4,  # "Special" on its page; generous, treated as Tier 4
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "conversations.history": 3,
    "conversations.info": 3,
    "conversations.join": 3,
    "conversations.members": 4,
    "conversations.open": 3,
    "conversations.replies": 3,
    "reactions.add": 3,
    "reactions.remove": 2,
    "users.info": 4,
    "users.list": 2,
    "views.open": 4,
    "views.publish": 4,
    "views.push": 4,
    "views.update": 4,
}

# chat.postMessage: one per second per channel; a few more in a burst before 429s begin.
POST_MESSAGE_PER_SECOND = 1.0
POST_MESSAGE_BURST = 3


@dataclass
class _Bucket:
    capacity: float
    per_second: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take a token; returns 0 on success, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


class RateLimiter:
    """Decides whether a call may go ahead now; `check()` returns Retry-After seconds or None."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def check(self, method: str, channel: str | None = None) -> int | None:
        """None when the call is within limits; otherwise Slack's Retry-After (whole seconds, at least 1)."""
        now = self._clock()
        if method == "chat.postMessage":
            key = (method, channel or "")
            capacity, per_second = float(POST_MESSAGE_BURST), POST_MESSAGE_PER_SECOND
        else:
            per_minute = TIERS[METHOD_TIERS.get(method, 3)]
            key = (method, "")
            capacity, per_second = float(per_minute), per_minute / 60.0
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(capacity, per_second, capacity, now)
        wait = bucket.take(now)
        return None if wait == 0 else max(1, math.ceil(wait))
