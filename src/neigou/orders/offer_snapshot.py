"""The offers an order was priced with, snapshotted from the pricing engine at the order's paid_at.

Promotions and the link's coupons are loaded once per batch and priced in memory, so a file of a
million orders costs a handful of queries here, not one per order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.offers import pricing
from neigou.offers import repository as offers
from neigou.offers.models import Promotion
from neigou.offers.quotes import _coupon, _promotion  # the offers domain's own row → rule mapping
from neigou.orders.inputs import ItemIn


class OfferBook:
    """Promotions of the batch's organizations open during its time span, and the coupons its links
    carry, each kept with its organization: an order is priced with its program's organization's
    offers only, whether the session is scoped or not (a signed webhook's, a job's is not)."""

    def __init__(
        self,
        session: Session,
        *,
        start: datetime,
        end: datetime,
        coupon_ids: Iterable[int],
        organization_ids: Collection[int],
    ) -> None:
        rows = session.scalars(
            select(Promotion)
            .where(
                Promotion.organization_id.in_(sorted(organization_ids)),
                Promotion.starts_at <= end,
                Promotion.ends_at > start,
                Promotion.paused.is_(False),
            )
            .order_by(Promotion.id)
        )
        self.promotions = [(row.organization_id, row.skus, _promotion(row)) for row in rows]
        self.coupons = {
            cid: (row.organization_id, _coupon(row))
            for cid, row in offers.coupons_by_id(session, coupon_ids).items()
        }

    def offers_none(self, link_coupon_id: int | None, organization_id: int) -> bool:
        """Whether no offer of the book can apply to an order of the organization carrying this link
        coupon, whatever its basket and time (``snapshot`` answers the plain snapshot then)."""
        if self.promotions:
            return False
        found = self.coupons.get(link_coupon_id) if link_coupon_id is not None else None
        return found is None or found[0] != organization_id

    def snapshot(
        self,
        items: Sequence[ItemIn],
        prices: dict[str, int],
        at: datetime,
        link_coupon_id: int | None,
        organization_id: int,
    ) -> dict[str, object]:
        """What the basket cost at ``at`` with the organization's promotions then open and the link's
        coupon (when it is the organization's)."""
        if not self.promotions and link_coupon_id is None:
            return plain_snapshot(items, prices, at)  # nothing open in the batch's whole span
        skus = {item.sku for item in items}
        open_now = [
            promo
            for owner, scope, promo in self.promotions
            if owner == organization_id
            and promo.starts_at <= at < promo.ends_at
            and (scope is None or skus.intersection(scope))
        ]
        found = self.coupons.get(link_coupon_id) if link_coupon_id is not None else None
        coupon = found[1] if found is not None and found[0] == organization_id else None
        if not open_now and coupon is None:
            return plain_snapshot(items, prices, at)
        basket = pricing.price_basket(
            lines=[pricing.BasketLine(item.sku, prices[item.sku], item.quantity) for item in items],
            promotions=open_now,
            coupons=[coupon] if coupon is not None else [],
            at=at,
            link_coupon_ids=frozenset({coupon.id}) if coupon is not None else frozenset(),
        )
        return {
            "quoted_at": at.isoformat(),
            "list_total_fen": basket.list_total_fen,
            "promotion_discount_fen": basket.promotion_discount_fen,
            "coupon_discount_fen": basket.coupon_discount_fen,
            "payable_fen": basket.payable_fen,
            "applied": [offer.to_snapshot() for offer in basket.applied],
        }


def plain_snapshot(items: Sequence[ItemIn], prices: dict[str, int], at: datetime) -> dict[str, object]:
    """The snapshot of a basket no offer applies to: list prices, nothing off (what the pricing engine
    answers for it, without building the basket)."""
    return plain_of(sum(prices[item.sku] * item.quantity for item in items), at)


def plain_of(list_total_fen: int, at: datetime) -> dict[str, object]:
    """``plain_snapshot`` of a basket whose list total is known (an import's line rows carry it)."""
    return {
        "quoted_at": at.isoformat(),
        "list_total_fen": list_total_fen,
        "promotion_discount_fen": 0,
        "coupon_discount_fen": 0,
        "payable_fen": list_total_fen,
        "applied": [],
    }
