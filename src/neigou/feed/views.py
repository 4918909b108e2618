"""Posts as the API and the workspace show them: links and stats in a few grouped queries."""

from __future__ import annotations

from sqlalchemy.orm import Session

from neigou.feed import repository as repo
from neigou.feed.models import GroupPost
from neigou.feed.schemas import FeedItemOut, PostLinkOut, PostOut
from neigou.feed.service import FeedItem
from neigou.links.service import link_url


def posts_out(session: Session, posts: list[GroupPost], base_url: str) -> list[PostOut]:
    """Views of these posts."""
    ids = [p.id for p in posts]
    links = repo.post_links(session, ids)
    stats = repo.post_stats(session, ids)
    return [
        PostOut(
            id=p.id,
            group_id=p.group_id,
            text=p.text,
            slot=p.slot,
            scheduled_at=p.scheduled_at,
            delivery=p.delivery,
            status=p.status,
            links=[
                PostLinkOut(
                    sku=link.sku,
                    code=link.code,
                    url=link_url(base_url, link.code),
                    group_id=link.group_id,
                    campaign_id=link.campaign_id,
                )
                for link in links[p.id]
            ],
            clicks=stats[p.id].clicks,
            claims=stats[p.id].claims,
            orders=stats[p.id].orders,
        )
        for p in posts
    ]


def feed_item_out(item: FeedItem) -> FeedItemOut:
    """The API view of a feed item."""
    return FeedItemOut(
        campaign_id=item.campaign_id,
        campaign_name=item.campaign_name,
        sku=item.sku,
        title=item.title,
        image_url=item.image_url,
        category_id=item.category_id,
        price_fen=item.price_fen,
        group_price_fen=item.group_price_fen,
        coupon_id=item.coupon_id,
        commission_rate_bp=item.commission_rate_bp,
        boost_bp=item.boost_bp,
        est_commission_fen=item.est_commission_fen,
        conversion_bp=item.conversion_bp,
        score=item.score,
        ends_at=item.ends_at,
        copy_text=item.copy,
    )
