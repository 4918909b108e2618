"""Console sign-in throttling with ``limits``: attempts are counted per username and per IP.

Each attempt is reserved before its password is checked, in a moving window: 10 a quarter of an
hour for one username (a password guesser is slowed to a crawl, an operator who mistypes is not
locked out for long) and 30 from one IP (a guesser cycling usernames). The reservation is one
atomic ``hit`` per counter, so a burst of concurrent attempts cannot all pass a read-only check
while the slow hash is verified: at most the remaining number get through. A success clears its
username's count (the IP's stays, successes included). In memory per process by default; on
Redis, shared by every web process, when ``NEIGOU_REDIS_URL`` is set.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem, parse, storage, strategies

from neigou.kit.ids import caseless

DEFAULT_PER_USERNAME = "10 per 15 minutes"
DEFAULT_PER_IP = "30 per 15 minutes"


@dataclass
class SignInThrottle:
    """Counts console sign-in attempts; ``reserve`` refuses one, unchecked, once a limit is used up."""

    per_username: RateLimitItem = field(default_factory=lambda: parse(DEFAULT_PER_USERNAME))
    per_ip: RateLimitItem = field(default_factory=lambda: parse(DEFAULT_PER_IP))
    storage_uri: str = "memory://"
    namespace: str = "neigou-sign-in"

    def __post_init__(self) -> None:
        self._limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(self.storage_uri))

    @classmethod
    def for_redis(cls, redis_url: str | None, *, namespace: str = "neigou-sign-in") -> SignInThrottle:
        """Shared counters on Redis when configured, else in memory; ``namespace`` keeps databases apart."""
        return cls(storage_uri=redis_url or "memory://", namespace=namespace)

    def _counters(self, ip: str, username: str) -> list[tuple[RateLimitItem, str, str]]:
        # "Admin ", "admin" and full-width "ａｄｍｉｎ" are the same account to a guesser.
        return [
            (self.per_ip, f"{self.namespace}-ip", ip),
            (self.per_username, f"{self.namespace}-user", caseless(username)),
        ]

    def reserve(self, *, ip: str, username: str) -> bool:
        """Count one attempt against the username, then the IP, before its password is checked.

        False when either has used up its attempts: the attempt is refused unchecked. The username
        goes first so that a refused username does not spend its IP's attempts as well.
        """
        ip_counter, user_counter = self._counters(ip, username)
        return self._limiter.hit(*user_counter) and self._limiter.hit(*ip_counter)

    def succeeded(self, *, ip: str, username: str) -> None:
        """Forget the username's failures (the IP's stay: one success must not reset a guesser)."""
        self._limiter.clear(*self._counters(ip, username)[1])

    def retry_after(self, *, ip: str, username: str) -> int:
        """Seconds until an attempt may be checked again (at least 1)."""
        resets = [
            self._limiter.get_window_stats(*counter).reset_time
            for counter in self._counters(ip, username)
            if not self._limiter.test(*counter)
        ]
        return max(1, math.ceil(max(resets, default=time.time()) - time.time()))
