"""Rate limits of the anonymous landing page (claims per IP and per visitor), with ``limits``.

In memory per process by default; on Redis (shared by every web process) when ``NEIGOU_REDIS_URL``
is set. A moving window: 20 claims a minute from one IP (a whole office behind one NAT still fits),
5 a minute from one visitor cookie. A refusal says when to come back (``retry_after``: the full
window's reset, as the sign-in throttle's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from limits import RateLimitItem, parse, storage, strategies

from neigou.kit.windows import seconds_until_free

DEFAULT_PER_IP = "20/minute"
DEFAULT_PER_VISITOR = "5/minute"


@dataclass
class ClaimLimiter:
    """Counts landing-page claim attempts."""

    per_ip: RateLimitItem = field(default_factory=lambda: parse(DEFAULT_PER_IP))
    per_visitor: RateLimitItem = field(default_factory=lambda: parse(DEFAULT_PER_VISITOR))
    storage_uri: str = "memory://"
    namespace: str = "neigou-claim"

    def __post_init__(self) -> None:
        self._limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(self.storage_uri))

    @classmethod
    def for_redis(
        cls,
        redis_url: str | None,
        *,
        per_ip: str = DEFAULT_PER_IP,
        per_visitor: str = DEFAULT_PER_VISITOR,
        namespace: str = "neigou-claim",
    ) -> ClaimLimiter:
        """Shared counters on Redis when configured, else in memory; ``namespace`` keeps uses apart."""
        return cls(
            per_ip=parse(per_ip),
            per_visitor=parse(per_visitor),
            storage_uri=redis_url or "memory://",
            namespace=namespace,
        )

    def allow(self, *, ip: str, visitor_id: str | None) -> bool:
        """Count one attempt; False when the IP or the visitor is over its limit."""
        if not self._limiter.hit(self.per_ip, f"{self.namespace}-ip", ip):
            return False
        return visitor_id is None or self._limiter.hit(
            self.per_visitor, f"{self.namespace}-visitor", visitor_id
        )

    def retry_after(self, *, ip: str, visitor_id: str | None) -> int:
        """Seconds until an attempt refused by ``allow`` may be counted again: the latest reset of a
        window that is full (at least 1), for the refusal's ``Retry-After``."""
        counters = [(self.per_ip, f"{self.namespace}-ip", ip)]
        if visitor_id is not None:
            counters.append((self.per_visitor, f"{self.namespace}-visitor", visitor_id))
        return seconds_until_free(self._limiter, counters)
