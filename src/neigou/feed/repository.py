"""Every query of the feed domain: campaign conversion, posts, their links and stats, robots."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Select, case, exists, func, select
from sqlalchemy.orm import Session

from neigou.feed import ranking
from neigou.feed.models import GroupPost, GroupPostLink, GroupRobot, PostStatus
from neigou.groups.models import Group, GroupStatus
from neigou.groups.repository import groups_by_id, latest_counts_subquery
from neigou.kit.paging import Page, Paged, paginate
from neigou.kit.sealed import Sealer
from neigou.links.models import CouponClaim, LinkClick, ShareLink
from neigou.links.useragent import UaClass
from neigou.orders.models import Order
from neigou.programs.repository import of_live_organization


def campaign_traffic(session: Session, campaign_ids: Collection[int]) -> dict[int, tuple[int, int]]:
    """Per campaign, (clicks by people, orders) through its links in every group of the program."""
    if not campaign_ids:
        return {}
    ids = sorted(campaign_ids)
    people = func.sum(case((LinkClick.ua_class != UaClass.BOT, 1), else_=0))
    clicks = {
        int(cid or 0): int(n or 0)
        for cid, n in session.execute(
            select(ShareLink.campaign_id, people)
            .join(LinkClick, LinkClick.link_id == ShareLink.id)
            .where(ShareLink.campaign_id.in_(ids))
            .group_by(ShareLink.campaign_id)
        )
    }
    orders = {
        int(cid or 0): int(n or 0)
        for cid, n in session.execute(
            select(ShareLink.campaign_id, func.count(Order.id))
            .join(Order, (Order.link_code == ShareLink.code) & (Order.program_id == ShareLink.program_id))
            .where(ShareLink.campaign_id.in_(ids))
            .group_by(ShareLink.campaign_id)
        )
    }
    return {cid: (int(clicks.get(cid) or 0), int(orders.get(cid) or 0)) for cid in ids}


def band_traffic(
    session: Session, campaign_ids: Collection[int], *, program_id: int, band: int, at: datetime
) -> dict[int, tuple[int, int]]:
    """Per campaign, (clicks by people, orders) through its links in the program's groups whose latest
    count before ``at`` falls in the size ``band`` (two grouped queries, the counts a windowed subquery)."""
    if not campaign_ids:
        return {}
    ids = sorted(campaign_ids)
    low, high = ranking.band_range(band)
    latest = latest_counts_subquery(before=at, program_id=program_id)
    in_band = latest.c.member_count >= low if high is None else latest.c.member_count.between(low, high - 1)
    peers = select(latest.c.group_id).where(in_band).subquery()
    links = (
        select(ShareLink.id, ShareLink.code, ShareLink.campaign_id)
        .join(peers, peers.c.group_id == ShareLink.group_id)
        .where(ShareLink.campaign_id.in_(ids), ShareLink.program_id == program_id)
        .subquery()
    )
    people = func.sum(case((LinkClick.ua_class != UaClass.BOT, 1), else_=0))
    clicks = {
        int(cid): int(n or 0)
        for cid, n in session.execute(
            select(links.c.campaign_id, people)
            .join(LinkClick, LinkClick.link_id == links.c.id)
            .group_by(links.c.campaign_id)
        )
    }
    orders = {
        int(cid): int(n or 0)
        for cid, n in session.execute(
            select(links.c.campaign_id, func.count(Order.id))
            .join(Order, (Order.link_code == links.c.code) & (Order.program_id == program_id))
            .group_by(links.c.campaign_id)
        )
    }
    return {cid: (int(clicks.get(cid) or 0), int(orders.get(cid) or 0)) for cid in ids}


def robots(session: Session, group_ids: Collection[int]) -> dict[int, GroupRobot]:
    """The WeCom robots of these groups (their URLs sealed: ``robot_urls`` opens them)."""
    if not group_ids:
        return {}
    return {
        r.group_id: r
        for r in session.scalars(select(GroupRobot).where(GroupRobot.group_id.in_(sorted(group_ids))))
    }


def get_post(session: Session, post_id: int) -> GroupPost | None:
    """A post by id."""
    return session.get(GroupPost, post_id)


def posts_by_request(session: Session, member_id: int, request_id: str) -> list[GroupPost]:
    """The member's posts made under this idempotency key, in the order they were made."""
    return list(
        session.scalars(
            select(GroupPost)
            .where(GroupPost.member_id == member_id, GroupPost.request_id == request_id)
            .order_by(GroupPost.id)
        )
    )


def recent_posts(session: Session, member_id: int, *, limit: int = 50) -> list[GroupPost]:
    """A member's latest posts, latest slot first."""
    return list(
        session.scalars(
            select(GroupPost)
            .where(GroupPost.member_id == member_id)
            .order_by(GroupPost.scheduled_at.desc(), GroupPost.id.desc())
            .limit(limit)
        )
    )


