"""A member's feed: today's campaign products of their program, priced for the group and ranked."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.campaigns import estimate
from neigou.campaigns import repository as campaigns
from neigou.feed import ranking
from neigou.feed import repository as repo
from neigou.feed.schemas import FeedItemOut
from neigou.groups import repository as groups
from neigou.groups.models import GroupStatus
from neigou.offers import repository as offers
from neigou.offers.models import CouponTemplate, Product
from neigou.orders import commission, lookups
from neigou.orders.commission import tier_at
from neigou.programs import repository as programs
from neigou.programs.models import Member, Tier
from neigou.programs.service import tier_history


@dataclass(frozen=True)
class FeedFilter:
    """Optional narrowing of the feed: a category and a group-price range (fen)."""

    category_id: int | None = None
    min_price_fen: int | None = None
    max_price_fen: int | None = None

    def keeps(self, category_id: int | None, group_price_fen: int) -> bool:
        """True when an item passes the filter."""
        if self.category_id is not None and category_id != self.category_id:
            return False
        if self.min_price_fen is not None and group_price_fen < self.min_price_fen:
            return False
        return self.max_price_fen is None or group_price_fen <= self.max_price_fen


def member_share(
    session: Session, member: Member, at: datetime, tiers: Iterable[Tier] | None = None
) -> tuple[str | None, int]:
    """The member's tier at ``at`` and its share of the pool in bp (0 without a tier); ``tiers`` are
    the program's when the caller has read them already."""
    periods = [(period.effective_from, period.tier_code) for period in tier_history(session, member.id)]
    tier_code = tier_at(periods, at, member.tier_code)
    ladder = programs.list_tiers(session, member.program_id) if tiers is None else tiers
    return tier_code, next((t.share_bp for t in ladder if t.code == tier_code), 0)


def member_band(
    session: Session,
    member: Member,
    at: datetime,
    own_counts: Mapping[int, tuple[int, datetime]] | None = None,
) -> int | None:
    """The size band of the member's own active groups (their median latest count before ``at``);
    ``own_counts`` are those latest counts when the caller has read them already."""
    if own_counts is None:
        own = [
            g.id for g in groups.list_groups(session, owner_member_id=member.id, status=GroupStatus.ACTIVE)
        ]
        own_counts = groups.latest_counts(session, before=at, group_ids=own)
    return ranking.typical_band([count for count, _ in own_counts.values()])


def unit_coupon(coupon: CouponTemplate | None) -> estimate.UnitCoupon | None:
    """The terms of a coupon row that price one unit."""
    if coupon is None:
        return None
    return estimate.UnitCoupon(
        kind=coupon.kind.value,
        value=coupon.value,
        cap_fen=coupon.cap_fen,
        min_spend_fen=coupon.min_spend_fen,
        skus=None if coupon.skus is None else frozenset(coupon.skus),
        starts_at=coupon.starts_at,
        ends_at=coupon.ends_at,
    )


def unit_commission_fen(
    *, group_price_fen: int, rate_bp: int, boost_bp: int, fixed_commission_fen: int | None, share_bp: int
) -> int:
    """What a member at ``share_bp`` earns selling one unit at the group price through the campaign, as
    the order path pays it: the line's pool and share are ``orders.commission.Line``'s, the rate the
    product's plus the boost (``campaigns.estimate.capped_rate_bp``, as ``boosted_rate_bp``). A sku with
    a fixed commission pools ``min(fixed, group price)`` whatever the boost (the order line stores the
    boosted rate, but a fixed pool does not read it); any other pools at the boosted rate
    (``campaigns.estimate.est_commission_fen``, the same floor)."""
    if fixed_commission_fen is None:
        return estimate.est_commission_fen(
            group_price_fen=group_price_fen, rate_bp=rate_bp, boost_bp=boost_bp, share_bp=share_bp
        )
    rate = estimate.capped_rate_bp(rate_bp, boost_bp)
    return commission.Line(group_price_fen, 1, rate, fixed_commission_fen).share(share_bp)


def _fixed_commissions(session: Session, products: Mapping[str, Product]) -> dict[str, int | None]:
    """The fixed commission per unit of each of these products (None: the product's rate), read as the
    order path reads it (``orders.lookups.product_terms``)."""
    terms = lookups.product_terms(session, products, {p.organization_id for p in products.values()})
    found = {sku: terms.get(p.organization_id, {}).get(sku) for sku, p in products.items()}
    return {sku: None if t is None else t.fixed_commission_fen for sku, t in found.items()}


