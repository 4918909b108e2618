"""Basket pricing: exact-fen examples from the product design, plus properties over random baskets."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

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
    PromotionKind,
    QuantityDiscountParams,
    RefusalReason,
    SpendThresholdOffParams,
    allocate,
    price_basket,
)

pytestmark = pytest.mark.no_database

NOW = datetime(2025, 11, 11, 12, 0, tzinfo=UTC)
OPENS = NOW - timedelta(days=1)
CLOSES = NOW + timedelta(days=1)

Params = QuantityDiscountParams | SpendThresholdOffParams | EventPriceParams
KIND_OF: dict[type[Params], PromotionKind] = {
    QuantityDiscountParams: PromotionKind.QUANTITY_DISCOUNT,
    SpendThresholdOffParams: PromotionKind.SPEND_THRESHOLD_OFF,
    EventPriceParams: PromotionKind.EVENT_PRICE,
}


def promotion(promotion_id: str | int, params: Params, **terms: Any) -> Promotion:
    terms = {"starts_at": OPENS, "ends_at": CLOSES, **terms}
    kind = KIND_OF[type(params)]
    return Promotion(id=promotion_id, name=f"promotion {promotion_id}", kind=kind, params=params, **terms)


def coupon(coupon_id: str | int, value: int, **terms: Any) -> Coupon:
    terms = {"kind": CouponKind.AMOUNT_OFF, "starts_at": OPENS, "ends_at": CLOSES, **terms}
    return Coupon(id=coupon_id, name=f"coupon {coupon_id}", value=value, **terms)


def price(
    lines: list[BasketLine],
    *,
    promotions: tuple[Promotion, ...] = (),
    coupons: tuple[Coupon, ...] = (),
    link: frozenset[str | int] = frozenset(),
) -> PricedBasket:
    return price_basket(lines=lines, promotions=promotions, coupons=coupons, at=NOW, link_coupon_ids=link)


def reasons(basket: PricedBasket) -> dict[str | int, RefusalReason]:
    return {refused.rule_id: refused.reason for refused in basket.refused}


SHAMPOO = BasketLine("SHAMPOO", 4990, 1)
HIDDEN_2500 = coupon("shampoo-2500", 2500, visibility=CouponVisibility.HIDDEN)


def test_hidden_coupon_through_its_link() -> None:
    basket = price([SHAMPOO], coupons=(HIDDEN_2500,), link=frozenset({"shampoo-2500"}))
    assert (basket.list_total_fen, basket.coupon_discount_fen, basket.payable_fen) == (4990, 2500, 2490)
    assert basket.applied[0].per_line == ((0, 2500),)
    assert basket.refused == ()
    # Links carry ids as strings while the catalogue may use ints: 7 and "7" name the same coupon.
    hidden_7 = coupon(7, 100, visibility=CouponVisibility.HIDDEN)
    assert price([SHAMPOO], coupons=(hidden_7,), link=frozenset({"7"})).payable_fen == 4890


def test_hidden_coupon_without_link_is_refused() -> None:
    basket = price([SHAMPOO], coupons=(HIDDEN_2500,))
    assert basket.payable_fen == 4990
    assert basket.applied == ()
    assert [(refused.source, refused.rule_id, refused.reason) for refused in basket.refused] == [
        (OfferSource.COUPON, "shampoo-2500", RefusalReason.LINK_REQUIRED)
    ]


TEN_FOR_11_PERCENT = promotion("double11", QuantityDiscountParams(min_quantity=10, pay_rate_bp=1100))


def test_ten_garments_at_11_percent() -> None:
    basket = price([BasketLine("GARMENT", 19900, 10)], promotions=(TEN_FOR_11_PERCENT,))
    assert (basket.payable_fen, basket.promotion_discount_fen) == (21890, 177110)
    # 199010 × 0.11 = 21891.1: the payable rounds up to the whole fen.
    assert price([BasketLine("GARMENT", 19901, 10)], promotions=(TEN_FOR_11_PERCENT,)).payable_fen == 21892


def test_quantity_discount_counts_items_across_scope_lines_only() -> None:
    half_off = QuantityDiscountParams(min_quantity=10, pay_rate_bp=5000)
    scoped = promotion("p", half_off, skus=frozenset({"A", "B"}))
    lines = [BasketLine("A", 1001, 6), BasketLine("B", 2000, 4), BasketLine("C", 999, 5)]
    basket = price(lines, promotions=(scoped,))
    # Scope is 6006 + 8000 = 14006 fen, half is 7003; line C is untouched.
    assert [line.promotion_discount_fen for line in basket.lines] == [3003, 4000, 0]
    assert basket.payable_fen == 7003 + 4995


def test_nine_garments_do_not_qualify() -> None:
    basket = price([BasketLine("GARMENT", 19900, 9)], promotions=(TEN_FOR_11_PERCENT,))
    assert basket.payable_fen == 179100
    assert reasons(basket) == {"double11": RefusalReason.CONDITION_NOT_MET}


def test_coupon_larger_than_the_price_makes_it_free_not_negative() -> None:
    basket = price([BasketLine("SOCKS", 3000, 1)], coupons=(coupon("big", 5000),))
    assert (basket.coupon_discount_fen, basket.payable_fen, basket.lines[0].payable_fen) == (3000, 0, 0)


def test_percent_coupon_floors_and_caps() -> None:
    fifteen = coupon("c15", 1500, kind=CouponKind.PERCENT_OFF, cap_fen=5000)
    # 15% of 9999 is 1499.85: the shopper gets the floor.
    assert price([BasketLine("A", 9999, 1)], coupons=(fifteen,)).coupon_discount_fen == 1499
    # 15% of 49900 is 7485, above the cap.
    assert price([BasketLine("A", 49900, 1)], coupons=(fifteen,)).coupon_discount_fen == 5000


def test_offer_windows_are_half_open() -> None:
    expired = coupon("old", 100, ends_at=NOW)
    upcoming = coupon("new", 100, starts_at=NOW + timedelta(seconds=1))
    starting = coupon("now", 100, starts_at=NOW)
    basket = price([SHAMPOO], coupons=(expired, upcoming, starting))
    assert reasons(basket) == {"old": RefusalReason.NOT_ACTIVE, "new": RefusalReason.NOT_ACTIVE}
    assert basket.payable_fen == 4890


THRESHOLD_OFF_100 = promotion("m100j1", SpendThresholdOffParams(min_spend_fen=10000, off_fen=100))


def test_min_spend_is_read_after_promotions() -> None:
    # Listed at 10050 fen, the basket is 9950 after 满100减1: above 10000 before, below it after.
    missed = coupon("missed", 500, min_spend_fen=10000)
    met = coupon("met", 500, min_spend_fen=9950)
    basket = price([BasketLine("A", 10050, 1)], promotions=(THRESHOLD_OFF_100,), coupons=(missed, met))
    assert reasons(basket) == {"missed": RefusalReason.MIN_SPEND_NOT_MET}
    assert (basket.promotion_discount_fen, basket.coupon_discount_fen, basket.payable_fen) == (100, 500, 9450)


def test_promotion_window_and_scope() -> None:
    closed = promotion("closed", THRESHOLD_OFF_100.params, ends_at=NOW)
    elsewhere = promotion("elsewhere", THRESHOLD_OFF_100.params, skus=frozenset({"B"}))
    basket = price([BasketLine("A", 20000, 1)], promotions=(closed, elsewhere))
    assert reasons(basket) == {"closed": RefusalReason.NOT_ACTIVE, "elsewhere": RefusalReason.OUT_OF_SCOPE}


def test_odd_amounts_allocate_by_largest_remainder() -> None:
    lines = [BasketLine("A", 333, 1), BasketLine("B", 334, 1), BasketLine("C", 335, 1)]
    basket = price(lines, coupons=(coupon("c", 100),))
    assert [line.coupon_discount_fen for line in basket.lines] == [33, 33, 34]
    assert [line.payable_fen for line in basket.lines] == [300, 301, 301]
    assert basket.applied[0].per_line == ((0, 33), (1, 33), (2, 34))
    assert sum(line.payable_fen for line in basket.lines) == basket.payable_fen == 902


OFF_1000 = SpendThresholdOffParams(min_spend_fen=0, off_fen=1000)


def test_exclusive_promotion_beats_lower_priority_ones() -> None:
    exclusive = promotion("vip", OFF_1000, priority=10, exclusive=True)
    lower = promotion("all", THRESHOLD_OFF_100.params, priority=5)
    basket = price([BasketLine("A", 20000, 1)], promotions=(lower, exclusive))
    assert [offer.rule_id for offer in basket.applied] == ["vip"]
    assert reasons(basket) == {"all": RefusalReason.EXCLUDED_BY_EXCLUSIVE}
    assert basket.payable_fen == 19000


def test_exclusive_promotion_below_an_applied_one_is_refused() -> None:
    exclusive = promotion("vip", OFF_1000, exclusive=True)
    higher = promotion("all", THRESHOLD_OFF_100.params, priority=5)
    basket = price([BasketLine("A", 20000, 1)], promotions=(exclusive, higher))
    assert reasons(basket) == {"vip": RefusalReason.EXCLUDED_BY_EXCLUSIVE}
    assert basket.payable_fen == 19900


def test_equal_priorities_apply_in_id_order_as_strings() -> None:
    off = SpendThresholdOffParams(min_spend_fen=9950, off_fen=100)
    basket = price([BasketLine("A", 10000, 1)], promotions=(promotion(9, off), promotion(10, off)))
    # "10" sorts before "9", so 10 applies first and 9 then misses its threshold.
    assert [offer.rule_id for offer in basket.applied] == [10]
    assert reasons(basket) == {9: RefusalReason.CONDITION_NOT_MET}


def test_event_price() -> None:
    event = promotion("flash", EventPriceParams(prices={"A": 3900, "B": 9000}))
    basket = price(
        [BasketLine("A", 5000, 3), BasketLine("B", 8000, 1), BasketLine("C", 100, 1)], promotions=(event,)
    )
    # B's event price is above its price: no surcharge, and C is not listed.
    assert [line.promotion_discount_fen for line in basket.lines] == [3300, 0, 0]
    assert basket.payable_fen == 11700 + 8000 + 100


def test_scope_and_nothing_to_discount() -> None:
    free = promotion("free", EventPriceParams(prices={"A": 0}))
    elsewhere = coupon("b-only", 100, skus=frozenset({"B"}))
    late = coupon("late", 100)
    basket = price([BasketLine("A", 500, 2)], promotions=(free,), coupons=(elsewhere, late))
    assert reasons(basket) == {
        "b-only": RefusalReason.OUT_OF_SCOPE,
        "late": RefusalReason.NOTHING_TO_DISCOUNT,
    }
    assert basket.payable_fen == 0


def test_coupons_apply_in_the_order_given() -> None:
    twenty = coupon("pct", 2000, kind=CouponKind.PERCENT_OFF)
    flat = coupon("flat", 1000)
    line = [BasketLine("A", 10000, 1)]  # combinable coupons of two kinds
    assert price(line, coupons=(twenty, flat)).payable_fen == 7000
    assert price(line, coupons=(flat, twenty)).payable_fen == 7200


def test_at_most_one_coupon_of_each_kind() -> None:
    line = [BasketLine("A", 10000, 1)]
    first, second, third = coupon("a", 1000), coupon("b", 500), coupon("c", 1000, kind=CouponKind.PERCENT_OFF)
    basket = price(line, coupons=(first, second, third))
    assert [a.rule_id for a in basket.applied] == ["a", "c"]
    assert reasons(basket) == {"b": RefusalReason.ONE_PER_KIND}
    assert basket.payable_fen == 10000 - 1000 - 900


def test_an_exclusive_coupon_applies_alone() -> None:
    line = [BasketLine("A", 10000, 1)]
    alone = coupon("alone", 3000, stacking=CouponStacking.EXCLUSIVE)
    pct = coupon("pct", 1000, kind=CouponKind.PERCENT_OFF)
    first = price(line, coupons=(alone, pct))
    assert ([a.rule_id for a in first.applied], reasons(first)) == (
        ["alone"],
        {"pct": RefusalReason.EXCLUDED_BY_EXCLUSIVE},
    )
    after = price(line, coupons=(pct, alone))
    assert ([a.rule_id for a in after.applied], reasons(after)) == (
        ["pct"],
        {"alone": RefusalReason.EXCLUDED_BY_EXCLUSIVE},
    )


def test_a_refused_coupon_does_not_block_the_next() -> None:
    """Only coupons that applied count for stacking: an inactive exclusive one blocks nothing."""
    line = [BasketLine("A", 10000, 1)]
    expired = coupon(
        "old", 3000, stacking=CouponStacking.EXCLUSIVE, starts_at=OPENS - timedelta(days=9), ends_at=OPENS
    )
    flat = coupon("flat", 1000)
    basket = price(line, coupons=(expired, flat))
    assert [a.rule_id for a in basket.applied] == ["flat"]
    assert reasons(basket) == {"old": RefusalReason.NOT_ACTIVE}


def test_snapshot_is_plain_json() -> None:
    basket = price(
        [SHAMPOO], promotions=(THRESHOLD_OFF_100,), coupons=(HIDDEN_2500,), link=frozenset({"shampoo-2500"})
    )
    snapshot = basket.to_snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert basket.applied[0].to_snapshot() == {
        "source": "coupon",
        "id": "shampoo-2500",
        "name": "coupon shampoo-2500",
        "kind": "amount_off",
        "amount_fen": 2500,
        "per_line": [[0, 2500]],
        "skus": None,
        "terms": {"value": 2500, "cap_fen": None, "min_spend_fen": 0, "visibility": "hidden"},
    }


@pytest.mark.parametrize(("unit_price_fen", "quantity"), [(100, 0), (-1, 1), (49.9, 1), (True, 1)])
def test_invalid_lines_are_refused(unit_price_fen: int, quantity: int) -> None:
    with pytest.raises(ValueError, match=r"unit_price_fen|quantity"):
        price_basket(lines=[BasketLine("A", unit_price_fen, quantity)], promotions=(), coupons=(), at=NOW)


def test_naive_instant_and_duplicate_coupons_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        price_basket(lines=[SHAMPOO], promotions=(), coupons=(), at=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="more than once"):
        price([SHAMPOO], coupons=(coupon(1, 100), coupon("1", 100)))


def test_allocate_examples() -> None:
    assert allocate(100, [333, 334, 335]) == [33, 33, 34]
    assert allocate(1, [5, 5]) == [1, 0]
    assert allocate(0, [0, 0]) == [0, 0]
    assert allocate(0, []) == []
    with pytest.raises(ValueError, match="all zero"):
        allocate(1, [0, 0])


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
