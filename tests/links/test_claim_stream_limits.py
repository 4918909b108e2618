"""The claim writer checks each customer's per-customer limit for the batch at once: a claim that would
take the customer past it (counting the customer's stored claims and the batch's earlier ones, in the
stream's order) is not stored and goes to the dead letters at once with its reason, logged and counted
as every dead letter; the rest of the batch is stored. A replay leaves such a letter where it is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import dead_letters
from neigou.kit.bulk import STAGE_FROM
from neigou.kit.clock import utcnow
from neigou.links import claim_stream, claims
from neigou.links.models import ClaimCounter, ClaimSource, CouponClaim
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from tests.conftest import SECRET, TEST_ACTOR
from tests.links.builders import limited_coupon
from tests.links.conftest import behind_gate
from tests.links.test_gate_seeds import _claim


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _recorded(gate: StockGate, coupon_id: int, phone: str) -> bytes:
    """A claim appended to the stream as the gate's script appends it, the gate's counters left alone
    (as a counter that started without the customer's claims would have let it through)."""
    assert gate.stream is not None
    customer = claims.Customer.from_ref(SECRET, phone)
    values: dict[str, Any] = {
        "coupon_id": coupon_id,
        "customer_ref_hash": customer.ref_hash,
        "customer_ref_masked": customer.masked,
        "link_id": None,
        "program_id": None,
        "member_id": None,
        "group_id": None,
        "request_id": None,
        "source": ClaimSource.API,
        "visitor_id": None,
        "claimed_at": utcnow(),
    }
    added: Any = gate.client.xadd(gate.stream, {"c": claim_stream.pack(values, TEST_ACTOR)})
    return bytes(added)


@pytest.mark.parametrize("others", [1, STAGE_FROM], ids=["small", "copied"])
def test_claims_past_the_limit_go_to_the_dead_letters_and_the_rest_is_stored(
    app: FastAPI,
    factory: sessionmaker[Session],
    gate: StockGate,
    capfd: pytest.CaptureFixture[str],
    others: int,
) -> None:
    del app  # built for its logging set-up
    assert gate.stream is not None
    coupon = limited_coupon(factory, total=1000, per_customer=2)
    assert _claim(factory, None, coupon.id, "13800000003") == "taken"  # stored through the request
    first = [_recorded(gate, coupon.id, "13800000001") for _ in range(3)]  # the third passes the limit
    stored_one = _recorded(gate, coupon.id, "13800000003")
    past_stored = _recorded(gate, coupon.id, "13800000003")  # 1 stored + 1 in the batch: the limit
    fillers = [_recorded(gate, coupon.id, f"1390000{i:04d}") for i in range(others)]
    dead_before = (
        REGISTRY.get_sample_value("neigou_stream_dead_letters_total", {"stream": claim_stream.GROUP}) or 0.0
    )
    capfd.readouterr()
    writer = claim_stream.ClaimWriter(gate.client, gate.stream, factory, name="writer")
    assert writer.drain() == 5 + others
    err = capfd.readouterr().err
    ids = {claim_stream.claim_id(e.decode()) for e in [*first[:2], stored_one, *fillers]}
    with factory() as session:
        stored = set(session.scalars(select(CouponClaim.id).where(CouponClaim.coupon_id == coupon.id)))
        counters = dict(
            session.execute(
                select(ClaimCounter.customer_ref_hash, ClaimCounter.claimed).where(
                    ClaimCounter.coupon_id == coupon.id
                )
            ).all()
        )
        claimed = session.scalar(
            select(CouponTemplate.claimed_quantity).where(CouponTemplate.id == coupon.id)
        )
    assert ids < stored
    assert len(stored) == len(ids) + 1  # and the request's
    assert writer.stored == 3 + others
    assert claimed == 4 + others
    assert counters[claims.Customer.from_ref(SECRET, "13800000001").ref_hash] == 2
    assert counters[claims.Customer.from_ref(SECRET, "13800000003").ref_hash] == 2
    assert sum(counters.values()) == claimed
    letters = list(dead_letters.letters(gate.client, gate.stream))
    assert sorted((letter.entry_id, letter.reason, letter.deliveries) for letter in letters) == sorted(
        [(first[2], "per_customer_limit", 1), (past_stored, "per_customer_limit", 1)]
    )
    assert gate.client.xlen(gate.stream) == 0
    assert gate.client.xpending(gate.stream, claim_stream.GROUP)["pending"] == 0
    assert err.count("stream.entry_dead_lettered") == 2
    assert "reason=per_customer_limit" in err
    assert (
        REGISTRY.get_sample_value("neigou_stream_dead_letters_total", {"stream": claim_stream.GROUP})
        == dead_before + 2
    )
    assert dead_letters.replay(gate.client, gate.stream, factory, claim_stream.store_entries) == (0, 2)
    with factory() as session:
        assert session.scalar(
            select(CouponTemplate.claimed_quantity).where(CouponTemplate.id == coupon.id)
        ) == (claimed)


def test_a_claim_past_the_limit_redelivered_after_its_batch_was_stored_is_set_aside_once(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    """The batch committed, the writer died before moving the refused claim: its next delivery finds
    the customer's stored claims and refuses it again, the stored one counted once."""
    assert gate.stream is not None
    coupon = limited_coupon(factory, total=10, per_customer=1)
    kept, past = (_recorded(gate, coupon.id, "13800000001") for _ in range(2))
    entries: Any = gate.client.xrange(gate.stream)
    with factory() as session, session.begin():
        assert claim_stream.store_within_limits(session, claim_stream.rows_of(entries)) == (
            1,
            {claim_stream.claim_id(past.decode())},
        )
    writer = claim_stream.ClaimWriter(gate.client, gate.stream, factory, name="writer")
    assert writer.drain() == 2
    assert writer.stored == 0
    assert [letter.entry_id for letter in dead_letters.letters(gate.client, gate.stream)] == [past]
    with factory() as session:
        assert list(session.scalars(select(CouponClaim.id).where(CouponClaim.coupon_id == coupon.id))) == [
            claim_stream.claim_id(kept.decode())
        ]
        assert (
            session.scalar(select(CouponTemplate.claimed_quantity).where(CouponTemplate.id == coupon.id)) == 1
        )
