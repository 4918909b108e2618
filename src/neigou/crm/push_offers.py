"""What each pushed product costs the customer: the app price, and the group price through the
program's live campaign that prices it lowest (its coupon then rides on the message's link)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.campaigns import estimate
from neigou.campaigns import repository as campaigns
from neigou.crm.push_copy import MessageItem
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.kit.places import first_repeat
from neigou.links.models import ShareLink
from neigou.links.service import link_url
from neigou.offers import repository as offers
from neigou.offers.models import CouponTemplate
from neigou.programs import repository as programs


@dataclass(frozen=True)
class PushedProduct:
    """A product of a push, priced at the push's time."""

    product_id: int
    sku: str
    title: str
    price_fen: int
    group_price_fen: int
    campaign_id: int | None
    coupon_id: int | None


def _terms(coupon: CouponTemplate | None) -> estimate.UnitCoupon | None:
    if coupon is None or coupon.claimed_quantity >= coupon.total_quantity:
        return None  # a sold-out coupon prices nothing
    if coupon.paused or not coupon.live:
        return None  # nor does one paused or under review: nobody can claim it
    return estimate.UnitCoupon(
        kind=coupon.kind.value,
        value=coupon.value,
        cap_fen=coupon.cap_fen,
        min_spend_fen=coupon.min_spend_fen,
        skus=None if coupon.skus is None else frozenset(coupon.skus),
        starts_at=coupon.starts_at,
        ends_at=coupon.ends_at,
    )


def priced_products(
    session: Session, *, program_id: int, skus: Sequence[str], at: datetime
) -> list[PushedProduct]:
    """The products in the order given; an unknown, repeated or withdrawn sku is refused (422)."""
    if (repeat := first_repeat(skus)) is not None:
        raise Invalid(
            Message("{field}[{index}] repeats an entry listed before it.", field="skus", index=repeat),
            code="duplicate_sku",
        )
    organization_id = programs.organization_of(session, program_id)
    products = offers.products_by_sku(session, skus, organization_id=organization_id)
    for index, sku in enumerate(skus):
        product = products.get(sku)
        if product is None:
            raise Invalid(
                Message("{field}[{index}] names no product.", field="skus", index=index), code="unknown_sku"
            )
        if not product.active:
            raise Invalid(
                Message("{field}[{index}] names a product that is not on sale.", field="skus", index=index),
                code="product_inactive",
            )
    live = campaigns.live_campaigns(session, program_id=program_id, at=at)
    items = campaigns.items_of(session, [c.id for c in live])
    coupons = offers.coupons_by_id(session, {c.coupon_id for c in live if c.coupon_id is not None})
    best: dict[str, PushedProduct] = {
        sku: PushedProduct(p.id, sku, p.title, p.price_fen, p.price_fen, None, None)
        for sku, p in products.items()
    }
    for campaign in live:
        coupon = coupons.get(campaign.coupon_id or 0)
        terms = _terms(coupon)
        for item in items[campaign.id]:
            current = best.get(item.sku)
            if current is None:
                continue
            price = estimate.group_price_fen(terms, sku=item.sku, price_fen=current.price_fen, at=at)
            if price < current.group_price_fen or current.campaign_id is None:
                best[item.sku] = PushedProduct(
                    current.product_id,
                    item.sku,
                    current.title,
                    current.price_fen,
                    price,
                    campaign.id,
                    campaign.coupon_id if terms is not None and price < current.price_fen else None,
                )
    return [best[sku] for sku in skus]


def linked_item(session: Session, link_id: int | None, *, base_url: str, at: datetime) -> MessageItem | None:
    """A message's offer as its tracked link carries it at ``at``, naming no customer: the product's
    current title and app price, the group price through the link's coupon while that coupon prices it
    (its window, its stock, not paused nor under review) and the link's campaign is live at ``at``
    (``estimate.is_live``: a campaign ended or not begun gives no price, whatever its coupon's own
    window: the app price is shown alone), and the link's URL. None when it cannot be said: the link is
    gone or withdrawn, or its product is gone or no longer on sale."""
    link = None if link_id is None else session.get(ShareLink, link_id)
    if link is None or not link.active:
        return None
    product = offers.get_product(session, link.product_id)
    if product is None or not product.active:
        return None
    campaign = None if link.campaign_id is None else campaigns.get_campaign(session, link.campaign_id)
    coupon = (
        None
        if link.coupon_id is None
        or (campaign is not None and not estimate.is_live(campaign.starts_at, campaign.ends_at, at))
        else offers.coupons_by_id(session, {link.coupon_id}).get(link.coupon_id)
    )
    group_price = estimate.group_price_fen(_terms(coupon), sku=link.sku, price_fen=product.price_fen, at=at)
    return MessageItem(None, product.title, product.price_fen, group_price, link_url(base_url, link.code))
