"""The salesperson's pushes on a phone: the composer (customers or a segment, products, the words,
a preview), the pushes with their figures, and each push's messages to copy, with posters, and mark sent."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from neigou.crm import push_copy, push_segments, push_settings, pushes
from neigou.crm import push_queries as push_repo
from neigou.crm import repository as crm_repo
from neigou.crm.models import Customer, PushChannel
from neigou.crm.push_offers import priced_products
from neigou.crm.push_views import push_report, push_summaries
from neigou.groups import repository as groups_repo
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Invalid, NotFound, ProblemError
from neigou.kit.i18n import Message
from neigou.kit.ids import whole_number
from neigou.links.endpoints import base_url
from neigou.links.service import link_url
from neigou.offers import repository as offers
from neigou.offers.repository import ProductFilter
from neigou.programs.models import Member
from neigou.programs.service import require_member, require_program
from neigou.web.pager import PageNumber, page_of, pager
from neigou.web.pages import WorkspaceMember, render

router = APIRouter(include_in_schema=False)
CUSTOMERS_PER_PAGE = 20
PUSHES_PER_PAGE = 20
PRODUCTS_SHOWN = 12  # the first on sale; the search finds the rest
PREVIEWS = 3
# A form's key is stored as the push's ``request_id`` behind ``m-``: what fits its column.
KEY_PREFIX = "m-"
KEY_CHARS = 64 - len(KEY_PREFIX)


@dataclass(frozen=True)
class Draft:
    """What the composer holds between preview and send."""

    customer_ids: list[int]
    segment_id: int | None
    skus: list[str]
    template: str
    key: str


def _composer(
    request: Request,
    session: Session,
    member: Member,
    draft: Draft,
    *,
    page: int = 1,
    q: str = "",
    previews: list[str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    program = require_program(session, member.program_id)
    now = utcnow()
    customers = crm_repo.page_customers(
        session,
        page_of(page, CUSTOMERS_PER_PAGE),
        member_id=member.id,
        where=crm_repo.CustomerFilter(),
        at=now,
    )
    found = offers.list_products(
        session, ProductFilter(q=q or None, active=True), limit=PRODUCTS_SHOWN, offset=0
    )
    chosen = offers.products_by_sku(session, draft.skus, organization_id=program.organization_id)
    products = [
        *(chosen[s] for s in draft.skus if s in chosen),
        *(p for p in found if p.sku not in draft.skus),
    ]
    return render(
        request,
        "m/pushes/new.html",
        status_code=422 if error else 200,
        member=member,
        program=program,
        customers=customers.items,
        pager=pager(request, page, CUSTOMERS_PER_PAGE, customers.total),
        segments=crm_repo.page_segments(session, page_of(1, 100), member_id=member.id).items,
        products=products,
        draft=draft,
        q=q,
        previews=previews or [],
        error=error,
    )


@router.get("/m/pushes/new", response_class=HTMLResponse)
def composer(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    customer_id: Annotated[list[int] | None, Query(max_length=500)] = None,
    sku: Annotated[list[str] | None, Query(max_length=10)] = None,
    q: Annotated[str, Query(max_length=40)] = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    """Pick customers (or a segment) and products; ``customer_id`` and ``sku`` pre-select them."""
    member = require_member(session, principal.member_id or 0)
    draft = Draft(list(customer_id or []), None, [s[:64] for s in sku or []], "", _new_key())
    return _composer(request, session, member, draft, page=page, q=q)


def _previews(session: Session, member: Member, draft: Draft, base: str) -> list[str]:
    """The first few messages as customers would read them (the link is a sample)."""
    if draft.template and (problem := push_copy.template_problem(draft.template)) is not None:
        raise Invalid(problem, code="template_invalid")
    ids = draft.customer_ids
    if draft.segment_id is not None:
        ids = push_segments.segment_customers(
            session, member=member, segment_id=draft.segment_id, at=utcnow()
        )
    customers = push_repo.customers_of(session, member.id, ids[:PREVIEWS])
    products = priced_products(session, program_id=member.program_id, skus=draft.skus, at=utcnow())
    sample = link_url(base, "…")
    # On the robot channel the preview is what the group reads: the program's words, no customer's name.
    robot = push_settings.read(session, member.program_id).channel is PushChannel.WECOM_ROBOT
    if robot and draft.template:
        raise Invalid(pushes.TEMPLATE_NOT_FOR_ROBOT, code="template_not_for_robot")
    return [
        push_copy.text_for(
            draft.template or None,
            push_copy.MessageItem(c.name, p.title, p.price_fen, p.group_price_fen, sample),
            robot=robot,
        )
        for c in (customers[i] for i in ids[:PREVIEWS] if i in customers)
        for p in products
    ][:PREVIEWS]


def _new_key() -> str:
    return secrets.token_urlsafe(16)


def _draft(
    customer_id: Annotated[list[int] | None, Form(max_length=500)] = None,
    sku: Annotated[list[str] | None, Form(max_length=10)] = None,
    segment_id: Annotated[str, Form(max_length=20)] = "",
    template: Annotated[str, Form(max_length=1000)] = "",
    key: Annotated[str, Form(max_length=64)] = "",
) -> Draft:
    """The composer's posted fields, for both the preview and the send; a form without a key gets one."""
    segment = whole_number(segment_id)
    return Draft(
        [] if segment is not None else list(customer_id or []),
        segment,
        [s[:64] for s in sku or []],
        template,
        key or _new_key(),
    )


