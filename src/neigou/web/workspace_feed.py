"""The group owner's day on a phone: today's selection (the feed), the post builder that makes one
post per group with the group's own links, and the posts with their clicks, claims and orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from neigou.feed import posts as post_service
from neigou.feed import repository as feed_repo
from neigou.feed.delivery import failed_note
from neigou.feed.models import Slot
from neigou.feed.service import FeedFilter, feed_items, member_share
from neigou.feed.views import posts_out
from neigou.groups import repository as groups_repo
from neigou.groups.models import GroupStatus
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.links.endpoints import base_url
from neigou.offers import repository as offers
from neigou.offers.amounts import AmountError, yuan_to_fen
from neigou.programs.service import require_member, require_program
from neigou.web.pages import WorkspaceMember, render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Query(max_length=20)]


def _fen(text: str) -> int | None:
    try:
        return yuan_to_fen(text) if text.strip() else None
    except AmountError:
        return None


@router.get("/m/feed", response_class=HTMLResponse)
def my_feed(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    category_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    min_yuan: Text = "",
    max_yuan: Text = "",
) -> HTMLResponse:
    """Today's campaign products, best first, with what the member earns on each."""
    member = require_member(session, principal.member_id or 0)
    program = require_program(session, member.program_id)
    now = utcnow()
    where = FeedFilter(category_id=category_id, min_price_fen=_fen(min_yuan), max_price_fen=_fen(max_yuan))
    tier_code, share_bp = member_share(session, member, now)
    return render(
        request,
        "m/feed/index.html",
        member=member,
        program=program,
        items=feed_items(session, member=member, at=now, where=where, share_bp=share_bp),
        categories=offers.list_categories(session),
        category_id=category_id,
        min_yuan=min_yuan,
        max_yuan=max_yuan,
        tier_code=tier_code,
        share_bp=share_bp,
    )


@router.get("/m/posts", response_class=HTMLResponse)
def post_builder(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    sku: Annotated[list[str] | None, Query(max_length=20)] = None,
    made: int = 0,
    error: Annotated[str | None, Query(max_length=60)] = None,
) -> HTMLResponse:
    """The chosen products, the member's groups to post them to, the slot; then the posts made."""
    member = require_member(session, principal.member_id or 0)
    program = require_program(session, member.program_id)
    chosen = [s[:64] for s in (sku or [])]
    picks = {
        i.sku: i for i in reversed(feed_items(session, member=member, at=utcnow(), only_skus=set(chosen)))
    }
    posts = feed_repo.recent_posts(session, member.id, limit=30)
    own = groups_repo.groups_of_owners(session, [member.id])
    return render(
        request,
        "m/feed/posts.html",
        member=member,
        program=program,
        picks=[picks[s] for s in chosen if s in picks],
        groups=[g for g in own if g.status is GroupStatus.ACTIVE],
        slots=[s.value for s in Slot],
        posts=posts_out(session, posts, base_url(request)),
        names={g.id: g.name for g in own},
        notes={p.id: note for p in posts if (note := failed_note(p)) is not None},
        made=made,
        error=error,
    )


@router.post("/m/posts")
def make_posts(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    sku: Annotated[list[str], Form(max_length=20)],
    group_id: Annotated[list[int], Form(max_length=50)],
    slot: Annotated[Slot, Form()] = Slot.NOW,
) -> RedirectResponse:
    """One post per chosen group; a refusal comes back to the builder with its code."""
    member = require_member(session, principal.member_id or 0)
    back = "&".join(f"sku={s[:64]}" for s in sku)
    try:
        with session.begin_nested():
            made = post_service.create_posts(
                session,
                member=member,
                group_ids=group_id,
                skus=sku,
                slot=slot,
                at=utcnow(),
                base_url=base_url(request),
                actor=principal.actor,
            )
    except ProblemError as exc:
        return RedirectResponse(f"/m/posts?{back}&error={exc.code}", status_code=303)
    return RedirectResponse(f"/m/posts?made={len(made)}#posts", status_code=303)


@router.post("/m/posts/{post_id}/copied")
def copied(post_id: int, session: SessionDep, principal: WorkspaceMember) -> RedirectResponse:
    """The member pasted the post into its group."""
    try:
        with session.begin_nested():
            post = post_service.require_post(session, post_id, member_id=principal.member_id or 0)
            post_service.mark_copied(session, post=post, at=utcnow())
    except ProblemError as exc:
        return RedirectResponse(f"/m/posts?error={exc.code}#posts", status_code=303)
    return RedirectResponse(f"/m/posts#post-{post_id}", status_code=303)
