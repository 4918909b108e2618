"""Console pages of share links: every program's links with clicks and claims, a link's own page;
disable or enable one."""

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
from neigou.kit.i18n import Message
from neigou.kit.ids import whole_number
from neigou.links import repository as links
from neigou.links import service
from neigou.links.endpoints import base_url
from neigou.links.models import ShareLink
from neigou.links.schemas import LinkCreate
from neigou.offers import repository as offers
from neigou.offers.forms import FieldError
from neigou.orders import repository as orders
from neigou.programs import repository as programs
from neigou.programs.service import require_program
from neigou.web.form_pages import FormRefused, attempt
from neigou.web.listing import ListQuery, ListQueryDep, fetch, list_query
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
ORDERS_SHOWN = 10


ACTIVE = {"on": True, "off": False}


@router.get("/console/links", response_class=HTMLResponse)
def links_page(
    request: Request,
    *,
    session: SessionDep,
    _principal: ConsoleOperator,
    query: ListQueryDep,
    program: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    status: Annotated[str, Query(max_length=4)] = "",
    created: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """Links, newest first: searchable by code, sku or member, sortable, by program and status, paged;
    and the form to make one for a member."""
    return _page(request, session, query=query, program=program, status=status, created=created)


def _page(
    request: Request,
    session: Session,
    *,
    query: ListQuery | None = None,
    program: int | None = None,
    status: str = "",
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    listing = fetch(
        session,
        request,
        links.links_statement(program_id=program, active=ACTIVE.get(status)),
        query or list_query(),
        sorts=links.SORTS,
        default_sort="-created",
        search=links.SEARCH,
        path="/console/links",
    )
    rows: list[ShareLink] = listing.rows
    members = groups.members_by_id(session, {link.member_id for link in rows})
    products = offers.products_of_programs(session, [(link.program_id, link.sku) for link in rows])
    now = utcnow()
    return render(
        request,
        "console/links/index.html",
        status_code=status_code,
        products=offers.list_products(session, offers.ProductFilter(active=True), limit=500, offset=0),
        coupons=offers.list_coupons(session, visibility=None, active_at=now, limit=200, offset=0),
        listing=listing,
        links=rows,
        stats=links.link_stats(session, [link.id for link in rows]),
        members={i: m.name for i, m in members.items()},
        titles={
            link.code: products[link.program_id, link.sku].title
            for link in rows
            if (link.program_id, link.sku) in products
        },
        coupon_names=offers.coupon_names(session, [link.coupon_id for link in rows if link.coupon_id]),
        programs=programs.list_programs(session),
        program=program,
        filters={"program": program or "", "status": status if status in ACTIVE else ""},
        base=base_url(request),
        **({"values": {}, "errors": [], "created": None} | extra),
    )


@router.get("/console/links/{code}", response_class=HTMLResponse)
def link_page(
    request: Request, code: str, *, session: SessionDep, _principal: ConsoleOperator
) -> HTMLResponse:
    """A share link: whose, for what, what it brought (clicks, claims, orders) and its latest orders."""
    link = service.require_link(session, code[:16])
    program = require_program(session, link.program_id)
    product = offers.products_by_sku(session, [link.sku], organization_id=program.organization_id).get(
        link.sku
    )
    coupon = offers.get_coupon(session, link.coupon_id) if link.coupon_id else None
    group = groups.get_group(session, link.group_id) if link.group_id else None
    sold = orders.link_sales(session, link.member_id, [link.code]).get(link.code, (0, 0))
    return render(
        request,
        "console/links/detail.html",
        link=link,
        program=program,
        member_name=programs.member_names(session, [link.member_id]).get(link.member_id, ""),
        product=product,
        coupon=coupon,
        group=group,
        stats=links.link_stats(session, [link.id])[link.id],
        sold=sold,
        orders=orders.orders_of_link(session, program_id=link.program_id, code=link.code, limit=ORDERS_SHOWN),
        base=base_url(request),
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
    wrong = [name for name in ("member_id", "coupon_id", "group_id") if not _readable(values[name], name)]
    if wrong:
        errors = [FieldError(name, "invalid_integer", _MALFORMED) for name in wrong]
        return _page(request, session, status_code=422, values=values, errors=errors)
    try:
        data = LinkCreate(
            member_id=_number(member_id, required=True),
            sku=sku,
            coupon_id=_number(coupon_id),
            group_id=_number(group_id),
        )
    except (ValidationError, ValueError):
        return _page(
            request,
            session,
            status_code=422,
            values=values,
            errors=[FieldError("sku", "invalid_value", _SKU)],
        )
    link = attempt(
        session, lambda: service.create_link(session, data=data, actor=principal.actor), placed=PLACED
    )
    if isinstance(link, FormRefused):
        return _page(request, session, status_code=link.status, values=values, errors=link.errors)
    return RedirectResponse(f"/console/links?created={link.code}", status_code=303)


_MALFORMED = Message("Member, coupon and group are given by their numbers, e.g. 12.")
_SKU = Message("Pick a product.")
PLACED = {  # refusals shown beside the field they are about
    "member_required": "member_id",
    "no_tiers": "member_id",
    "unknown_sku": "sku",
    "product_inactive": "sku",
    "unknown_coupon": "coupon_id",
    "coupon_ended": "coupon_id",
    "coupon_not_for_sku": "coupon_id",
    "group_archived": "group_id",
    "group_not_owned": "group_id",
}


def _readable(text: str, name: str) -> bool:
    try:
        _number(text, required=name == "member_id")
    except ValueError:
        return False
    return True


def _number(text: str, *, required: bool = False) -> int | None:
    text = text.strip().lstrip("#")
    if not text and not required:
        return None
    number = whole_number(text)
    if number is None:
        # Never the text itself: a field may hold what was pasted into it (a shopper's openid or phone),
        # and an exception's text can reach a log line or a page.
        raise ValueError("not a whole number")
    return number


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
