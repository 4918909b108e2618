"""HTTP endpoints of share links, coupon claims, posters and quotes through a link (``/api/v1``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, Request, Response, status
from fastapi import Path as UrlPath
from fastapi.responses import JSONResponse

from neigou.auth.dependencies import AnyRole, OperatorOrIntegration, OperatorOrMember, require_member_access
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Forbidden, Invalid
from neigou.kit.i18n import Message
from neigou.kit.ids import customer_ref_hash
from neigou.kit.instants import MoneyClockDep
from neigou.kit.paging import MAX_ID, PageDep
from neigou.links import claim_reads, claims, service
from neigou.links import repository as repo
from neigou.links.claim_reads import ReadClaim
from neigou.links.consent import GivenConsent, announce_consent
from neigou.links.models import ClaimSource, CouponClaim, ShareLink
from neigou.links.offer_view import link_offer
from neigou.links.poster import PosterData, render_poster
from neigou.links.schemas import ClaimCreate, ClaimOut, ClaimReadOut, LinkCreate, LinkOut, LinkUpdate
from neigou.offers.quote_schemas import QuoteOut, QuoteRequest
from neigou.offers.quotes import price_quote
from neigou.programs import repository as programs
from neigou.programs.scope import organization_of_caller

router = APIRouter(tags=["links"])


def base_url(request: Request) -> str:
    """Where this deployment is reached (links and posters point here)."""
    base: str = request.app.state.settings.public_base  # NEIGOU_PUBLIC_URL, never the Host header
    return base


def _own_link(principal: Principal, link: ShareLink) -> ShareLink:
    require_member_access(principal, link.member_id)
    return link


@router.post("/links", status_code=status.HTTP_201_CREATED, response_model=LinkOut)
def create_link(
    body: LinkCreate, request: Request, session: SessionDep, principal: OperatorOrMember
) -> LinkOut:
    """A share link for a member and a product, maybe with a coupon and one of the member's groups."""
    if body.member_id is None:
        if principal.member_id is None:
            raise Invalid(Message("member_id is required."), code="member_required")
        body = body.model_copy(update={"member_id": principal.member_id})
    require_member_access(principal, body.member_id or 0)
    link = service.create_link(session, data=body, actor=principal.actor)
    return service.links_out(session, [link], base_url(request))[0]


@router.get("/links", response_model=list[LinkOut])
def list_links(
    *,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
    member_id: int | None = None,
    program_id: int | None = None,
    page: PageDep,
) -> list[LinkOut]:
    """Links, newest first, with clicks and claims; a member sees only their own."""
    if principal.role is Role.MEMBER:
        if member_id is not None and member_id != principal.member_id:
            raise Forbidden(Message("Members can only see their own records."), code="other_member")
        member_id, program_id = principal.member_id, None
    links = repo.page_links(session, page, member_id=member_id, program_id=program_id)
    page.answer(links.total)
    return service.links_out(session, links.items, base_url(request))


@router.get("/links/{code}", response_model=LinkOut)
def get_link(code: str, request: Request, session: SessionDep, principal: OperatorOrMember) -> LinkOut:
    """One link with its stats."""
    link = _own_link(principal, service.require_link(session, code))
    return service.links_out(session, [link], base_url(request))[0]


@router.patch("/links/{code}", response_model=LinkOut)
def update_link(
    code: str, body: LinkUpdate, request: Request, session: SessionDep, principal: OperatorOrMember
) -> LinkOut:
    """Disable or enable a link: a disabled link's redirect answers 410 within seconds everywhere."""
    link = _own_link(principal, service.require_link(session, code))
    service.set_active(session, link=link, active=body.active, actor=principal.actor)
    return service.links_out(session, [link], base_url(request))[0]


def local_image(image_url: str | None, static_dir: Path | None) -> Path | None:
    """The file behind a product image URL when it is one of our static files (never fetched)."""
    if not image_url or static_dir is None:
        return None
    path = urlsplit(image_url).path
    if not path.startswith("/static/"):
        return None
    candidate = (static_dir / path.removeprefix("/static/")).resolve()
    return candidate if candidate.is_relative_to(static_dir.resolve()) and candidate.is_file() else None


def poster_png(request: Request, session: SessionDep, link: ShareLink) -> Response:
    """Render a link's poster (shared by the API and the member workspace)."""
    offer = link_offer(session, link)
    member = programs.get_member(session, link.member_id)
    data = PosterData(
        title=offer.product.title,
        url=service.link_url(base_url(request), link.code),
        code=link.code,
        app_price_fen=offer.app_price_fen,
        group_price_fen=offer.group_price_fen,
        coupon_name=offer.coupon.name if offer.claimable and offer.coupon else None,
        sharer=member.name if member else None,
        image_path=local_image(offer.product.image_url, getattr(request.app.state, "static_dir", None)),
    )
    return Response(
        render_poster(data),
        media_type="image/png",
        headers={
            "Content-Disposition": f'inline; filename="neigou-{link.code}.png"',
            "Cache-Control": "private, max-age=60",
        },
    )


@router.get("/links/{code}/poster.png", response_class=Response)
def get_poster(code: str, request: Request, session: SessionDep, principal: OperatorOrMember) -> Response:
    """The link's share poster (PNG): product, group price against app price, QR code of the link."""
    return poster_png(request, session, _own_link(principal, service.require_link(session, code)))


