"""The claim writer checks each customer's per-customer limit for the batch at once: a claim that would
take the customer past it (counting the customer's stored claims and the batch's earlier ones, in the
stream's order) is not stored and goes to the dead letters at once with its reason, logged and counted
as every dead letter; the rest of the batch is stored. A replay leaves such a letter where it is."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import dead_letters
from neigou.kit.bulk import STAGE_FROM
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.links import claim_batches, claim_stream, claims
from neigou.links.models import ClaimCounter, ClaimSource, CouponClaim
from neigou.links.stock_gate import StockGate
from neigou.offers import offer_edit
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_schemas import CouponUpdate
from tests.conftest import SECRET, TEST_ACTOR
from tests.links.builders import limited_coupon
from tests.links.conftest import behind_gate
from tests.links.test_gate_seeds import _claim, _drain


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
        assert claim_batches.store_within_limits(session, claim_stream.rows_of(entries)) == (
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


def _past_limit_in_the_stream(factory: sessionmaker[Session], gate: StockGate) -> CouponTemplate:
    """A coupon of 3 units, 1 per customer: the first customer's key evicted while their claim waits in
    the stream, the gate takes a second claim of theirs, which the writer refuses (a dead letter)."""
    assert gate.stream is not None
    coupon = limited_coupon(factory, total=3, per_customer=1)
    first = claims.Customer.from_ref(SECRET, "13800000001")
    assert _claim(factory, gate, coupon.id, "13800000001") == "taken"
    gate.client.delete(gate.keys(coupon, first.ref_hash).customer)  # evicted alone
    assert _claim(factory, gate, coupon.id, "13800000001") == "taken"
    _drain(factory, gate)
    assert [letter.reason for letter in dead_letters.letters(gate.client, gate.stream)] == [
        "per_customer_limit"
    ]
    return coupon


def _claimed(factory: sessionmaker[Session], coupon_id: int) -> int:
    with factory() as session:
        claimed = session.scalar(
            select(CouponTemplate.claimed_quantity).where(CouponTemplate.id == coupon_id)
        )
        assert claimed is not None
        return claimed


def test_a_claim_refused_for_the_limit_gives_its_unit_back_to_the_gate(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    """The refused claim holds no unit: the coupon sells all its stock to the next customers (the
    counters it had counted in are seeded again, its dead letter not counted), and the first customer
    stays at the limit."""
    coupon = _past_limit_in_the_stream(factory, gate)
    assert _claimed(factory, coupon.id) == 1
    assert _claim(factory, gate, coupon.id, "13800000002") == "taken"
    assert _claim(factory, gate, coupon.id, "13800000001") == "limit_reached"
    assert _claim(factory, gate, coupon.id, "13800000003") == "taken"
    assert _claim(factory, gate, coupon.id, "13800000004") == "sold_out"
    _drain(factory, gate)
    assert _claimed(factory, coupon.id) == 3
    assert gate.counts(coupon, "") == (3, 0)


def test_the_move_of_a_claim_past_the_limit_deletes_its_counters_in_the_same_script(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis failing after the move (or the writer killed) leaves no counter counting the refused
    claim: the move's own script deleted them."""
    assert gate.stream is not None
    coupon = limited_coupon(factory, total=3, per_customer=1)
    keys = gate.keys(coupon, claims.Customer.from_ref(SECRET, "13800000001").ref_hash)
    assert _claim(factory, gate, coupon.id, "13800000001") == "taken"
    gate.client.delete(keys.customer)  # evicted alone
    assert _claim(factory, gate, coupon.id, "13800000001") == "taken"

    def gone(*_keys: str) -> int:
        raise redis.ConnectionError("Connection reset by peer")

    monkeypatch.setattr(gate.client, "delete", gone)
    with contextlib.suppress(redis.ConnectionError):
        claim_stream.ClaimWriter(gate.client, gate.stream, factory, name="writer").drain()
    monkeypatch.undo()
    assert [letter.reason for letter in dead_letters.letters(gate.client, gate.stream)] == [
        "per_customer_limit"
    ]
    assert gate.client.exists(keys.stock, keys.customer) == 0


def test_a_claim_refused_for_the_limit_does_not_hold_back_a_lowering_of_stock(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon = _past_limit_in_the_stream(factory, gate)
    with transaction(factory) as session:  # to the one claim stored
        offer_edit.update_coupon(
            session, coupon_id=coupon.id, data=CouponUpdate(total_quantity=1), actor=TEST_ACTOR
        )
    assert _claim(factory, gate, coupon.id, "13800000002") == "sold_out"


def test_an_entry_twice_in_a_batch_is_one_claim(factory: sessionmaker[Session], gate: StockGate) -> None:
    """A batch holding the same entry twice (delivered again) stores it once, within the limit."""
    assert gate.stream is not None
    coupon = limited_coupon(factory, total=10, per_customer=1)
    entry_id = _recorded(gate, coupon.id, "13800000001")
    entries: Any = gate.client.xrange(gate.stream)
    writer = claim_stream.ClaimWriter(gate.client, gate.stream, factory, name="writer")
    writer._store_batch([entries[0], entries[0]])
    assert writer.stored == 1
    assert list(dead_letters.letters(gate.client, gate.stream)) == []
    with factory() as session:
        assert list(session.scalars(select(CouponClaim.id).where(CouponClaim.coupon_id == coupon.id))) == [
            claim_stream.claim_id(entry_id.decode())
        ]
    assert _claimed(factory, coupon.id) == 1
