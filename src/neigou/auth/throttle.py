"""Console sign-in throttling with ``limits``: attempts are counted per username and address, per
username across all addresses, and per address.

Each attempt is reserved before its password is checked, in a moving window: 10 a quarter of an
hour for one username from one address (a password guesser is slowed to a crawl, an operator who
mistypes is not locked out for long), ten times that for one username from all addresses together (a
guesser spread over many addresses), and 30 from one address (a guesser cycling usernames). A
username's failures from one address never lock it out from another: ten wrong passwords for
``admin`` from one address every quarter of an hour used to keep the real operator on 429 everywhere.
The reservation is one atomic ``hit`` per counter, so a burst of concurrent attempts cannot all pass a
read-only check while the slow hash is verified: at most the remaining number get through. A success
clears its username's count from its address and gives its own attempt back to the username's count
across addresses and to the address (their failures stay: one success must not reset a guesser). In
memory per process by default; on Redis, shared by every web process, when ``NEIGOU_REDIS_URL`` is set.

The address is the one ``web.pages.client_ip`` gives: an IPv6 address counts as its /64 network.
A counter's key is bounded whatever is typed: a username's is the digest of its caseless form, and a
username longer than any account's (``MAX_USERNAME_LENGTH``) is counted against its address alone. An
address that has used up its attempts is refused before a username is counted, so a guesser cycling
names from it creates no more windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import redis
from limits import RateLimitItem, parse, storage, strategies
from limits.storage import MemoryStorage, RedisStorage

from neigou.auth.models import MAX_USERNAME_LENGTH
from neigou.kit.ids import caseless, digest
from neigou.kit.windows import seconds_until_free

DEFAULT_PER_USERNAME = "10 per 15 minutes"  # one username from one address
DEFAULT_PER_IP = "30 per 15 minutes"
# One username from all addresses together: this many times its limit from one address (unless given).
ALL_ADDRESSES_FACTOR = 10


@dataclass
class SignInThrottle:
    """Counts console sign-in attempts; ``reserve`` refuses one, unchecked, once a limit is used up."""

    per_username: RateLimitItem = field(default_factory=lambda: parse(DEFAULT_PER_USERNAME))
    per_ip: RateLimitItem = field(default_factory=lambda: parse(DEFAULT_PER_IP))
    storage_uri: str = "memory://"
    namespace: str = "neigou-sign-in"
    # None: ``ALL_ADDRESSES_FACTOR`` times ``per_username``, over the same window.
    per_username_all_ips: RateLimitItem | None = None

    def __post_init__(self) -> None:
        if self.per_username_all_ips is None:
            item = self.per_username
            self.per_username_all_ips = type(item)(item.amount * ALL_ADDRESSES_FACTOR, item.multiples)
        self._storage = storage.storage_from_string(self.storage_uri)
        if not isinstance(self._storage, RedisStorage | MemoryStorage):  # what ``_give_back`` knows
            raise TypeError(f"sign-in counters on Redis or in memory, not {self.storage_uri.split(':')[0]}")
        self._limiter = strategies.MovingWindowRateLimiter(self._storage)

    @classmethod
    def for_redis(cls, redis_url: str | None, *, namespace: str = "neigou-sign-in") -> SignInThrottle:
        """Shared counters on Redis when configured, else in memory; ``namespace`` keeps databases apart."""
        return cls(storage_uri=redis_url or "memory://", namespace=namespace)

    def _counters(self, ip: str, username: str) -> list[tuple[RateLimitItem, str, str]]:
        """The address's counter, then (for a username some account may have) the username's from this
        address and across all addresses."""
        # "Admin ", "admin" and full-width "ａｄｍｉｎ" are the same account to a guesser; the key is
        # the digest of that form, of one length whatever was typed.
        ip_counter = (self.per_ip, f"{self.namespace}-ip", ip)
        if too_long(username):
            return [ip_counter]
        name = digest(caseless(username))
        assert self.per_username_all_ips is not None  # set in __post_init__
        return [
            ip_counter,
            (self.per_username, f"{self.namespace}-user-ip", f"{name}-{ip}"),
            (self.per_username_all_ips, f"{self.namespace}-user", name),
        ]

    def reserve(self, *, ip: str, username: str) -> bool:
        """Count one attempt against the username (across addresses, then from this one), then the
        address, before its password is checked.

        False when any has used up its attempts: the attempt is refused unchecked. An address that has
        none left is refused before its username is counted; then the username goes first, so that a
        refused username does not spend its address's attempts as well. A username longer than any
        account's is counted against the address only (``too_long``: the caller refuses it unchecked).
        """
        counters = self._counters(ip, username)
        if not self._limiter.test(*counters[0]):
            return False
        return all(self._limiter.hit(*counter) for counter in reversed(counters))

    def succeeded(self, *, ip: str, username: str) -> None:
        """Forget the username's failures from this address and give the success's own attempt back
        to the address and to the username across addresses (their failures stay: one success must
        not reset a guesser)."""
        ip_counter, *user_counters = self._counters(ip, username)
        if user_counters:
            here, everywhere = user_counters
            self._limiter.clear(*here)
            self._give_back(*everywhere)
        self._give_back(*ip_counter)

    def _give_back(self, item: RateLimitItem, *identifiers: str) -> None:
        """Take one attempt off a moving window's count, in one atomic step of its storage: the
        newest one, which is this attempt or one reserved while its password was checked (they count
        the same; the window's older attempts keep their times). Nothing when the window is empty."""
        key = item.key_for(*identifiers)
        if isinstance(self._storage, RedisStorage):  # the window is a list, newest first
            client = cast("redis.Redis", self._storage.get_connection())  # limits types it as a protocol
            client.lpop(self._storage.prefixed_key(key))
        elif isinstance(self._storage, MemoryStorage):
            with self._storage.locks[key]:  # the lock ``hit`` takes on the same list, newest first
                if events := self._storage.events.get(key):
                    del events[0]

    def retry_after(self, *, ip: str, username: str) -> int:
        """Seconds until an attempt may be checked again (at least 1)."""
        return seconds_until_free(self._limiter, self._counters(ip, username))


def too_long(username: str) -> bool:
    """A username no account can have: refused without a check, and without a counter of its own."""
    return len(username) > MAX_USERNAME_LENGTH
