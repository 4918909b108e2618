"""Console screens of the offers domain: products (with CSV import), coupons, promotions, quote preview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from neigou.auth.dependencies import ConsoleOperator
from neigou.auth.service import Principal
from neigou.kit.clock import utcnow
from neigou.kit.columns import ImportRefused
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.offers import catalog_service as catalog
from neigou.offers import coupons_service as coupons
from neigou.offers import csv_import, forms
from neigou.offers import promotions_service as promotions
from neigou.offers import repository as repo
from neigou.offers.amounts import bp_to_percent_text, fen_to_yuan_text
from neigou.offers.quotes import price_quote
from neigou.offers.schemas import ProductCreate, ProductUpdate
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


async def _read_form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_read_form)]


def _fields(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


def _problem(session: Session, exc: ProblemError) -> list[forms.FieldError]:
    # Nothing of a refused form may be committed with the request.
    session.rollback()
    rows = exc.extra.get("errors")
    if isinstance(rows, list) and rows and "code" in rows[0]:
        return [forms.FieldError(r.get("field"), r["code"], r.get("message", "")) for r in rows]
    return [forms.FieldError(None, exc.code, exc.detail)]


def _timezone(request: Request) -> str:
    timezone: str = request.app.state.settings.default_timezone
    return timezone


# Products ---------------------------------------------------------------------------------------


def _products_page(
    request: Request, session: Session, principal: Principal, *, q: str | None, page: int, **extra: Any
) -> HTMLResponse:
    where = repo.ProductFilter(q=q or None)
    total = repo.count_products(session, where)
    rows = repo.list_products(session, where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(
        request,
        "console/offers/products.html",
        status_code=422 if extra.get("errors") else 200,
        principal=principal,
        products=catalog.products_out(session, rows),
        q=q or "",
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
        **extra,
    )


@router.get("/console/products", response_class=HTMLResponse)
def products_page(
    request: Request,
    session: SessionDep,
    principal: ConsoleOperator,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    """The catalog, searchable, with the CSV import form."""
    return _products_page(request, session, principal, q=q, page=page)


@router.post("/console/products/import", response_class=HTMLResponse)
def import_products(
    request: Request, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> HTMLResponse:
    """Import a CSV or .xlsx file from the console: all rows or none, each bad row listed."""
    upload = form.get("file")
    content = upload.file.read(csv_import.MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    try:
        result = csv_import.import_products(
            session,
            content=content,
            actor=principal.actor,
            dry_run=str(form.get("dry_run") or "") in forms.TRUTHY,
        )
    except ImportRefused as exc:
        session.rollback()
        summary = [forms.FieldError(None, exc.code, exc.detail)]
        rows = [csv_import.error_view(e) for e in exc.errors]
        return _products_page(request, session, principal, q=None, page=1, errors=summary, import_errors=rows)
    except ProblemError as exc:
        return _products_page(request, session, principal, q=None, page=1, errors=_problem(session, exc))
    return _products_page(request, session, principal, q=None, page=1, imported=result)


def _product_form(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    values: dict[str, str],
    product_id: int | None,
    errors: list[forms.FieldError] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "console/offers/product_form.html",
        status_code=422 if errors else 200,
        principal=principal,
        values=values,
        product_id=product_id,
        brands=repo.list_brands(session),
        categories=repo.list_categories(session),
        errors=errors or [],
    )


@router.get("/console/products/new", response_class=HTMLResponse)
def new_product(request: Request, session: SessionDep, principal: ConsoleOperator) -> HTMLResponse:
    """An empty product form."""
    return _product_form(request, session, principal, values={"active": "on"}, product_id=None)


@router.post("/console/products/new", response_model=None)
def create_product(
    request: Request, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Create a product, or show the form again with every error."""
    values = _fields(form)
    try:
        data = forms.product_input(values)
        assert isinstance(data, ProductCreate)
        catalog.create_product(session, data=data, actor=principal.actor)
    except forms.FormInvalid as exc:
        return _product_form(request, session, principal, values=values, product_id=None, errors=exc.errors)
    except ProblemError as exc:
        errors = _problem(session, exc)
        return _product_form(request, session, principal, values=values, product_id=None, errors=errors)
    return RedirectResponse(f"/console/products?q={data.sku}", status_code=303)


@router.get("/console/products/{product_id}/edit", response_class=HTMLResponse)
def edit_product(
    request: Request, product_id: int, session: SessionDep, principal: ConsoleOperator
) -> HTMLResponse:
    """The product form, filled in."""
    product = catalog.products_out(session, [catalog.require_product(session, product_id)])[0]
    values = {
        "sku": product.sku,
        "title": product.title,
        "price_yuan": fen_to_yuan_text(product.price_fen),
        "commission_percent": bp_to_percent_text(product.commission_rate_bp),
        "image_url": product.image_url or "",
        "shop_url": product.shop_url or "",
        "brand_code": product.brand_code or "",
        "category_code": product.category_code or "",
        "active": "on" if product.active else "",
    }
    return _product_form(request, session, principal, values=values, product_id=product_id)