def claim_out(
    claim: CouponClaim | claims.TakenClaim | ReadClaim, link_code: str | None, *, replayed: bool
) -> ClaimOut:
    """The API view of a claim."""
    return ClaimOut(
        id=claim.id,
        coupon_id=claim.coupon_id,
        customer_ref_masked=claim.customer_ref_masked,
        link_code=link_code,
        member_id=claim.member_id,
        claimed_at=claim.claimed_at,
        replayed=replayed,
    )


@router.post(
    "/coupons/{coupon_id}/claims",
    status_code=status.HTTP_201_CREATED,
    response_model=ClaimOut,
    responses={
        200: {"model": ClaimOut, "description": "a replay of an earlier claim with the same request_id"}
    },
)
def create_claim(
    *,
    coupon_id: int,
    body: ClaimCreate,
    request: Request,
    session: SessionDep,
    principal: OperatorOrIntegration,
    clock: MoneyClockDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=64)] = None,
) -> Response:
    """Claim a coupon for a customer: 201, or 409 sold_out | limit_reached | link_required | not_active."""
    request_id = body.request_id or idempotency_key
    if body.request_id and idempotency_key and body.request_id != idempotency_key:
        raise Invalid(Message("request_id and Idempotency-Key differ."), code="request_id_mismatch")
    consent = body.consent if body.consent is not None and body.consent.marketing else None
    consented_at = clock.until_now(consent.at, field="consent.at") if consent is not None else None
    result = claims.claim_coupon(
        session,
        coupon_id=coupon_id,
        customer=claims.Customer.from_ref(request.app.state.settings.secret_key, body.customer_ref),
        link_code=body.link_code,
        request_id=request_id,
        source=ClaimSource.API,
        actor=principal.actor,
        gate=request.app.state.links.gate,
        # A claim queued behind the gate carries the consent to the claim writer, which announces it.
        consent=GivenConsent(consented_at, consent.source)
        if consent is not None and consented_at is not None
        else None,
    )
    link_code = result.link_code
    wants_consent = result.created and not result.queued and consent is not None and consented_at is not None
    if result.claim.link_id and (link_code is None or wants_consent):
        link = repo.get_link(session, result.claim.link_id)
        link_code = link_code or (link.code if link else None)
        if link is not None and consent is not None and consented_at is not None and wants_consent:
            announce_consent(
                session,
                program_id=link.program_id,
                member_id=link.member_id,
                link_id=link.id,
                customer_ref_hash=result.claim.customer_ref_hash,
                customer_ref_masked=result.claim.customer_ref_masked,
                via="claim",
                consented_at=consented_at,
                source=consent.source,
                at=clock.now,
            )
    out = claim_out(result.claim, link_code, replayed=not result.created)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if result.created else 200)


# The ids a claim read takes: a stream entry id past them is refused by Redis, a bigint past them by the database.
ClaimPathId = Annotated[int, UrlPath(ge=1, le=MAX_ID)]


@router.get(
    "/coupons/{coupon_id}/claims/{claim_id}",
    response_model=ClaimReadOut,
    responses={409: {"description": "the claim was answered 201, then refused (limit_reached)"}},
)
def get_claim(
    coupon_id: ClaimPathId, claim_id: ClaimPathId, request: Request, session: SessionDep, principal: AnyRole
) -> ClaimReadOut:
    """A claim read back by its id: ``stored``, or ``queued`` behind the gate; 409 with the refusal's code
    when the claim writer refused it since its 201. A member reads the claims made through their links; a
    refusal keeps no member, so a member reads it 404 ``claim_not_found`` (never another shopper's outcome).
    Ids past the database's bigint (or below 1) are refused 422 before any read."""
    gate = request.app.state.links.gate
    found = claim_reads.read_claim(
        session, gate, coupon_id, claim_id, refusals=principal.role is not Role.MEMBER
    )
    require_member_access(principal, found.member_id or 0)
    link = repo.get_link(session, found.link_id) if found.link_id is not None else None
    out = claim_out(found, link.code if link else None, replayed=False)
    return ClaimReadOut(**out.model_dump(), status=found.state.value)


@router.post("/quotes", response_model=QuoteOut)
def create_quote(body: QuoteRequest, request: Request, session: SessionDep, principal: AnyRole) -> QuoteOut:
    """Price a basket: promotions, then coupons. A link's hidden coupon applies through its code for
    the ``customer_ref`` that claimed it; for anyone else it is refused ``not_claimed``. A member's
    quote counts only the claims made through that member's own links: whether a shopper claimed
    through another member's link is none of this member's business, and must not be read off a price."""
    linked: list[int] = []
    claimed: list[int] = []
    # The catalog priced: the link's organization, else the caller's, else the basket's (a platform-wide caller).
    organization_id = organization_of_caller(session)
    if body.link_code is not None:
        link = claims.resolve_link(session, body.link_code)
        linked = [link.coupon_id] if link.coupon_id is not None else []
        organization_id = programs.organization_of(session, link.program_id)
    if linked and body.customer_ref is not None:
        ref_hash = customer_ref_hash(request.app.state.settings.secret_key, body.customer_ref)
        # A member (always a member id) sees their own shoppers' claims only; the shop and operators see all.
        through = principal.member_id if principal.role is Role.MEMBER else None
        claimed = [
            c for c in linked if repo.claims_of_customer(session, c, ref_hash, through_member=through) > 0
        ]
    result = price_quote(
        session,
        organization_id=organization_id,
        items=body.items,
        coupon_ids=body.coupon_ids or [],
        at=body.at,
        link_coupon_ids=linked,
        claimed_coupon_ids=claimed,
    )
    return result.response