def _sold_out(coupon: CouponTemplate | None) -> bool:
    return coupon is not None and coupon.claimed_quantity >= coupon.total_quantity


def feed_items(
    session: Session,
    *,
    member: Member,
    at: datetime,
    where: FeedFilter | None = None,
    only_skus: Collection[str] | None = None,
    share_bp: int | None = None,
    own_counts: Mapping[int, tuple[int, datetime]] | None = None,
) -> list[FeedItemOut]:
    """The campaigns live at ``at`` in the member's program, item by item, best first; ``only_skus``
    keeps these products (and reads the traffic of their campaigns only). ``share_bp`` is the member's
    share at ``at`` when the caller has read it already (``member_share``); else it is read here.
    ``own_counts``, likewise, are the latest counts before ``at`` of the member's own active groups
    (``member_band``).

    Products no longer on sale and products whose campaign coupon is sold out drop out.
    """
    where = where or FeedFilter()
    if only_skus is not None and not only_skus:
        return []  # no product asked for (the post builder before a choice): nothing to read
    live = campaigns.live_campaigns(session, program_id=member.program_id, at=at)
    items = campaigns.items_of(session, [c.id for c in live])
    if only_skus is not None:
        items = {cid: [i for i in rows if i.sku in only_skus] for cid, rows in items.items()}
        live = [c for c in live if items[c.id]]
    if not live:
        return []  # nothing live (or none of the products asked for): no prices, traffic or share to read
    # The skus among the member's program's organization's products (one query, the program joined).
    pairs = {(member.program_id, i.sku) for rows in items.values() for i in rows}
    products = {sku: p for (_, sku), p in offers.products_of_programs(session, pairs).items()}
    fixed = _fixed_commissions(session, products)
    coupons = offers.coupons_by_id(session, {c.coupon_id for c in live if c.coupon_id is not None})
    traffic = repo.campaign_traffic(session, [c.id for c in live])
    band = member_band(session, member, at, own_counts)
    peers = (
        {}
        if band is None
        else repo.band_traffic(session, [c.id for c in live], program_id=member.program_id, band=band, at=at)
    )
    if share_bp is None:
        _, share_bp = member_share(session, member, at)
    found: dict[tuple[int, str], FeedItemOut] = {}
    candidates: list[ranking.Candidate] = []
    for campaign in live:
        coupon = coupons.get(campaign.coupon_id or 0)
        if _sold_out(coupon):
            continue
        terms = unit_coupon(coupon)
        clicks, orders = traffic.get(campaign.id, (0, 0))
        peer_clicks, peer_orders = peers.get(campaign.id, (0, 0))
        for item in items[campaign.id]:
            product = products.get(item.sku)
            if product is None or not product.active:
                continue
            group_price = estimate.group_price_fen(terms, sku=item.sku, price_fen=product.price_fen, at=at)
            if not where.keeps(product.category_id, group_price):
                continue
            est = unit_commission_fen(
                group_price_fen=group_price,
                rate_bp=product.commission_rate_bp,
                boost_bp=campaign.commission_boost_bp,
                fixed_commission_fen=fixed[item.sku],
                share_bp=share_bp,
            )
            candidate = ranking.Candidate(
                campaign.id,
                item.position,
                product.price_fen,
                group_price,
                est,
                clicks,
                orders,
                campaign.starts_at,
                peer_clicks,
                peer_orders,
            )
            candidates.append(candidate)
            found[(campaign.id, item.sku)] = FeedItemOut(
                campaign_id=campaign.id,
                campaign_name=campaign.name,
                sku=item.sku,
                title=product.title,
                image_url=product.image_url,
                category_id=product.category_id,
                price_fen=product.price_fen,
                group_price_fen=group_price,
                coupon_id=campaign.coupon_id,
                commission_rate_bp=product.commission_rate_bp,
                boost_bp=campaign.commission_boost_bp,
                fixed_commission_fen=fixed[item.sku],
                est_commission_fen=est,
                conversion_bp=ranking.conversion(candidate),
                score=ranking.score(candidate, at),
                ends_at=campaign.ends_at,
                copy_text=campaign.copy,
            )
    ranked = ranking.rank(candidates, at)
    position_key = {(i.campaign_id, i.position): i.sku for rows in items.values() for i in rows}
    return [found[(c.campaign_id, position_key[(c.campaign_id, c.position)])] for c in ranked]
