"""Console screens of the offers domain: coupons, promotions, quote preview (products: ``console_products``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from neigou.auth.dependencies import ConsoleOperator, console_operator
from neigou.auth.service import Principal
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.offers import forms
from neigou.offers import repository as repo
from neigou.offers.offer_rules import CouponVisibility, PromotionKind
from neigou.offers.quotes import price_quote
from neigou.programs.scope import organization_of_caller
from neigou.web.form_pages import FormDep, default_timezone, refusal
from neigou.web.listing import ListQueryDep, fetch
from neigou.web.offer_form_routes import add_offer_form_routes
from neigou.web.offer_pages import OfferConsole
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)


# Coupons and promotions ---------------------------------------------------------------------------


StateQuery = Annotated[str, Query(max_length=10, description="running, upcoming or ended")]


@router.get("/console/coupons", response_class=HTMLResponse)
def coupons_page(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    query: ListQueryDep,
    visibility: Annotated[str, Query(max_length=10)] = "",
    state: StateQuery = "",
) -> HTMLResponse:
    """Every coupon template, hidden ones included, with its stock: searchable, sortable, filtered, paged."""
    now = utcnow()
    shown = CouponVisibility(visibility) if visibility in _values(CouponVisibility) else None
    window = state if state in repo.WINDOW_STATES else None
    coupons = fetch(
        session,
        request,
        repo.coupons_statement(visibility=shown, state=window, at=now),
        query,
        sorts=repo.COUPON_SORTS,
        default_sort="-id",
        search=repo.COUPON_SEARCH,
    )
    filters = {"visibility": shown.value if shown else "", "state": window or ""}
    return render(
        request, "console/offers/coupons.html", principal=principal, coupons=coupons, filters=filters, now=now
    )


def _values(kind: type[StrEnum]) -> set[str]:
    return {member.value for member in kind}


# The create and edit forms of coupons and promotions, as in the merchant portal.
add_offer_form_routes(
    router,
    OfferConsole(prefix="/console"),
    console_operator,
    defaults={
        "coupon": {
            "kind": "amount_off",
            "visibility": "public",
            "stacking": "combinable",
            "per_customer_limit": "1",
            "total_quantity": "1000",
        },
        "promotion": {"kind": "quantity_discount", "priority": "0"},
    },
)


@router.get("/console/promotions", response_class=HTMLResponse)
def promotions_page(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    query: ListQueryDep,
    kind: Annotated[str, Query(max_length=30)] = "",
    state: StateQuery = "",
) -> HTMLResponse:
    """Every promotion with its terms and window: searchable, sortable, by kind and window, paged."""
    now = utcnow()
    chosen = PromotionKind(kind) if kind in _values(PromotionKind) else None
    window = state if state in repo.WINDOW_STATES else None
    promotions = fetch(
        session,
        request,
        repo.promotions_statement(kind=chosen, state=window, at=now),
        query,
        sorts=repo.PROMOTION_SORTS,
        default_sort="-id",
        search=repo.PROMOTION_SEARCH,
    )
    filters = {"kind": chosen.value if chosen else "", "state": window or ""}
    return render(
        request,
        "console/offers/promotions.html",
        principal=principal,
        promotions=promotions,
        filters=filters,
        kinds=[k.value for k in PromotionKind],
        now=now,
    )


# Quote preview --------------------------------------------------------------------------------------

QUOTE_ROWS = 5


def _quote_page(request: Request, session: Session, principal: Principal, **extra: Any) -> HTMLResponse:
    return render(
        request,
        "console/offers/quote.html",
        status_code=422 if extra.get("errors") else 200,
        principal=principal,
        coupons=repo.list_coupons(session, visibility=None, active_at=None, limit=200, offset=0),
        rows=QUOTE_ROWS,
        timezone=default_timezone(request),
        **{"skus": [""] * QUOTE_ROWS, "quantities": ["1"] * QUOTE_ROWS, "chosen": [], **extra},
    )


@router.get("/console/quote", response_class=HTMLResponse)
def quote_page(request: Request, session: SessionDep, principal: ConsoleOperator) -> HTMLResponse:
    """Choose skus, quantities and coupons; see lines, discounts and why offers were refused."""
    return _quote_page(request, session, principal)


@router.post("/console/quote", response_class=HTMLResponse)
def preview_quote(
    request: Request, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> HTMLResponse:
    """Price the chosen basket; "as through a share link" unlocks the chosen hidden coupons."""
    skus = [str(v) for v in form.getlist("sku")]
    quantities = [str(v) for v in form.getlist("quantity")]
    chosen = [str(v) for v in form.getlist("coupon_id")]
    via_link = str(form.get("via_link") or "") in forms.TRUTHY
    at = str(form.get("at") or "")
    kept = {"skus": skus, "quantities": quantities, "chosen": chosen, "via_link": via_link, "at": at}
    try:
        asked = forms.quote_input(skus, quantities, chosen, at, timezone=default_timezone(request))
    except forms.FormInvalid as exc:
        return _quote_page(request, session, principal, errors=exc.errors, **kept)
    try:
        result = price_quote(
            session,
            organization_id=organization_of_caller(session),
            items=asked.items,
            coupon_ids=asked.coupon_ids,
            at=asked.at,
            link_coupon_ids=asked.coupon_ids if via_link else (),
        )
    except ProblemError as exc:
        return _quote_page(request, session, principal, errors=refusal(session, exc), **kept)
    return _quote_page(request, session, principal, quote=result.response, **kept)
