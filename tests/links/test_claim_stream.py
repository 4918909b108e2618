"""Claims written behind the stock gate: refused ones read nothing, taken ones reach the database in
a batch with their counters and audit entries, and a redelivered entry is stored once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.kit.bulk import STAGE_FROM
from neigou.kit.db import transaction
from neigou.kit.errors import Conflict
from neigou.links import claim_stream, claims
from neigou.links.models import ClaimCounter, ClaimSource, CouponClaim
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from tests.conftest import SECRET, TEST_ACTOR
from tests.links.builders import limited_coupon
from tests.links.conftest import behind_gate
from tests.statements import statements


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _coupon(factory: sessionmaker[Session], total: int) -> int:
    return limited_coupon(factory, total=total, per_customer=1).id


def _claim(factory: sessionmaker[Session], gate: StockGate, coupon_id: int, who: str) -> str:
    try:
        with transaction(factory) as session:
            made = claims.claim_coupon(
                session,
                coupon_id=coupon_id,
                customer=claims.Customer.from_ref(SECRET, who),
                actor=TEST_ACTOR,
                source=ClaimSource.API,
                gate=gate,
            )
            return f"taken:{made.claim.id}"
    except Conflict as exc:
        return exc.code


def test_claims_behind_the_gate(factory: sessionmaker[Session], engine: Engine, gate: StockGate) -> None:
    coupon_id = _coupon(factory, total=3)
    first = _claim(factory, gate, coupon_id, "13800000001")  # reads the coupon's terms once
    with statements(engine) as seen:
        outcomes = [_claim(factory, gate, coupon_id, f"1380000000{i}") for i in (1, 2, 3, 4, 5)]
    # A customer the gate has no counter for yet reads its seeds in one SELECT (customers 2 and 3); a
    # repeat (customer 1) and a sold-out coupon (customers 4 and 5) touch the database not at all.
    assert len(seen) == 2, seen
    assert all(s.startswith("SELECT") for s in seen), seen
    assert Counter(o.split(":")[0] for o in [first, *outcomes]) == Counter(
        {"taken": 3, "limit_reached": 1, "sold_out": 2}
    )
    with factory() as session:
        assert session.scalar(select(func.count(CouponClaim.id))) == 0  # not yet stored
    assert gate.stream is not None
    entries: Any = gate.client.xrange(gate.stream)
    writer = claim_stream.ClaimWriter(gate.client, gate.stream, factory)
    assert writer.drain() == 3
    with transaction(factory) as session:
        assert claim_stream.store_entries(session, entries) == 0  # redelivered: stored once
    with factory() as session:
        ids = set(session.scalars(select(CouponClaim.id)))
        assert ids == {int(o.split(":")[1]) for o in [first, *outcomes] if o.startswith("taken")}
        assert session.scalar(select(CouponTemplate.claimed_quantity)) == 3
        assert session.scalar(select(func.sum(ClaimCounter.claimed))) == 3
        assert (
            session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "coupon.claim")) == 3
        )


def test_a_large_batch_is_copied_and_a_partial_redelivery_stored_once(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    """A batch of at least ``STAGE_FROM`` claims goes by COPY on PostgreSQL; when some of its claims
    were stored before (a writer died before acknowledging them), only the others are counted."""
    total = STAGE_FROM + 10
    coupon_id = _coupon(factory, total=total)
    outcomes = [_claim(factory, gate, coupon_id, f"openid-{i}") for i in range(total + 2)]
    assert Counter(o.split(":")[0] for o in outcomes) == Counter({"taken": total, "sold_out": 2})
    assert gate.stream is not None
    entries: Any = gate.client.xrange(gate.stream)
    with transaction(factory) as session:
        assert claim_stream.store_entries(session, entries[:20]) == 20  # stored before, not acknowledged
    writer = claim_stream.ClaimWriter(gate.client, gate.stream, factory)
    assert writer.drain() == total  # every entry handled and acknowledged ...
    assert writer.stored == total - 20  # ... the first twenty stored once
    taken = {int(o.split(":")[1]): f"openid-{i}" for i, o in enumerate(outcomes) if o.startswith("taken")}
    with factory() as session:
        assert set(session.scalars(select(CouponClaim.id))) == set(taken)
        assert session.scalar(select(CouponTemplate.claimed_quantity)) == total
        counters = session.execute(select(ClaimCounter.customer_ref_hash, ClaimCounter.claimed)).all()
        assert sorted(n for _, n in counters) == [1] * total
        assert {h for h, _ in counters} == {
            claims.Customer.from_ref(SECRET, r).ref_hash for r in taken.values()
        }
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "coupon.claim")).all()
        assert len(audits) == total
        claims_by_id = {c.id: c for c in session.scalars(select(CouponClaim))}
        for entry in audits:
            assert entry.after is not None
            claim = claims_by_id[entry.after["claim_id"]]
            assert (entry.actor_kind, entry.actor_ref, entry.actor_label) == (
                TEST_ACTOR.kind,
                TEST_ACTOR.ref,
                TEST_ACTOR.label,
            )
            assert (entry.entity, entry.entity_id, entry.at) == ("coupon", str(coupon_id), claim.claimed_at)
            assert entry.after == {
                "claim_id": claim.id,
                "customer": claim.customer_ref_masked,
                "link_id": None,
                "request_id": None,
            }
            assert claim.source is ClaimSource.API
