"""A claim's units in the Redis stock gate follow the transaction the claim was written in
(``kit.commit_hooks``): a claim made inside a savepoint that is released belongs to the transaction around
it, so that transaction's rollback gives its units back; a claim that stands keeps its units however
many unrelated savepoints roll back before the commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.links import claims
from neigou.links.models import ClaimSource, CouponClaim
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from tests.conftest import SECRET, TEST_ACTOR
from tests.links.test_claim_stream import _coupon

FIRST = claims.Customer.from_ref(SECRET, "13800000001")
SECOND = claims.Customer.from_ref(SECRET, "13800000002")


@pytest.fixture
def gate(redis_client: redis.Redis) -> Iterator[StockGate]:
    """A gate whose claims the request writes (no claim stream), in a namespace of its own."""
    namespace = f"neigou-test:{uuid.uuid4().hex[:8]}"
    stock = StockGate(redis_client, namespace)
    yield stock
    stock.close()
    for key in redis_client.scan_iter(f"{namespace}:*"):
        redis_client.delete(key)


def _claim(session: Session, gate: StockGate, coupon_id: int, customer: claims.Customer) -> None:
    made = claims.claim_coupon(
        session,
        coupon_id=coupon_id,
        customer=customer,
        actor=TEST_ACTOR,
        source=ClaimSource.API,
        gate=gate,
    )
    assert made.created


def _units(factory: sessionmaker[Session], gate: StockGate, coupon_id: int) -> tuple[int, int, int]:
    """(the gate's stock count, the first customer's count there, the claims stored)."""
    with factory() as session:
        coupon = session.get(CouponTemplate, coupon_id)
        assert coupon is not None
        stored = session.scalar(select(func.count(CouponClaim.id)).where(CouponClaim.coupon_id == coupon_id))
    stock, customer = gate.counts(coupon, FIRST.ref_hash)
    return stock, customer, int(stored or 0)


def test_a_claim_in_a_released_savepoint_gives_its_units_back_when_the_outer_transaction_rolls_back(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=1)
    with factory() as session:
        with session.begin_nested():
            _claim(session, gate, coupon_id, FIRST)
        assert _units(factory, gate, coupon_id)[:2] == (1, 1)  # taken, not committed yet
        session.rollback()
    assert _units(factory, gate, coupon_id) == (0, 0, 0)
    # the coupon's only unit is free again: another shopper takes it
    with factory() as session:
        _claim(session, gate, coupon_id, SECOND)
        session.commit()
    with factory() as session:
        assert (
            session.scalar(select(CouponTemplate.claimed_quantity).where(CouponTemplate.id == coupon_id)) == 1
        )


def test_a_claim_in_nested_released_savepoints_gives_its_units_back_on_the_outer_rollback(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    with factory() as session:
        with session.begin_nested(), session.begin_nested():
            _claim(session, gate, coupon_id, FIRST)
        session.rollback()
    assert _units(factory, gate, coupon_id) == (0, 0, 0)


def test_a_claim_keeps_its_units_when_an_unrelated_savepoint_rolls_back(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    with factory() as session:
        with session.begin_nested():
            _claim(session, gate, coupon_id, FIRST)
        _claim(session, gate, coupon_id, SECOND)  # in the outer transaction itself
        unrelated = session.begin_nested()
        session.execute(select(1))
        unrelated.rollback()
        assert _units(factory, gate, coupon_id)[:2] == (2, 1)
        session.commit()
    assert _units(factory, gate, coupon_id) == (2, 1, 2)


def test_a_claim_in_a_rolled_back_savepoint_gives_back_its_own_units_only(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    with factory() as session:
        _claim(session, gate, coupon_id, FIRST)
        undone = session.begin_nested()
        _claim(session, gate, coupon_id, SECOND)
        undone.rollback()
        assert _units(factory, gate, coupon_id)[:2] == (1, 1)  # the second claim's unit given back
        session.commit()
    assert _units(factory, gate, coupon_id) == (1, 1, 1)
