"""Basket pricing: exact-fen examples from the product design, (properties over random baskets: ``test_pricing_properties.py``)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from neigou.offers.pricing import (
    BasketLine,
    CouponKind,
    CouponStacking,
    CouponVisibility,
    EventPriceParams,
    OfferSource,
    PricedBasket,
    QuantityDiscountParams,
    RefusalReason,
    SpendThresholdOffParams,
    allocate,
    price_basket,
)
from tests.offers.pricing_builders import NOW, OPENS, coupon, price, promotion

pytestmark = pytest.mark.no_database


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
