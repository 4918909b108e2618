"""Console page of share links: every program's links with clicks and claims; disable or enable one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from neigou.auth.dependencies import ConsoleOperator
from neigou.groups import repository as groups
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Invalid, ProblemError
from neigou.kit.i18n import Message
from neigou.links import repository as links
from neigou.links import service
from neigou.links.endpoints import base_url
from neigou.links.schemas import LinkCreate
from neigou.offers import repository as offers
from neigou.programs import repository as programs
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/console/links", response_class=HTMLResponse)
def links_page(
    request: Request,
    *,
    session: SessionDep,
    _principal: ConsoleOperator,
    program: int | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    created: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """Links, newest first, narrowed to a program, and the form to make one for a member."""
    return _page(request, session, program=program, page=page, created=created)


def _page(
    request: Request,
    session: Session,
    *,
    program: int | None = None,
    page: int = 1,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    rows = links.list_links(session, program_id=program, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    members = groups.members_by_id(session, {link.member_id for link in rows})
    products = offers.products_by_sku(session, [link.sku for link in rows])
    now = utcnow()
    return render(
        request,
        "console/links/index.html",
        status_code=status_code,
        products=offers.list_products(session, offers.ProductFilter(active=True), limit=500, offset=0),
        coupons=offers.list_coupons(session, visibility=None, active_at=now, limit=200, offset=0),
        links=rows,
        stats=links.link_stats(session, [link.id for link in rows]),
        members={i: m.name for i, m in members.items()},
        titles={sku: p.title for sku, p in products.items()},
        programs=programs.list_programs(session),
        program=program,
        page=page,
        more=more,
        base=base_url(request),
        **({"values": {}, "error": None, "created": None} | extra),
    )


@router.post("/console/links", response_model=None)
def create_link(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    member_id: Annotated[str, Form(max_length=20)],
    sku: Annotated[str, Form(max_length=64)],
    coupon_id: Annotated[str, Form(max_length=20)] = "",
    group_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Make a share link for a member (their product, maybe a coupon and one of their groups)."""
    values = {"member_id": member_id, "sku": sku, "coupon_id": coupon_id, "group_id": group_id}
    try:
        data = LinkCreate(
            member_id=_number(member_id, required=True),
            sku=sku,
            coupon_id=_number(coupon_id),
            group_id=_number(group_id),
        )
    except (ValidationError, ValueError):
        return _page(request, session, status_code=422, values=values, error=_MALFORMED)
    try:
        with session.begin_nested():
            link = service.create_link(session, data=data, actor=principal.actor)
    except ProblemError as exc:
        return _page(request, session, status_code=exc.status, values=values, error=exc)
    return RedirectResponse(f"/console/links?created={link.code}", status_code=303)


_MALFORMED = Invalid(
    Message("Member, coupon and group are given by their numbers, e.g. 12."), code="invalid_integer"
)


def _number(text: str, *, required: bool = False) -> int | None:
    text = text.strip().lstrip("#")
    if not text and not required:
        return None
    if not text.isdigit() or len(text) > 18:
        raise ValueError(text)
    return int(text)


@router.post("/console/links/{code}/active")
def toggle_link(
    code: str,
    session: SessionDep,
    principal: ConsoleOperator,
    active: Annotated[bool, Form()],
    back: Annotated[str, Form(max_length=200)] = "/console/links",
) -> RedirectResponse:
    """Disable or enable a link (audited)."""
    link = service.require_link(session, code)
    service.set_active(session, link=link, active=active, actor=principal.actor)
    target = back if back.startswith("/console/links") else "/console/links"
    return RedirectResponse(target, status_code=303)
