"""Posts as the API and the workspace show them: links and stats in a few grouped queries."""

from __future__ import annotations

from sqlalchemy.orm import Session

from neigou.feed import repository as repo
from neigou.feed.models import GroupPost
from neigou.feed.schemas import PostLinkOut, PostOut
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
