"""The merchant portal of the console: a merchant's home (this month in figures), its products (price
and commission rate), its coupons and promotions, and its sales by day, group or program with a
chart and an Excel export. Every read goes through the session's scope: the merchant's own rows."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from neigou.auth.dependencies import ConsoleMerchant, console_merchant
from neigou.auth.service import Principal
from neigou.kit.clock import utcnow
from neigou.kit.dates import in_range
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.exports import XLSX_MEDIA_TYPE
from neigou.merchants import portal
from neigou.merchants.sales import sales_out, sales_xlsx
from neigou.merchants.schemas import MerchantSalesOut
from neigou.offers import catalog_service as catalog
from neigou.offers import forms
from neigou.offers.schemas import ProductCreate
from neigou.reporting.merchant_sales import SalesBy
from neigou.web.form_pages import FormDep, default_timezone, fields
from neigou.web.listing import ListQueryDep, fetch
from neigou.web.offer_form_routes import add_offer_form_routes
from neigou.web.offer_pages import OfferConsole
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
NAV = "console/merchant/_nav.html"


def _merchant_id(principal: Principal) -> int:
    return principal.merchant_id or 0  # a merchant's session always names its merchant


def _refused(session: Session, exc: ProblemError) -> list[forms.FieldError]:
    session.rollback()  # nothing of a refused form is committed
    return [forms.FieldError(None, exc.code, exc.detail)]


@router.get("/console/merchant", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, principal: ConsoleMerchant) -> HTMLResponse:
    """This month's orders, GMV, refunds, commission, coupon cost and promotion discounts; products and
    coupons on offer."""
    today = utcnow().astimezone(ZoneInfo(default_timezone(request))).date()
    figures = portal.overview(session, merchant_id=_merchant_id(principal), today=today)
    return render(request, "console/merchant/home.html", principal=principal, nav=NAV, o=figures)


def _products(
    request: Request,
    session: Session,
    principal: Principal,
    query: Any,
    *,
    values: dict[str, str] | None = None,
    errors: list[forms.FieldError] | None = None,
    done: str = "",
) -> HTMLResponse:
    listing = fetch(
        session,
        request,
        portal.products_statement(),
        query,
        sorts=portal.PRODUCT_SORTS,
        default_sort="sku",
        search=portal.PRODUCT_SEARCH,
    )
    return render(
        request,
        "console/merchant/products.html",
        status_code=422 if errors else 200,
        principal=principal,
        nav=NAV,
        products=listing,
        pending=portal.pending_rates(session, [p.id for p in listing.rows]),
        values=values or {},
        errors=errors or [],
        done=done,
    )


@router.get("/console/merchant/products", response_class=HTMLResponse)
def products_page(
    request: Request,
    session: SessionDep,
    principal: ConsoleMerchant,
    query: ListQueryDep,
    done: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """The merchant's products with price and commission rate, searchable and paged."""
    return _products(request, session, principal, query, done=done)


@router.post("/console/merchant/products", response_model=None)
def create_product(
    request: Request, session: SessionDep, principal: ConsoleMerchant, query: ListQueryDep, form: FormDep
) -> Response:
    """Add a product of the merchant, or show the list again with every error."""
    values = fields(form)
    try:
        data = forms.product_input({**values, "active": "on"})
        assert isinstance(data, ProductCreate)
        catalog.create_product(session, data=data, actor=principal.actor)
    except forms.FormInvalid as exc:
        return _products(request, session, principal, query, values=values, errors=exc.errors)
    except ProblemError as exc:
        errors = _refused(session, exc)
        return _products(request, session, principal, query, values=values, errors=errors)
    return RedirectResponse("/console/merchant/products?done=created", status_code=303)


