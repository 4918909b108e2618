"""What a campaign's product costs in the group and what a member may expect to earn on it (pure).

* group price = the product's price less the campaign coupon's discount on one unit, when the coupon
  is live at the moment, covers the sku and its minimum spend is met by one unit; otherwise the price.
* estimated commission = ``floor(group_price_fen × min(10^4, rate_bp + boost_bp) × share_bp / 10^8)``
  at the member's tier: the boost joins the pool the tiers share, at the rate an order line through
  the campaign earns (:func:`capped_rate_bp`, as :func:`boosted_rate_bp`), never above 100%. This is
  the estimate of a product paid by its rate; a sku with a fixed commission pools that instead, which
  the feed estimates with the order path's rule (``feed.service.unit_commission_fen``).
* boosted rate of an order line = the product's rate plus the boost when the order went through a
  campaign link, the sku is in the campaign and the order was paid inside the campaign's window;
  never above 100%.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

BP = 10_000


@dataclass(frozen=True)
class UnitCoupon:
    """The terms of a coupon that matter for one unit's price."""

    kind: str  # "amount_off" (value in fen) or "percent_off" (value in bp)
    value: int
    cap_fen: int | None
    min_spend_fen: int
    skus: frozenset[str] | None
    starts_at: datetime
    ends_at: datetime


def is_live(starts_at: datetime, ends_at: datetime, at: datetime) -> bool:
    """Live from ``starts_at`` (inclusive) until ``ends_at`` (exclusive)."""
    return starts_at <= at < ends_at


def unit_discount(coupon: UnitCoupon | None, *, sku: str, price_fen: int, at: datetime) -> int:
    """What the coupon takes off one unit at ``at`` (0 when it does not apply)."""
    if coupon is None or not is_live(coupon.starts_at, coupon.ends_at, at):
        return 0
    if coupon.skus is not None and sku not in coupon.skus:
        return 0
    if price_fen < coupon.min_spend_fen:
        return 0
    off = coupon.value if coupon.kind == "amount_off" else price_fen * coupon.value // BP
    if coupon.cap_fen is not None:
        off = min(off, coupon.cap_fen)
    return max(0, min(off, price_fen))


def group_price_fen(coupon: UnitCoupon | None, *, sku: str, price_fen: int, at: datetime) -> int:
    """The price in the group: the app price less the campaign coupon on one unit."""
    return price_fen - unit_discount(coupon, sku=sku, price_fen=price_fen, at=at)


def capped_rate_bp(rate_bp: int, boost_bp: int) -> int:
    """A product's rate plus a campaign's boost, never above 100%: what an order line earns on
    (:func:`boosted_rate_bp`) and what the estimate promises (:func:`est_commission_fen`). A product's
    rate raised after the campaign was published can take the sum past 100%."""
    return min(BP, rate_bp + boost_bp)


def est_commission_fen(*, group_price_fen: int, rate_bp: int, boost_bp: int, share_bp: int) -> int:
    """``floor(group_price_fen × min(10^4, rate_bp + boost_bp) × share_bp / 10^8)``."""
    if min(group_price_fen, rate_bp, boost_bp, share_bp) < 0:
        raise ValueError("amounts and rates are never negative")
    return group_price_fen * capped_rate_bp(rate_bp, boost_bp) * share_bp // (BP * BP)


@dataclass(frozen=True)
class BoostTerms:
    """A campaign's boost as an order line needs it."""

    boost_bp: int
    starts_at: datetime
    ends_at: datetime
    skus: Collection[str]


def boosted_rate_bp(rate_bp: int, terms: BoostTerms | None, *, sku: str, paid_at: datetime) -> int:
    """The rate an order line earns on: the product's, plus the campaign's boost when it applies."""
    if terms is None or sku not in terms.skus or not is_live(terms.starts_at, terms.ends_at, paid_at):
        return rate_bp
    return capped_rate_bp(rate_bp, terms.boost_bp)
