"""HTTP endpoints of the member's feed, posts and group robots (``/api/v1``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status

from neigou.auth.dependencies import OperatorOrMember, require_member_access
from neigou.feed import delivery as _delivery  # noqa: F401 - registers the delivery job
from neigou.feed import full_alerts as _full_alerts  # noqa: F401 - registers the live-code-full alert
from neigou.feed import posts as post_service
from neigou.feed import repository as repo
from neigou.feed import robots
from neigou.feed.schemas import FeedOut, PostOut, PostsCreate, PostsOut, RobotIn, RobotOut
from neigou.feed.service import FeedFilter, feed_items, member_share
from neigou.feed.views import posts_out
from neigou.groups import service as groups
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.instants import Instant
from neigou.kit.paging import PageDep
from neigou.kit.sealed import Sealer
from neigou.programs.service import require_member

router = APIRouter(tags=["feed"])


def _base(request: Request) -> str:
    """Where the posts' links point: NEIGOU_PUBLIC_URL, never the request's Host header."""
    base: str = request.app.state.settings.public_base
    return base


@router.get("/members/{member_id}/feed", response_model=FeedOut)
def get_feed(
    *,
    member_id: int,
    session: SessionDep,
    principal: OperatorOrMember,
    at: Instant | None = None,
    category_id: int | None = None,
    min_price_fen: Annotated[int | None, Query(ge=0, le=10**12)] = None,
    max_price_fen: Annotated[int | None, Query(ge=0, le=10**12)] = None,
) -> FeedOut:
    """Campaign products live at ``at`` in the member's program, best first, with the estimated commission."""
    require_member_access(principal, member_id)
    member = require_member(session, member_id)
    when = at or utcnow()
    where = FeedFilter(category_id=category_id, min_price_fen=min_price_fen, max_price_fen=max_price_fen)
    tier_code, share_bp = member_share(session, member, when)
    items = feed_items(session, member=member, at=when, where=where, share_bp=share_bp)
    return FeedOut(at=when, tier_code=tier_code, share_bp=share_bp, items=items)


@router.post("/members/{member_id}/posts", status_code=status.HTTP_201_CREATED, response_model=PostsOut)
def create_posts(
    *,
    member_id: int,
    body: PostsCreate,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=64)] = None,
) -> PostsOut:
    """For each group one post with links made for it; another owner's group is a 404. A retry under
    the same ``Idempotency-Key`` answers the posts it made (409 idempotency_key_reused for other terms)."""
    require_member_access(principal, member_id)
    member = require_member(session, member_id)
    made = post_service.create_posts(
        session,
        member=member,
        group_ids=body.group_ids,
        skus=body.skus,
        slot=body.slot,
        at=body.at or utcnow(),
        base_url=_base(request),
        actor=principal.actor,
        request_id=idempotency_key,
    )
    return PostsOut(posts=posts_out(session, [m.post for m in made], _base(request)))


@router.get("/members/{member_id}/posts", response_model=list[PostOut])
def list_posts(
    member_id: int, request: Request, session: SessionDep, principal: OperatorOrMember, page: PageDep
) -> list[PostOut]:
    """A member's posts, latest slot first, with their clicks, claims and orders."""
    require_member_access(principal, member_id)
    require_member(session, member_id)
    found = repo.page_posts(session, page, member_id=member_id)
    page.answer(found.total)
    return posts_out(session, list(found.items), _base(request))


@router.post("/members/{member_id}/posts/{post_id}/copied", response_model=PostOut)
def mark_copied(
    member_id: int, post_id: int, request: Request, session: SessionDep, principal: OperatorOrMember
) -> PostOut:
    """The owner pasted a task post into its group."""
    require_member_access(principal, member_id)
    post = post_service.require_post(session, post_id, member_id=member_id)
    post_service.mark_copied(session, post=post, at=utcnow())
    return posts_out(session, [post], _base(request))[0]


@router.put("/groups/{group_id}/robot", response_model=RobotOut)
def set_robot(
    group_id: int, body: RobotIn, request: Request, session: SessionDep, principal: OperatorOrMember
) -> RobotOut:
    """Set or remove (null) the group's WeCom robot: operators, or the group's owner."""
    group = groups.require_group(session, group_id)
    require_member_access(principal, group.owner_member_id)
    robots.set_robot(
        session,
        group_id=group.id,
        webhook_url=body.webhook_url,
        sealer=Sealer.from_settings(request.app.state.settings),
        actor=principal.actor,
        at=utcnow(),
    )
    return RobotOut(group_id=group.id, configured=body.webhook_url is not None)