@router.post("/console/merchant/products/{product_id}", response_model=None)
def update_product(
    request: Request,
    *,
    product_id: int,
    session: SessionDep,
    principal: ConsoleMerchant,
    query: ListQueryDep,
    form: FormDep,
) -> Response:
    """Change a product's price and commission rate (the rate may wait for the operator's review)."""
    values = fields(form)
    try:
        data = forms.price_rate_input(values)
        before = catalog.require_product(session, product_id).commission_rate_bp
        product = catalog.update_product(session, product_id=product_id, data=data, actor=principal.actor)
    except forms.FormInvalid as exc:
        return _products(request, session, principal, query, errors=exc.errors)
    except ProblemError as exc:
        return _products(request, session, principal, query, errors=_refused(session, exc))
    held = data.commission_rate_bp not in (before, product.commission_rate_bp)
    return RedirectResponse(f"/console/merchant/products?done={'held' if held else 'saved'}", status_code=303)


@router.get("/console/merchant/coupons", response_class=HTMLResponse)
def coupons_page(
    request: Request, session: SessionDep, principal: ConsoleMerchant, query: ListQueryDep
) -> HTMLResponse:
    """The merchant's coupons with stock, window and review state."""
    listing = fetch(
        session, request, portal.coupons_statement(), query, sorts=portal.COUPON_SORTS, default_sort="-id"
    )
    return render(
        request,
        "console/merchant/coupons.html",
        principal=principal,
        nav=NAV,
        coupons=listing,
        reviews=portal.coupon_reviews(session, [c.id for c in listing.rows]),
        now=utcnow(),
        timezone=default_timezone(request),
    )


@router.get("/console/merchant/promotions", response_class=HTMLResponse)
def promotions_page(
    request: Request, session: SessionDep, principal: ConsoleMerchant, query: ListQueryDep
) -> HTMLResponse:
    """The merchant's promotions."""
    listing = fetch(
        session,
        request,
        portal.promotions_statement(),
        query,
        sorts=portal.PROMOTION_SORTS,
        default_sort="-id",
    )
    return render(
        request,
        "console/merchant/promotions.html",
        principal=principal,
        nav=NAV,
        promotions=listing,
        timezone=default_timezone(request),
    )


# The create and edit forms of coupons and promotions, as in the organization's console (the session's
# scope keeps them to the merchant's own shop and skus: another merchant's offer is a 404). A merchant's
# new coupon is hidden by default: the groups' channel-only coupon.
add_offer_form_routes(
    router,
    OfferConsole(prefix="/console/merchant", nav=NAV),
    console_merchant,
    defaults={
        "coupon": {
            "kind": "amount_off",
            "visibility": "hidden",
            "stacking": "combinable",
            "per_customer_limit": "1",
        },
        "promotion": {"kind": "spend_threshold_off"},
    },
)


def _range(request: Request, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The range asked for; without a start, the 30 days to its end. An end outside the product's days
    (``0001-01-01``, which has no day before it) starts itself, for ``sales_out`` to refuse."""
    today = utcnow().astimezone(ZoneInfo(default_timezone(request))).date()
    end = end or today
    if start is None:
        start = end - dt.timedelta(days=29) if in_range(end) else end
    return start, end


@router.get("/console/merchant/sales", response_class=HTMLResponse)
def sales_page(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleMerchant,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    by: SalesBy = SalesBy.DAY,
) -> HTMLResponse:
    """Sales over a range (30 days to today by default), by day, group or program, with a chart."""
    start, end = _range(request, start, end)
    error: ProblemError | None = None
    sales: MerchantSalesOut | None = None
    try:
        sales = sales_out(session, merchant_id=_merchant_id(principal), start=start, end=end, by=by)
    except ProblemError as exc:
        error = exc
    peak = max((r.gmv_fen for r in sales.rows), default=0) if sales else 0
    return render(
        request,
        "console/merchant/sales.html",
        status_code=error.status if error else 200,
        principal=principal,
        nav=NAV,
        sales=sales,
        error=error,
        start=start,
        end=end,
        by=by.value,
        peak=peak,
    )


@router.get("/console/merchant/sales.xlsx")
def sales_export(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleMerchant,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    by: SalesBy = SalesBy.DAY,
) -> Response:
    """The sales page's figures as an Excel workbook."""
    start, end = _range(request, start, end)
    sales = sales_out(session, merchant_id=_merchant_id(principal), start=start, end=end, by=by)
    return Response(
        sales_xlsx(sales),
        media_type=XLSX_MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="sales-{start}-{end}-{by.value}.xlsx"'},
    )
