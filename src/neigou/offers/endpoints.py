"""HTTP endpoints of the catalog: brands, categories, products and CSV imports (``/api/v1``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status

from neigou.auth.dependencies import CatalogReader, Operator, OperatorOrMerchant
from neigou.kit.deps import SessionDep
from neigou.kit.paging import PageDep
from neigou.offers import catalog_service as catalog
from neigou.offers import csv_import
from neigou.offers import repository as repo
from neigou.offers.schemas import (
    BrandCreate,
    BrandOut,
    CategoryCreate,
    CategoryOut,
    ImportResult,
    ProductCreate,
    ProductOut,
    ProductUpdate,
)

router = APIRouter(tags=["catalog"])


@router.post("/brands", status_code=status.HTTP_201_CREATED, response_model=BrandOut)
def create_brand(body: BrandCreate, session: SessionDep, principal: Operator) -> BrandOut:
    """Add a merchant or brand."""
    return BrandOut.model_validate(catalog.create_brand(session, data=body, actor=principal.actor))


@router.get("/brands", response_model=list[BrandOut])
def list_brands(session: SessionDep, _principal: CatalogReader, page: PageDep) -> list[BrandOut]:
    """Brands, by name."""
    brands = repo.page_brands(session, page)
    page.answer(brands.total)
    return [BrandOut.model_validate(b) for b in brands.items]


@router.post("/categories", status_code=status.HTTP_201_CREATED, response_model=CategoryOut)
def create_category(body: CategoryCreate, session: SessionDep, principal: Operator) -> CategoryOut:
    """Add a catalog category."""
    return CategoryOut.model_validate(catalog.create_category(session, data=body, actor=principal.actor))


@router.get("/categories", response_model=list[CategoryOut])
def list_categories(session: SessionDep, _principal: CatalogReader, page: PageDep) -> list[CategoryOut]:
    """Categories, by name."""
    categories = repo.page_categories(session, page)
    page.answer(categories.total)
    return [CategoryOut.model_validate(c) for c in categories.items]


@router.post("/products", status_code=status.HTTP_201_CREATED, response_model=ProductOut)
def create_product(body: ProductCreate, session: SessionDep, principal: OperatorOrMerchant) -> ProductOut:
    """Add a product (sku, title, price_fen, commission_rate_bp, …)."""
    product = catalog.create_product(session, data=body, actor=principal.actor)
    return catalog.products_out(session, [product])[0]


@router.get("/products", response_model=list[ProductOut])
def list_products(
    *,
    session: SessionDep,
    _principal: CatalogReader,
    q: Annotated[str | None, Query(max_length=100, description="part of the title or sku")] = None,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    brand: Annotated[str | None, Query(max_length=40, description="brand code")] = None,
    category: Annotated[str | None, Query(max_length=40, description="category code")] = None,
    page: PageDep,
    active: bool | None = None,
) -> list[ProductOut]:
    """Products, oldest first, narrowed by text, sku, brand, category and being on sale."""
    # A code names a brand (category) of the product's own organization: for a platform administrator
    # the products of each organization whose brand has that code.
    where = repo.ProductFilter(q=q, sku=sku, brand_code=brand, category_code=category, active=active)
    products = repo.page_products(session, where, page)
    page.answer(products.total)
    return catalog.products_out(session, products.items)


@router.post("/products/import", response_model=ImportResult)
def import_products(
    file: Annotated[
        UploadFile,
        File(
            description="CSV (UTF-8 or GB18030) or .xlsx: sku,title,price_fen|price_yuan,commission_rate_bp,…"
        ),
    ],
    session: SessionDep,
    principal: Operator,
    dry_run: bool = False,
) -> ImportResult:
    """Import a catalog CSV or .xlsx file whole or not at all; existing skus are updated. 422 lists every bad row."""
    content = file.file.read(csv_import.MAX_BYTES + 1)
    return csv_import.import_products(session, content=content, actor=principal.actor, dry_run=dry_run)


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(product_id: int, session: SessionDep, _principal: CatalogReader) -> ProductOut:
    """One product."""
    return catalog.products_out(session, [catalog.require_product(session, product_id)])[0]


@router.patch("/products/{product_id}", response_model=ProductOut)
def update_product(
    product_id: int, body: ProductUpdate, session: SessionDep, principal: OperatorOrMerchant
) -> ProductOut:
    """Change a product's fields; the sku stays."""
    product = catalog.update_product(session, product_id=product_id, data=body, actor=principal.actor)
    return catalog.products_out(session, [product])[0]
