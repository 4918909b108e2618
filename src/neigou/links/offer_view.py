"""What a share link offers right now: the product, the app price, the group price through the link's
coupon, and the state a landing page or poster shows (open, sold out, expired …)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.kit.clock import utcnow
from neigou.links.models import ShareLink
from neigou.offers import repository as offers
from neigou.offers.models import CouponTemplate, Product
from neigou.offers.quote_schemas import QuoteItem
from neigou.offers.quotes import price_quote
from neigou.programs import repository as programs


class OfferState(enum.StrEnum):
    """Why the group price is (or is not) available."""

    OPEN = "open"
    NO_COUPON = "no_coupon"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    SOLD_OUT = "sold_out"
    OFF_SALE = "off_sale"


@dataclass(frozen=True)
class LinkOffer:
    """A link's offer at an instant."""

    link: ShareLink
    product: Product
    coupon: CouponTemplate | None
    state: OfferState
    app_price_fen: int
    group_price_fen: int

    @property
    def saved_fen(self) -> int:
        """What the link saves against the app."""
        return self.app_price_fen - self.group_price_fen

    @property
    def claimable(self) -> bool:
        """True when the coupon can be claimed now."""
        return self.state is OfferState.OPEN and self.coupon is not None


def _state(product: Product, coupon: CouponTemplate | None, at: datetime) -> OfferState:
    if not product.active:
        return OfferState.OFF_SALE
    if coupon is None:
        return OfferState.NO_COUPON
    if at < coupon.starts_at:
        return OfferState.NOT_STARTED
    if at >= coupon.ends_at:
        return OfferState.EXPIRED
    if coupon.claimed_quantity >= coupon.total_quantity:
        return OfferState.SOLD_OUT
    return OfferState.OPEN


def link_offer(session: Session, link: ShareLink, *, at: datetime | None = None) -> LinkOffer:
    """Price the link's product at ``at``: promotions for the app price, plus the coupon for the group price."""
    at = at or utcnow()
    product = offers.get_product(session, link.product_id)
    if product is None:  # pragma: no cover - products are never deleted
        raise LookupError(f"product {link.product_id} of link {link.code} is gone")
    coupon = offers.get_coupon(session, link.coupon_id) if link.coupon_id is not None else None
    state = _state(product, coupon, at)
    if state is OfferState.OFF_SALE:
        return LinkOffer(link, product, coupon, state, product.price_fen, product.price_fen)
    items = [QuoteItem(sku=product.sku, quantity=1)]
    # Priced in the link's program's organization: a landing page has no scope to filter by.
    organization_id = programs.organization_of(session, link.program_id)
    app = price_quote(session, organization_id=organization_id, items=items, at=at).response.payable_fen
    group = app
    if state is OfferState.OPEN and coupon is not None:
        group = price_quote(
            session, organization_id=organization_id, items=items, at=at, link_coupon_ids=[coupon.id]
        ).response.payable_fen
    return LinkOffer(link, product, coupon, state, app, group)
