"""The stock gate's state of a shopper who opted out of every program (``privacy.service``).

The opt-out moves the shopper's claim counters to its tombstone in the database; once it committed,
their per-customer counters in Redis (``gate_scripts.counter_keys``, keyed by the hash) are deleted
and their epochs bumped (``gate_scripts.FORGET_SCRIPT``): no key keeps the hash, a seed read before
is not set after, and the next claim seeds the counter afresh from the database (``gate_seeds``),
where the shopper holds no claims any more: their limit starts afresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from neigou.kit.clock import utcnow
from neigou.kit.dead_letters import registered_script
from neigou.links.gate_scripts import FORGET_SCRIPT, counter_keys, epoch_field
from neigou.links.stock_gate import StockGate


def forget_customer(
    gate: StockGate, coupons: Iterable[tuple[int, datetime, datetime]], customer_ref_hash: str
) -> None:
    """Delete the customer's counters of these coupons (id, created_at, ends_at), bumping their
    epochs; one round trip."""
    script = registered_script(gate.client, FORGET_SCRIPT)
    field = epoch_field(customer_ref_hash)
    pipe = gate.client.pipeline(transaction=False)
    for coupon_id, created_at, ends_at in coupons:
        _, customer, _, epochs = counter_keys(gate.namespace, coupon_id, created_at, customer_ref_hash)
        expire = int((max(ends_at, utcnow()) + timedelta(days=1)).timestamp())
        script(keys=[customer, epochs], args=[field, expire], client=pipe)
    pipe.execute()
