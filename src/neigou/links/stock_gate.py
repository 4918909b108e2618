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
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from neigou.kit import commit_hooks
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_edit import TERMS_CHANGED
from neigou.offers.offer_rules import CouponVisibility

TERMS_TTL_SECONDS = 5.0
_GATES: weakref.WeakSet[StockGate] = weakref.WeakSet()

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
# The same check and take, and the claim appended to the claim stream in the same step (claims written
# behind: ``claim_stream``). ARGV 6 is the claim as JSON. Returns -1 / -2 as above, or the stream id.
CLAIM_RECORD_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[3], 'EXAT', ARGV[5], 'NX') end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[4], 'EXAT', ARGV[5], 'NX') end
if tonumber(redis.call('GET', KEYS[2])) >= tonumber(ARGV[2]) then return -1 end
if tonumber(redis.call('GET', KEYS[1])) >= tonumber(ARGV[1]) then return -2 end
redis.call('INCR', KEYS[2])
redis.call('INCR', KEYS[1])
return redis.call('XADD', KEYS[3], '*', 'c', ARGV[6])
"""
# Give back one unit of both counters (never below zero).
RELEASE_SCRIPT = """
for i = 1, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1
"""


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """What a claim needs to know about a coupon, held in-process for ``TERMS_TTL_SECONDS``: a burst
    of claims reads its coupon once per process instead of once per attempt. The database's
    conditional UPDATEs stay the authority, so a stale copy can refuse late, never oversell."""

    id: int
    visibility: CouponVisibility
    starts_at: datetime
    ends_at: datetime
    total_quantity: int
    claimed_quantity: int
    per_customer_limit: int
    created_at: datetime
    live: bool = True
    paused: bool = False

    @classmethod
    def of(cls, coupon: CouponTemplate) -> CouponTerms:
        return cls(
            id=coupon.id,
            visibility=coupon.visibility,
            starts_at=coupon.starts_at,
            ends_at=coupon.ends_at,
            total_quantity=coupon.total_quantity,
            claimed_quantity=coupon.claimed_quantity,
            per_customer_limit=coupon.per_customer_limit,
            created_at=coupon.created_at,
            live=coupon.live,
            paused=coupon.paused,
        )


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

    def __init__(self, client: redis.Redis, namespace: str, *, write_behind: bool = False) -> None:
        self.client = client
        self.namespace = namespace
        # With ``write_behind`` a claim without a request id is taken and recorded by one script and
        # stored by ``claim_stream.ClaimWriter`` in batches; otherwise the request writes it.
        self.stream = f"{namespace}:claims" if write_behind else None
        self._claim = client.register_script(CLAIM_SCRIPT)
        self._record = client.register_script(CLAIM_RECORD_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)
        self._terms: dict[int, tuple[float, CouponTerms | None]] = {}
        self._terms_lock = threading.Lock()
        _GATES.add(self)

    def terms(self, session: Session, coupon_id: int) -> CouponTerms | None:
        """A coupon's terms from the in-process copy (read from the database when older than the TTL)."""
        now = time.monotonic()
        entry = self._terms.get(coupon_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        coupon = session.get(CouponTemplate, coupon_id)
        terms = CouponTerms.of(coupon) if coupon is not None else None
        with self._terms_lock:
            if len(self._terms) > 10_000:
                self._terms.clear()
            self._terms[coupon_id] = (now + TERMS_TTL_SECONDS, terms)
        return terms

    def forget(self, coupon_ids: set[int]) -> None:
        """Drop the copies of these coupons' terms (they were just changed in this process)."""
        with self._terms_lock:
            for coupon_id in coupon_ids:
                self._terms.pop(coupon_id, None)

    def keys(self, coupon: CouponTemplate | CouponTerms, customer_ref_hash: str) -> GateKeys:
        """Counter keys of a coupon incarnation and one of its customers."""
        base = f"{self.namespace}:coupon:{coupon.id}:{int(coupon.created_at.timestamp() * 1_000_000)}"
        return GateKeys(stock=f"{base}:claimed", customer=f"{base}:c:{customer_ref_hash}")

    def take(
        self,
        coupon: CouponTemplate | CouponTerms,
        customer_ref_hash: str,
        *,
        db_claimed: int,
        db_customer: int,
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

    def take_and_record(
        self, coupon: CouponTerms, customer_ref_hash: str, record: str | bytes
    ) -> GateAnswer | str:
        """Take one unit and append the claim to the stream atomically: the stream id, or why not."""
        assert self.stream is not None
        keys = self.keys(coupon, customer_ref_hash)
        expire = int((coupon.ends_at + timedelta(days=1)).timestamp())
        result = self._record(
            keys=[keys.stock, keys.customer, self.stream],
            args=[
                coupon.total_quantity,
                coupon.per_customer_limit,
                coupon.claimed_quantity,
                0,
                expire,
                record,
            ],
        )
        if isinstance(result, bytes):
            return result.decode()
        return GateAnswer.LIMIT_REACHED if int(result) == -1 else GateAnswer.SOLD_OUT

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


@event.listens_for(Session, "after_commit")
def _forget_changed_terms(session: Session) -> None:
    """A coupon edited in this process is read afresh by its next claim here, once the outermost
    transaction commits (a released savepoint hands its edits to the transaction around it); other
    processes keep their copy for at most ``TERMS_TTL_SECONDS``."""
    changed = commit_hooks.released(session, TERMS_CHANGED)
    if changed:
        for gate in list(_GATES):
            gate.forget(set(changed))


@event.listens_for(Session, "after_rollback")
def _keep_terms_after_rollback(session: Session) -> None:
    commit_hooks.rolled_back(session, TERMS_CHANGED)  # the rolled-back transaction's own edits only
