"""A lowering of a coupon's stock the claim gate cannot confirm is refused, never let through on the
database's count alone: Redis not answering, or answering an error once, and a stock counter gone
from Redis (expired, evicted) while its claims are still in the stream. A raise needs no confirmation.
A claim moves its counters' expiry later with the coupon's end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.errors import Conflict
from neigou.links import stock_gate
from neigou.links.gate_scripts import StockUnconfirmed
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from tests.links.conftest import behind_gate
from tests.links.test_claim_stream import _claim, _coupon
from tests.links.test_stock_caps import edit, other_process, stored


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _coupon_row(factory: sessionmaker[Session], coupon_id: int) -> CouponTemplate:
    with factory() as session:
        coupon = session.get(CouponTemplate, coupon_id)
        assert coupon is not None
        session.expunge(coupon)
        return coupon


def test_without_redis_a_lowering_is_refused_and_a_raise_goes_ahead(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    stock_gate._GATES.discard(gate)
    gone = StockGate(redis.Redis(port=1, socket_connect_timeout=0.5), gate.namespace, write_behind=True)
    try:
        with pytest.raises(StockUnconfirmed) as refused:
            edit(factory, coupon_id, total_quantity=2)
        edit(factory, coupon_id, total_quantity=7)
    finally:
        stock_gate._GATES.discard(gone)
        stock_gate._GATES.add(gate)
    assert (refused.value.status, refused.value.code, refused.value.retry_after) == (
        503,
        "stock_unconfirmed",
        5,
    )
    assert stored(factory, gate, coupon_id) == (0, 7)


def test_one_redis_error_on_the_check_refuses_the_lowering(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims answered by another process are in the stream; the check's one call fails (a connection
    reset): the lowering is refused, so those claims and the ones still answered on the old terms are
    all stored."""
    coupon_id = _coupon(factory, total=5)
    other = other_process(gate)
    for who in ("13800000001", "13800000002", "13800000003"):
        assert _claim(factory, other, coupon_id, who).startswith("taken:")
    real = StockGate.hold_cap
    calls: list[int] = []

    def flaky(self: StockGate, *args: Any, **kwargs: Any) -> int | None:
        calls.append(1)
        if len(calls) == 1:
            raise redis.ConnectionError("Connection reset by peer")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(StockGate, "hold_cap", flaky)
    with pytest.raises(StockUnconfirmed):
        edit(factory, coupon_id, total_quantity=2)
    assert _claim(factory, other, coupon_id, "13800000004").startswith("taken:")
    assert stored(factory, gate, coupon_id) == (4, 5)  # none pending, none dead-lettered


def test_a_lowering_that_finds_no_counter_counts_the_stream(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    """The stock counter is gone (its expiry passed, or evicted) while three answered claims wait in
    the stream: the lowering seeds it from the database and the stream, and is refused below three."""
    coupon_id = _coupon(factory, total=5)
    for who in ("13800000001", "13800000002", "13800000003"):
        assert _claim(factory, gate, coupon_id, who).startswith("taken:")
    gate.client.delete(gate.keys(_coupon_row(factory, coupon_id), "").stock)
    with pytest.raises(Conflict) as refused:
        edit(factory, coupon_id, total_quantity=2)
    assert refused.value.extra == {"claimed_quantity": 3}
    edit(factory, coupon_id, total_quantity=3)
    assert _claim(factory, gate, coupon_id, "13800000004") == "sold_out"
    assert stored(factory, gate, coupon_id) == (3, 3)


def test_a_claim_moves_the_counters_expiry_with_a_later_end(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    assert _claim(factory, gate, coupon_id, "13800000001").startswith("taken:")
    coupon = _coupon_row(factory, coupon_id)
    keys = gate.keys(coupon, "")
    first = gate.client.expiretime(keys.stock)
    later = coupon.ends_at + timedelta(days=30)
    edit(factory, coupon_id, ends_at=later.isoformat())
    gate.forget({coupon_id})
    assert _claim(factory, gate, coupon_id, "13800000002").startswith("taken:")
    moved = gate.client.expiretime(keys.stock)
    assert moved == int((later + timedelta(days=1)).timestamp()) > first
    assert stored(factory, gate, coupon_id) == (2, 5)


def test_the_stock_of_a_coupon_ended_long_ago_can_be_lowered(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    """Its counter expired a day after the end: the lowering seeds one that lives a day from now (one
    expiring at once read as nothing and failed the check with a Lua error, a 503 for ever)."""
    coupon_id = _coupon(factory, total=5)
    assert _claim(factory, gate, coupon_id, "13800000001").startswith("taken:")
    assert _claim(factory, gate, coupon_id, "13800000002").startswith("taken:")
    assert stored(factory, gate, coupon_id) == (2, 5)
    with factory.begin() as session:
        coupon = session.get(CouponTemplate, coupon_id)
        assert coupon is not None
        coupon.starts_at, coupon.ends_at = coupon.starts_at - timedelta(days=40), utcnow() - timedelta(days=3)
    gate.client.delete(gate.keys(_coupon_row(factory, coupon_id), "").stock)
    edit(factory, coupon_id, total_quantity=3)
    with pytest.raises(Conflict):
        edit(factory, coupon_id, total_quantity=1)
    assert stored(factory, gate, coupon_id) == (2, 3)
