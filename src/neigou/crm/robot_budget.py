"""WeCom group robots take at most 20 messages a minute each; past that they answer ``errcode 45009``.

Push messages sent through a robot count against a moving window of 20 a minute per robot URL, with
``limits`` (as the landing page's claims are counted, ``links.ratelimit``): on Redis when
``NEIGOU_REDIS_URL`` is set (shared by every worker), else in the process's memory. The counter's key is
the URL's SHA-256, never the URL (it carries the robot's key)."""

from __future__ import annotations

import hashlib
import threading

from limits import parse, storage, strategies
from limits.storage import MemoryStorage

from neigou.kit.settings import Settings
from neigou.links.click_stream import namespace as redis_namespace

PER_ROBOT = parse("20/minute")
# WeCom's answer to a robot over its 20 a minute.
RATE_LIMITED_ERRCODE = 45009
_LIMITERS: dict[str, strategies.MovingWindowRateLimiter] = {}
_GUARD = threading.Lock()


def _limiter(storage_uri: str) -> strategies.MovingWindowRateLimiter:
    with _GUARD:
        found = _LIMITERS.get(storage_uri)
        if found is None:
            found = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))
            _LIMITERS[storage_uri] = found
        return found


def take(url: str, settings: Settings) -> bool:
    """Count one message for the robot at ``url``; False (nothing counted) when it had its 20 this minute."""
    limiter = _limiter(settings.redis_client_url or "memory://")
    return limiter.hit(
        PER_ROBOT,
        redis_namespace(settings.database_url) + ":robot-push",
        hashlib.sha256(url.encode()).hexdigest(),
    )


def forget() -> None:
    """Drop the counters kept in this process's memory (a test's fresh start); Redis's are left alone."""
    with _GUARD:
        for limiter in _LIMITERS.values():
            if isinstance(limiter.storage, MemoryStorage):
                limiter.storage.reset()
