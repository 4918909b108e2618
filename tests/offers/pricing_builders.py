"""Pricing's test builders: offers open around one instant, and a basket priced at it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from neigou.offers.pricing import (
    BasketLine,
    Coupon,
    CouponKind,
    EventPriceParams,
    PricedBasket,
    Promotion,
    PromotionKind,
    QuantityDiscountParams,
    SpendThresholdOffParams,
    price_basket,
)

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
