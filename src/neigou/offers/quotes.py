"""Quotes: a basket priced by the pure engine with products, promotions and coupons from the database.

The same call gives the API response and the snapshot an order stores, so what a shopper was quoted
and what an order records can never drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from neigou.kit import places
from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.offers import pricing
from neigou.offers import repository as repo
from neigou.offers.catalog_service import organization_selling
from neigou.offers.models import CouponTemplate, Product, Promotion
from neigou.offers.offer_rules import PromotionParams
from neigou.offers.quote_schemas import AppliedOut, QuoteItem, QuoteLineOut, QuoteOut, RefusedOut
from neigou.offers.review import require_live

_PARAMS_FROM_STORED: dict[pricing.PromotionKind, Callable[[dict[str, Any]], PromotionParams]] = {
    pricing.PromotionKind.QUANTITY_DISCOUNT: lambda p: pricing.QuantityDiscountParams(**p),
    pricing.PromotionKind.SPEND_THRESHOLD_OFF: lambda p: pricing.SpendThresholdOffParams(**p),
    pricing.PromotionKind.EVENT_PRICE: lambda p: pricing.EventPriceParams(prices=p["prices"]),
}


@dataclass(frozen=True)
class QuoteResult:
    """A priced basket as the API answers it and as an order will snapshot it."""

    response: QuoteOut
    snapshot: dict[str, object]
    basket: pricing.PricedBasket


def _products(
    session: Session, items: Sequence[QuoteItem], organization_id: int | None
) -> tuple[int, dict[str, Product]]:
    """The basket's organization and its products: the organization named, else that of the first
    item's product (422 ``ambiguous_sku`` when several organizations sell it: a link names one); a sku
    of any other organization is unknown."""
    if not items:
        raise Invalid(Message("Add at least one sku."), code="validation_error")
    skus = [item.sku for item in items]
    if organization_id is None:
        organization_id = organization_selling(session, skus[0], field="items", index=0)
    products = (
        {}
        if organization_id is None
        else repo.products_by_sku(session, skus, organization_id=organization_id)
    )
    missing = [index for index, sku in enumerate(skus) if sku not in products]
    if missing:
        raise Invalid(
            Message("{field}[{index}] names no product.", field="items", index=missing[0]),
            code="unknown_sku",
            extra={"field": "items", "indexes": missing},
        )
    inactive = [index for index, sku in enumerate(skus) if not products[sku].active]
    if inactive:
        raise Invalid(
            Message(
                "{field}[{index}] names a product that is not on sale.", field="items", index=inactive[0]
            ),
            code="product_inactive",
            extra={"field": "items", "indexes": inactive},
        )
    return products[skus[0]].organization_id, products


def _coupons(session: Session, wanted: Sequence[int], organization_id: int) -> list[CouponTemplate]:
    repeated = places.repeats(wanted)
    if repeated:
        raise Invalid(
            Message(
                "{field}[{index}] repeats an entry listed before it.", field="coupon_ids", index=repeated[0]
            ),
            code="duplicate_coupon",
            extra={"field": "coupon_ids", "indexes": repeated},
        )
    found = repo.coupons_by_id(session, wanted, organization_id=organization_id)
    missing = [index for index, i in enumerate(wanted) if i not in found]
    if missing:
        raise Invalid(
            Message("{field}[{index}] names no coupon.", field="coupon_ids", index=missing[0]),
            code="unknown_coupon",
            extra={"field": "coupon_ids", "indexes": missing},
        )
    for i in wanted:
        require_live(found[i])
    return [found[i] for i in wanted]


def _promotion(row: Promotion) -> pricing.Promotion:
    return pricing.Promotion(
        id=row.id,
        name=row.name,
        kind=row.kind,
        params=_PARAMS_FROM_STORED[row.kind](row.params),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        skus=None if row.skus is None else frozenset(row.skus),
        priority=row.priority,
        exclusive=row.exclusive,
    )


def _coupon(row: CouponTemplate) -> pricing.Coupon:
    return pricing.Coupon(
        id=row.id,
        name=row.name,
        kind=row.kind,
        value=row.value,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        min_spend_fen=row.min_spend_fen,
        cap_fen=row.cap_fen,
        visibility=row.visibility,
        skus=None if row.skus is None else frozenset(row.skus),
        stacking=row.stacking,
    )


def _link_ids(link_coupon_ids: Iterable[int | str]) -> list[int]:
    ids: list[int] = []
    for value in link_coupon_ids:
        try:
            ids.append(int(value))
        except ValueError as exc:
            raise Invalid(
                Message("A coupon is given by its id, a whole number."), code="unknown_coupon"
            ) from exc
    return ids


def price_quote(
    session: Session,
    *,
    organization_id: int | None,
    items: Sequence[QuoteItem],
    coupon_ids: Sequence[int] = (),
    at: datetime | None = None,
    link_coupon_ids: Iterable[int | str] = (),
    claimed_coupon_ids: Iterable[int] | None = None,
) -> QuoteResult:
    """Price a basket at ``at``: promotions open then, then ``coupon_ids`` in order.

    ``link_coupon_ids`` are the coupons the shopper's share link carries (the links domain resolves
    them): they unlock hidden coupons and are applied after the requested ones. Without them a hidden
    coupon is refused with ``link_required``; with ``claimed_coupon_ids`` (the shopper's claims) a
    hidden coupon the shopper has not claimed is refused with ``not_claimed``.

    The basket is priced in one organization's catalog, ``organization_id`` (the link's program's,
    the caller's), or when None the organization of the first item's product (422 ``ambiguous_sku``
    when several organizations sell it: a link names one): another
    organization's skus and coupons are unknown to it and its promotions never apply, whether the
    session is scoped or not (an anonymous landing page's is not).
    """
    at = ensure_aware(at) if at is not None else utcnow()
    organization_id, products = _products(session, items, organization_id)
    linked = _link_ids(link_coupon_ids)
    wanted = list(coupon_ids) + [i for i in dict.fromkeys(linked) if i not in coupon_ids]
    coupons = _coupons(session, wanted, organization_id)
    basket_skus = {item.sku for item in items}
    # Promotions that cannot touch this basket stay out of the refusals: they are not news to the shopper.
    promotions = [
        row
        for row in repo.promotions_open_at(session, at, organization_id=organization_id)
        if row.skus is None or basket_skus.intersection(row.skus)
    ]
    basket = pricing.price_basket(
        lines=[pricing.BasketLine(item.sku, products[item.sku].price_fen, item.quantity) for item in items],
        promotions=[_promotion(row) for row in promotions],
        coupons=[_coupon(row) for row in coupons],
        at=at,
        link_coupon_ids=frozenset(linked),
        claimed_coupon_ids=None if claimed_coupon_ids is None else frozenset(claimed_coupon_ids),
    )
    snapshot = basket.to_snapshot()
    return QuoteResult(response=_response(basket, snapshot, products, at), snapshot=snapshot, basket=basket)


def _response(
    basket: pricing.PricedBasket, snapshot: dict[str, Any], products: dict[str, Product], at: datetime
) -> QuoteOut:
    return QuoteOut(
        at=at,
        lines=[
            QuoteLineOut(
                index=line.index,
                sku=line.sku,
                title=products[line.sku].title,
                quantity=line.quantity,
                unit_price_fen=line.unit_price_fen,
                list_fen=line.list_fen,
                promotion_discount_fen=line.promotion_discount_fen,
                coupon_discount_fen=line.coupon_discount_fen,
                payable_fen=line.payable_fen,
            )
            for line in basket.lines
        ],
        list_total_fen=basket.list_total_fen,
        promotion_discount_fen=basket.promotion_discount_fen,
        coupon_discount_fen=basket.coupon_discount_fen,
        payable_fen=basket.payable_fen,
        applied=[AppliedOut.model_validate(offer) for offer in snapshot["applied"]],
        refused=[RefusedOut.model_validate(offer) for offer in snapshot["refused"]],
    )
