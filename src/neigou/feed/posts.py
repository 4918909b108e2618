"""Posts for many groups at once: for each group one post with links made for that group, so clicks,
claims and orders carry the group and the campaign; delivered by the group's robot or copied by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.feed import copy, slots
from neigou.feed import repository as repo
from neigou.feed.models import POST_TEXT_CHARS, Delivery, GroupPost, GroupPostLink, PostStatus, Slot
from neigou.feed.schemas import FeedItemOut
from neigou.feed.service import feed_items
from neigou.groups import repository as groups
from neigou.groups.models import Group, GroupStatus
from neigou.groups.webhook import MAX_CONTENT_BYTES
from neigou.kit.actor import Actor
from neigou.kit.clock import not_before_now
from neigou.kit.errors import Conflict, Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.kit.places import first_repeat
from neigou.links.codes import CODE_LENGTH
from neigou.links.models import ShareLink
from neigou.links.service import NO_TIERS, insert_links, link_url
from neigou.offers import repository as offers
from neigou.programs import repository as programs
from neigou.programs.models import Member


@dataclass(frozen=True)
class MadePost:
    """A post with its links."""

    post: GroupPost
    links: list[ShareLink]


def _owned_groups(session: Session, member: Member, group_ids: list[int]) -> list[Group]:
    if len(set(group_ids)) != len(group_ids):
        raise Invalid(Message("A group is listed twice."), code="duplicate_group")
    mine = {g.id: g for g in groups.groups_of_owners(session, [member.id])}
    for group_id in group_ids:
        group = mine.get(group_id)
        if group is None:  # another owner's group is not there for this member
            raise NotFound(Message("This group does not exist."), code="group_not_found")
        if group.status is not GroupStatus.ACTIVE:
            raise Invalid(Message("Group {group_id} is archived.", group_id=group_id), code="group_archived")
    return [mine[g] for g in group_ids]


def _feed_picks(session: Session, member: Member, skus: list[str], at: datetime) -> list[FeedItemOut]:
    if (repeat := first_repeat(skus)) is not None:
        raise Invalid(
            Message("{field}[{index}] repeats an entry listed before it.", field="skus", index=repeat),
            code="duplicate_sku",
        )
    best: dict[str, FeedItemOut] = {}
    for item in feed_items(session, member=member, at=at, only_skus=set(skus)):  # ranked: best campaign first
        best.setdefault(item.sku, item)
    missing = [i for i, s in enumerate(skus) if s not in best]
    if missing:
        raise Invalid(
            Message(
                "{field}[{index}] names a product in no live campaign of the program.",
                field="skus",
                index=missing[0],
            ),
            code="not_in_feed",
            extra={"field": "skus", "indexes": missing},
        )
    return [best[s] for s in skus]


def _text(picks: list[FeedItemOut], urls: list[str]) -> str:
    return copy.post_text(
        [
            copy.PostItem(p.title, p.price_fen, p.group_price_fen, p.copy_text, url)
            for p, url in zip(picks, urls, strict=True)
        ]
    )


def _check_length(picks: list[FeedItemOut], *, base_url: str, robot: bool) -> None:
    """422 ``post_too_long`` when the post's text would not fit its column (POST_TEXT_CHARS characters)
    or, for a robot, the robot's message (MAX_CONTENT_BYTES of UTF-8): every link code has the same
    length, so a stand-in code measures the text before any link is made. The message says how many of
    the products fit, never the copy."""
    url = link_url(base_url, "0" * CODE_LENGTH)

    def fits(count: int) -> bool:
        text = _text(picks[:count], [url] * count)
        return len(text) <= POST_TEXT_CHARS and (not robot or len(text.encode()) <= MAX_CONTENT_BYTES)

    if fits(len(picks)):
        return
    fit = next(n for n in range(len(picks) - 1, -1, -1) if n == 0 or fits(n))
    raise Invalid(
        Message(
            "The post is too long to send: only the first {fit} of its {count} products fit. "
            "Choose fewer products.",
            fit=fit,
            count=len(picks),
        ),
        code="post_too_long",
        extra={"fit": fit},
    )


def _retry(
    session: Session, earlier: list[GroupPost], *, group_ids: list[int], skus: list[str], slot: Slot
) -> list[MadePost]:
    """The posts made first under a key, when the retry asks for the same; else 409."""
    links = repo.post_links(session, [p.id for p in earlier])
    same = [p.group_id for p in earlier] == group_ids and all(
        p.slot is slot and [link.sku for link in links[p.id]] == skus for p in earlier
    )
    if not same:
        raise Conflict(
            Message("This Idempotency-Key was used for other posts."), code="idempotency_key_reused"
        )
    return [MadePost(p, links[p.id]) for p in earlier]


def create_posts(
    session: Session,
    *,
    member: Member,
    group_ids: list[int],
    skus: list[str],
    slot: Slot,
    at: datetime,
    base_url: str,
    actor: Actor,
    request_id: str | None = None,
) -> list[MadePost]:
    """One post per group, each with its own links for the skus; checked whole before writing. Under a
    ``request_id`` already used, the posts it made (409 ``idempotency_key_reused`` for other terms).

    A post is built from the feed as it is when the post is made: ``at`` in the past means now (an
    ended campaign's prices are never posted, and a past time is no reason to send at once); a later
    ``at`` builds it from the feed at that time."""
    at = not_before_now(at)
    if request_id is not None and (earlier := repo.posts_by_request(session, member.id, request_id)):
        return _retry(session, earlier, group_ids=group_ids, skus=skus, slot=slot)
    try:
        with session.begin_nested():  # a parallel retry that stored its posts first wins the key
            return _create(
                session,
                member=member,
                group_ids=group_ids,
                skus=skus,
                slot=slot,
                at=at,
                base_url=base_url,
                actor=actor,
                request_id=request_id,
            )
    except IntegrityError:
        earlier = repo.posts_by_request(session, member.id, request_id) if request_id is not None else []
        if not earlier:
            raise
        return _retry(session, earlier, group_ids=group_ids, skus=skus, slot=slot)


def _create(
    session: Session,
    *,
    member: Member,
    group_ids: list[int],
    skus: list[str],
    slot: Slot,
    at: datetime,
    base_url: str,
    actor: Actor,
    request_id: str | None,
) -> list[MadePost]:
    program = programs.get_program(session, member.program_id)
    if program is None or not programs.list_tiers(session, member.program_id):
        raise Conflict(NO_TIERS, code="no_tiers")
    targets = _owned_groups(session, member, group_ids)
    picks = _feed_picks(session, member, skus, at)
    products = offers.products_by_sku(session, skus, organization_id=program.organization_id)
    robots = repo.robots(session, group_ids)
    _check_length(picks, base_url=base_url, robot=any(g.id in robots for g in targets))
    when = slots.scheduled_at(slot.value, at, program.timezone)
    made: list[MadePost] = []
    links: list[ShareLink] = []
    for group in targets:
        group_links = [
            ShareLink(
                program_id=member.program_id,
                member_id=member.id,
                product_id=products[p.sku].id,
                sku=p.sku,
                coupon_id=p.coupon_id,
                group_id=group.id,
                campaign_id=p.campaign_id,
                active=True,
                created_at=at,
                updated_at=at,
            )
            for p in picks
        ]
        links.extend(group_links)
        delivery = Delivery.ROBOT if group.id in robots else Delivery.TASK
        post = GroupPost(
            program_id=member.program_id,
            member_id=member.id,
            group_id=group.id,
            text="",
            slot=slot,
            scheduled_at=when,
            delivery=delivery,
            status=PostStatus.SCHEDULED if delivery is Delivery.ROBOT else PostStatus.TO_COPY,
            attempts=0,
            created_at=at,
            request_id=request_id,
        )
        made.append(MadePost(post, group_links))
    insert_links(session, links)
    for entry in made:
        entry.post.text = _text(picks, [link_url(base_url, link.code) for link in entry.links])
    session.add_all(m.post for m in made)
    session.flush()
    session.add_all(
        GroupPostLink(post_id=m.post.id, link_id=link.id, position=n)
        for m in made
        for n, link in enumerate(m.links)
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="posts.create",
        entity="member",
        entity_id=member.id,
        after={"group_ids": group_ids, "skus": skus, "slot": slot.value},
        at=at,
    )
    return made


def mark_copied(session: Session, *, post: GroupPost, at: datetime) -> GroupPost:
    """The owner pasted a task post into the group."""
    if post.delivery is not Delivery.TASK:
        raise Conflict(Message("This post goes out through the group's robot."), code="robot_post")
    if post.status is PostStatus.TO_COPY:
        post.status, post.done_at = PostStatus.COPIED, at
        session.flush()
    return post


def require_post(session: Session, post_id: int, *, member_id: int) -> GroupPost:
    """A post of this member or a 404."""
    post = repo.get_post(session, post_id)
    if post is None or post.member_id != member_id:
        raise NotFound(Message("This post does not exist."), code="post_not_found")
    return post
