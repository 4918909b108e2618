"""A counter missing from the Redis stock gate starts from the database's counts, read fresh
(``links.gate_seeds``): a customer whose claims are stored cannot claim past the per-customer limit
again when their key is gone (evicted, Redis restarted, claims stored without Redis or through the
request), and a coupon's counter lost is seeded from ``claimed_quantity`` as stored now, plus the
claims still in the stream or its dead letters, never from the terms a process cached before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.kit.dead_letters import dead_key
from neigou.kit.errors import Conflict
from neigou.links import claim_stream, claims, stock_gate
from neigou.links.models import ClaimCounter, ClaimSource
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from tests.conftest import BACKEND, SECRET, TEST_ACTOR
from tests.links.builders import limited_coupon
from tests.links.conftest import behind_gate
from tests.parallel import race

PHONE = "13800000001"
CUSTOMER = claims.Customer.from_ref(SECRET, PHONE)


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _claim(
    factory: sessionmaker[Session],
    gate: StockGate | None,
    coupon_id: int,
    phone: str = PHONE,
    request_id: str | None = None,
) -> str:
    try:
        with transaction(factory) as session:
            claims.claim_coupon(
                session,
                coupon_id=coupon_id,
                customer=claims.Customer.from_ref(SECRET, phone),
                actor=TEST_ACTOR,
                source=ClaimSource.API,
                gate=gate,
                request_id=request_id,
            )
            return "taken"
    except Conflict as exc:
        return exc.code


def _drain(factory: sessionmaker[Session], gate: StockGate) -> None:
    assert gate.stream is not None
    claim_stream.ClaimWriter(gate.client, gate.stream, factory).drain()


def _stored_by(factory: sessionmaker[Session], coupon_id: int) -> int:
    with factory() as session:
        return int(
            session.scalar(
                select(ClaimCounter.claimed).where(
                    ClaimCounter.coupon_id == coupon_id, ClaimCounter.customer_ref_hash == CUSTOMER.ref_hash
                )
            )
            or 0
        )


@pytest.mark.parametrize("lost", ["evicted", "redis_flushed", "stored_without_redis", "stored_keyed"])
def test_a_customer_with_stored_claims_and_no_counter_cannot_pass_the_limit(
    factory: sessionmaker[Session], gate: StockGate, lost: str
) -> None:
    coupon = limited_coupon(factory, total=10, per_customer=2)
    keys = gate.keys(coupon, CUSTOMER.ref_hash)
    if lost == "stored_without_redis":  # the deployment ran without Redis meanwhile
        assert [_claim(factory, None, coupon.id) for _ in range(2)] == ["taken", "taken"]
    elif lost == "stored_keyed":  # written by the request (keyed claims), then the key lost
        assert [_claim(factory, gate, coupon.id, request_id=f"r{i}") for i in range(2)] == ["taken"] * 2
        gate.client.delete(keys.customer)
    else:
        assert [_claim(factory, gate, coupon.id) for _ in range(2)] == ["taken", "taken"]
        _drain(factory, gate)
        if lost == "evicted":
            gate.client.delete(keys.customer)
        else:  # restarted without persistence: every key of the namespace gone, the stream too
            gate.client.delete(*gate.client.keys(f"{gate.namespace}:*"))
    assert _stored_by(factory, coupon.id) == 2
    assert gate.client.exists(keys.customer) == 0
    # claimed again and again, behind the gate and (keyed) through the request: refused each time
    outcomes = [_claim(factory, gate, coupon.id) for _ in range(3)]
    outcomes.append(_claim(factory, gate, coupon.id, request_id="another"))
    outcomes.append(_claim(factory, gate, coupon.id))
    assert outcomes == ["limit_reached"] * 5
    assert gate.counts(coupon, CUSTOMER.ref_hash)[1] == 2
    _drain(factory, gate)
    assert _stored_by(factory, coupon.id) == 2


def test_a_keyed_claim_refused_by_the_database_leaves_the_counter_seeded(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    """A keyed claim meeting a missing counter seeds it from the database too: the counters are shared
    with the claims written behind, which have no conditional UPDATE to refuse them."""
    coupon = limited_coupon(factory, total=10, per_customer=1)
    assert _claim(factory, None, coupon.id) == "taken"  # stored while the deployment ran without Redis
    assert _claim(factory, gate, coupon.id, request_id="first-try") == "limit_reached"
    assert gate.counts(coupon, CUSTOMER.ref_hash) == (1, 1)
    assert _claim(factory, gate, coupon.id) == "limit_reached"


def test_a_lost_stock_counter_is_seeded_from_the_fresh_count_not_the_cached_terms(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stock_gate, "TERMS_TTL_SECONDS", 600.0)  # the copy outlives the test
    coupon = limited_coupon(factory, total=2, per_customer=1)
    assert _claim(factory, gate, coupon.id, "13800000001") == "taken"  # caches terms: claimed_quantity 0
    _drain(factory, gate)
    assert _claim(factory, None, coupon.id, "13800000002") == "taken"  # stored without the gate
    with factory() as session:
        assert gate.terms(session, coupon.id).claimed_quantity == 0  # type: ignore[union-attr]
        assert (
            session.scalar(select(CouponTemplate.claimed_quantity).where(CouponTemplate.id == coupon.id)) == 2
        )
    gate.client.delete(gate.keys(coupon, "").stock)  # evicted
    assert _claim(factory, gate, coupon.id, "13800000003") == "sold_out"
    assert gate.counts(coupon, "")[0] == 2


def test_a_lost_stock_counter_counts_the_claims_still_in_the_stream_once(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    """Claims answered but not stored (in the stream, or set aside in its dead letters) count once,
    also one stored whose entry the writer has not deleted yet; the customer's own are counted too."""
    assert gate.stream is not None
    coupon = limited_coupon(factory, total=5, per_customer=2)
    phones = ["13800000001", "13800000002", "13800000003", "13800000009"]
    assert [_claim(factory, gate, coupon.id, p) for p in phones] == ["taken"] * 4
    entries: Any = gate.client.xrange(gate.stream)
    with transaction(factory) as session:  # stored, not acknowledged: still in the stream
        assert claim_stream.store_entries(session, entries[:1]) == 1
    dead_id, dead_fields = entries[3]  # set aside as a dead letter (the stream's writer gave up on it)
    letter = {
        **dead_fields,
        b"dead:id": dead_id,
        b"dead:group": b"g",
        b"dead:reason": b"x",
        b"dead:deliveries": b"5",
    }
    gate.client.xadd(dead_key(gate.stream), letter)
    gate.client.xdel(gate.stream, dead_id)
    keys = gate.keys(coupon, CUSTOMER.ref_hash)
    gate.client.delete(keys.stock, keys.customer)  # both lost, the stream kept
    assert _claim(factory, gate, coupon.id) == "taken"  # 1 stored + 2 in the stream + 1 dead letter
    assert gate.counts(coupon, CUSTOMER.ref_hash) == (5, 2)  # the customer's stored claim counted once
    assert _claim(factory, gate, coupon.id, "13800000004") == "sold_out"
    gate.client.delete(keys.stock, keys.customer)
    assert _claim(factory, gate, coupon.id) == "limit_reached"


