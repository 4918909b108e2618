"""The claim path's in-process copy of a coupon's terms: an edit committed in this process is seen by
the next claim at once (not after ``TERMS_TTL_SECONDS``); an edit rolled back changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.errors import Conflict
from neigou.links import claims
from neigou.links.models import ClaimSource
from neigou.links.stock_gate import StockGate
from neigou.offers import offer_edit
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_rules import CouponKind, CouponVisibility
from neigou.offers.offer_schemas import CouponUpdate
from neigou.programs.scope import organization_for_write
from tests.conftest import SECRET, TEST_ACTOR


@pytest.fixture
def gate(redis_client: redis.Redis) -> Iterator[StockGate]:
    namespace = f"neigou-test:{uuid.uuid4().hex[:8]}"
    stock = StockGate(redis_client, namespace)
    yield stock
    stock.close()
    for key in redis_client.scan_iter(f"{namespace}:*"):
        redis_client.delete(key)


def _coupon(factory: sessionmaker[Session]) -> int:
    now = utcnow()
    with transaction(factory) as session:
        row = CouponTemplate(
            name="限量券",
            kind=CouponKind.AMOUNT_OFF,
            value=100,
            min_spend_fen=0,
            visibility=CouponVisibility.PUBLIC,
            total_quantity=5,
            claimed_quantity=0,
            per_customer_limit=1,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
            created_at=now,
            organization_id=organization_for_write(session),
        )
        session.add(row)
        session.flush()
        return row.id


def _claim(factory: sessionmaker[Session], gate: StockGate, coupon_id: int, who: str) -> str:
    try:
        with transaction(factory) as session:
            claims.claim_coupon(
                session,
                coupon_id=coupon_id,
                customer=claims.Customer.from_ref(SECRET, who),
                actor=TEST_ACTOR,
                source=ClaimSource.API,
                gate=gate,
            )
            return "taken"
    except Conflict as exc:
        return exc.code


def _edit(factory: sessionmaker[Session], coupon_id: int, **change: object) -> None:
    with transaction(factory) as session:
        offer_edit.update_coupon(
            session, coupon_id=coupon_id, data=CouponUpdate.model_validate(change), actor=TEST_ACTOR
        )


def test_an_edit_reaches_the_next_claim_at_once(factory: sessionmaker[Session], gate: StockGate) -> None:
    coupon_id = _coupon(factory)
    assert _claim(factory, gate, coupon_id, "13800000001") == "taken"
    with factory() as session:
        assert gate.terms(session, coupon_id) is not None  # the copy is fresh: kept for seconds
    _edit(factory, coupon_id, status="paused")
    assert _claim(factory, gate, coupon_id, "13800000002") == "not_active"
    _edit(factory, coupon_id, status="active", total_quantity=1)
    assert _claim(factory, gate, coupon_id, "13800000003") == "sold_out"
    with factory() as session:
        terms = gate.terms(session, coupon_id)
    assert terms is not None
    assert (terms.total_quantity, terms.paused) == (1, False)


def test_an_edit_rolled_back_keeps_the_copy(factory: sessionmaker[Session], gate: StockGate) -> None:
    coupon_id = _coupon(factory)
    with factory() as session:
        assert gate.terms(session, coupon_id) is not None
    session = factory()
    try:
        offer_edit.update_coupon(
            session, coupon_id=coupon_id, data=CouponUpdate(status="paused"), actor=TEST_ACTOR
        )
        assert session.info[offer_edit.TERMS_CHANGED]  # registered with the transaction
        session.rollback()
        assert offer_edit.TERMS_CHANGED not in session.info
    finally:
        session.close()
    assert _claim(factory, gate, coupon_id, "13800000001") == "taken"