@router.post("/console/products/{product_id}/edit", response_model=None)
def update_product(
    request: Request, product_id: int, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Save a product, or show the form again with every error."""
    product = catalog.require_product(session, product_id)
    values = {**_fields(form), "sku": product.sku}
    try:
        data = forms.product_input(values, update=True)
        assert isinstance(data, ProductUpdate)
        catalog.update_product(session, product_id=product_id, data=data, actor=principal.actor)
    except forms.FormInvalid as exc:
        return _product_form(
            request, session, principal, values=values, product_id=product_id, errors=exc.errors
        )
    except ProblemError as exc:
        errors = _problem(session, exc)
        return _product_form(request, session, principal, values=values, product_id=product_id, errors=errors)
    return RedirectResponse(f"/console/products?q={product.sku}", status_code=303)


# Coupons and promotions ---------------------------------------------------------------------------


@router.get("/console/coupons", response_class=HTMLResponse)
def coupons_page(request: Request, session: SessionDep, principal: ConsoleOperator) -> HTMLResponse:
    """Every coupon template, hidden ones included, with its stock."""
    rows = repo.list_coupons(session, visibility=None, active_at=None, limit=500, offset=0)
    return render(request, "console/offers/coupons.html", principal=principal, coupons=rows, now=utcnow())


def _offer_form(
    request: Request,
    principal: Principal,
    template: str,
    values: dict[str, str],
    errors: list[forms.FieldError] | None = None,
) -> HTMLResponse:
    return render(
        request,
        template,
        status_code=422 if errors else 200,
        principal=principal,
        values=values,
        errors=errors or [],
        timezone=_timezone(request),
    )


@router.get("/console/coupons/new", response_class=HTMLResponse)
def new_coupon(request: Request, principal: ConsoleOperator) -> HTMLResponse:
    """An empty coupon form."""
    defaults = {
        "kind": "amount_off",
        "visibility": "public",
        "stacking": "combinable",
        "per_customer_limit": "1",
        "total_quantity": "1000",
    }
    return _offer_form(request, principal, "console/offers/coupon_form.html", defaults)


@router.post("/console/coupons/new", response_model=None)
def create_coupon(
    request: Request, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Create a coupon template, or show the form again with every error."""
    values = _fields(form)
    try:
        coupons.create_coupon(
            session, data=forms.coupon_input(values, timezone=_timezone(request)), actor=principal.actor
        )
    except forms.FormInvalid as exc:
        return _offer_form(request, principal, "console/offers/coupon_form.html", values, exc.errors)
    except ProblemError as exc:
        errors = _problem(session, exc)
        return _offer_form(request, principal, "console/offers/coupon_form.html", values, errors)
    return RedirectResponse("/console/coupons", status_code=303)


@router.get("/console/promotions", response_class=HTMLResponse)
def promotions_page(request: Request, session: SessionDep, principal: ConsoleOperator) -> HTMLResponse:
    """Every promotion with its terms and window."""
    rows = repo.list_promotions(session, active_at=None, limit=500, offset=0)
    return render(
        request, "console/offers/promotions.html", principal=principal, promotions=rows, now=utcnow()
    )


@router.get("/console/promotions/new", response_class=HTMLResponse)
def new_promotion(request: Request, principal: ConsoleOperator) -> HTMLResponse:
    """An empty promotion form."""
    defaults = {"kind": "quantity_discount", "priority": "0"}
    return _offer_form(request, principal, "console/offers/promotion_form.html", defaults)


@router.post("/console/promotions/new", response_model=None)
def create_promotion(
    request: Request, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Create a promotion, or show the form again with every error."""
    values = _fields(form)
    try:
        data = forms.promotion_input(values, timezone=_timezone(request))
        promotions.create_promotion(session, data=data, actor=principal.actor)
    except forms.FormInvalid as exc:
        return _offer_form(request, principal, "console/offers/promotion_form.html", values, exc.errors)
    except ProblemError as exc:
        errors = _problem(session, exc)
        return _offer_form(request, principal, "console/offers/promotion_form.html", values, errors)
    return RedirectResponse("/console/promotions", status_code=303)


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
        timezone=_timezone(request),
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
        asked = forms.quote_input(skus, quantities, chosen, at, timezone=_timezone(request))
    except forms.FormInvalid as exc:
        return _quote_page(request, session, principal, errors=exc.errors, **kept)
    try:
        result = price_quote(
            session,
            items=asked.items,
            coupon_ids=asked.coupon_ids,
            at=asked.at,
            link_coupon_ids=asked.coupon_ids if via_link else (),
        )
    except ProblemError as exc:
        return _quote_page(request, session, principal, errors=_problem(session, exc), **kept)
    return _quote_page(request, session, principal, quote=result.response, **kept)
