"""A claim in the stream that the database refuses (here: its coupon's stock, grown in the database
past what the gate counted) does not hold back the claims stored beside it: the batch is stored claim
by claim, the refused one is logged and stays pending, and is stored once the database takes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.kit.streams import next_entries
from neigou.links import claim_stream
from neigou.links.models import CouponClaim
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from tests.links.conftest import behind_gate
from tests.links.test_claim_stream import _claim, _coupon


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _claims_of(factory: sessionmaker[Session], coupon_id: int) -> int:
    with factory() as session:
        rows = session.scalar(select(func.count(CouponClaim.id)).where(CouponClaim.coupon_id == coupon_id))
    return rows or 0


def test_a_refused_claim_is_logged_and_kept_while_the_rest_is_stored(
    app: FastAPI, factory: sessionmaker[Session], gate: StockGate, capfd: pytest.CaptureFixture[str]
) -> None:
    del app  # built for its logging set-up
    full = _coupon(factory, total=1)
    other = _coupon(factory, total=100)
    assert _claim(factory, gate, full, "13800000001").startswith("taken:")
    with transaction(factory) as session:  # the database's stock taken meanwhile (not by the gate)
        session.execute(update(CouponTemplate).where(CouponTemplate.id == full).values(claimed_quantity=1))
    assert _claim(factory, gate, other, "13800000002").startswith("taken:")
    assert _claim(factory, gate, other, "13800000003").startswith("taken:")
    assert gate.stream is not None
    writer = claim_stream.ClaimWriter(gate.client, gate.stream, factory, name="writer")
    capfd.readouterr()
    assert writer.drain() == 3
    err = capfd.readouterr().err
    assert "stream.entry_unstorable" in err
    assert "ck_coupon_templates_stock" in err
    assert (_claims_of(factory, full), _claims_of(factory, other)) == (0, 2)
    # the refused claim is still pending; once the stock allows it, its next delivery stores it
    pending = next_entries(
        gate.client, gate.stream, claim_stream.GROUP, "writer", batch=100, block_ms=None, claim_idle_ms=0
    )
    assert len(pending) == 1
    with transaction(factory) as session:
        session.execute(update(CouponTemplate).where(CouponTemplate.id == full).values(total_quantity=2))
    assert writer._store(pending) == 1
    assert (_claims_of(factory, full), _claims_of(factory, other)) == (1, 2)
    assert gate.client.xpending(gate.stream, claim_stream.GROUP)["pending"] == 0
