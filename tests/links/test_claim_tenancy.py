"""A claim through the stock gate stays in its caller's organization: the gate's in-process copy of a
coupon's terms serves every caller, so it is read unscoped, and a scoped caller naming another
organization's coupon is answered 404 ``coupon_not_found`` before the gate is asked. Neither the
foreign caller's miss poisons the owner's claims, nor the owner's copy lets the foreign caller claim."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.errors import Conflict, NotFound
from neigou.kit.scoping import Scope, use_scope
from neigou.links import claims, gate_seeds
from neigou.links.models import ClaimSource, CouponClaim
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_rules import CouponKind, CouponVisibility
from neigou.organizations.models import Organization
from tests.conftest import SECRET, TEST_ACTOR


@pytest.fixture(params=[False, True], ids=["through-request", "behind"])
def gate(request: pytest.FixtureRequest, redis_client: redis.Redis) -> Iterator[StockGate]:
    namespace = f"neigou-test:{uuid.uuid4().hex[:8]}"
    stock = StockGate(redis_client, namespace, write_behind=request.param)
    yield stock
    stock.close()
    for key in redis_client.scan_iter(f"{namespace}:*"):
        redis_client.delete(key)


def _world(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    """Organizations A and B, and B's public coupon (5 units, 1 per customer): (a, b, coupon)."""
    now = utcnow()
    with transaction(factory) as session:
        a, b = (Organization(code=f"org-{c}", name=c, created_at=now) for c in "ab")
        session.add_all([a, b])
        session.flush()
        coupon = CouponTemplate(
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
            organization_id=b.id,
        )
        session.add(coupon)
        session.flush()
        return a.id, b.id, coupon.id


def _claim(
    factory: sessionmaker[Session],
    gate: StockGate,
    organization_id: int,
    coupon_id: int,
    who: str,
    *,
    request_id: str | None = None,
) -> str:
    try:
        with transaction(factory) as session:
            use_scope(session, Scope(organization_id))  # an integration or operator of that organization
            claims.claim_coupon(
                session,
                coupon_id=coupon_id,
                customer=claims.Customer.from_ref(SECRET, who),
                actor=TEST_ACTOR,
                source=ClaimSource.API,
                request_id=request_id,
                gate=gate,
            )
            return "taken"
    except (Conflict, NotFound) as exc:
        return exc.code


def test_another_organizations_miss_never_hides_the_coupon_from_its_owner(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    a, b, coupon = _world(factory)
    assert _claim(factory, gate, a, coupon, "13800000001") == "coupon_not_found"
    assert _claim(factory, gate, a, coupon, "13800000001", request_id="a-1") == "coupon_not_found"
    # Within the terms' TTL, the owner's claims find their coupon all the same.
    assert _claim(factory, gate, b, coupon, "13800000002") == "taken"
    assert _claim(factory, gate, b, coupon, "13800000003", request_id="b-1") == "taken"


def test_the_owners_cached_terms_never_let_another_organization_claim(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    a, b, coupon = _world(factory)
    assert _claim(factory, gate, b, coupon, "13800000002") == "taken"  # the terms are cached now
    assert _claim(factory, gate, a, coupon, "13800000001") == "coupon_not_found"
    assert _claim(factory, gate, a, coupon, "13800000004", request_id="a-1") == "coupon_not_found"
    with factory() as session:
        assert session.get_one(CouponTemplate, coupon).claimed_quantity <= 1  # B's own claim only
        assert session.scalars(select(func.count()).select_from(CouponClaim)).one() <= 1
    with transaction(factory) as session:  # B's stock in Redis: one unit given out, none to A
        assert gate.counts(session.get_one(CouponTemplate, coupon), "")[0] == 1


def test_a_counter_seeded_under_another_scope_counts_every_claim(factory: sessionmaker[Session]) -> None:
    a, _b, coupon = _world(factory)
    with transaction(factory) as session:
        session.get_one(CouponTemplate, coupon).claimed_quantity = 3
    with transaction(factory) as session:
        use_scope(session, Scope(a))
        assert gate_seeds.read(session, redis.Redis(), None, coupon, "someone")[0] == 3
