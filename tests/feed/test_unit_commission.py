"""The feed's estimate is what the order path pays the seller for one unit at the group price through
the campaign, whatever the product's terms: a rate (boosted, capped at 100%) or a fixed commission per
unit (a pool of at most the price, which the boost leaves as it is)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.campaigns.estimate import BoostTerms
from neigou.feed.service import unit_commission_fen
from neigou.orders import batch_rows, commission
from neigou.orders.inputs import ItemIn
from neigou.orders.lookups import ProductTerms

pytestmark = pytest.mark.no_database

AT = datetime(2026, 3, 24, 4, 0, tzinfo=UTC)


@given(
    price=st.integers(0, 10**9),
    rate=st.integers(0, 10_000),
    boost=st.integers(0, 10_000),
    fixed=st.none() | st.integers(0, 10**9),
    share=st.integers(0, 10_000),
)
def test_the_estimate_is_the_order_paths_commission_of_one_unit(
    price: int, rate: int, boost: int, fixed: int | None, share: int
) -> None:
    """The order path's lines (``batch_rows.priced_lines``, the boost applied inside the window) and its
    commission (``commission.compute``) pay the seller the estimate, with or without a fixed commission."""
    products = {"X": ProductTerms("X", price, rate, fixed, 1)}
    terms = BoostTerms(boost_bp=boost, starts_at=AT, ends_at=AT + timedelta(hours=1), skus=frozenset({"X"}))
    rows, _, _ = batch_rows.priced_lines((ItemIn("X", 1, price),), products, terms, AT)
    seller = [commission.Earner(1, 1, "t", share)]
    paid = sum(e.amount_fen for e in commission.compute([batch_rows.as_line(r) for r in rows], seller))
    est = unit_commission_fen(
        group_price_fen=price, rate_bp=rate, boost_bp=boost, fixed_commission_fen=fixed, share_bp=share
    )
    assert est == paid
