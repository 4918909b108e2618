"""The group price, the estimated commission and the boosted rate, exhaustively (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.campaigns.estimate import (
    BoostTerms,
    UnitCoupon,
    boosted_rate_bp,
    est_commission_fen,
    group_price_fen,
)

pytestmark = pytest.mark.no_database

AT = datetime(2026, 3, 24, 4, 0, tzinfo=UTC)
fen = st.integers(min_value=0, max_value=10**9)
bp = st.integers(min_value=0, max_value=10_000)


def coupon(kind: str, value: int, **extra: object) -> UnitCoupon:
    terms: dict[str, object] = {
        "kind": kind,
        "value": value,
        "cap_fen": None,
        "min_spend_fen": 0,
        "skus": None,
        "starts_at": AT - timedelta(days=1),
        "ends_at": AT + timedelta(days=1),
    }
    terms.update(extra)
    return UnitCoupon(**terms)  # type: ignore[arg-type]


def test_the_field_example() -> None:
    shampoo = coupon("amount_off", 2500, skus=frozenset({"LQ"}))
    price = group_price_fen(shampoo, sku="LQ", price_fen=4990, at=AT)
    assert price == 2490
    # floor(2490 × (2000 + 500) × 2000 / 10^8) = floor(124.5)
    assert est_commission_fen(group_price_fen=price, rate_bp=2000, boost_bp=500, share_bp=2000) == 124
    assert est_commission_fen(group_price_fen=price, rate_bp=2000, boost_bp=500, share_bp=3000) == 186


@given(price=fen, rate=bp, boost=bp, share=bp)
def test_estimate_is_the_exact_floor(price: int, rate: int, boost: int, share: int) -> None:
    est = est_commission_fen(group_price_fen=price, rate_bp=rate, boost_bp=boost, share_bp=share)
    exact = price * min(10_000, rate + boost) * share
    assert est * 10**8 <= exact < (est + 1) * 10**8
    assert isinstance(est, int)


@given(price=fen, rate=bp, boost=bp, share=bp)
def test_the_estimate_is_what_an_order_line_through_the_campaign_earns(
    price: int, rate: int, boost: int, share: int
) -> None:
    """The estimate prices the rate the order path pays (``boosted_rate_bp``, capped at 100%), never
    more: the seller's share of a pool at most the price."""
    terms = BoostTerms(boost_bp=boost, starts_at=AT, ends_at=AT + timedelta(hours=1), skus=frozenset({"X"}))
    paid = boosted_rate_bp(rate, terms, sku="X", paid_at=AT)
    est = est_commission_fen(group_price_fen=price, rate_bp=rate, boost_bp=boost, share_bp=share)
    assert est == price * paid * share // 10**8
    assert est <= price * share // 10_000


def test_a_rate_raised_past_the_boost_estimates_at_100_percent() -> None:
    # A product at 90% in a campaign boosting by 20% (the rate raised after publishing): 100%, not 110%.
    assert est_commission_fen(group_price_fen=10_000, rate_bp=9000, boost_bp=2000, share_bp=5000) == 5000


@given(price=fen, rate=bp, boost=bp, share=bp, more=st.integers(min_value=1, max_value=10_000))
def test_estimate_grows_with_the_boost(price: int, rate: int, boost: int, share: int, more: int) -> None:
    low = est_commission_fen(group_price_fen=price, rate_bp=rate, boost_bp=boost, share_bp=share)
    high = est_commission_fen(group_price_fen=price, rate_bp=rate, boost_bp=boost + more, share_bp=share)
    assert low <= high


@given(
    price=fen,
    value=fen,
    cap=st.none() | fen,
    min_spend=fen,
    kind=st.sampled_from(["amount_off", "percent_off"]),
)
def test_group_price_stays_between_zero_and_the_app_price(
    price: int, value: int, cap: int | None, min_spend: int, kind: str
) -> None:
    if kind == "percent_off":
        value %= 10_001
    terms = coupon(kind, value, cap_fen=cap, min_spend_fen=min_spend)
    group = group_price_fen(terms, sku="X", price_fen=price, at=AT)
    assert 0 <= group <= price
    if price < min_spend:
        assert group == price
    if cap is not None:
        assert price - group <= cap


@given(price=fen)
def test_a_coupon_outside_its_window_or_for_other_skus_takes_nothing(price: int) -> None:
    assert group_price_fen(coupon("amount_off", 100, ends_at=AT), sku="X", price_fen=price, at=AT) == price
    assert (
        group_price_fen(coupon("amount_off", 100, skus=frozenset({"Y"})), sku="X", price_fen=price, at=AT)
        == price
    )
    assert group_price_fen(None, sku="X", price_fen=price, at=AT) == price


@given(rate=bp, boost=bp, offset=st.integers(min_value=-100, max_value=100))
def test_the_boost_applies_to_the_campaign_skus_inside_the_window(rate: int, boost: int, offset: int) -> None:
    terms = BoostTerms(boost_bp=boost, starts_at=AT, ends_at=AT + timedelta(hours=10), skus=frozenset({"X"}))
    paid_at = AT + timedelta(hours=offset)
    inside = 0 <= offset < 10
    expected = min(10_000, rate + boost) if inside else rate
    assert boosted_rate_bp(rate, terms, sku="X", paid_at=paid_at) == expected
    assert boosted_rate_bp(rate, terms, sku="Y", paid_at=paid_at) == rate
    assert boosted_rate_bp(rate, None, sku="X", paid_at=paid_at) == rate
