"""What a shopper meets: ``/l/{code}`` (the redirect, our hottest path) and the landing page ``/p/{code}``
with the group price against the app price, the hidden coupon's claim button and the buy button.

The redirect is a plain Starlette route placed first in the app's routes: no dependency injection,
no template, no database (codes come from ``LinkCache``), and the click goes to the in-memory
recorder. Only an unknown code and the integration keys a signed ``customer_ref`` is checked with
(``web.click_refs``; each once per cache period) reach the database, off the event loop.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.ids import customer_ref_hash
from neigou.kit.phones import MAX_INPUT, mainland_mobile
from neigou.kit.refs import names_someone
from neigou.links import claims
from neigou.links import repository as links
from neigou.links.clicks import click_row, new_click_ref
from neigou.links.codes import buy_url, is_code
from neigou.links.consent import GivenConsent, announce_consent
from neigou.links.models import ClaimSource, ShareLink, Visitor
from neigou.links.offer_view import link_offer
from neigou.links.runtime import LinksRuntime
from neigou.links.stock_gate import StockGate
from neigou.links.useragent import classify, ua_class_value
from neigou.programs import repository as programs
from neigou.web.click_refs import signed_ref
from neigou.web.i18n import query_language
from neigou.web.pages import client_ip, is_secure, render

router = APIRouter(include_in_schema=False)
VISITOR_COOKIE = "nv"
VISITOR_MAX_AGE = 2 * 365 * 86400
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


def visitor_of(request: Request) -> str | None:
    """The anonymous visitor id from its cookie, if it is well-formed."""
    value = request.cookies.get(VISITOR_COOKIE)
    return value if value is not None and _VISITOR.match(value) else None


def new_visitor() -> str:
    """A random visitor id."""
    return secrets.token_urlsafe(12)


def visitor_cookie(visitor_id: str, *, secure: bool) -> str:
    """The Set-Cookie value of a visitor id (built by hand: this is on the redirect path), ``Secure``
    under the rule of every other cookie (``web.pages.is_secure``)."""
    cookie = f"{VISITOR_COOKIE}={visitor_id}; Max-Age={VISITOR_MAX_AGE}; Path=/; HttpOnly; SameSite=lax"
    return cookie + "; Secure" if secure else cookie


def _gone(request: Request, code: str, status_code: int) -> HTMLResponse:
    return render(request, "links/missing.html", status_code=status_code, code=code, gone=status_code == 410)


async def follow_link(request: Request) -> Response:
    """``GET /l/{code}``: record the click in memory and send the shopper to the landing page."""
    code: str = request.path_params["code"]
    runtime: LinksRuntime = request.app.state.links
    if not is_code(code):
        return _gone(request, code, 404)
    found, link = runtime.cache.peek(code)
    if not found:
        link = await run_in_threadpool(runtime.cache.load, code)
    if link is None:
        return _gone(request, code, 404)
    if not link.active:
        return _gone(request, code, 410)
    visitor = visitor_of(request)
    fresh = visitor is None
    if visitor is None:
        visitor = new_visitor()
    customer_ref = attributed_ref(request.query_params.get("customer_ref"))
    if customer_ref is not None:  # taken only when the shop signed it (``web.click_refs``)
        customer_ref = await signed_ref(request, link, customer_ref)
    runtime.clicks.record(
        click_row(
            ref=new_click_ref(),
            link_id=link.id,
            program_id=link.program_id,
            member_id=link.member_id,
            clicked_at=utcnow(),
            visitor_id=visitor,
            ua_class=classify(request.headers.get("user-agent", "")),
            customer_ref_hash=(
                customer_ref_hash(request.app.state.settings.secret_key, customer_ref)
                if customer_ref
                else None
            ),
        )
    )
    location = f"/p/{code}"
    headers = {"location": location, "cache-control": "no-store"}
    if fresh:
        headers["set-cookie"] = visitor_cookie(visitor, secure=is_secure(request))
    return Response(status_code=302, headers=headers)


def attributed_ref(raw: str | None) -> str | None:
    """The ``customer_ref`` a share link's click may be attributed to, once its signature holds
    (``web.click_refs``): the query's value without surrounding spaces, bounded as every other customer reference (``kit.phones.MAX_INPUT``, the schemas' 128). An
    empty or longer one is ignored, not refused: the shopper's browser still follows the link to its page,
    and the click is recorded without a customer (no touch, nothing kept of the text); so is one of
    invisible marks only (a zero-width space names no one), one holding an invisible mark and one in
    exponent form, marked or not (``2.34568E+18``, ``'1.3812345678E10``): whatever the API refuses
    (``kit.refs.names_someone``: another customer's hash than the shopper's)."""
    ref = (raw or "").strip()
    return ref if 0 < len(ref) <= MAX_INPUT and names_someone(ref) else None


class ShortLinkFastPath:
    """The redirect of a cached, active code answered in plain ASGI, ahead of the framework's layers.

    Anything else under ``/l/`` (unknown, disabled or uncached codes, a ``customer_ref``, HEAD) goes
    on to ``follow_link`` and the full stack; both paths build the same response and the same click.
    A query with a percent-escape goes on too: its keys are read decoded (``customer%5Fref`` is a
    ``customer_ref``), which only the full route does.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Added to every 302 of the fast path, set once by the app's factory (web.security_headers:
        # HSTS on an https deployment; this path answers ahead of that layer).
        self.fixed_headers: tuple[tuple[bytes, bytes], ...] = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        query: bytes = scope["query_string"]
        if (
            scope["type"] != "http"
            or not path.startswith("/l/")
            or scope["method"] != "GET"
            # WeChat appends ?from=singlemessage&isappinstalled=0 to shared links: those stay on the fast
            # path; a customer reference goes to the full route, which checks its signature, hashes it and
            # passes it on, and so
            # does a query with a percent-escape (``customer%5Fref``: the full route reads keys decoded).
            # A link without a query, the common case, costs one test.
            or (query and (b"customer_ref" in query or b"%" in query))
        ):
            await self.app(scope, receive, send)
            return
        runtime: LinksRuntime = scope["app"].state.links
        code = path[3:]
        found, link = runtime.cache.peek(code)
        if not found or link is None or not link.active:
            await self.app(scope, receive, send)
            return
        agent, visitor = b"", None
        for name, value in scope["headers"]:
            if name == b"user-agent":
                agent = value
            elif name == b"cookie":
                visitor = _visitor_in(value)
        fresh = visitor is None
        if visitor is None:
            visitor = new_visitor()
        # A ``ClickRow`` written out: a tuple literal is the cheapest thing to build here.
        runtime.clicks.record(
            (
                new_click_ref(),
                link.id,
                link.program_id,
                link.member_id,
                utcnow(),
                visitor,
                ua_class_value(agent.decode("latin-1")),
                None,
            )
        )
        headers = [
            (b"location", b"/p/" + code.encode()),
            (b"cache-control", b"no-store"),
            (b"content-length", b"0"),
            *self.fixed_headers,
        ]
        if fresh:
            secure = scope["app"].state.settings.secure_cookies or scope.get("scheme") == "https"
            headers.append((b"set-cookie", visitor_cookie(visitor, secure=secure).encode()))
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _visitor_in(cookie_header: bytes) -> str | None:
    for part in cookie_header.decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == VISITOR_COOKIE:
            return value if _VISITOR.match(value) else None
    return None


REDIRECT_ROUTE = Route("/l/{code}", follow_link, methods=["GET"], name="follow_link")


def _landing_link(session: SessionDep, code: str) -> ShareLink | None:
    return links.get_link_by_code(session, code) if is_code(code) else None


@router.get("/p/{code}", response_class=HTMLResponse)
def landing(
    *,
    code: str,
    request: Request,
    session: SessionDep,
    claimed: bool = False,
    claim: int | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """The landing page: product, group price against app price, claim and buy buttons. A claim taken
    behind the gate (``claim``: its id) that the claim writer refused since shows that refusal."""
    link = _landing_link(session, code)
    if link is None:
        return _gone(request, code, 404)
    if not link.active:
        return _gone(request, code, 410)
    if (
        claimed
        and claim is not None
        and (refused := claims.refused_behind(_gate(request), claim, link.coupon_id))
    ):
        claimed, error = False, refused.code
    offer = link_offer(session, link)
    visitor_id = visitor_of(request)
    member = programs.get_member(session, link.member_id)
    program = programs.get_program(session, link.program_id)
    visitor = _known(session, visitor_id, program.organization_id if program else None)
    holds = (
        offer.coupon is not None
        and visitor is not None
        and links.claims_of_customer(session, offer.coupon.id, visitor.customer_ref_hash) > 0
    )
    response = render(
        request,
        "links/landing.html",
        link=link,
        offer=offer,
        sharer=member.name if member else None,
        tz=ZoneInfo(program.timezone if program else request.app.state.settings.default_timezone),
        visitor=visitor,
        holds=holds or claimed,
        claimed=claimed,
        error=error if error and re.fullmatch(r"[a-z_]{1,40}", error) else None,
        buy=buy_url(offer.product.shop_url, link.code) if offer.product.shop_url else None,
    )
    if visitor_id is None:
        response.headers.append("set-cookie", visitor_cookie(new_visitor(), secure=is_secure(request)))
    return response


@router.post("/p/{code}/claim", response_model=None)
def claim_on_landing(
    code: str,
    request: Request,
    session: SessionDep,
    phone: Annotated[str | None, Form(max_length=40)] = None,
    marketing: Annotated[bool, Form()] = False,
) -> Response:
    """Claim the link's coupon for the shopper: a mainland mobile number, or the visitor known by an
    earlier claim. An anonymous form takes nothing else: a free-text reference would let one person
    claim as many "customers" as they can type (a shop claims for its own references through the API)."""
    link = _landing_link(session, code)
    if link is None or link.coupon_id is None:
        return _gone(request, code, 404)
    runtime: LinksRuntime = request.app.state.links
    visitor_id = visitor_of(request)
    ip = client_ip(request)
    if not runtime.limiter.allow(ip=ip, visitor_id=visitor_id):
        limited = render(request, "links/missing.html", status_code=429, code=code, gone=False, limited=True)
        limited.headers["Retry-After"] = str(runtime.limiter.retry_after(ip=ip, visitor_id=visitor_id))
        return limited
    secret_key = request.app.state.settings.secret_key
    customer: claims.Customer | None = None
    if phone and phone.strip():
        number = mainland_mobile(phone)
        if number is None:
            return _back(request, code, error="invalid_phone")
        customer = claims.Customer.from_ref(secret_key, number.domestic)
    elif (known := _known(session, visitor_id, _organization(session, link))) is not None:
        customer = claims.Customer(ref_hash=known.customer_ref_hash, masked=known.customer_ref_masked)
    if customer is None:
        return _back(request, code, error="phone_required")
    now = utcnow()
    try:
        with session.begin_nested():
            result = claims.claim_coupon(
                session,
                coupon_id=link.coupon_id,
                customer=customer,
                link_code=link.code,
                loaded_link=link,
                source=ClaimSource.LANDING,
                actor=Actor(kind="shopper", ref=visitor_id or ip),
                visitor_id=visitor_id,
                gate=runtime.gate,
                consent=GivenConsent(at=now, source="landing") if marketing else None,
                at=now,
            )
    except ProblemError as exc:
        return _back(request, code, error=exc.code)
    if marketing and result.created and not result.queued:
        # The tick (never pre-ticked) lets the sharer send offers: the shopper joins their customer book
        # (a claim queued behind the gate carries the consent to the claim writer, which announces it).
        announce_consent(
            session,
            program_id=link.program_id,
            member_id=link.member_id,
            link_id=link.id,
            customer_ref_hash=customer.ref_hash,
            customer_ref_masked=customer.masked,
            via="claim",
            consented_at=now,
            source="landing",
            at=now,
        )
    return _back(request, code, claimed=True, claim=result.claim.id if result.queued else None)


def _known(session: SessionDep, visitor_id: str | None, organization_id: int | None) -> Visitor | None:
    """The shopper behind the visitor cookie, when they identified themselves to this organization: a
    linkage made on another organization's page (or stored before it recorded one) is not this
    organization's to use, so the page asks for the phone as it does an unknown visitor."""
    if visitor_id is None or organization_id is None:
        return None
    known = session.get(Visitor, visitor_id)
    return known if known is not None and known.organization_id == organization_id else None


def _organization(session: SessionDep, link: ShareLink) -> int | None:
    program = programs.get_program(session, link.program_id)
    return program.organization_id if program is not None else None


def _gate(request: Request) -> StockGate | None:
    runtime: LinksRuntime | None = getattr(request.app.state, "links", None)
    return runtime.gate if runtime is not None else None


def _back(
    request: Request, code: str, *, error: str | None = None, claimed: bool = False, claim: int | None = None
) -> RedirectResponse:
    """Back to the landing page with the claim's outcome, in the language the form was sent in; a claim
    taken behind the gate names its id, so a later read of the page shows the writer's refusal of it."""
    outcome: dict[str, str | int] = {"error": error} if error else {"claimed": 1} if claimed else {}
    if claim is not None and claimed:
        outcome["claim"] = claim
    lang = query_language(request)
    query = urlencode({**outcome, "lang": lang} if lang else outcome)
    return RedirectResponse(f"/p/{code}?{query}#coupon", status_code=303)