DraftDep = Annotated[Draft, Depends(_draft)]


@router.post("/m/pushes/preview", response_class=HTMLResponse)
def preview(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    draft: DraftDep,
) -> HTMLResponse:
    """The composer again, with the first messages as the customers will read them."""
    member = require_member(session, principal.member_id or 0)
    try:
        with session.begin_nested():
            previews = _previews(session, member, draft, base_url(request))
    except ProblemError as exc:
        return _composer(request, session, member, draft, error=exc.code)
    return _composer(request, session, member, draft, previews=previews)


@router.post("/m/pushes", response_model=None)
def send(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    draft: DraftDep,
) -> HTMLResponse | RedirectResponse:
    """Write the push (a resent form with the same key finds the first) and show it."""
    member = require_member(session, principal.member_id or 0)
    now = utcnow()
    if len(draft.key) > KEY_CHARS:  # never the form's own key: the composer draws a fresh one
        return _composer(request, session, member, replace(draft, key=_new_key()), error="key_too_long")
    try:
        with session.begin_nested():
            if not draft.skus:
                raise Invalid(Message("Choose at least one product."), code="no_products")
            ids = draft.customer_ids
            if draft.segment_id is not None:
                ids = push_segments.segment_customers(
                    session, member=member, segment_id=draft.segment_id, at=now
                )
            if not ids:
                raise Invalid(Message("Choose customers or a segment."), code="no_customers")
            made = pushes.create_push(
                session,
                member=member,
                ask=pushes.PushRequest(
                    customer_ids=ids,
                    skus=draft.skus,
                    template=draft.template or None,
                    due=now,
                    request_id=f"{KEY_PREFIX}{draft.key}",
                    segment_id=draft.segment_id,
                ),
                base_url=base_url(request),
                actor=principal.actor,
                now=now,
            )
    except ProblemError as exc:
        return _composer(request, session, member, draft, error=exc.code)
    return RedirectResponse(f"/m/pushes/{made.push.id}", status_code=303)


@router.get("/m/pushes", response_class=HTMLResponse)
def my_pushes(
    request: Request, *, session: SessionDep, principal: WorkspaceMember, page: PageNumber = 1
) -> HTMLResponse:
    """The member's pushes, newest first, with messages, sent, clicks, orders and GMV."""
    member = require_member(session, principal.member_id or 0)
    found = push_repo.page_pushes(session, page_of(page, PUSHES_PER_PAGE), member_id=member.id)
    return render(
        request,
        "m/pushes/index.html",
        member=member,
        program=require_program(session, member.program_id),
        pushes=push_summaries(session, found.items),
        pager=pager(request, page, PUSHES_PER_PAGE, found.total),
    )


def _own(session: Session, member_id: int, push_id: int) -> pushes.MadePush:
    push = pushes.require_push(session, push_id)
    if push.member_id != member_id:
        raise NotFound(Message("This push does not exist."), code="push_not_found")
    return pushes.load(session, push)


@router.get("/m/pushes/{push_id}", response_class=HTMLResponse)
def push_page(
    request: Request,
    push_id: int,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    error: Annotated[str | None, Query(max_length=60)] = None,
) -> HTMLResponse:
    """A push's messages to copy, each with its poster, figures and a "sent" button for tasks."""
    member = require_member(session, principal.member_id or 0)
    made = _own(session, member.id, push_id)
    customers: dict[int, Customer] = push_repo.customer_rows(session, [m.customer_id for m in made.messages])
    skipped = push_repo.customer_rows(session, [s.customer_id for s in made.skips])
    via = {m.sent_via_group_id for m in made.messages if m.sent_via_group_id is not None}
    program = require_program(session, member.program_id)
    pushed = offers.products_by_sku(session, made.push.skus, organization_id=program.organization_id)
    return render(
        request,
        "m/pushes/show.html",
        member=member,
        program=program,
        push=made.push,
        report=push_report(session, made),
        titles={sku: p.title for sku, p in pushed.items()},
        customers={**customers, **skipped},
        via_groups={g.id: g.name for g in groups_repo.groups_by_id(session, via)},
        error=error,
    )


@router.post("/m/pushes/{push_id}/messages/{message_id}/sent")
def sent(push_id: int, message_id: int, session: SessionDep, principal: WorkspaceMember) -> RedirectResponse:
    """The salesperson sent this message from their chat app."""
    try:
        with session.begin_nested():
            made = _own(session, principal.member_id or 0, push_id)
            pushes.mark_sent(session, made=made, message_id=message_id, at=utcnow())
    except ProblemError as exc:
        return RedirectResponse(f"/m/pushes/{push_id}?error={exc.code}", status_code=303)
    return RedirectResponse(f"/m/pushes/{push_id}#message-{message_id}", status_code=303)
