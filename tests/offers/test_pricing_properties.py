"""Basket pricing's properties over random baskets (the exact-fen examples: ``test_pricing.py``)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neigou.offers.pricing import (
    BasketLine,
    Coupon,
    CouponKind,
    CouponStacking,
    CouponVisibility,
    EventPriceParams,
    OfferSource,
    PricedBasket,
    Promotion,
    QuantityDiscountParams,
    SpendThresholdOffParams,
    allocate,
)
from tests.offers.pricing_builders import NOW, Params, coupon, price, promotion

pytestmark = pytest.mark.no_database


SKUS = ("A", "B", "C", "D")
sku_scopes = st.none() | st.frozensets(st.sampled_from(SKUS), max_size=3)
offer_ids = st.integers(0, 30) | st.sampled_from(["x", "y", "10", "z"])


params_strategy: st.SearchStrategy[Params] = st.one_of(
    st.builds(QuantityDiscountParams, min_quantity=st.integers(1, 15), pay_rate_bp=st.integers(0, 10000)),
    st.builds(SpendThresholdOffParams, min_spend_fen=st.integers(0, 90000), off_fen=st.integers(0, 40000)),
    st.builds(
        EventPriceParams, prices=st.dictionaries(st.sampled_from(SKUS), st.integers(0, 30000), min_size=1)
    ),
)


@st.composite
def windows(draw: st.DrawFn) -> dict[str, datetime]:
    """Some windows hold NOW, some have closed, some are yet to open."""
    starts_at = NOW + timedelta(hours=draw(st.integers(-48, 6)))
    return {"starts_at": starts_at, "ends_at": starts_at + timedelta(hours=draw(st.integers(0, 72)))}


@st.composite
def promotions(draw: st.DrawFn) -> Promotion:
    terms = {"priority": draw(st.integers(0, 3)), "exclusive": draw(st.booleans()), "skus": draw(sku_scopes)}
    return promotion(draw(offer_ids), draw(params_strategy), **terms, **draw(windows()))


@st.composite
def coupons(draw: st.DrawFn) -> Coupon:
    kind = draw(st.sampled_from(CouponKind))
    terms = {
        "kind": kind,
        "min_spend_fen": draw(st.integers(0, 60000)),
        "cap_fen": draw(st.none() | st.integers(0, 20000)),
        "visibility": draw(st.sampled_from(CouponVisibility)),
        "stacking": draw(st.sampled_from(CouponStacking)),
        "skus": draw(sku_scopes),
    }
    value = draw(st.integers(0, 10000 if kind is CouponKind.PERCENT_OFF else 60000))
    return coupon(draw(offer_ids), value, **terms, **draw(windows()))


class Scenario(NamedTuple):
    lines: list[BasketLine]
    promotions: tuple[Promotion, ...]
    coupons: tuple[Coupon, ...]
    link: frozenset[str | int]


basket_lines = st.builds(BasketLine, st.sampled_from(SKUS), st.integers(0, 40000), st.integers(1, 12))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    lines = draw(st.lists(basket_lines, max_size=6))
    chosen_promotions = tuple(draw(st.lists(promotions(), max_size=4, unique_by=offer_key)))
    chosen_coupons = tuple(draw(st.lists(coupons(), max_size=4, unique_by=offer_key)))
    # Links may also carry ids of coupons not asked for; those must change nothing.
    link_ids = st.frozensets(st.sampled_from([*(c.id for c in chosen_coupons), "unrelated"]))
    return Scenario(lines, chosen_promotions, chosen_coupons, draw(link_ids))


def offer_key(offer: Promotion | Coupon) -> str:
    return str(offer.id)


def price_scenario(scenario: Scenario, lines: list[BasketLine] | None = None) -> PricedBasket:
    lines = scenario.lines if lines is None else lines
    return price(lines, promotions=scenario.promotions, coupons=scenario.coupons, link=scenario.link)


@given(scenarios())
@settings(deadline=None)
def test_every_fen_is_accounted_for(scenario: Scenario) -> None:
    basket = price_scenario(scenario)
    assert basket.list_total_fen == sum(line.list_fen for line in basket.lines)
    assert basket.promotion_discount_fen == sum(line.promotion_discount_fen for line in basket.lines)
    assert basket.coupon_discount_fen == sum(line.coupon_discount_fen for line in basket.lines)
    assert basket.payable_fen == sum(line.payable_fen for line in basket.lines)
    discounts = basket.promotion_discount_fen + basket.coupon_discount_fen
    assert basket.payable_fen == basket.list_total_fen - discounts
    for line in basket.lines:
        assert line.list_fen == line.unit_price_fen * line.quantity
        assert line.payable_fen == line.list_fen - line.promotion_discount_fen - line.coupon_discount_fen
        assert min(line.payable_fen, line.promotion_discount_fen, line.coupon_discount_fen) >= 0
    granted: Counter[tuple[OfferSource, int]] = Counter()
    for offer in basket.applied:
        assert offer.amount_fen > 0
        assert offer.amount_fen == sum(fen for _, fen in offer.per_line)
        for index, fen in offer.per_line:
            assert fen > 0
            granted[offer.source, index] += fen
    for line in basket.lines:
        assert granted[OfferSource.PROMOTION, line.index] == line.promotion_discount_fen
        assert granted[OfferSource.COUPON, line.index] == line.coupon_discount_fen
    decided = [offer.rule_id for offer in basket.applied] + [offer.rule_id for offer in basket.refused]
    assert sorted(map(str, decided)) == sorted(
        [*map(offer_key, scenario.promotions), *map(offer_key, scenario.coupons)]
    )
    assert json.loads(json.dumps(basket.to_snapshot())) == basket.to_snapshot()


@given(scenarios())
@settings(deadline=None)
def test_applied_coupons_obey_their_stacking_rules(scenario: Scenario) -> None:
    basket = price_scenario(scenario)
    by_id = {str(c.id): c for c in scenario.coupons}
    used = [by_id[str(o.rule_id)] for o in basket.applied if o.source is OfferSource.COUPON]
    assert len({c.kind for c in used}) == len(used)  # one per kind
    if any(c.stacking is CouponStacking.EXCLUSIVE for c in used):
        assert len(used) == 1


@given(scenarios(), st.data())
@settings(deadline=None)
def test_pricing_is_deterministic_and_ignores_line_order(scenario: Scenario, data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(scenario.lines), label="shuffled lines")
    before, after = price_scenario(scenario), price_scenario(scenario, shuffled)
    assert price_scenario(scenario) == before, "same input, same output"
    totals = ("list_total_fen", "promotion_discount_fen", "coupon_discount_fen", "payable_fen")
    assert [getattr(before, name) for name in totals] == [getattr(after, name) for name in totals]
    assert [replace(offer, per_line=()) for offer in before.applied] == [
        replace(offer, per_line=()) for offer in after.applied
    ]
    assert before.refused == after.refused

    # Indistinguishable lines may trade places, so lines are compared as a multiset without their index.
    assert Counter(replace(line, index=0) for line in before.lines) == Counter(
        replace(line, index=0) for line in after.lines
    )


@given(st.lists(st.integers(0, 10**6), max_size=8), st.data())
def test_allocate_sums_exactly_within_weights(weights: list[int], data: st.DataObject) -> None:
    weight_sum = sum(weights)
    total = data.draw(st.integers(0, weight_sum), label="total")
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert all(0 <= share <= weight for share, weight in zip(shares, weights, strict=True))
    if weight_sum:
        # Proportional: each share is within one unit of its exact quota total × weight / weight_sum.
        assert all(abs(s * weight_sum - total * w) < weight_sum for s, w in zip(shares, weights, strict=True))
    assert allocate(total, weights) == shares
