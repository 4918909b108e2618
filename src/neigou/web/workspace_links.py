"""The member's share links on a phone: make a link (product, maybe a coupon — hidden ones too, members
are their channel — maybe one of their groups), copy it, download its poster, see clicks and claims."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neigou.groups import repository as groups
from neigou.groups.models import GroupStatus
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound, ProblemError
from neigou.kit.i18n import Message
from neigou.links import repository as links
from neigou.links import service
from neigou.links.endpoints import base_url, poster_png
from neigou.links.schemas import LinkCreate
from neigou.offers import repository as offers
from neigou.orders import repository as orders
from neigou.programs.service import require_member, require_program
from neigou.web.pager import PageNumber, page_of, pager
from neigou.web.pages import WorkspaceMember, render

router = APIRouter(include_in_schema=False)
LINKS_PER_PAGE = 5  # a phone shows a few links, each with its figures and actions


@router.get("/m/links", response_class=HTMLResponse)
def my_links(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    created: Annotated[str | None, Query(max_length=16)] = None,
    error: Annotated[str | None, Query(max_length=40)] = None,
    page: PageNumber = 1,
) -> HTMLResponse:
    """The member's links, newest first and a few to a page, with clicks, claims, orders and GMV, and the
    form to make one."""
    member = require_member(session, principal.member_id or 0)
    program = require_program(session, member.program_id)
    paged = links.page_links(session, page_of(page, LINKS_PER_PAGE), member_id=member.id)
    rows = paged.items
    now = utcnow()
    products = offers.list_products(session, offers.ProductFilter(active=True), limit=500, offset=0)
    coupons = offers.list_coupons(session, visibility=None, active_at=now, limit=200, offset=0)
    own_groups = groups.list_groups(session, owner_member_id=member.id, status=GroupStatus.ACTIVE)
    mine = offers.products_by_sku(
        session, [link.sku for link in rows], organization_id=program.organization_id
    )
    titles = {sku: p.title for sku, p in mine.items()}
    return render(
        request,
        "m/links/index.html",
        member=member,
        program=program,
        links=rows,
        stats=links.link_stats(session, [link.id for link in rows]),
        sold=orders.link_sales(session, member.id, [link.code for link in rows]),
        pager=pager(request, page, LINKS_PER_PAGE, paged.total),
        products=products,
        titles=titles,
        coupons=coupons,
        coupon_names={c.id: c for c in coupons},
        groups=own_groups,
        group_names={g.id: g.name for g in own_groups},
        base=base_url(request),
        created=created,
        error=error,
    )


@router.post("/m/links")
def make_link(
    session: SessionDep,
    principal: WorkspaceMember,
    sku: Annotated[str, Form(min_length=1, max_length=64)],
    coupon_id: Annotated[str, Form(max_length=20)] = "",
    group_id: Annotated[str, Form(max_length=20)] = "",
) -> RedirectResponse:
    """Make a link for the member themselves."""
    try:
        data = LinkCreate(
            member_id=principal.member_id or 0,
            sku=sku,
            coupon_id=int(coupon_id) if coupon_id.strip() else None,
            group_id=int(group_id) if group_id.strip() else None,
        )
        with session.begin_nested():
            link = service.create_link(session, data=data, actor=principal.actor)
    except ProblemError as exc:
        return RedirectResponse(f"/m/links?error={exc.code}", status_code=303)
    except ValueError:
        return RedirectResponse("/m/links?error=invalid", status_code=303)
    return RedirectResponse(f"/m/links?created={link.code}#link-{link.code}", status_code=303)


@router.post("/m/links/{code}/active")
def toggle_link(
    code: str,
    session: SessionDep,
    principal: WorkspaceMember,
    active: Annotated[bool, Form()],
    page: Annotated[int, Form(ge=1, le=100_000)] = 1,
) -> RedirectResponse:
    """Disable or enable one of the member's links."""
    link = links.get_link_by_code(session, code)
    if link is None or link.member_id != principal.member_id:
        return RedirectResponse("/m/links?error=link_not_found", status_code=303)
    service.set_active(session, link=link, active=active, actor=principal.actor)
    return RedirectResponse(f"/m/links?page={page}#link-{code}", status_code=303)


@router.get("/m/links/{code}/poster.png", response_class=Response)
def my_poster(code: str, request: Request, session: SessionDep, principal: WorkspaceMember) -> Response:
    """The poster of one of the member's links, as a download; another member's link is unknown alike
    (404 problem+json ``link_not_found``, as every image a page fetches: ``web.paths.FETCHED``)."""
    link = links.get_link_by_code(session, code)
    if link is None or link.member_id != principal.member_id:
        raise NotFound(Message("This share link does not exist."), code="link_not_found")
    response = poster_png(request, session, link)
    response.headers["Content-Disposition"] = f'attachment; filename="neigou-{code}.png"'
    return response