def test_parallel_first_claims_seed_once(factory: sessionmaker[Session], gate: StockGate) -> None:
    """Claims racing on missing counters each read the seeds; the first seeding stands and the claims
    taken on it count (the script sets a seed only on a counter still missing)."""
    coupon = limited_coupon(factory, total=50, per_customer=3)
    assert _claim(factory, None, coupon.id) == "taken"  # one claim stored without Redis

    def attempt(i: int) -> str:
        return _claim(factory, gate, coupon.id, PHONE if i % 2 else f"1390000{i:04d}")

    outcomes = race(factory, attempt, 40, 12 if BACKEND == "postgresql" else 1)
    assert outcomes["taken"] == 2 + 20  # the customer's two left, and each other customer's first
    assert gate.counts(coupon, CUSTOMER.ref_hash) == (23, 3)


def test_a_customer_counter_lost_alone_lets_the_writer_refuse_what_passes_the_limit(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    """The customer's key is evicted while one of their claims waits in the stream, the coupon's counter
    kept: the seeding reads the database only (a customer's first claim never scans the stream), so the
    gate lets one claim too many through, and the writer keeps it out of the database."""
    assert gate.stream is not None
    coupon = limited_coupon(factory, total=10, per_customer=2)
    assert _claim(factory, None, coupon.id) == "taken"  # one stored
    assert _claim(factory, gate, coupon.id) == "taken"  # one in the stream
    gate.client.delete(gate.keys(coupon, CUSTOMER.ref_hash).customer)  # evicted alone
    assert _claim(factory, gate, coupon.id) == "taken"  # started from the one stored
    _drain(factory, gate)
    assert _stored_by(factory, coupon.id) == 2
    assert gate.client.xlen(dead_key(gate.stream)) == 1
