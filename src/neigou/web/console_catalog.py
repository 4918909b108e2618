"""Console screen of the catalog's brands and categories: each listed with its product count, and a
form to add one, writing through the same service as ``POST /api/v1/brands`` and ``/categories``.

The API has no rename or delete for either, so neither has the console.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from neigou.auth.dependencies import ConsoleOperator
from neigou.auth.service import Principal
from neigou.kit.deps import SessionDep
from neigou.offers import catalog_service as catalog
from neigou.offers import forms
from neigou.offers import repository as repo
from neigou.offers.schemas import BrandCreate, CategoryCreate
from neigou.web.form_pages import FormDep, FormRefused, attempt, fields
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
PAGE = "/console/catalog"
Kind = Literal["brand", "category"]
# A taken code names no field; it belongs beside the code the reader typed.
PLACED = {"brand_code_taken": "code", "category_code_taken": "code"}


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    refused: Kind | None = None,
    values: dict[str, str] | None = None,
    errors: list[forms.FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    brand_counts, category_counts = (
        repo.product_counts_by_brand(session),
        repo.product_counts_by_category(session),
    )
    return render(
        request,
        "console/offers/catalog.html",
        status_code=status_code,
        principal=principal,
        brands=[(b, brand_counts.get(b.id, 0)) for b in repo.list_brands(session)],
        categories=[(c, category_counts.get(c.id, 0)) for c in repo.list_categories(session)],
        refused=refused,
        values=values or {},
        errors=errors or [],
    )


@router.get(PAGE, response_class=HTMLResponse)
def catalog_page(request: Request, session: SessionDep, principal: ConsoleOperator) -> HTMLResponse:
    """Brands and categories with their product counts, and a form to add each."""
    return _page(request, session, principal)


def _create(request: Request, session: Session, principal: Principal, form: FormDep, kind: Kind) -> Response:
    values = {name: fields(form).get(name, "") for name in ("code", "name")}
    try:
        if kind == "brand":
            brand = forms.catalog_entry_input(values, BrandCreate)
            done: object = attempt(
                session,
                lambda: catalog.create_brand(session, data=brand, actor=principal.actor),
                placed=PLACED,
            )
        else:
            category = forms.catalog_entry_input(values, CategoryCreate)
            done = attempt(
                session,
                lambda: catalog.create_category(session, data=category, actor=principal.actor),
                placed=PLACED,
            )
    except forms.FormInvalid as exc:
        done = FormRefused(exc.errors, 422)
    if isinstance(done, FormRefused):
        return _page(
            request,
            session,
            principal,
            refused=kind,
            values=values,
            errors=done.errors,
            status_code=done.status,
        )
    return RedirectResponse(f"{PAGE}?added={kind}", status_code=303)


@router.post(f"{PAGE}/brands", response_model=None)
def create_brand(
    request: Request, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Add a brand, or show the page again with the brand form's errors in place."""
    return _create(request, session, principal, form, "brand")


@router.post(f"{PAGE}/categories", response_model=None)
def create_category(
    request: Request, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Add a category, or show the page again with the category form's errors in place."""
    return _create(request, session, principal, form, "category")
