"""A basket no offer applies to skips the pricing engine, and its snapshot is what the engine says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.offers import pricing
from neigou.orders.inputs import ItemIn
from neigou.orders.offer_snapshot import plain_snapshot

pytestmark = pytest.mark.no_database

AT = datetime(2026, 3, 1, tzinfo=UTC)


@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.integers(1, 50), st.integers(0, 10**7)),
        min_size=1,
        max_size=5,
        unique_by=lambda t: t[0],
    )
)
def test_plain_snapshot_is_what_the_engine_answers(lines: list[tuple[str, int, int]]) -> None:
    items = [ItemIn(sku, quantity, 0) for sku, quantity, _ in lines]
    prices = {sku: price for sku, _, price in lines}
    basket = pricing.price_basket(
        lines=[pricing.BasketLine(i.sku, prices[i.sku], i.quantity) for i in items],
        promotions=[],
        coupons=[],
        at=AT,
        link_coupon_ids=frozenset(),
    )
    assert plain_snapshot(items, prices, AT) == {
        "quoted_at": AT.isoformat(),
        "list_total_fen": basket.list_total_fen,
        "promotion_discount_fen": basket.promotion_discount_fen,
        "coupon_discount_fen": basket.coupon_discount_fen,
        "payable_fen": basket.payable_fen,
        "applied": [offer.to_snapshot() for offer in basket.applied],
    }
