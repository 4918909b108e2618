"""Coupon stock and per-customer limits on Redis, in one Lua script per claim.

With Redis configured, a claim first passes this gate: one atomic script checks and raises both
counters, so a burst of thousands of claims on a sold-out coupon is refused in Redis and never
queues on the coupon's row. The database stays the authority: the claim is then written with the
same conditional UPDATEs as without Redis (so even a drifted counter cannot oversell), and a claim
the database refuses or rolls back gives its units back to Redis (``release``).

Counters are seeded from the database the first time a coupon (or a customer of it) is seen, and
expire a day after the coupon ends. Keys carry the coupon's creation instant as well as its id, so a
restored or re-numbered database never meets old counters.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

import redis

from neigou.offers.models import CouponTemplate

# KEYS: stock counter, customer counter. ARGV: total, per-customer limit, claimed in the database,
# the customer's claims in the database, expiry (unix seconds).
# Returns the new stock count, -1 when the customer reached the limit, -2 when sold out.
CLAIM_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[3], 'EXAT', ARGV[5], 'NX') end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[4], 'EXAT', ARGV[5], 'NX') end
if tonumber(redis.call('GET', KEYS[2])) >= tonumber(ARGV[2]) then return -1 end
if tonumber(redis.call('GET', KEYS[1])) >= tonumber(ARGV[1]) then return -2 end
redis.call('INCR', KEYS[2])
return redis.call('INCR', KEYS[1])
"""
# Give back one unit of both counters (never below zero).
RELEASE_SCRIPT = """
for i = 1, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1
"""


class GateAnswer(enum.StrEnum):
    """What the gate says about one claim."""

    TAKEN = "taken"
    LIMIT_REACHED = "limit_reached"
    SOLD_OUT = "sold_out"


@dataclass(frozen=True)
class GateKeys:
    """The two counters a claim touches."""

    stock: str
    customer: str


class StockGate:
    """The Redis side of claims."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._claim = client.register_script(CLAIM_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)

    def keys(self, coupon: CouponTemplate, customer_ref_hash: str) -> GateKeys:
        """Counter keys of a coupon incarnation and one of its customers."""
        base = f"{self.namespace}:coupon:{coupon.id}:{int(coupon.created_at.timestamp() * 1_000_000)}"
        return GateKeys(stock=f"{base}:claimed", customer=f"{base}:c:{customer_ref_hash}")

    def take(
        self, coupon: CouponTemplate, customer_ref_hash: str, *, db_claimed: int, db_customer: int
    ) -> GateAnswer:
        """Take one unit of stock for the customer, atomically, or say why not."""
        keys = self.keys(coupon, customer_ref_hash)
        expire = int((coupon.ends_at + timedelta(days=1)).timestamp())
        result = int(
            self._claim(
                keys=[keys.stock, keys.customer],
                args=[
                    coupon.total_quantity,
                    coupon.per_customer_limit,
                    db_claimed,
                    db_customer,
                    expire,
                ],
            )
        )
        if result == -1:
            return GateAnswer.LIMIT_REACHED
        if result == -2:
            return GateAnswer.SOLD_OUT
        return GateAnswer.TAKEN

    def release(self, keys: GateKeys) -> None:
        """Give a unit back (the database refused or rolled back the claim)."""
        self._release(keys=[keys.stock, keys.customer], args=[])

    def counts(self, coupon: CouponTemplate, customer_ref_hash: str) -> tuple[int, int]:
        """(stock claimed, customer's claims) as Redis holds them (tests, reconciliation)."""
        keys = self.keys(coupon, customer_ref_hash)
        stock, customer = self.client.mget([keys.stock, keys.customer])
        return int(stock or 0), int(customer or 0)

    def reconcile(
        self, coupon: CouponTemplate, customer_ref_hash: str | None = None, *, db_count: int
    ) -> int:
        """Set a counter (stock, or one customer's) to the database's count; returns the old value.

        Safe while claims run: a counter set too low only lets a few more claims reach the database,
        whose conditional UPDATEs refuse them.
        """
        keys = self.keys(coupon, customer_ref_hash or "")
        key = keys.customer if customer_ref_hash is not None else keys.stock
        old = self.client.set(key, db_count, keepttl=True, get=True)
        return int(old or 0)