def page_posts(session: Session, page: Page, *, member_id: int) -> Paged[GroupPost]:
    """A page of a member's posts, latest slot first, and their number."""
    stmt = (
        select(GroupPost)
        .where(GroupPost.member_id == member_id)
        .order_by(GroupPost.scheduled_at.desc(), GroupPost.id.desc())
    )
    return paginate(session, stmt, page)


def due_posts(session: Session, at: datetime, *, limit: int = 200) -> list[GroupPost]:
    """Robot posts whose slot has come, oldest first."""
    return list(
        session.scalars(
            select(GroupPost)
            .where(
                GroupPost.status == PostStatus.SCHEDULED,
                GroupPost.scheduled_at <= at,
                of_live_organization(GroupPost.program_id),
            )
            .order_by(GroupPost.scheduled_at, GroupPost.id)
            .limit(limit)
        )
    )


def still_theirs() -> ColumnElement[bool]:
    """A post whose group is still active and still its member's, judged by the database when a send is
    claimed (the rule of ``groups.live_codes.routes_into``): a group archived or handed over to another
    owner since the post was made takes none of it (its robot went with it to the new owner)."""
    return exists().where(
        Group.id == GroupPost.group_id,
        Group.status == GroupStatus.ACTIVE,
        Group.owner_member_id == GroupPost.member_id,
    )


def gone_groups(session: Session, posts: Collection[GroupPost]) -> set[int]:
    """The ids of those posts whose group is archived, or no longer their member's (one query)."""
    found = {g.id: g for g in groups_by_id(session, {p.group_id for p in posts})}
    return {
        p.id
        for p in posts
        if (g := found.get(p.group_id)) is None
        or g.status is not GroupStatus.ACTIVE
        or g.owner_member_id != p.member_id
    }


def post_links(session: Session, post_ids: Collection[int]) -> dict[int, list[ShareLink]]:
    """Each post's links in their order (one query)."""
    found: dict[int, list[ShareLink]] = {p: [] for p in post_ids}
    if not post_ids:
        return found
    for post_id, link in session.execute(
        select(GroupPostLink.post_id, ShareLink)
        .join(ShareLink, ShareLink.id == GroupPostLink.link_id)
        .where(GroupPostLink.post_id.in_(sorted(post_ids)))
        .order_by(GroupPostLink.post_id, GroupPostLink.position)
    ):
        found[post_id].append(link)
    return found


@dataclass(frozen=True)
class PostStats:
    """What a post's links brought: clicks by people, coupon claims, orders."""

    clicks: int = 0
    claims: int = 0
    orders: int = 0


def post_stats(session: Session, post_ids: Collection[int]) -> dict[int, PostStats]:
    """Per post, its links' clicks, claims and orders (three grouped queries)."""
    if not post_ids:
        return {}
    ids = sorted(post_ids)
    base = select(GroupPostLink.post_id).join(ShareLink, ShareLink.id == GroupPostLink.link_id)
    base = base.where(GroupPostLink.post_id.in_(ids)).group_by(GroupPostLink.post_id)
    people = func.sum(case((LinkClick.ua_class != UaClass.BOT, 1), else_=0))
    clicks = _counts(session, base.add_columns(people).join(LinkClick, LinkClick.link_id == ShareLink.id))
    claims = _counts(
        session,
        base.add_columns(func.count(CouponClaim.id)).join(CouponClaim, CouponClaim.link_id == ShareLink.id),
    )
    orders = _counts(
        session,
        base.add_columns(func.count(Order.id)).join(
            Order, (Order.link_code == ShareLink.code) & (Order.program_id == ShareLink.program_id)
        ),
    )
    return {
        p: PostStats(int(clicks.get(p) or 0), int(claims.get(p) or 0), int(orders.get(p) or 0)) for p in ids
    }


def _counts(session: Session, stmt: Select[Any]) -> dict[int, int]:
    return {int(row[0]): int(row[1] or 0) for row in session.execute(stmt)}


def robot_urls(session: Session, group_ids: Collection[int], sealer: Sealer) -> dict[int, str]:
    """The URL of each of these groups' robots, unsealed to send; a URL no configured key opens is
    left out (the group counts as having no robot)."""
    found = {g: sealer.unseal(r.webhook_url_sealed) for g, r in robots(session, group_ids).items()}
    unopened = sorted(g for g, url in found.items() if url is None)
    if unopened:  # sealed with a key no longer configured: say so, the posts fall back to copy tasks
        structlog.get_logger(__name__).warning("feed.robot_key_unopened", group_ids=unopened)
    return {g: url for g, url in found.items() if url is not None}
