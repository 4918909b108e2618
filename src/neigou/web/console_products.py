"""Console screens of the catalog: products (searchable, sortable, filtered, paged), the product form,
and the CSV/.xlsx import."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from neigou.auth.dependencies import ConsoleOperator
from neigou.auth.service import Principal
from neigou.kit.columns import ImportRefused
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.offers import catalog_service as catalog
from neigou.offers import csv_import, forms
from neigou.offers import repository as repo
from neigou.offers.amounts import bp_to_percent_text, fen_to_yuan_text
from neigou.offers.schemas import ProductCreate, ProductUpdate
from neigou.web.form_pages import FormDep, fields, refusal
from neigou.web.listing import ListQuery, ListQueryDep, fetch, list_query
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
STATUSES = {"on": True, "off": False}


def _products_page(
    request: Request,
    session: Session,
    principal: Principal,
    query: ListQuery,
    *,
    brand: int | None = None,
    category: int | None = None,
    status: str = "",
    **extra: Any,
) -> HTMLResponse:
    brands, categories = repo.brand_names(session), repo.category_names(session)
    where = repo.ProductFilter(
        brand_id=brand if brand in brands else None,
        category_id=category if category in categories else None,
        active=STATUSES.get(status),
    )
    products = fetch(
        session,
        request,
        repo.products_statement(where),
        query,
        sorts=repo.PRODUCT_SORTS,
        default_sort="sku",
        search=repo.PRODUCT_SEARCH,
        path="/console/products",
    )
    return render(
        request,
        "console/offers/products.html",
        status_code=422 if extra.get("errors") else 200,
        principal=principal,
        products=products,
        brands=brands,
        categories=categories,
        filters={"brand": where.brand_id, "category": where.category_id, "status": status},
        **extra,
    )


@router.get("/console/products", response_class=HTMLResponse)
def products_page(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    query: ListQueryDep,
    brand: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    category: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    status: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    """The catalog: searchable by title or sku, sortable, by brand, category and sale status, paged."""
    return _products_page(request, session, principal, query, brand=brand, category=category, status=status)


@router.post("/console/products/import", response_class=HTMLResponse)
def import_products(
    request: Request, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> HTMLResponse:
    """Import a CSV or .xlsx file from the console: all rows or none, each bad row listed."""
    upload = form.get("file")
    content = upload.file.read(csv_import.MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    first = list_query()
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
        return _products_page(request, session, principal, first, errors=summary, import_errors=rows)
    except ProblemError as exc:
        return _products_page(request, session, principal, first, errors=refusal(session, exc))
    return _products_page(request, session, principal, first, imported=result)


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
    """Create a product, or show the form again with every error in place."""
    values = fields(form)
    try:
        data = forms.product_input(values)
        assert isinstance(data, ProductCreate)
        catalog.create_product(session, data=data, actor=principal.actor)
    except forms.FormInvalid as exc:
        return _product_form(request, session, principal, values=values, product_id=None, errors=exc.errors)
    except ProblemError as exc:
        errors = refusal(session, exc)
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
    """Save a product, or show the form again with every error in place."""
    product = catalog.require_product(session, product_id)
    values = {**fields(form), "sku": product.sku}
    try:
        data = forms.product_input(values, update=True)
        assert isinstance(data, ProductUpdate)
        catalog.update_product(session, product_id=product_id, data=data, actor=principal.actor)
    except forms.FormInvalid as exc:
        return _product_form(
            request, session, principal, values=values, product_id=product_id, errors=exc.errors
        )
    except ProblemError as exc:
        errors = refusal(session, exc)
        return _product_form(request, session, principal, values=values, product_id=product_id, errors=errors)
    return RedirectResponse(f"/console/products?q={product.sku}", status_code=303)
