"""A coupon's stock lowered behind the Redis claim gate: the lowering is checked against what the gate
has given out (claims still in the stream included), and from that instant the gate refuses claims
beyond the new stock in every process, also one holding the old terms; a lowering rolled back and a
raise let claims through again. No answered claim ever ends as a dead letter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.kit.dead_letters import dead_key
from neigou.kit.errors import Conflict
from neigou.links import claim_stream, stock_gate
from neigou.links.stock_gate import StockGate
from neigou.offers import offer_edit
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_schemas import CouponUpdate
from tests.conftest import TEST_ACTOR
from tests.links.conftest import behind_gate
from tests.links.test_claim_stream import _claim, _coupon


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def other_process(gate: StockGate) -> StockGate:
    """A gate of another process on the same Redis and namespace: this process's commits neither
    refresh its copy of the terms (kept for ``TERMS_TTL_SECONDS``) nor go through it."""
    other = StockGate(gate.client, gate.namespace, write_behind=True)
    stock_gate._GATES.discard(other)
    return other


def edit(factory: sessionmaker[Session], coupon_id: int, **change: object) -> None:
    with transaction(factory) as session:
        offer_edit.update_coupon(
            session, coupon_id=coupon_id, data=CouponUpdate.model_validate(change), actor=TEST_ACTOR
        )


def stored(factory: sessionmaker[Session], gate: StockGate, coupon_id: int) -> tuple[int, int]:
    """Drain the claim stream: every claim stored, none left pending nor dead-lettered; the coupon's
    (claimed_quantity, total_quantity)."""
    assert gate.stream is not None
    claim_stream.ClaimWriter(gate.client, gate.stream, factory, name="writer").drain()
    assert gate.client.xpending(gate.stream, claim_stream.GROUP)["pending"] == 0
    assert gate.client.xlen(dead_key(gate.stream)) == 0
    with factory() as session:
        coupon = session.get(CouponTemplate, coupon_id)
        assert coupon is not None
        return coupon.claimed_quantity, coupon.total_quantity


def cap_of(factory: sessionmaker[Session], gate: StockGate, coupon_id: int) -> tuple[int | None, int]:
    """The coupon's stock cap in Redis and the seconds it is kept."""
    with factory() as session:
        coupon = session.get(CouponTemplate, coupon_id)
        assert coupon is not None
        return gate.stock_cap(coupon), int(gate.client.ttl(gate.keys(coupon, "").cap))


def test_a_lowering_below_claims_still_in_the_stream_is_refused(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    for who in ("13800000001", "13800000002", "13800000003"):
        assert _claim(factory, gate, coupon_id, who).startswith("taken:")  # in the stream, not stored
    with pytest.raises(Conflict) as refused:
        edit(factory, coupon_id, total_quantity=2)
    assert (refused.value.code, refused.value.extra) == ("quantity_below_claimed", {"claimed_quantity": 3})
    assert cap_of(factory, gate, coupon_id)[0] is None  # nothing held for a refused change
    assert _claim(factory, gate, coupon_id, "13800000004").startswith("taken:")
    assert stored(factory, gate, coupon_id) == (4, 5)


def test_a_lowering_to_what_is_taken_stops_every_process_at_once(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    other = other_process(gate)
    assert _claim(factory, gate, coupon_id, "13800000001").startswith("taken:")
    assert _claim(factory, other, coupon_id, "13800000002").startswith("taken:")  # it holds stock 5
    assert _claim(factory, gate, coupon_id, "13800000003").startswith("taken:")
    edit(factory, coupon_id, total_quantity=3)
    assert _claim(factory, gate, coupon_id, "13800000004") == "sold_out"
    assert _claim(factory, other, coupon_id, "13800000005") == "sold_out"
    with factory() as session:
        held = other.terms(session, coupon_id)
    assert held is not None
    assert held.total_quantity == 5  # the old terms, refused by the cap
    assert cap_of(factory, gate, coupon_id)[0] == 3
    assert 0 < cap_of(factory, gate, coupon_id)[1] <= stock_gate.CAP_KEPT_SECONDS
    assert stored(factory, gate, coupon_id) == (3, 3)


def test_a_lowering_rolled_back_lets_claims_through_again(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    other = other_process(gate)
    assert _claim(factory, other, coupon_id, "13800000001").startswith("taken:")
    session = factory()
    try:
        offer_edit.update_coupon(
            session, coupon_id=coupon_id, data=CouponUpdate(total_quantity=1), actor=TEST_ACTOR
        )
        # Refused from the lowering's instant, before its commit, also on the old terms.
        assert _claim(factory, other, coupon_id, "13800000002") == "sold_out"
        session.rollback()
    finally:
        session.close()
    assert cap_of(factory, gate, coupon_id)[0] == 5  # the stock the database kept
    outcomes = [_claim(factory, g, coupon_id, f"1380000001{i}") for i, g in enumerate([gate, other] * 3)]
    assert [o.split(":")[0] for o in outcomes] == ["taken"] * 4 + ["sold_out"] * 2
    assert stored(factory, gate, coupon_id) == (5, 5)


def test_a_savepoint_rolled_back_keeps_the_lowering_around_it(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    other = other_process(gate)
    assert _claim(factory, other, coupon_id, "13800000001").startswith("taken:")
    with transaction(factory) as session:
        offer_edit.update_coupon(
            session, coupon_id=coupon_id, data=CouponUpdate(total_quantity=4), actor=TEST_ACTOR
        )
        savepoint = session.begin_nested()
        offer_edit.update_coupon(
            session, coupon_id=coupon_id, data=CouponUpdate(total_quantity=2), actor=TEST_ACTOR
        )
        savepoint.rollback()
        cap, seconds = cap_of(factory, gate, coupon_id)
        assert cap == 4  # the outer change's, still pending
        assert seconds > stock_gate.CAP_KEPT_SECONDS
    assert cap_of(factory, gate, coupon_id)[0] == 4
    outcomes = [_claim(factory, other, coupon_id, f"1380000001{i}") for i in range(4)]
    assert [o.split(":")[0] for o in outcomes] == ["taken"] * 3 + ["sold_out"]
    assert stored(factory, gate, coupon_id) == (4, 4)


def test_a_raise_lets_claims_through_up_to_the_new_stock(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    other = other_process(gate)
    for who, through in (("13800000001", gate), ("13800000002", other), ("13800000003", gate)):
        assert _claim(factory, through, coupon_id, who).startswith("taken:")
    edit(factory, coupon_id, total_quantity=3)
    assert _claim(factory, other, coupon_id, "13800000004") == "sold_out"
    edit(factory, coupon_id, total_quantity=4)
    assert cap_of(factory, gate, coupon_id)[0] == 4
    assert _claim(factory, gate, coupon_id, "13800000005").startswith("taken:")
    assert _claim(factory, other, coupon_id, "13800000006") == "sold_out"  # holds 5, the stock is 4
    assert _claim(factory, gate, coupon_id, "13800000007") == "sold_out"
    assert stored(factory, gate, coupon_id) == (4, 4)
