"""Keyed claims (``request_id`` / ``Idempotency-Key``) that the stock gate refuses, with the gate as
production runs it (unkeyed claims answered from Redis and stored later by ``claim_stream``, so the
database lags behind the gate): the refusal stands unless the key's own claim is found, so no keyed
claim takes stock or a customer's limit the gate has already given away."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.kit.errors import Conflict
from neigou.links import claim_stream, claims
from neigou.links.models import ClaimCounter, ClaimSource, CouponClaim
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from tests.conftest import SECRET, TEST_ACTOR
from tests.links.conftest import behind_gate
from tests.links.test_claim_stream import _coupon


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _claim(
    factory: sessionmaker[Session],
    gate: StockGate,
    coupon_id: int,
    who: str,
    request_id: str | None = None,
) -> str:
    try:
        with transaction(factory) as session:
            made = claims.claim_coupon(
                session,
                coupon_id=coupon_id,
                customer=claims.Customer.from_ref(SECRET, who),
                actor=TEST_ACTOR,
                source=ClaimSource.API,
                gate=gate,
                request_id=request_id,
            )
            return "taken" if made.created else "replayed"
    except Conflict as exc:
        return exc.code


def _drain(factory: sessionmaker[Session], gate: StockGate) -> None:
    assert gate.stream is not None
    claim_stream.ClaimWriter(gate.client, gate.stream, factory).drain()


def _stored(factory: sessionmaker[Session], coupon_id: int) -> tuple[int, int, int]:
    """(claimed_quantity, claim rows, the customers' counters summed) of a coupon."""
    with factory() as session:
        claimed = session.scalar(
            select(CouponTemplate.claimed_quantity).where(CouponTemplate.id == coupon_id)
        )
        rows = session.scalar(select(func.count(CouponClaim.id)).where(CouponClaim.coupon_id == coupon_id))
        counted = session.scalar(
            select(func.sum(ClaimCounter.claimed)).where(ClaimCounter.coupon_id == coupon_id)
        )
    return claimed or 0, rows or 0, counted or 0


def test_a_fresh_key_the_gate_finds_sold_out_is_refused(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=1)
    assert _claim(factory, gate, coupon_id, "13800000001") == "taken"  # in the stream, not stored yet
    # another shopper with a key of their own (not a retry): the database still shows room
    assert _claim(factory, gate, coupon_id, "13800000002", request_id="fresh-key") == "sold_out"
    _drain(factory, gate)
    assert _stored(factory, coupon_id) == (1, 1, 1)


def test_a_second_key_of_a_customer_at_the_limit_is_refused(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=10)  # per_customer_limit=1
    assert _claim(factory, gate, coupon_id, "13800000001") == "taken"
    assert _claim(factory, gate, coupon_id, "138 0000 0001", request_id="second") == "limit_reached"
    _drain(factory, gate)
    assert _stored(factory, coupon_id) == (1, 1, 1)


def test_a_refused_key_leaves_the_stream_storable(factory: sessionmaker[Session], gate: StockGate) -> None:
    """The claims in the stream, of this coupon and of another, are all stored: none oversells the
    coupon and fails the batch on the stock's CHECK."""
    coupon_id = _coupon(factory, total=1)
    other = _coupon(factory, total=100)
    assert _claim(factory, gate, coupon_id, "13800000001") == "taken"
    assert _claim(factory, gate, coupon_id, "13800000002", request_id="fresh") == "sold_out"
    assert _claim(factory, gate, other, "13800000003") == "taken"
    _drain(factory, gate)
    assert _stored(factory, coupon_id) == (1, 1, 1)
    assert _stored(factory, other) == (1, 1, 1)


def test_a_retry_of_a_stored_keyed_claim_answers_it(factory: sessionmaker[Session], gate: StockGate) -> None:
    coupon_id = _coupon(factory, total=1)
    assert _claim(factory, gate, coupon_id, "13800000001", request_id="mine") == "taken"
    # the gate holds the coupon's only unit and the customer's only one: the key's claim answers
    assert _claim(factory, gate, coupon_id, "+86 138 0000 0001", request_id="mine") == "replayed"
    assert _claim(factory, gate, coupon_id, "13800000002", request_id="yours") == "sold_out"
    assert _stored(factory, coupon_id) == (1, 1, 1)
